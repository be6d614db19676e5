"""Shared set-up of the eBPF integration tests: daemons in each mode, capabilities,
workloads (fork storm, steady burner) and cgroups."""

import json
import os
import shutil
import signal
import stat
import sys
import time
import unittest
import uuid

import cgroups
import kepler_harness as h
from exposition import parse_exposition
from plumbing import free_port, log

INTERVAL_S = 1.0
TERMINATED_RETENTION = "120s"     # longer than any test: nothing terminated is dropped
BTF_PATH = "/sys/kernel/btf/vmlinux"

# Fork storm: ≥ 2,000 processes of a few ms of CPU each over ~10 s.
STORM_PROCESSES = 2000
STORM_SECONDS = 10.0
STORM_BURN_S = 0.003
STORM_TAIL_S = 3.0                # until the last exits reach the exporter
EBPF_MIN_COVERAGE = 0.99
EBPF_MAX_COVERAGE = 1.01          # more is CPU time charged to the container that it did not use

# Long-running processes.
STEADY_DUTY = 0.6
STEADY_BURN_S = 12.0
LIVE_POLL_S = 0.01
LIVE_EDGE_S = 0.3                 # live snapshots this close to the burn's start or end are left out
MIN_LIVE_WINDOW_S = 8.0
AGREEMENT_TOLERANCE = 0.01

UNPRIVILEGED_UID = 65534          # nobody
EBPF_CAPABILITIES = ("bpf", "perfmon", "sys_ptrace", "dac_read_search")
CAPABILITY_BITS = {"dac_read_search": 2, "sys_ptrace": 19, "sys_admin": 21, "perfmon": 38, "bpf": 39}
FALLBACK_WARNING = "eBPF CPU accounting unavailable"
FATAL_MESSAGE = "bpf.enabled is true but the eBPF probe cannot run"
FATAL_EXIT_TIMEOUT_S = 5.0


def skip_unless_ebpf_host():
    if os.geteuid() != 0:
        raise unittest.SkipTest("needs root: loads eBPF, creates cgroups, changes capabilities")
    if not os.path.exists(BTF_PATH):
        raise unittest.SkipTest(f"no {BTF_PATH}: the kernel has no BTF for CO-RE")


def require_setpriv():
    path = shutil.which("setpriv")
    if not path:
        raise unittest.SkipTest("util-linux setpriv is not installed")
    return path


def random_container_id():
    return uuid.uuid4().hex + uuid.uuid4().hex     # 64 hex digits, as runtimes make them


# --------------------------------------------------------------------------- capabilities

def capability_mask(names):
    return sum(1 << CAPABILITY_BITS[name] for name in names)


def effective_capability_mask(pid):
    """CapEff of `pid`, as a bit mask."""
    with open(f"/proc/{pid}/status") as status:
        fields = dict(line.split(":", 1) for line in status if ":" in line)
    return int(fields["CapEff"].strip(), 16)


def uid_of(pid):
    with open(f"/proc/{pid}/status") as status:
        uid_line = next(line for line in status if line.startswith("Uid:"))
    return int(uid_line.split()[1])


def without_capabilities(names):
    """A wrapper that runs the command as root with `names` dropped from the bounding set (and
    the inheritable set), so that neither exec nor anything after can give them back."""
    listed = ",".join(f"-{name}" for name in names)
    return [require_setpriv(), f"--bounding-set={listed}", f"--inh-caps={listed}", "--"]


def as_unprivileged_user_with(names):
    """A wrapper that runs the command as uid/gid UNPRIVILEGED_UID, no groups, with exactly
    `names` as ambient (hence effective) capabilities."""
    listed = ",".join(f"+{name}" for name in names)
    return [require_setpriv(), f"--reuid={UNPRIVILEGED_UID}", f"--regid={UNPRIVILEGED_UID}",
            "--clear-groups", f"--inh-caps={listed}", f"--ambient-caps={listed}", "--"]


# --------------------------------------------------------------------------- daemons

def start_daemon(bed, name, bpf_mode, wrapper=(), binary=None):
    """A daemon in `<workdir>/<name>/` (its own config and log) on the bed's powercap tree,
    with `bpf.enabled: <bpf_mode>` and nothing terminated ever dropped; started, and killed
    when the bed closes."""
    directory = os.path.join(bed.workdir, name)
    os.makedirs(directory, exist_ok=True)
    port = free_port()
    config = h.write_kepler_config(directory, bed.driver.sysfs_root, port,
                                   interval=f"{INTERVAL_S:g}s",
                                   terminated_retention=TERMINATED_RETENTION,
                                   extra=f"bpf:\n  enabled: {bpf_mode}\n")
    daemon = h.Daemon(config, port, os.path.join(directory, "kepler.log"),
                      binary=binary, wrapper=wrapper)
    bed.on_close(daemon.kill)
    return daemon.start()


def write_config_for(bed, name, bpf_mode):
    """Only the config of such a daemon (for one that is expected to exit by itself)."""
    directory = os.path.join(bed.workdir, name)
    os.makedirs(directory, exist_ok=True)
    return h.write_kepler_config(directory, bed.driver.sysfs_root, free_port(),
                                 extra=f"bpf:\n  enabled: {bpf_mode}\n")


def stop_daemons(daemons):
    """Graceful SIGTERM stops; raises after trying them all if any was not graceful."""
    failures = []
    for daemon in daemons:
        try:
            daemon.stop()
        except AssertionError as error:
            failures.append(str(error))
    if failures:
        raise AssertionError("\n".join(failures))


def snapshots_read_after_now(daemons, poll_s=0.05, timeout=4 * INTERVAL_S):
    """One parsed snapshot per daemon whose CPU read certainly happened after this call: the
    second new body each serves from now on (the first may have been read just before)."""
    bodies = {daemon: daemon.scrape_text() for daemon in daemons}
    changes = {daemon: 0 for daemon in daemons}
    deadline = time.monotonic() + timeout
    while any(count < 2 for count in changes.values()):
        for daemon in daemons:
            if changes[daemon] >= 2:
                continue
            body = daemon.scrape_text()
            if body != bodies[daemon]:
                bodies[daemon], changes[daemon] = body, changes[daemon] + 1
        if time.monotonic() > deadline:
            raise AssertionError(f"/metrics did not change twice within {timeout} s")
        time.sleep(poll_s)
    return [parse_exposition(bodies[daemon]) for daemon in daemons]


def mode_of(metrics):
    return "ebpf" if metrics.value("kepler_bpf_up") == 1 else "procfs"


def container_cpu_seconds(metrics, container_id):
    """The container's CPU seconds, running and terminated series together."""
    return sum(s.value for s in metrics.series("kepler_container_cpu_seconds_total",
                                               container_id=container_id))


def process_cpu_seconds(metrics, pid):
    return metrics.value("kepler_process_cpu_seconds_total", pid=str(pid))


# --------------------------------------------------------------------------- workloads

def proc_stat_cpu_seconds(pid):
    """utime + stime of `pid` from /proc/<pid>/stat (the whole thread group), in seconds."""
    with open(f"/proc/{pid}/stat") as stat_file:
        after_comm = stat_file.read().rsplit(")", 1)[1].split()
    utime, stime = int(after_comm[11]), int(after_comm[12])    # fields 14 and 15
    return (utime + stime) / os.sysconf("SC_CLK_TCK")


# Shared by the scripts below: block SIGUSR1, say ready, wait for it (the "go"); the report
# appears whole or not at all.
_WAIT_FOR_GO = """
import json, os, signal, sys, time
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
parent, report = int(sys.argv[1]), sys.argv[2]

def write_report(content):
    with open(report + ".tmp", "w") as out:
        json.dump(content, out)
    os.replace(report + ".tmp", report)

open(report + ".ready", "w").close()
signal.sigwait({signal.SIGUSR1})
"""

# After the go: forks `count` children over `seconds`, each burning `burn_s` of its own CPU time
# and exiting; reaps them all, writes a report, exits. Stops forking once orphaned.
STORM_DRIVER = _WAIT_FOR_GO + """
count, seconds, burn_s = int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
started = time.monotonic()
forked = reaped = failed = 0
children = []

def burn_and_exit():
    deadline = time.process_time() + burn_s
    while time.process_time() < deadline:
        pass
    os._exit(0)

def reap(block):
    global reaped, failed
    while reaped < forked:
        pid, status = os.waitpid(-1, 0 if block else os.WNOHANG)
        if pid == 0:
            return
        reaped += 1
        failed += os.waitstatus_to_exitcode(status) != 0

for i in range(count):
    if os.getppid() != parent:
        break
    delay = started + i * seconds / count - time.monotonic()
    if delay > 0:
        time.sleep(delay)
    child = os.fork()
    if child == 0:
        burn_and_exit()
    children.append(child)
    forked += 1
    reap(block=False)
reap(block=True)
write_report({"forked": forked, "failed": failed, "seconds": time.monotonic() - started,
              "pids": children})
"""

# After the go: busy `duty` of every 50 ms for `burn_s`, writes a report with when it burned,
# then stays alive and idle (a long-running process) until orphaned or killed.
STEADY_BURNER = _WAIT_FOR_GO + """
duty, burn_s, period = float(sys.argv[3]), float(sys.argv[4]), 0.05
started = time.monotonic()
while time.monotonic() - started < burn_s and os.getppid() == parent:
    tick = time.monotonic()
    while time.monotonic() - tick < duty * period:
        pass
    time.sleep(max(0.0, tick + period - time.monotonic()))
write_report({"started": started, "finished": time.monotonic()})
while os.getppid() == parent:
    time.sleep(1.0)
"""


class GoScript:
    """One of the scripts above as a workload: started idle, released with `go()`, its JSON
    report read with `wait_for_report()`."""

    def __init__(self, bed, comm, script, args, **popen_options):
        self.report_path = os.path.join(bed.workdir, f"{comm}.json")
        self.workload = bed.add_workload(h.Workload(
            bed.workdir, comm, sys.executable,
            ["-c", script, str(os.getpid()), self.report_path, *map(str, args)], **popen_options))
        self.pid = self.workload.pid

    def wait_until_ready(self, timeout=10.0):
        deadline = time.monotonic() + timeout
        while not os.path.exists(self.report_path + ".ready"):
            if not self.workload.running() or time.monotonic() > deadline:
                raise AssertionError(f"{self.workload.comm} did not get ready")
            time.sleep(0.01)

    def go(self):
        os.kill(self.pid, signal.SIGUSR1)

    def wait_for_report(self, timeout):
        deadline = time.monotonic() + timeout
        while not os.path.exists(self.report_path):
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.workload.comm} did not finish within {timeout} s")
            time.sleep(0.02)
        with open(self.report_path) as report:
            return json.load(report)


def container_cgroup(builder):
    """A cgroup v2 shaped like a containerd container in a burstable pod; returns
    (cgroup, container id)."""
    container_id = random_container_id()
    path = cgroups.kubepods_v2_path("burstable", str(uuid.uuid4()), container_id)
    return builder.create_v2(path), container_id


def cgroup_builder(bed):
    """A CgroupBuilder whose cgroups the bed removes when it closes (after the workloads it
    stops, since callbacks run newest first and this one is registered first)."""
    builder = cgroups.CgroupBuilder()
    bed.on_close(builder.remove_all)
    return builder
