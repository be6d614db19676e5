"""A FUSE file system for fault-injection tests: it mirrors a directory (a driven powercap
tree) read-only and, per file or directory, injects a fault that the test switches at run time.

Faults (`kind`, with their parameters):
  missing      the file, or the whole directory below it, is gone (ENOENT; a directory also
               disappears from its parent's listing)
  garbage      reads return `text` (default "garbage")
  eio          reads fail with EIO
  hang         reads block until the fault changes or the file system stops
  backwards    an energy counter reads `uj` less than it is (a reset), modulo its range
  jump         an energy counter reads `uj` more than it is (an absurd jump), modulo its range
  fast         an energy counter also gains `watts` while the fault lasts, wrapping at its
               range as a real one would (the energy it gained stays when the fault is cleared)

The file system runs in a process of its own (`fault_fs.py serve SPEC`): reads that hang there
never hold the test's interpreter, and stopping that process always releases them. The test
writes `control.json` atomically (version, faults by path); the server reloads it within
10 ms and acknowledges the version in `applied.json`, so `set_fault` returns once the fault is
in force.
"""

import errno
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import threading
import time

from plumbing import log, write_atomically

MOUNT_TIMEOUT_S = 10.0
APPLY_TIMEOUT_S = 5.0
CONTROL_POLL_S = 0.01
HANG_SLICE_S = 0.05
STOP_TIMEOUT_S = 5.0


class FuseUnavailable(Exception):
    """FUSE cannot be used here; the message says why (tests skip with it)."""


# --------------------------------------------------------------------------- test side

def _interpreter_with_fusepy():
    """A Python that can import Debian's `fusepy` (python3-fusepy): this one, else the
    system's (the tests may run under another interpreter, e.g. pyenv's)."""
    for candidate in (sys.executable, "/usr/bin/python3"):
        if candidate and os.access(candidate, os.X_OK):
            done = subprocess.run([candidate, "-c", "import fusepy"], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL, timeout=30)
            if done.returncode == 0:
                return candidate
    return None


def fuse_unavailable_reason():
    """None when a FUSE file system can be mounted here, else why not."""
    if not os.path.exists("/dev/fuse") and shutil.which("modprobe"):
        subprocess.run(["modprobe", "fuse"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if not os.path.exists("/dev/fuse"):
            return "/dev/fuse does not exist (no FUSE in this kernel or container)"
    if os.geteuid() != 0:
        return "mounting the fault file system needs root"
    if _interpreter_with_fusepy() is None:
        return "python3-fusepy is not installed (module fusepy)"
    if not (shutil.which("fusermount3") or shutil.which("fusermount")):
        return "fusermount3 is not installed (package fuse3)"
    return None


class FaultFs:
    """The mirror of `source_dir` mounted at `mountpoint`, with faults switched by `set_fault`.
    Paths are relative to the mount (e.g. `class/powercap/intel-rapl:0/energy_uj`)."""

    def __init__(self, source_dir, mountpoint, control_dir):
        self.source_dir = source_dir
        self.mountpoint = mountpoint
        self.control_path = os.path.join(control_dir, "control.json")
        self.applied_path = os.path.join(control_dir, "applied.json")
        self.log_path = os.path.join(control_dir, "fault_fs.log")
        self.faults = {}
        self.version = 0
        self._process = None
        self._log_file = None

    def start(self):
        """Mounts the file system; raises FuseUnavailable when it cannot be mounted here."""
        reason = fuse_unavailable_reason()
        if reason:
            raise FuseUnavailable(reason)
        os.makedirs(self.mountpoint, exist_ok=True)
        self._write_control(stopping=False)
        spec = {"source": self.source_dir, "mountpoint": self.mountpoint,
                "control": self.control_path, "applied": self.applied_path,
                "parent_pid": os.getpid()}
        self._log_file = open(self.log_path, "wb")
        self._process = subprocess.Popen(
            [_interpreter_with_fusepy(), os.path.abspath(__file__), "serve", json.dumps(spec)],
            stdin=subprocess.DEVNULL, stdout=self._log_file, stderr=subprocess.STDOUT)
        try:
            self._wait_mounted()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_mounted(self):
        deadline = time.monotonic() + MOUNT_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise FuseUnavailable(f"the FUSE server exited with {self._process.returncode}: "
                                      + self.server_log()[-2000:])
            if self._applied_version() >= 0 and os.path.ismount(self.mountpoint):
                return
            time.sleep(0.02)
        raise FuseUnavailable(f"not mounted within {MOUNT_TIMEOUT_S} s: " + self.server_log()[-2000:])

    def set_fault(self, path, kind, **params):
        """Puts a fault on `path` (kind None clears it) and returns once it is in force."""
        if kind is None:
            self.faults.pop(path, None)
        else:
            self.faults[path] = {"kind": kind, **params}
        self._apply()

    def clear(self, path):
        self.set_fault(path, None)

    def clear_all(self):
        self.faults = {}
        self._apply()

    def _apply(self, stopping=False):
        self._write_control(stopping)
        deadline = time.monotonic() + APPLY_TIMEOUT_S
        while self._applied_version() < self.version:
            if time.monotonic() > deadline:
                raise AssertionError(f"the FUSE server did not apply control version {self.version} "
                                     f"within {APPLY_TIMEOUT_S} s\n" + self.server_log()[-2000:])
            if self._process.poll() is not None:
                raise AssertionError(f"the FUSE server exited with {self._process.returncode}\n"
                                     + self.server_log()[-2000:])
            time.sleep(0.005)

    def _write_control(self, stopping):
        self.version += 1
        write_atomically(self.control_path, json.dumps(
            {"version": self.version, "faults": self.faults, "stopping": stopping}))

    def _applied_version(self):
        try:
            with open(self.applied_path) as applied:
                return json.load(applied)["version"]
        except (OSError, ValueError, KeyError):
            return -1

    def server_log(self):
        try:
            with open(self.log_path, "rb") as text:
                return text.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def stop(self):
        """Releases every hung read, unmounts and ends the server; never raises, never hangs
        (falls back to a lazy unmount and SIGKILL)."""
        if self._process is None:
            return
        if self._process.poll() is None:
            try:
                self.faults = {}
                self._apply(stopping=True)   # hung reads return EIO from here on
            except AssertionError as error:
                log(f"fault_fs: {error}")
            self._process.send_signal(signal.SIGTERM)   # libfuse unmounts and leaves its loop
            try:
                self._process.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                log("fault_fs: server did not stop; lazy unmount and SIGKILL")
                self._process.kill()
                self._process.wait()
        if os.path.ismount(self.mountpoint):
            for command in (["fusermount3", "-u", "-z", self.mountpoint],
                            ["fusermount", "-u", "-z", self.mountpoint],
                            ["umount", "-l", self.mountpoint]):
                if shutil.which(command[0]):
                    subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=10)
                if not os.path.ismount(self.mountpoint):
                    break
        if self._log_file:
            self._log_file.close()
        self._process = None


# --------------------------------------------------------------------------- server side

class _ServedFault:
    """A fault in force on one path, with when it started (for `fast`)."""

    def __init__(self, spec):
        self.kind = spec["kind"]
        self.spec = spec
        self.since = time.monotonic()


class _Mirror:
    """Faults in force and the energy that `fast` faults added, by path; shared by the FUSE
    worker threads and the control thread."""

    def __init__(self):
        self.lock = threading.Condition()
        self.faults = {}
        self.extra_uj = {}     # energy gained under `fast` faults that have ended
        self.stopping = False
        self.version = -1

    def apply(self, control):
        with self.lock:
            new = {path: _ServedFault(spec) for path, spec in control["faults"].items()}
            for path, old in self.faults.items():
                kept = new.get(path)
                if old.kind == "fast" and not (kept and kept.kind == "fast"):
                    self.extra_uj[path] = self.extra_uj.get(path, 0) + _fast_gain_uj(old)
                elif kept and kept.kind == old.kind and kept.spec == old.spec:
                    new[path] = old   # unchanged: keep when it started
            self.faults = new
            self.stopping = control.get("stopping", False)
            self.version = control["version"]
            self.lock.notify_all()

    def fault_on(self, path):
        """The fault on `path` or on a directory above it."""
        with self.lock:
            while path not in ("", "/"):
                if path in self.faults:
                    return self.faults[path]
                path = os.path.dirname(path)
            return None

    def wait_while_hung(self, path):
        """Blocks while `path` (or a directory above it) hangs; False when the file system
        is stopping."""
        with self.lock:   # a Condition's lock is reentrant: fault_on takes it again
            while True:
                if self.stopping:
                    return False
                fault = self.fault_on(path)
                if not fault or fault.kind != "hang":
                    return True
                self.lock.wait(HANG_SLICE_S)


def _fast_gain_uj(fault):
    return int(float(fault.spec["watts"]) * (time.monotonic() - fault.since) * 1e6)


def _serve(spec):
    from fusepy import FUSE, FuseOSError, Operations   # only the server needs python3-fusepy

    source = spec["source"]
    mirror = _Mirror()

    def relative(path):
        return path.lstrip("/")

    def real(path):
        return os.path.join(source, relative(path))

    def fail_if_missing(path):
        fault = mirror.fault_on(relative(path))
        if fault and fault.kind == "missing":
            raise FuseOSError(errno.ENOENT)

    def counter_text(rel, fault, data):
        """An energy counter's text as the fault makes it read."""
        try:
            raw = int(data.decode().strip())
            with open(os.path.join(os.path.dirname(real("/" + rel)), "max_energy_range_uj")) as limit:
                max_uj = int(limit.read().strip())
        except (ValueError, OSError):
            return data
        value = raw + mirror.extra_uj.get(rel, 0)
        if fault and fault.kind == "backwards":
            value -= int(fault.spec["uj"])
        elif fault and fault.kind == "jump":
            value += int(fault.spec["uj"])
        elif fault and fault.kind == "fast":
            value += _fast_gain_uj(fault)
        return f"{value % max_uj}\n".encode()

    class Ops(Operations):
        def init(self, _path):
            write_atomically(spec["applied"], json.dumps({"version": mirror.version}))

        def getattr(self, path, fh=None):
            fail_if_missing(path)
            try:
                st = os.lstat(real(path))
            except OSError as error:
                raise FuseOSError(error.errno)
            attrs = {key: getattr(st, key) for key in
                     ("st_mode", "st_nlink", "st_uid", "st_gid", "st_atime", "st_mtime", "st_ctime")}
            if stat.S_ISREG(st.st_mode):
                attrs["st_mode"] = stat.S_IFREG | 0o444
                attrs["st_size"] = 4096   # as sysfs says; reads return what there is
            return attrs

        def readdir(self, path, fh):
            fail_if_missing(path)
            names = []
            for name in sorted(os.listdir(real(path))):
                child = os.path.join(relative(path), name)
                fault = mirror.fault_on(child)
                if not (fault and fault.kind == "missing") and not name.endswith(".tmp"):
                    names.append(name)
            return [".", ".."] + names

        def open(self, path, flags):
            fail_if_missing(path)
            if flags & (os.O_WRONLY | os.O_RDWR):
                raise FuseOSError(errno.EACCES)
            if not os.path.exists(real(path)):
                raise FuseOSError(errno.ENOENT)
            return 0

        def read(self, path, size, offset, fh):
            rel = relative(path)
            fault = mirror.fault_on(rel)
            if fault and fault.kind == "hang" and not mirror.wait_while_hung(rel):
                raise FuseOSError(errno.EIO)
            fault = mirror.fault_on(rel)
            kind = fault.kind if fault else None
            if kind == "missing":
                raise FuseOSError(errno.ENOENT)
            if kind == "eio":
                raise FuseOSError(errno.EIO)
            if kind == "garbage":
                data = (fault.spec.get("text", "garbage") + "\n").encode()
            else:
                try:
                    with open(real(path), "rb") as source_file:
                        data = source_file.read()
                except OSError as error:
                    raise FuseOSError(error.errno)
                if os.path.basename(rel) == "energy_uj":
                    data = counter_text(rel, fault, data)
            return data[offset:offset + size]

        def statfs(self, path):
            return {"f_bsize": 4096, "f_namemax": 255}

    def watch_control():
        """Applies control.json when it changes; stops the server if the test process is gone."""
        seen = None
        while True:
            try:
                st = os.stat(spec["control"])
                stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
                if stamp != seen:
                    with open(spec["control"]) as control:
                        mirror.apply(json.load(control))
                    seen = stamp
                    write_atomically(spec["applied"], json.dumps({"version": mirror.version}))
            except (OSError, ValueError):
                pass
            if os.getppid() != spec["parent_pid"]:
                mirror.apply({"version": mirror.version, "faults": {}, "stopping": True})
                os.kill(os.getpid(), signal.SIGTERM)
                return
            time.sleep(CONTROL_POLL_S)

    with open(spec["control"]) as control:
        mirror.apply(json.load(control))
    threading.Thread(target=watch_control, daemon=True).start()
    # No caching anywhere: every stat and read reaches us, so faults act at once.
    FUSE(Ops(), spec["mountpoint"], foreground=True, nothreads=False, ro=True, allow_other=True,
         direct_io=True, attr_timeout=0, entry_timeout=0, negative_timeout=0)


if __name__ == "__main__" and len(sys.argv) == 3 and sys.argv[1] == "serve":
    _serve(json.loads(sys.argv[2]))
