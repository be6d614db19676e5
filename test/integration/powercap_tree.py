"""A temporary `<sysfs>/class/powercap` tree whose RAPL counters a child process advances at
constant power, wrapping as real ones do.

Run as `powercap_tree.py drive-powercap SPEC` it is that child process.
"""

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time

from plumbing import terminate, write_atomically


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
        """The `path` label Kepler exports for a zone (docs/compatibility.md §3.2)."""
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
        terminate(self._process, timeout=5)

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


if __name__ == "__main__" and len(sys.argv) == 3 and sys.argv[1] == "drive-powercap":
    drive_powercap(json.loads(sys.argv[2]))
