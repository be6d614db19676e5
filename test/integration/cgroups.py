"""Real cgroups for the workload tests: where the hierarchies are mounted, kubepods-style paths
as kubelet creates them, joining a cgroup, the CPU time a cgroup itself accounts, and removing
everything a test created — leaf first, after evacuating and killing what is left inside.

Needs root. Standard library only.
"""

import dataclasses
import errno
import os
import signal
import time

MOUNTS_FILE = "/proc/self/mounts"
RMDIR_TIMEOUT_S = 5.0


class CgroupUnavailable(Exception):
    """The host lacks the hierarchy a cgroup was asked for (e.g. no v1 `cpu` controller)."""


# --------------------------------------------------------------------------- mounts

@dataclasses.dataclass(frozen=True)
class CgroupMount:
    path: str
    version: int                # 1 or 2
    options: frozenset          # mount options; for v1 they name the controllers (cpu, cpuacct, …)

    def has_controller(self, controller):
        return self.version == 1 and controller in self.options


def cgroup_mounts(mounts_file=None):
    """Every cgroup v1 and v2 mount listed in `mounts_file` (default MOUNTS_FILE), in its order."""
    mounts = []
    with open(mounts_file or MOUNTS_FILE) as table:
        for line in table:
            fields = line.split()
            if len(fields) < 4 or fields[2] not in ("cgroup", "cgroup2"):
                continue
            path = fields[1].replace("\\040", " ")
            mounts.append(CgroupMount(path, 2 if fields[2] == "cgroup2" else 1,
                                      frozenset(fields[3].split(","))))
    return mounts


def cgroup_v2_mount():
    """The cgroup2 mount (/sys/fs/cgroup on pure v2 hosts, …/unified on hybrid ones)."""
    found = [m for m in cgroup_mounts() if m.version == 2]
    if not found:
        raise CgroupUnavailable(f"no cgroup2 mount in {MOUNTS_FILE}")
    return found[0]


def cgroup_v1_mount(controller):
    """The v1 hierarchy carrying `controller`; a combined `cpu,cpuacct` mount serves both."""
    found = [m for m in cgroup_mounts() if m.has_controller(controller)]
    if not found:
        raise CgroupUnavailable(f"no cgroup v1 hierarchy with the {controller!r} controller "
                                f"in {MOUNTS_FILE}")
    return found[0]


# --------------------------------------------------------------------------- kubelet's paths

def kubepods_v2_path(qos, pod_uid, container_id):
    """The systemd-driver layout kubelet and containerd use on cgroup v2:
    kubepods.slice/kubepods-<qos>.slice/kubepods-<qos>-pod<uid, '-' → '_'>.slice/cri-containerd-<id>.scope"""
    pod_slice = f"kubepods-{qos}-pod{pod_uid.replace('-', '_')}.slice"
    return os.path.join("kubepods.slice", f"kubepods-{qos}.slice", pod_slice,
                        f"cri-containerd-{container_id}.scope")


def kubepods_v1_path(qos, pod_uid, container_id):
    """The cgroupfs-driver layout kubelet uses on cgroup v1: kubepods/<qos>/pod<uid>/<id>."""
    return os.path.join("kubepods", qos, f"pod{pod_uid}", container_id)


# --------------------------------------------------------------------------- one cgroup

def _read_pids(directory):
    try:
        with open(os.path.join(directory, "cgroup.procs")) as procs:
            return {int(line) for line in procs if line.strip()}
    except FileNotFoundError:
        return set()


def _write_pid(directory, pid):
    with open(os.path.join(directory, "cgroup.procs"), "w") as procs:
        procs.write(f"{pid}\n")


@dataclasses.dataclass(frozen=True)
class Cgroup:
    """The same relative path in one or more hierarchies (v1 `cpu` and `cpuacct` may be separate
    mounts, and a process must join both); `accounting` is the directory whose counters hold
    its CPU time: `cpu.stat` on v2, `cpuacct.usage` on v1."""
    relative_path: str
    version: int
    directories: tuple
    accounting: str

    def join(self):
        """Moves the calling process in; usable as Popen's preexec_fn, so that the program it
        execs never runs, nor is seen by anyone, outside this cgroup."""
        for directory in self.directories:
            _write_pid(directory, os.getpid())

    def pids(self):
        return set().union(*(_read_pids(directory) for directory in self.directories))

    def cpu_seconds(self):
        """The CPU time (user + system) that the kernel accounts to this cgroup, in seconds."""
        if self.version == 2:
            with open(os.path.join(self.accounting, "cpu.stat")) as stat:
                usage = dict(line.split() for line in stat if line.strip())
            return int(usage["usage_usec"]) / 1e6
        with open(os.path.join(self.accounting, "cpuacct.usage")) as usage:
            return int(usage.read()) / 1e9


# --------------------------------------------------------------------------- creating and removing

class CgroupBuilder:
    """Creates cgroups and remembers each directory it made (never one that already existed),
    so that `remove_all` takes away exactly those: leaf first, after moving any process still
    inside back to its hierarchy's root cgroup and killing it."""

    def __init__(self):
        self._created = []      # (mount path, directory), in creation order

    def create_v2(self, relative_path):
        mount = cgroup_v2_mount()
        directory = self._make(mount, relative_path)
        return Cgroup(relative_path, 2, (directory,), directory)

    def create_v1(self, relative_path, controller="cpu", accounting_controller="cpuacct"):
        """`relative_path` under the v1 hierarchy of `controller` and, when that is a separate
        mount, of `accounting_controller` too (the same path in both, as kubelet does)."""
        control_mount = cgroup_v1_mount(controller)
        accounting_mount = cgroup_v1_mount(accounting_controller)
        mounts = [control_mount] + ([accounting_mount] if accounting_mount != control_mount else [])
        directories = tuple(self._make(mount, relative_path) for mount in mounts)
        return Cgroup(relative_path, 1, directories, directories[-1])

    def _make(self, mount, relative_path):
        directory = mount.path
        for component in relative_path.split("/"):
            directory = os.path.join(directory, component)
            try:
                os.mkdir(directory)
            except FileExistsError:
                continue
            self._created.append((mount.path, directory))
        return directory

    def created(self):
        return [directory for _, directory in self._created]

    def remove_all(self):
        """Removes every directory this builder created; tries them all, then raises once if any
        could not be removed."""
        failures = []
        for mount_path, directory in reversed(self._created):   # children before parents
            try:
                _evacuate(mount_path, directory)
                _rmdir_when_empty(directory)
            except OSError as error:
                failures.append(f"{directory}: {error}")
        self._created = []
        if failures:
            raise RuntimeError("cgroups left behind: " + "; ".join(failures))


def _evacuate(mount_path, directory):
    """Moves every process still in `directory` to the hierarchy's root cgroup, then kills it
    (only the tests' own processes can be there: the cgroup did not exist before)."""
    for pid in _read_pids(directory):
        try:
            _ignoring_exited(lambda: _write_pid(mount_path, pid))
        finally:
            _ignoring_exited(lambda: os.kill(pid, signal.SIGKILL))


def _ignoring_exited(action):
    """Runs `action`; a process that exited meanwhile (ESRCH) is not an error."""
    try:
        action()
    except OSError as error:
        if error.errno != errno.ESRCH:
            raise


def _rmdir_when_empty(directory):
    """rmdir, retrying while the kernel still counts exiting tasks (EBUSY)."""
    deadline = time.monotonic() + RMDIR_TIMEOUT_S
    while True:
        try:
            os.rmdir(directory)
            return
        except FileNotFoundError:
            return
        except OSError as error:
            if error.errno != errno.EBUSY or time.monotonic() > deadline:
                raise
            time.sleep(0.05)
