"""Driven trees for the meters other than RAPL's powercap: an hwmon tree (an energy counter that
wraps, a power reading that changes every 100 ms) and MSR devices (sparse files whose 32-bit
energy registers a child process advances at constant power). Each driver is a process of its
own, as PowercapDriver is, so that the test's scrapes cannot freeze it.

Run as `meter_trees.py drive SPEC` it is that child process.
"""

import json
import math
import os
import signal
import struct
import subprocess
import sys
import time

from plumbing import terminate, write_atomically

# ACPI power meters answer this when they have no value (sustainable-computing-io/kepler#1049).
ACPI_SENTINEL_UW = 4294967295000


class HwmonDriver:
    """`<sysfs>/class/hwmon`: hwmon0's `energy1_input` (label Package) grows at `counter_watts`
    and wraps at `range_uj`; hwmon1's `power1_input` (label Platform) alternates between
    `low_watts` and `high_watts` every `step_s`."""

    def __init__(self, sysfs_root, counter_watts=30.0, range_uj=1 << 28, low_watts=40.0, high_watts=60.0,
                 step_s=0.1, period_s=0.01):
        self.sysfs_root = sysfs_root
        self.spec = {"kind": "hwmon", "counter_watts": counter_watts, "range_uj": range_uj,
                     "low_watts": low_watts, "high_watts": high_watts, "step_s": step_s, "period_s": period_s,
                     "energy_file": os.path.join(sysfs_root, "class/hwmon/hwmon0/energy1_input"),
                     "power_file": os.path.join(sysfs_root, "class/hwmon/hwmon1/power1_input"),
                     "sentinel_flag": os.path.join(sysfs_root, "sentinel")}
        for chip, name, channel, label in (("hwmon0", "kepler_test_energy", "energy1", "Package"),
                                           ("hwmon1", "kepler_test_power", "power1", "Platform")):
            directory = os.path.join(sysfs_root, "class/hwmon", chip)
            os.makedirs(directory, exist_ok=True)
            write_atomically(os.path.join(directory, "name"), name + "\n")
            write_atomically(os.path.join(directory, f"{channel}_label"), label + "\n")
            write_atomically(os.path.join(directory, f"{channel}_input"), "0\n")
        self._child = None

    def start(self):
        self.spec.setdefault("started_at", time.monotonic())  # a restart keeps the clock
        self._child = _spawn(self.spec)
        return self

    def stop(self):
        terminate(self._child, timeout=5)

    def pause_and_remove(self):
        """Stops driving and removes both value files; start() resumes on the same clock."""
        self.stop()
        for path in (self.spec["energy_file"], self.spec["power_file"]):
            os.remove(path)

    def counter_joules(self, at):
        return self.spec["counter_watts"] * (at - self.spec["started_at"])

    def power_joules(self, at):
        """The power channel's energy from the start to monotonic time `at`: whole steps, then
        the current step's part."""
        step, low, high = self.spec["step_s"], self.spec["low_watts"], self.spec["high_watts"]
        elapsed = at - self.spec["started_at"]
        steps = math.floor(elapsed / step)
        whole = (steps // 2) * (low + high) * step + (steps % 2) * low * step
        return whole + (low if steps % 2 == 0 else high) * (elapsed - steps * step)

    def counter_wraps(self, at):
        return int(self.counter_joules(at) * 1e6) // self.spec["range_uj"]

    def set_sentinel(self, on):
        """While on, the power channel reads the ACPI sentinel instead of its power."""
        if on:
            write_atomically(self.spec["sentinel_flag"], "1\n")
        elif os.path.exists(self.spec["sentinel_flag"]):
            os.remove(self.spec["sentinel_flag"])


class MsrDriver:
    """`<root>/dev/cpu/0/msr`, a sparse file holding the RAPL registers of this machine's CPU
    vendor, and `<root>/sys/devices/system/cpu/cpu0/topology`: the package energy register
    advances at `watts` in units of 2^-esu J, its low 32 bits wrapping as the hardware's do."""

    def __init__(self, root, vendor, watts=40.0, esu=24, period_s=0.01):
        intel = vendor == "GenuineIntel"
        self.device = os.path.join(root, "dev/cpu/0/msr")
        self.device_template = os.path.join(root, "dev/cpu/%d/msr")
        self.sysfs_root = os.path.join(root, "sys")
        topology = os.path.join(self.sysfs_root, "devices/system/cpu/cpu0/topology")
        os.makedirs(topology, exist_ok=True)
        write_atomically(os.path.join(topology, "physical_package_id"), "0\n")
        write_atomically(os.path.join(topology, "core_id"), "0\n")
        os.makedirs(os.path.dirname(self.device), exist_ok=True)
        unit_register = 0x606 if intel else 0xC0010299
        self.spec = {"kind": "msr", "device": self.device, "watts": watts, "esu": esu, "period_s": period_s,
                     "energy_register": 0x611 if intel else 0xC001029B}
        with open(self.device, "wb") as device:
            device.truncate(0)
        _write_register(self.device, unit_register, (esu << 8) | 0x3)
        _write_register(self.device, self.spec["energy_register"], 0)
        self._child = None

    def start(self):
        self.spec["started_at"] = time.monotonic()
        self._child = _spawn(self.spec)
        return self

    def stop(self):
        terminate(self._child, timeout=5)

    def joules(self, at):
        return self.spec["watts"] * (at - self.spec["started_at"])

    def wraps(self, at):
        return int(self.joules(at) * 2 ** self.spec["esu"]) >> 32


def _write_register(device, address, value):
    descriptor = os.open(device, os.O_WRONLY)
    try:
        os.pwrite(descriptor, struct.pack("<Q", value), address)
    finally:
        os.close(descriptor)


def _spawn(spec):
    spec = dict(spec, parent_pid=os.getpid())
    return subprocess.Popen([sys.executable, os.path.abspath(__file__), "drive", json.dumps(spec)],
                            stdin=subprocess.DEVNULL)


def _drive(spec):
    """Rewrites the driven files every period until told to stop or orphaned."""
    try:
        os.nice(-10)   # root only; a starved driver would make the daemon look wrong
    except OSError:
        pass
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    next_tick = time.monotonic()
    while not stopping and os.getppid() == spec["parent_pid"]:
        elapsed = time.monotonic() - spec["started_at"]
        if spec["kind"] == "hwmon":
            _drive_hwmon(spec, elapsed)
        else:
            counts = int(spec["watts"] * elapsed * 2 ** spec["esu"])
            _write_register(spec["device"], spec["energy_register"], counts & 0xFFFFFFFF)
        next_tick = max(next_tick + spec["period_s"], time.monotonic())
        time.sleep(max(0.0, next_tick - time.monotonic()))


def _drive_hwmon(spec, elapsed):
    counter_uj = int(spec["counter_watts"] * elapsed * 1e6) % spec["range_uj"]
    write_atomically(spec["energy_file"], f"{counter_uj}\n")
    high = math.floor(elapsed / spec["step_s"]) % 2 == 1
    microwatts = int((spec["high_watts"] if high else spec["low_watts"]) * 1e6)
    if os.path.exists(spec["sentinel_flag"]):
        microwatts = ACPI_SENTINEL_UW
    write_atomically(spec["power_file"], f"{microwatts}\n")


if __name__ == "__main__" and len(sys.argv) == 3 and sys.argv[1] == "drive":
    _drive(json.loads(sys.argv[2]))
