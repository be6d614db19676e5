"""The kepler daemon under test: its config file, the process and its HTTP endpoint, workload
processes for it to attribute, snapshots watched as they appear on /metrics, and `TestBed`,
the temporary setup a test runs in and tears down.
"""

import contextlib
import dataclasses
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error

from exposition import Exposition, parse_exposition
from plumbing import free_port, http_get, http_status_or_none, log, read_log_text, write_atomically
from powercap_tree import PowercapDriver, default_zones

STARTUP_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 5.0


def kepler_binary():
    """The daemon under test, from $KEPLER_BINARY (set by CTest)."""
    path = os.environ.get("KEPLER_BINARY", "")
    if not path:
        raise RuntimeError("KEPLER_BINARY is not set; point it at <build>/actors/kepler")
    if not os.access(path, os.X_OK):
        raise RuntimeError(f"KEPLER_BINARY={path} is not an executable file")
    return path


def sanitizer():
    """The sanitizer the daemon under test was built with ("asan", "tsan"; from
    $KEPLER_SANITIZER, which test/run_sanitized.sh sets), "" for a plain build. Memory budgets
    do not apply there: shadow memory and ASan's quarantine come on top."""
    return os.environ.get("KEPLER_SANITIZER", "")


# --------------------------------------------------------------------------- config

def kepler_config_yaml(sysfs, port, interval="1s", procfs="/proc", log_level="debug", extra="",
                       terminated_retention=None, web_config_file=None):
    """A v0.11 config file for one test daemon; `extra` is appended verbatim (YAML).
    `terminated_retention` (e.g. "60s") sets monitor.terminatedRetention; None keeps the default.
    `web_config_file` sets web.configFile (TLS, basic auth)."""
    retention = (f"  terminatedRetention: {terminated_retention}\n"
                 if terminated_retention is not None else "")
    web_config = f"  configFile: {web_config_file}\n" if web_config_file is not None else ""
    return (
        "log:\n"
        f"  level: {log_level}\n"
        "host:\n"
        f"  sysfs: {sysfs}\n"
        f"  procfs: {procfs}\n"
        "monitor:\n"
        f"  interval: {interval}\n"
        "  maxTerminated: -1\n"
        "  minTerminatedEnergyThreshold: 0\n"
        + retention +
        "web:\n"
        + web_config +
        "  listenAddresses:\n"
        f'    - "127.0.0.1:{port}"\n'
        + extra
    )


def write_kepler_config(directory, sysfs, port, **options):
    path = os.path.join(directory, "kepler.yaml")
    write_atomically(path, kepler_config_yaml(sysfs, port, **options))
    return path


# --------------------------------------------------------------------------- daemon

class DaemonExited(AssertionError):
    pass


class Daemon:
    """One kepler process, its log file and its HTTP endpoint. `wrapper` is a command that
    execs the daemon (e.g. `setpriv … --`), so the daemon keeps the pid that Popen returns."""

    def __init__(self, config_path, port, log_path, binary=None, wrapper=()):
        self.config_path = config_path
        self.port = port
        self.log_path = log_path
        self.binary = binary or kepler_binary()
        self.wrapper = list(wrapper)
        self.process = None
        self.spawned_at = None
        self.seconds_to_ready = None
        self.seconds_to_first_metrics = None

    @property
    def base_url(self):
        return f"http://127.0.0.1:{self.port}"

    def spawn(self):
        self._log_file = open(self.log_path, "wb")
        self.spawned_at = time.monotonic()
        self.process = subprocess.Popen(
            [*self.wrapper, self.binary, f"--config.file={self.config_path}"],
            stdout=self._log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        return self

    def start(self):
        """Spawns and waits until /readyz is 200 and /metrics carries node energy."""
        self.spawn()
        try:
            self._wait_until_serving()
        except BaseException:
            self.kill()
            raise
        log(f"kepler pid {self.process.pid}: /readyz after {self.seconds_to_ready:.3f} s, "
            f"first /metrics with node energy after {self.seconds_to_first_metrics:.3f} s")
        return self

    def _wait_until_serving(self):
        deadline = self.spawned_at + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            self._fail_if_exited("while starting")
            if self.seconds_to_ready is None and http_status_or_none(self.url("/readyz")) == 200:
                self.seconds_to_ready = time.monotonic() - self.spawned_at
            if self.seconds_to_ready is not None and self._metrics_have_node_energy():
                self.seconds_to_first_metrics = time.monotonic() - self.spawned_at
                return
            time.sleep(0.01)
        raise AssertionError(
            f"kepler not serving within {STARTUP_TIMEOUT_S} s (readyz after {self.seconds_to_ready})\n"
            + self.log_tail())

    def _metrics_have_node_energy(self):
        try:
            status, body = http_get(self.url("/metrics"), timeout=1.0)
        except (OSError, urllib.error.URLError):
            return False
        return status == 200 and "\nkepler_node_cpu_joules_total{" in body

    def _fail_if_exited(self, when):
        code = self.process.poll()
        if code is not None:
            raise DaemonExited(f"kepler exited with {code} {when}\n" + self.log_tail())

    def url(self, path):
        return self.base_url + path

    def get(self, path, timeout=2.0):
        return http_get(self.url(path), timeout)

    def scrape_text(self):
        self._fail_if_exited("during the test")
        status, body = self.get("/metrics", timeout=5.0)
        if status != 200:
            raise AssertionError(f"/metrics answered {status}: {body[:500]}")
        return body

    def scrape(self):
        return parse_exposition(self.scrape_text())

    def stop(self, sig=signal.SIGTERM, timeout=STOP_TIMEOUT_S):
        """Sends `sig` and returns (exit code, seconds to exit); raises with the log tail if
        the daemon hangs or exits non-zero."""
        if self.process.poll() is not None:
            raise DaemonExited(f"kepler had already exited with {self.process.returncode}\n"
                               + self.log_tail())
        sent_at = time.monotonic()
        self.process.send_signal(sig)
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"kepler did not exit within {timeout} s of {sig.name}\n"
                                 + self.log_tail())
        finally:
            self._log_file.close()
        took = time.monotonic() - sent_at
        if code != 0:
            raise AssertionError(f"kepler exited with {code} after {sig.name}, expected 0\n"
                                 + self.log_tail())
        return code, took

    def kill(self):
        """Last-resort cleanup; never raises."""
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        if getattr(self, "_log_file", None) and not self._log_file.closed:
            self._log_file.close()

    def log_text(self):
        return read_log_text(self.log_path)

    def log_tail(self, lines=40):
        tail = self.log_text().splitlines()[-lines:]
        return "---- kepler log tail ----\n" + "\n".join(tail) + "\n-------------------------"


def run_daemon_to_exit(config_path, timeout=10.0, binary=None, wrapper=()):
    """Runs kepler (under `wrapper`, as `Daemon` does) expecting it to exit by itself;
    returns (exit code, combined output)."""
    done = subprocess.run([*wrapper, binary or kepler_binary(), f"--config.file={config_path}"],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          stdin=subprocess.DEVNULL, timeout=timeout)
    return done.returncode, done.stdout.decode("utf-8", "replace")


# --------------------------------------------------------------------------- workloads

class Workload:
    """A child process with a chosen comm: a symlink named `comm` to the real binary, so the
    kernel sets comm at exec (no race with the daemon's first look) while exe is the binary.
    If `directory/comm` already is a file, that file is run as it is. `popen_options` go to
    Popen as they are (e.g. env, or preexec_fn to join a cgroup before exec)."""

    def __init__(self, directory, comm, target, args, **popen_options):
        self.comm = comm
        self.link = os.path.join(directory, comm)
        if not os.path.lexists(self.link):
            os.symlink(target, self.link)
        self.exe = os.path.realpath(target)
        self.process = subprocess.Popen([self.link, *args], stdin=subprocess.DEVNULL,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                        **popen_options)
        self.pid = self.process.pid

    def running(self):
        return self.process.poll() is None

    def stop(self):
        if self.running():
            self.process.kill()
        self.process.wait()


def cpu_burner(directory, comm="kepler-burner"):
    """Spins one CPU in a shell builtin loop (no forks, so all CPU time is this pid's)."""
    return Workload(directory, comm, shutil.which("sh"), ["-c", "while :; do :; done"])


def idle_sleeper(directory, comm="kepler-idle"):
    return Workload(directory, comm, shutil.which("sleep"), ["3600"])


# Busy for `duty` of every 50 ms period, asleep for the rest; exits once orphaned.
_DUTY_CYCLE_BURNER = """
import os, sys, time
duty, parent, period = float(sys.argv[1]), int(sys.argv[2]), 0.05
while os.getppid() == parent:
    start = time.monotonic()
    while time.monotonic() - start < duty * period:
        pass
    time.sleep(max(0.0, start + period - time.monotonic()))
"""


def duty_cycle_burner(directory, comm, duty, **popen_options):
    """A Python process busy for `duty` (0..1) of the time; `popen_options` as for Workload
    (e.g. `preexec_fn` to join a cgroup before it runs, `env`)."""
    return Workload(directory, comm, sys.executable, ["-c", _DUTY_CYCLE_BURNER, str(duty), str(os.getpid())],
                    **popen_options)


# --------------------------------------------------------------------------- snapshots

@dataclasses.dataclass
class Snapshot:
    seen_at: float          # time.monotonic() when this snapshot was first scraped
    text: str
    metrics: Exposition


class SnapshotWatcher:
    """Polls /metrics fast and returns each new snapshot, stamped with when it appeared.
    The daemon renders a snapshot once and serves the same bytes until the next one, so a
    changed body is a new snapshot. Fast polling bounds the stamp's error by the poll period,
    which is what makes the rate checks tight without trusting any timestamp the daemon exports."""

    def __init__(self, daemon, poll_s=0.02):
        self.daemon = daemon
        self.poll_s = poll_s
        self.last_body = None

    def next_snapshot(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.daemon.scrape_text()
            seen_at = time.monotonic()
            if text != self.last_body:
                self.last_body = text
                return Snapshot(seen_at, text, parse_exposition(text))
            time.sleep(self.poll_s)
        raise AssertionError(f"/metrics did not change within {timeout} s\n" + self.daemon.log_tail())


def watch_window(daemon, seconds):
    """The first and the last snapshot of a window of at least `seconds`."""
    watcher = SnapshotWatcher(daemon)
    watcher.next_snapshot(timeout=10)  # the one being served when we started watching
    first = watcher.next_snapshot(timeout=10)
    last = first
    while last.seen_at - first.seen_at < seconds:
        last = watcher.next_snapshot(timeout=10)
    return first, last


# --------------------------------------------------------------------------- test bed

class TestBed:
    """A temporary directory and what a test starts in it (powercap driver, workloads, one
    daemon, anything given to `on_close`); `close()` stops them newest first, then removes
    the directory. Usable as a context manager, or across setUpClass/tearDownClass."""

    def __init__(self, prefix):
        self._closing = contextlib.ExitStack()
        self._tmp = tempfile.TemporaryDirectory(prefix=prefix)
        self._closing.callback(self._tmp.cleanup)
        self.workdir = self._tmp.name
        self.driver = None
        self.daemon = None

    def on_close(self, callback):
        self._closing.callback(callback)

    def start_powercap(self, **driver_options):
        """A driven powercap tree with the default zones, in powercap_dir(): the driver rewrites
        every counter every period, and on a disk those renames can wait hundreds of ms behind
        writeback (after a large build), which the daemon rightly reports as a meter that
        stalled. World-readable, like the kernel's tree, for the tests that drop privileges."""
        self.driver = PowercapDriver(os.path.join(self.powercap_dir(), "sys"), default_zones(),
                                     **driver_options).start()
        self.on_close(self.driver.stop)
        return self.driver

    def powercap_dir(self):
        """A world-readable directory for a driven powercap tree: on tmpfs where there is one
        (see start_powercap), else the bed's own; removed on close."""
        if not os.access("/dev/shm", os.W_OK):
            return self.workdir
        directory = tempfile.TemporaryDirectory(prefix="kepler-powercap-", dir="/dev/shm")
        self._closing.callback(directory.cleanup)
        os.chmod(directory.name, 0o755)
        return directory.name

    def sysfs_without_powercap(self):
        """`<workdir>/sys` with no powercap tree at all."""
        sysfs = os.path.join(self.workdir, "sys")
        os.makedirs(os.path.join(sysfs, "kernel"))   # host.sysfs must list ≥ 1 entry
        return sysfs

    def add_workload(self, workload):
        self.on_close(workload.stop)
        return workload

    def write_config(self, sysfs=None, port=None, **options):
        """`<workdir>/kepler.yaml` for the driven tree (or `sysfs`), on `port` or a free one."""
        return write_kepler_config(self.workdir, sysfs or self.driver.sysfs_root,
                                   port or free_port(), **options)

    def add_daemon(self, sysfs=None, **config_options):
        """A daemon (not yet started) on a free port, its config written as `write_config` does."""
        port = free_port()
        self.daemon = Daemon(self.write_config(sysfs, port, **config_options), port,
                             os.path.join(self.workdir, "kepler.log"))
        self.on_close(self.daemon.kill)
        return self.daemon

    def stop_daemon(self, sig=signal.SIGTERM):
        """Stops the daemon with `sig` as `Daemon.stop` does, and logs how long it took."""
        code, took = self.daemon.stop(sig)
        log(f"kepler exited {code} {took:.3f} s after {sig.name}")
        return code, took

    @contextlib.contextmanager
    def closed_on_failure(self):
        """For setUpClass: closes the bed if the setup raises."""
        try:
            yield self
        except BaseException:
            self.close()
            raise

    def stop_daemon_and_close(self):
        """For tearDownClass: a graceful SIGTERM stop (failing if it is not), then `close()`."""
        try:
            self.stop_daemon()
        finally:
            self.close()

    def close(self):
        self._closing.close()

    def __enter__(self):
        return self

    def __exit__(self, *_):
        self.close()
