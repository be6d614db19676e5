"""Helpers for the whole-daemon tests: a driven powercap tree, the daemon process, CPU
burners, a Prometheus text-format parser and a real Prometheus server.

Standard library only, so the tests run wherever python3 does.
"""

import dataclasses
import json
import math
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

STARTUP_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 5.0


def log(message):
    """Progress notes on stderr, next to unittest's own output."""
    print(f"[harness] {message}", file=sys.stderr, flush=True)


def free_port():
    """A loopback port nobody listens on right now (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def kepler_binary():
    """The daemon under test, from $KEPLER_BINARY (set by CTest)."""
    path = os.environ.get("KEPLER_BINARY", "")
    if not path:
        raise RuntimeError("KEPLER_BINARY is not set; point it at <build>/actors/kepler")
    if not os.access(path, os.X_OK):
        raise RuntimeError(f"KEPLER_BINARY={path} is not an executable file")
    return path


# --------------------------------------------------------------------------- HTTP

# No proxies: CI environments often export http_proxy, which must not see loopback traffic.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def http_get(url, timeout=2.0):
    """(status, body text); HTTP errors are returned, not raised. Connection errors raise."""
    try:
        with _OPENER.open(url, timeout=timeout) as response:
            return response.status, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("utf-8", "replace")


def http_status_or_none(url, timeout=1.0):
    try:
        return http_get(url, timeout)[0]
    except (OSError, urllib.error.URLError):
        return None


# --------------------------------------------------------------------------- powercap

@dataclasses.dataclass
class PowercapZone:
    """One driven RAPL zone: `energy_uj` grows at `watts` and wraps at `max_energy_uj`."""
    directory: str          # e.g. intel-rapl:0
    kernel_name: str        # content of `name`, e.g. package-0
    zone: str               # the zone label Kepler exports, e.g. package
    watts: float
    max_energy_uj: int
    start_uj: int

    def unwrapped_uj(self, elapsed_s):
        return self.start_uj + int(self.watts * elapsed_s * 1e6)

    def counter_uj(self, elapsed_s):
        return self.unwrapped_uj(elapsed_s) % self.max_energy_uj

    def wraps(self, elapsed_s):
        return self.unwrapped_uj(elapsed_s) // self.max_energy_uj


def default_zones(with_dram=True):
    """Package wraps every ~3.75 s (150 J at 40 W) so wraps happen during a test."""
    zones = [
        PowercapZone("intel-rapl:0", "package-0", "package", 40.0, 150_000_000, 100_000_000),
        PowercapZone("intel-rapl:0:0", "core", "core", 25.0, 262_143_328_850, 1_000_000_000),
    ]
    if with_dram:
        zones.append(PowercapZone("intel-rapl:0:1", "dram", "dram", 5.0, 262_143_328_850, 7_000_000))
    return zones


def write_atomically(path, text):
    """Readers see the old or the new content, never a half-written file."""
    temporary = f"{path}.tmp"
    with open(temporary, "w") as out:
        out.write(text)
    os.replace(temporary, path)


class PowercapDriver:
    """A fake `<sysfs>/class/powercap` tree whose counters a child process advances at constant
    power. A process of its own (not a thread) so that parsing big scrapes in the test cannot
    hold the GIL and freeze the counters; it also runs at a higher priority when allowed."""

    def __init__(self, sysfs_root, zones, period_s=0.05):
        self.sysfs_root = sysfs_root
        self.powercap_dir = os.path.join(sysfs_root, "class", "powercap")
        self.zones = zones
        self.period_s = period_s
        self._report_path = os.path.join(sysfs_root, "driver-report.json")
        self._process = None
        self._started_at = None
        self._build_tree()

    def _build_tree(self):
        # The control-type directory has no `name`; discovery must skip it, as on real hosts.
        os.makedirs(os.path.join(self.powercap_dir, "intel-rapl"), exist_ok=True)
        write_atomically(os.path.join(self.powercap_dir, "intel-rapl", "enabled"), "1\n")
        for zone in self.zones:
            directory = self.zone_path(zone.zone)
            os.makedirs(directory, exist_ok=True)
            write_atomically(os.path.join(directory, "name"), zone.kernel_name + "\n")
            write_atomically(os.path.join(directory, "max_energy_range_uj"), f"{zone.max_energy_uj}\n")
            write_atomically(os.path.join(directory, "energy_uj"), f"{zone.start_uj}\n")

    def zone_path(self, zone_label):
        """The `path` label Kepler exports for a zone (spec §3.2 step 5)."""
        zone = self.zone(zone_label)
        return os.path.join(self.powercap_dir, zone.directory)

    def zone(self, zone_label):
        return next(z for z in self.zones if z.zone == zone_label)

    def watts(self):
        return {zone.zone: zone.watts for zone in self.zones}

    def start(self):
        # CLOCK_MONOTONIC is system-wide, so parent and child agree on the elapsed time.
        self._started_at = time.monotonic()
        spec = {"powercap_dir": self.powercap_dir, "started_at": self._started_at,
                "period_s": self.period_s, "parent_pid": os.getpid(),
                "report_path": self._report_path,
                "zones": [dataclasses.asdict(zone) for zone in self.zones]}
        self._process = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "drive-powercap", json.dumps(spec)],
            stdin=subprocess.DEVNULL)
        return self

    def stop(self):
        if self._process and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()

    def elapsed(self):
        return time.monotonic() - self._started_at

    def wraps(self, zone_label):
        """How many times the zone's counter has wrapped since the driver started."""
        return self.zone(zone_label).wraps(self.elapsed())

    def longest_stall_s(self):
        """The longest time between two writes so far: counters were that stale at worst."""
        try:
            with open(self._report_path) as report:
                return json.load(report)["longest_gap_s"]
        except (OSError, ValueError):
            return 0.0


def drive_powercap(spec):
    """The driver process: rewrites every zone's `energy_uj` each period until told to stop
    or orphaned."""
    try:
        os.nice(-10)   # root only; a starved driver would make the daemon look wrong
    except OSError:
        pass
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    zones = [PowercapZone(**zone) for zone in spec["zones"]]
    period, longest_gap, last_write = spec["period_s"], 0.0, None
    next_tick = time.monotonic()
    while not stopping and os.getppid() == spec["parent_pid"]:
        now = time.monotonic()
        for zone in zones:
            path = os.path.join(spec["powercap_dir"], zone.directory, "energy_uj")
            write_atomically(path, f"{zone.counter_uj(now - spec['started_at'])}\n")
        if last_write is not None and now - last_write > longest_gap:
            longest_gap = now - last_write
            write_atomically(spec["report_path"], json.dumps({"longest_gap_s": longest_gap}))
        last_write = now
        # Fixed-rate ticks; after a stall, resume from now instead of bursting to catch up.
        next_tick = max(next_tick + period, time.monotonic())
        time.sleep(max(0.0, next_tick - time.monotonic()))


# --------------------------------------------------------------------------- config

def kepler_config_yaml(sysfs, port, interval="1s", procfs="/proc", log_level="debug", extra=""):
    """A v0.11 config file for one test daemon; `extra` is appended verbatim (YAML)."""
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
        "web:\n"
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
    """One kepler process, its log file and its HTTP endpoint."""

    def __init__(self, config_path, port, log_path, binary=None):
        self.config_path = config_path
        self.port = port
        self.log_path = log_path
        self.binary = binary or kepler_binary()
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
            [self.binary, f"--config.file={self.config_path}"],
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
        try:
            with open(self.log_path, "rb") as source:
                return source.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def log_tail(self, lines=40):
        tail = self.log_text().splitlines()[-lines:]
        return "---- kepler log tail ----\n" + "\n".join(tail) + "\n-------------------------"


def run_daemon_to_exit(config_path, timeout=10.0, binary=None):
    """Runs kepler expecting it to exit by itself; returns (exit code, combined output)."""
    done = subprocess.run([binary or kepler_binary(), f"--config.file={config_path}"],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          stdin=subprocess.DEVNULL, timeout=timeout)
    return done.returncode, done.stdout.decode("utf-8", "replace")


# --------------------------------------------------------------------------- workloads

class Workload:
    """A child process with a chosen comm: a symlink named `comm` to the real binary, so the
    kernel sets comm at exec (no race with the daemon's first look) while exe is the binary."""

    def __init__(self, directory, comm, target, args):
        self.comm = comm
        self.link = os.path.join(directory, comm)
        if not os.path.lexists(self.link):
            os.symlink(target, self.link)
        self.exe = os.path.realpath(target)
        self.process = subprocess.Popen([self.link, *args], stdin=subprocess.DEVNULL,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
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


# --------------------------------------------------------------------------- exposition

@dataclasses.dataclass
class Sample:
    name: str
    labels: dict
    value: float

    @property
    def key(self):
        """Identity of the series: name plus all label pairs."""
        return (self.name, tuple(sorted(self.labels.items())))


class Exposition:
    """One parsed scrape: samples in document order, plus # TYPE and # HELP per family."""

    def __init__(self, samples, types, helps):
        self.samples = samples
        self.types = types
        self.helps = helps

    def series(self, name, **labels):
        return [s for s in self.samples
                if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())]

    def one(self, name, **labels):
        found = self.series(name, **labels)
        if len(found) != 1:
            raise AssertionError(f"expected one {name}{labels}, found {len(found)}")
        return found[0]

    def value(self, name, **labels):
        return self.one(name, **labels).value

    def by_key(self):
        return {s.key: s.value for s in self.samples}

    def family_type(self, sample_name):
        """The # TYPE of the family a sample belongs to (histogram/summary suffixes handled)."""
        if sample_name in self.types:
            return self.types[sample_name]
        for suffix in ("_bucket", "_sum", "_count"):
            base = sample_name[: -len(suffix)]
            if sample_name.endswith(suffix) and base in self.types:
                return self.types[base]
        return None


_SAMPLE_LINE = re.compile(
    r"^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?P<labels>.*)\})?"
    r"[ \t]+(?P<value>\S+)(?:[ \t]+(?P<timestamp>-?\d+))?$")
_LABEL_PAIR = re.compile(r'\s*(?P<name>[a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"(?P<value>(?:[^"\\]|\\.)*)"\s*(?:,|$)')
_ESCAPES = {"\\\\": "\\", '\\"': '"', "\\n": "\n"}


def _unescape(text):
    return re.sub(r"\\[\\\"n]", lambda m: _ESCAPES[m.group(0)], text)


def _parse_labels(text, line):
    labels = {}
    position = 0
    while position < len(text):
        match = _LABEL_PAIR.match(text, position)
        if not match:
            raise ValueError(f"bad labels in line: {line!r}")
        if match.group("name") in labels:
            raise ValueError(f"duplicate label {match.group('name')} in line: {line!r}")
        labels[match.group("name")] = _unescape(match.group("value"))
        position = match.end()
    return labels


def parse_exposition(text):
    """Parses the Prometheus text format 0.0.4 (as served by /metrics)."""
    samples, types, helps = [], {}, {}
    for line in text.splitlines():
        if not line.strip():
            continue
        if line.startswith("#"):
            parts = line.split(None, 3)
            if len(parts) >= 3 and parts[1] == "TYPE":
                types[parts[2]] = parts[3].strip() if len(parts) > 3 else ""
            elif len(parts) >= 3 and parts[1] == "HELP":
                helps[parts[2]] = parts[3] if len(parts) > 3 else ""
            continue
        match = _SAMPLE_LINE.match(line)
        if not match:
            raise ValueError(f"bad sample line: {line!r}")
        labels = _parse_labels(match.group("labels") or "", line)
        samples.append(Sample(match.group("name"), labels, float(match.group("value"))))
    return Exposition(samples, types, helps)


def microjoules(joules):
    """Exported joules back to the daemon's integer microjoules (exact for < 2^53 / 1e6 J)."""
    return round(joules * 1e6)


def close(actual, expected, rel, abs_tol=0.0):
    return math.isclose(actual, expected, rel_tol=rel, abs_tol=abs_tol)


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


# --------------------------------------------------------------------------- promtool / prometheus

PROMTOOL = "/usr/bin/promtool"
PROMETHEUS = "/usr/bin/prometheus"


def promtool_check_metrics(text):
    """(exit code, combined output) of `promtool check metrics` fed with `text`."""
    done = subprocess.run([PROMTOOL, "check", "metrics"], input=text.encode(),
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)
    return done.returncode, done.stdout.decode("utf-8", "replace")


class Prometheus:
    """A real Prometheus server scraping one target every second."""

    def __init__(self, directory, target, scrape_interval="1s"):
        if not os.access(PROMETHEUS, os.X_OK):
            raise AssertionError(f"{PROMETHEUS} is missing: install the Debian package "
                                 "`prometheus` (CI does) to run this test")
        self.directory = directory
        self.port = free_port()
        self.config_path = os.path.join(directory, "prometheus.yml")
        write_atomically(self.config_path, (
            "global:\n"
            f"  scrape_interval: {scrape_interval}\n"
            f"  evaluation_interval: {scrape_interval}\n"
            "scrape_configs:\n"
            "  - job_name: kepler\n"
            f"    scrape_interval: {scrape_interval}\n"
            f"    scrape_timeout: {scrape_interval}\n"
            "    static_configs:\n"
            f'      - targets: ["{target}"]\n'))
        self.log_path = os.path.join(directory, "prometheus.log")
        self.process = None

    @property
    def base_url(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout=30.0):
        self._log_file = open(self.log_path, "wb")
        self.process = subprocess.Popen(
            [PROMETHEUS, f"--config.file={self.config_path}",
             f"--storage.tsdb.path={os.path.join(self.directory, 'tsdb')}",
             f"--web.listen-address=127.0.0.1:{self.port}"],
            stdout=self._log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"prometheus exited with {self.process.returncode}\n"
                                     + self.log_tail())
            if http_status_or_none(self.base_url + "/-/ready") == 200:
                return self
            time.sleep(0.1)
        self.stop()
        raise AssertionError(f"prometheus not ready within {timeout} s\n" + self.log_tail())

    def wait_for_first_scrape(self, timeout=20.0):
        """Prometheus applies new targets a few seconds after it is ready; wait for real data."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.query("up"):
                return
            time.sleep(0.2)
        raise AssertionError(f"prometheus did not scrape within {timeout} s\n" + self.log_tail())

    def query(self, promql, at=None):
        """The result vector of an instant query: [(labels, value)]."""
        params = {"query": promql}
        if at is not None:
            params["time"] = f"{at:.3f}"
        status, body = http_get(self.base_url + "/api/v1/query?" + urllib.parse.urlencode(params),
                                timeout=10.0)
        if status != 200:
            raise AssertionError(f"query {promql!r} answered {status}: {body[:500]}")
        answer = json.loads(body)
        if answer.get("status") != "success":
            raise AssertionError(f"query {promql!r} failed: {body[:500]}")
        return [(item["metric"], float(item["value"][1])) for item in answer["data"]["result"]]

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if getattr(self, "_log_file", None) and not self._log_file.closed:
            self._log_file.close()

    def log_tail(self, lines=30):
        try:
            with open(self.log_path, "rb") as source:
                tail = source.read().decode("utf-8", "replace").splitlines()[-lines:]
        except OSError:
            tail = []
        return "---- prometheus log tail ----\n" + "\n".join(tail)


if __name__ == "__main__" and len(sys.argv) == 3 and sys.argv[1] == "drive-powercap":
    drive_powercap(json.loads(sys.argv[2]))
