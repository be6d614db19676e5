"""eBPF mode without its capabilities (fallback to /proc) and with only them (least privilege).
The capability set is documented in ebpf_support.py's users: see test_ebpf.py's docstring."""

import unittest

from ebpf_support import *  # noqa: F401,F403 (constants and helpers of these tests)


# --------------------------------------------------------------------------- fallback

class ProcfsFallbackTest(unittest.TestCase):
    """As root but without CAP_BPF, CAP_PERFMON and CAP_SYS_ADMIN (gone from the bounding
    set): `auto` serves from /proc with one warning, `true` refuses to start."""

    DENIED = ("bpf", "perfmon", "sys_admin")

    @classmethod
    def setUpClass(cls):
        skip_unless_ebpf_host()
        cls.bed = h.TestBed("kepler-it-ebpf-fallback-")
        with cls.bed.closed_on_failure():
            cls.bed.start_powercap()
            cls.burner = cls.bed.add_workload(h.cpu_burner(cls.bed.workdir))
            cls.daemon = start_daemon(cls.bed, "auto", "auto", wrapper=without_capabilities(cls.DENIED))
            cls.capabilities = effective_capability_mask(cls.daemon.process.pid)
            cls.snapshots = [snapshots_read_after_now([cls.daemon])[0] for _ in range(2)]

    @classmethod
    def tearDownClass(cls):
        try:
            stop_daemons([cls.daemon])
        finally:
            cls.bed.close()

    def test_the_capabilities_are_really_gone(self):
        left = self.capabilities & capability_mask(self.DENIED)
        self.assertEqual(left, 0, f"CapEff of kepler {self.capabilities:#x} still has {left:#x}")

    def test_serves_from_procfs(self):
        for metrics in self.snapshots:
            self.assertEqual(metrics.value("kepler_bpf_up"), 0)
            self.assertEqual(metrics.value("kepler_source_up", source="procfs", zone=""), 1)
            self.assertEqual(metrics.series("kepler_source_up", source="ebpf"), [])

    def test_process_series_are_present(self):
        metrics = self.snapshots[-1]
        self.assertGreater(len(metrics.series("kepler_process_cpu_seconds_total")), 1)
        self.assertGreater(process_cpu_seconds(metrics, self.burner.pid), 0)

    def test_warns_once(self):
        warnings = [line for line in self.daemon.log_text().splitlines() if FALLBACK_WARNING in line]
        self.assertEqual(len(warnings), 1, self.daemon.log_tail())
        log(f"fallback warning: {warnings[0]}")

    def test_bpf_enabled_true_exits_1_with_the_reason(self):
        config = write_config_for(self.bed, "true", "true")
        started = time.monotonic()
        code, output = h.run_daemon_to_exit(config, timeout=FATAL_EXIT_TIMEOUT_S,
                                            wrapper=without_capabilities(self.DENIED))
        log(f"bpf.enabled true without the capabilities: exit {code} after "
            f"{time.monotonic() - started:.2f} s")
        self.assertEqual(code, 1, output[-2000:])
        self.assertIn(FATAL_MESSAGE, output)


# --------------------------------------------------------------------------- least privilege

def world_readable_copy_of_kepler(bed):
    """The binary copied into the bed, so that the unprivileged user can run it whatever the
    permissions of the build tree."""
    directory = os.path.join(bed.workdir, "bin")
    os.makedirs(directory)
    path = os.path.join(directory, "kepler")
    shutil.copy(h.kepler_binary(), path)
    os.chmod(path, 0o755)
    return path


def open_up_for_unprivileged_user(path):
    """o+rx on `path` (the bed's directory is 0700): the daemon must read its config there."""
    os.chmod(path, os.stat(path).st_mode | stat.S_IROTH | stat.S_IXOTH)


class LeastPrivilegeTest(unittest.TestCase):
    """The daemon as uid 65534 with only EBPF_CAPABILITIES, in eBPF mode (`true`), sees a busy
    root-owned process in a container cgroup with its comm, exe and container name; without
    any one of the four it does not (or does not start)."""

    @classmethod
    def setUpClass(cls):
        skip_unless_ebpf_host()
        cls.bed = h.TestBed("kepler-it-ebpf-least-")
        with cls.bed.closed_on_failure():
            open_up_for_unprivileged_user(cls.bed.workdir)
            builder = cgroup_builder(cls.bed)
            cls.bed.start_powercap()
            cls.binary = world_readable_copy_of_kepler(cls.bed)
            cls.cgroup, cls.container_id = container_cgroup(builder)
            environment = {k: v for k, v in os.environ.items() if k != "HOSTNAME"}
            environment["CONTAINER_NAME"] = "least-privilege"
            cls.burner = cls.bed.add_workload(h.Workload(
                cls.bed.workdir, "lp-burner", shutil.which("sh"), ["-c", "while :; do :; done"],
                env=environment, preexec_fn=cls.cgroup.join))

    @classmethod
    def tearDownClass(cls):
        cls.bed.close()

    def run_unprivileged(self, name, capabilities):
        """Starts an eBPF-mode daemon as uid 65534 with `capabilities`; returns it and the
        burner's process series from a snapshot read after it started."""
        daemon = start_daemon(self.bed, name, "true", binary=self.binary,
                              wrapper=as_unprivileged_user_with(capabilities))
        try:
            self.assertEqual(uid_of(daemon.process.pid), UNPRIVILEGED_UID)
            self.assertEqual(effective_capability_mask(daemon.process.pid),
                             capability_mask(capabilities), "CapEff: exactly these, nothing else")
            metrics = snapshots_read_after_now([daemon])[0]
            series = metrics.series("kepler_process_cpu_seconds_total", pid=str(self.burner.pid))
            self.assertEqual(len(series), 1, f"series of the burner: {series}")
            container = metrics.series("kepler_container_cpu_seconds_total",
                                       container_id=self.container_id)
            self.assertEqual(len(container), 1, f"series of its container: {container}")
            runs = sum(s.value for s in metrics.series("kepler_bpf_program_runs_total"))
            log(f"uid {UNPRIVILEGED_UID} with {'+'.join(capabilities)}: bpf_up "
                f"{metrics.value('kepler_bpf_up')}, burner {series[0].labels}, "
                f"container_name {container[0].labels['container_name']!r}, "
                f"BPF program runs counted {runs:g} (0 unless BPF stats are on)")
            return metrics, series[0], container[0]
        finally:
            stop_daemons([daemon])

    def test_runs_in_ebpf_mode_with_only_the_documented_capabilities(self):
        metrics, process, container = self.run_unprivileged("least", EBPF_CAPABILITIES)
        self.assertEqual(metrics.value("kepler_bpf_up"), 1)
        self.assertEqual(metrics.value("kepler_source_up", source="ebpf", zone=""), 1)
        self.assertEqual(process.labels["comm"], "lp-burner")
        self.assertEqual(process.labels["exe"], self.burner.exe)
        self.assertEqual(process.labels["container_id"], self.container_id)
        self.assertGreater(process.value, 0)
        self.assertEqual(container.labels["container_name"], "least-privilege")

    def test_without_sys_ptrace_exe_is_unknown(self):
        _, process, _ = self.run_unprivileged("no-ptrace", self.all_but("sys_ptrace"))
        self.assertEqual(process.labels["comm"], "lp-burner")
        self.assertEqual(process.labels["exe"], "")

    def test_without_dac_read_search_container_name_is_unknown(self):
        _, _, container = self.run_unprivileged("no-dac", self.all_but("dac_read_search"))
        self.assertEqual(container.labels["container_name"], "")

    def test_without_bpf_or_perfmon_ebpf_cannot_run(self):
        for missing in ("bpf", "perfmon"):
            with self.subTest(missing=missing):
                config = write_config_for(self.bed, f"no-{missing}", "true")
                code, output = h.run_daemon_to_exit(
                    config, timeout=FATAL_EXIT_TIMEOUT_S, binary=self.binary,
                    wrapper=as_unprivileged_user_with(self.all_but(missing)))
                self.assertEqual(code, 1, output[-2000:])
                self.assertIn(FATAL_MESSAGE, output)

    @staticmethod
    def all_but(name):
        return tuple(c for c in EBPF_CAPABILITIES if c != name)


if __name__ == "__main__":
    unittest.main(verbosity=2)
