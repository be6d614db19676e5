"""Least privilege (README "Least privilege"): what each mode needs, measured on the real daemon.

- Procfs mode as uid 65534 in a mount namespace where /proc, /sys and the powercap tree are
  read-only: it serves metrics. A root-only (0400) `energy_uj`, as kernels have made it since
  the 2020 PLATYPUS fix, takes CAP_DAC_READ_SEARCH, or a group that may read it (what a udev or
  tmpfiles rule grants); without either the zone is skipped, the log says why, and the
  default `cpu.preferredMeters` fall back to the fake meter.
- eBPF mode in the same read-only view, with only the capabilities of test_ebpf_privileges.
- The daemon logs the capabilities it runs with, and refuses to start setuid or setgid (exit 1);
  file capabilities (setcap) are accepted and are enough.
"""

import os
import re
import shlex
import shutil
import stat
import subprocess
import time
import unittest

import kepler_harness as h
from ebpf_support import (EBPF_CAPABILITIES, UNPRIVILEGED_UID, as_unprivileged_user_with,
                          capability_mask, effective_capability_mask, require_setpriv,
                          skip_unless_ebpf_host, uid_of)
from exposition import parse_exposition
from plumbing import free_port, http_get, http_status_or_none, log

ENERGY_START_UJ = 100_000_000_000   # 12 digits: bumps below keep the width, so they are in place
ENERGY_BUMP_UJ = 50_000_000         # 50 J
MAX_ENERGY_UJ = 262_143_328_850
PRIVILEGES_LINE = re.compile(r"running as uid (\d+), gid (\d+) with effective capabilities ([0-9a-f]{16}): (.*)")
SETUID_REFUSAL = "kepler: refusing to run setuid (real uid 65534, effective uid 0)"
SETGID_REFUSAL = "kepler: refusing to run setgid (real gid 65534, effective gid 0)"
SERVE_TIMEOUT_S = 10.0


def skip_unless_root():
    if os.geteuid() != 0:
        raise unittest.SkipTest("needs root: changes users, capabilities and mounts")
    require_setpriv()
    if not shutil.which("unshare"):
        raise unittest.SkipTest("util-linux unshare is not installed")


def static_powercap(sysfs, energy_mode=0o400, energy_gid=0):
    """One package zone laid out as a current kernel does: `name` and `max_energy_range_uj`
    world-readable, `energy_uj` root-owned with `energy_mode`. Returns the energy_uj path."""
    zone = os.path.join(sysfs, "class", "powercap", "intel-rapl:0")
    os.makedirs(zone)
    for name, text in (("name", "package-0\n"), ("max_energy_range_uj", f"{MAX_ENERGY_UJ}\n")):
        with open(os.path.join(zone, name), "w") as out:
            out.write(text)
        os.chmod(os.path.join(zone, name), 0o444)
    energy = os.path.join(zone, "energy_uj")
    with open(energy, "w") as out:
        out.write(f"{ENERGY_START_UJ}\n")
    os.chown(energy, 0, energy_gid)
    os.chmod(energy, energy_mode)
    return energy


def bump_energy(path, total_uj):
    """Rewrites the counter in place (same width), as the kernel's attribute changes."""
    with open(path, "r+") as counter:
        counter.write(f"{total_uj}\n")


def open_up(path):
    """o+rx on every directory from `path` up to the bed (tempfile makes it 0700)."""
    os.chmod(path, os.stat(path).st_mode | stat.S_IROTH | stat.S_IXOTH)


def copy_of_kepler(directory, name="kepler", mode=0o755, group=0):
    path = os.path.join(directory, name)
    shutil.copy(h.kepler_binary(), path)
    os.chown(path, 0, group)
    os.chmod(path, mode)   # after chown, which clears set-id bits
    return path


def unprivileged(capabilities):
    """A wrapper: uid/gid 65534, no groups, exactly `capabilities` (none when empty)."""
    if capabilities:
        return as_unprivileged_user_with(capabilities)
    return [require_setpriv(), f"--reuid={UNPRIVILEGED_UID}", f"--regid={UNPRIVILEGED_UID}",
            "--clear-groups", "--inh-caps=-all", "--"]


def mounts_under(roots):
    """Mount points at or below `roots`, from this process's mountinfo (deepest last)."""
    points = []
    with open("/proc/self/mountinfo") as info:
        for line in info:
            point = line.split()[4].replace("\\040", " ")
            if any(point == root or point.startswith(root.rstrip("/") + "/") for root in roots):
                points.append(point)
    return points


def read_only_view(paths):
    """A wrapper that runs the command in a mount namespace of its own in which /proc, /sys
    (with everything mounted below them) and `paths` are read-only, then execs it (same pid)."""
    steps = ["set -e"]
    for path in paths:   # not mount points yet: bind each onto itself first
        steps.append(f"mount --bind {shlex.quote(path)} {shlex.quote(path)}")
    required = ["/proc", "/sys", *paths]
    for point in required:
        steps.append(f"mount -o remount,bind,ro {shlex.quote(point)}")
    for point in mounts_under(["/proc", "/sys"]):
        if point not in required:   # some (autofs, already read-only) may refuse: best effort
            steps.append(f"mount -o remount,bind,ro {shlex.quote(point)} 2>/dev/null || true")
    steps.append('exec "$@"')
    return [shutil.which("unshare"), "--mount", "--propagation", "private", "--",
            "/bin/sh", "-c", "; ".join(steps), "sh"]


def mount_options(pid, point):
    """The per-mount options (`ro`/`rw`, …) of `point` as process `pid` sees it."""
    with open(f"/proc/{pid}/mountinfo") as info:
        options = [line.split()[5] for line in info if line.split()[4] == point]
    return options[-1].split(",") if options else []


def privileges_logged(daemon):
    """(uid, gid, CapEff mask, names) from the daemon's start-up line."""
    deadline = time.monotonic() + SERVE_TIMEOUT_S
    while time.monotonic() < deadline:
        match = PRIVILEGES_LINE.search(daemon.log_text())
        if match:
            return int(match[1]), int(match[2]), int(match[3], 16), match[4]
        time.sleep(0.05)
    raise AssertionError("no privileges line in the log\n" + daemon.log_tail())


def serving(daemon):
    """Waits until /readyz is 200 and returns the first /metrics after that."""
    deadline = daemon.spawned_at + SERVE_TIMEOUT_S
    while time.monotonic() < deadline:
        daemon._fail_if_exited("while starting")
        if http_status_or_none(daemon.url("/readyz")) == 200:
            return daemon.scrape()
        time.sleep(0.02)
    raise AssertionError("kepler not ready in time\n" + daemon.log_tail())


def package_joules(metrics):
    return metrics.value("kepler_node_cpu_joules_total", zone="package")


class Bed:
    """A bed the unprivileged user can read: config, a copy of the binary, a static powercap
    tree under `sys/`."""

    def __init__(self, prefix, energy_mode=0o400, energy_gid=0):
        self.bed = h.TestBed(prefix)
        self.dir = self.bed.workdir
        open_up(self.dir)
        self.sysfs = os.path.join(self.dir, "sys")
        self.energy = static_powercap(self.sysfs, energy_mode, energy_gid)
        self.binary = copy_of_kepler(self.dir)

    def daemon(self, name, wrapper, bpf_enabled="false"):
        """A daemon in `<bed>/<name>/` (spawned, not waited for), killed when the bed closes."""
        directory = os.path.join(self.dir, name)
        os.makedirs(directory)
        open_up(directory)
        port = free_port()
        config = h.write_kepler_config(directory, self.sysfs, port, interval="1s",
                                       extra=f"bpf:\n  enabled: {bpf_enabled}\n")
        os.chmod(config, 0o644)
        daemon = h.Daemon(config, port, os.path.join(directory, "kepler.log"), binary=self.binary,
                          wrapper=wrapper)
        self.bed.on_close(daemon.kill)
        return daemon.spawn()

    def close(self):
        self.bed.close()


# --------------------------------------------------------------------------- procfs mode

class ReadOnlyProcfsModeTest(unittest.TestCase):
    """Procfs mode as uid 65534 with read-only /proc, /sys and powercap tree."""

    @classmethod
    def setUpClass(cls):
        skip_unless_root()
        cls.bed = Bed("kepler-it-privileges-ro-")

    @classmethod
    def tearDownClass(cls):
        cls.bed.close()

    def start(self, name, capabilities):
        wrapper = read_only_view([self.bed.sysfs]) + unprivileged(capabilities)
        daemon = self.bed.daemon(name, wrapper)
        metrics = serving(daemon)
        for point in ("/proc", "/sys", self.bed.sysfs):
            self.assertIn("ro", mount_options(daemon.process.pid, point), f"{point} is read-only for kepler")
        self.assertEqual(uid_of(daemon.process.pid), UNPRIVILEGED_UID)
        return daemon, metrics

    def check_privileges_line(self, daemon, capabilities):
        uid, gid, mask, names = privileges_logged(daemon)
        self.assertEqual((uid, gid), (UNPRIVILEGED_UID, UNPRIVILEGED_UID))
        self.assertEqual(mask, effective_capability_mask(daemon.process.pid), "the log shows the real CapEff")
        self.assertEqual(mask, capability_mask(capabilities))
        log(f"logged: {names}")
        return names

    def test_dac_read_search_is_enough_to_read_root_only_energy(self):
        daemon, first = self.start("dac", ("dac_read_search",))
        self.assertEqual(self.check_privileges_line(daemon, ("dac_read_search",)), "CAP_DAC_READ_SEARCH")
        self.assertEqual(first.value("kepler_source_up", source="rapl", zone="package-0"), 1)
        self.assertGreater(len(first.series("kepler_process_cpu_seconds_total")), 1)
        before = package_joules(first)
        bump_energy(self.bed.energy, ENERGY_START_UJ + ENERGY_BUMP_UJ)
        deadline = time.monotonic() + 5
        while package_joules(daemon.scrape()) == before and time.monotonic() < deadline:
            time.sleep(0.1)
        self.assertAlmostEqual(package_joules(daemon.scrape()) - before, ENERGY_BUMP_UJ / 1e6, places=3)
        daemon.stop()

    def test_without_capabilities_root_only_energy_is_skipped_and_the_log_says_why(self):
        daemon, metrics = self.start("nocaps", ())
        self.assertEqual(self.check_privileges_line(daemon, ()), "none")
        zone = os.path.dirname(self.bed.energy)
        self.assertIn(f"skipping RAPL zone {zone}: unable to read {self.bed.energy}: Permission denied",
                      daemon.log_text())
        # cpu.preferredMeters' default goes on to the estimate meter, and says so.
        self.assertEqual(metrics.series("kepler_source_up", source="rapl"), [])
        self.assertEqual(metrics.value("kepler_source_up", source="estimate", zone="package-0"), 1)
        self.assertIn("using estimate: estimated, not measured", daemon.log_text())
        self.assertGreater(len(metrics.series("kepler_process_cpu_seconds_total")), 1, "serves /proc data")
        daemon.stop()


class GroupReadableEnergyTest(unittest.TestCase):
    """What a udev or tmpfiles rule does (`energy_uj` group-readable by the daemon's group):
    no capability at all is needed."""

    @classmethod
    def setUpClass(cls):
        skip_unless_root()
        cls.bed = Bed("kepler-it-privileges-group-", energy_mode=0o440, energy_gid=UNPRIVILEGED_UID)

    @classmethod
    def tearDownClass(cls):
        cls.bed.close()

    def test_serves_energy_without_capabilities(self):
        wrapper = read_only_view([self.bed.sysfs]) + unprivileged(())
        daemon = self.bed.daemon("group", wrapper)
        metrics = serving(daemon)
        self.assertEqual(privileges_logged(daemon)[2], 0)
        self.assertEqual(metrics.value("kepler_source_up", source="rapl", zone="package-0"), 1)
        self.assertIsNotNone(package_joules(metrics))
        daemon.stop()


# --------------------------------------------------------------------------- eBPF mode

class ReadOnlyEbpfModeTest(unittest.TestCase):
    """eBPF mode (`bpf.enabled: true`) as uid 65534 with only the documented capabilities, in
    the same read-only view."""

    @classmethod
    def setUpClass(cls):
        skip_unless_root()
        skip_unless_ebpf_host()
        cls.bed = Bed("kepler-it-privileges-ebpf-")

    @classmethod
    def tearDownClass(cls):
        cls.bed.close()

    def test_loads_the_probe_and_serves(self):
        wrapper = read_only_view([self.bed.sysfs]) + as_unprivileged_user_with(EBPF_CAPABILITIES)
        daemon = self.bed.daemon("ebpf", wrapper, bpf_enabled="true")
        metrics = serving(daemon)
        self.assertIn("ro", mount_options(daemon.process.pid, "/sys"))
        _, _, mask, names = privileges_logged(daemon)
        self.assertEqual(mask, capability_mask(EBPF_CAPABILITIES))
        self.assertEqual(names, "CAP_DAC_READ_SEARCH, CAP_SYS_PTRACE, CAP_PERFMON, CAP_BPF")
        self.assertEqual(metrics.value("kepler_bpf_up"), 1)
        self.assertEqual(metrics.value("kepler_source_up", source="rapl", zone="package-0"), 1)
        daemon.stop()


# --------------------------------------------------------------------------- set-id and file capabilities

def on_nosuid_mount(path):
    return bool(os.statvfs(path).f_flag & os.ST_NOSUID)


class SetIdTest(unittest.TestCase):
    """Copies of the binary with the setuid or setgid bit (owner root), run by uid 65534: refused
    with exit 1 before anything else. The same copy without the bit runs."""

    @classmethod
    def setUpClass(cls):
        skip_unless_root()
        cls.bed = Bed("kepler-it-privileges-setid-")
        if on_nosuid_mount(cls.bed.dir):
            cls.bed.close()
            raise unittest.SkipTest(f"{cls.bed.dir} is on a nosuid mount")

    @classmethod
    def tearDownClass(cls):
        cls.bed.close()

    def run_as_nobody(self, binary, *args):
        done = subprocess.run([*unprivileged(()), binary, *args], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, timeout=10)
        return done.returncode, done.stdout.decode("utf-8", "replace")

    def test_setuid_is_refused(self):
        binary = copy_of_kepler(self.bed.dir, "kepler-setuid", 0o4755)
        code, output = self.run_as_nobody(binary, "--version")
        self.assertEqual(code, 1, output)
        self.assertIn(SETUID_REFUSAL, output)

    def test_setgid_is_refused(self):
        binary = copy_of_kepler(self.bed.dir, "kepler-setgid", 0o2755)
        code, output = self.run_as_nobody(binary, "--version")
        self.assertEqual(code, 1, output)
        self.assertIn(SETGID_REFUSAL, output)

    def test_without_the_bit_the_same_copy_runs(self):
        code, output = self.run_as_nobody(self.bed.binary, "--version")
        self.assertEqual(code, 0, output)
        self.assertIn("kepler version", output)

    def test_file_capabilities_are_accepted_and_enough(self):
        setcap = shutil.which("setcap")
        if not setcap:
            self.skipTest("setcap (libcap2-bin) is not installed")
        binary = copy_of_kepler(self.bed.dir, "kepler-filecaps")
        done = subprocess.run([setcap, "cap_dac_read_search=ep", binary], capture_output=True, text=True)
        if done.returncode != 0:
            self.skipTest(f"setcap failed (no file capabilities here?): {done.stderr.strip()}")
        self.bed.binary = binary
        daemon = self.bed.daemon("filecaps", unprivileged(()))
        metrics = serving(daemon)
        uid, _, mask, names = privileges_logged(daemon)
        self.assertEqual((uid, mask, names), (UNPRIVILEGED_UID, capability_mask(("dac_read_search",)),
                                              "CAP_DAC_READ_SEARCH"))
        self.assertEqual(metrics.value("kepler_source_up", source="rapl", zone="package-0"), 1)
        daemon.stop()


if __name__ == "__main__":
    unittest.main(verbosity=2)
