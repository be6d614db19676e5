"""The meters beyond RAPL's powercap through the real daemon: an hwmon tree (an energy counter
that wraps, a power reading that changes every 100 ms, the ACPI sentinel) and MSR devices (a
32-bit energy register that wraps), each driven at known watts, each read back from /metrics
within 1 %."""

import os
import time
import unittest

import kepler_harness as h
from exposition import close
from meter_trees import HwmonDriver, MsrDriver
from plumbing import log

TOLERANCE = 0.01
# A snapshot's readings are taken a little before the test sees it, and that lag jitters more
# under a sanitizer: a longer window keeps its share of the window small.
WINDOW_S = 32.0 if h.sanitizer() else 16.0


def cpu_vendor():
    with open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("vendor_id"):
                return line.split(":", 1)[1].strip()
    return ""


def joules(first, last, zone):
    return (last.metrics.value("kepler_node_cpu_joules_total", zone=zone)
            - first.metrics.value("kepler_node_cpu_joules_total", zone=zone))


class HwmonMeterTest(unittest.TestCase):
    """A node with hwmon chips only: the ladder picks hwmon, both channel kinds are exact."""

    def test_driven_hwmon_energy_within_one_percent(self):
        with h.TestBed("kepler-it-hwmon-") as bed:
            driver = HwmonDriver(os.path.join(bed.powercap_dir(), "sys"))
            os.makedirs(os.path.join(driver.sysfs_root, "kernel"), exist_ok=True)
            bed.on_close(driver.stop)
            rules = ("experimental:\n  hwmon:\n    chipRules:\n"
                     f"      - name: kepler_test_energy\n        energyRangeMicrojoules: {driver.spec['range_uj']}\n"
                     "rapl:\n  maxPlausibleWatts: 500\n"
                     "msr:\n  devicePath: /nonexistent/%d/msr\n")
            daemon = bed.add_daemon(driver.sysfs_root, extra=rules)
            driver.start()
            daemon.start()
            first, last = h.watch_window(daemon, WINDOW_S)
            seconds = last.seen_at - first.seen_at
            counter = joules(first, last, "package") / seconds
            power = joules(first, last, "platform") / seconds
            driven_power = (driver.power_joules(last.seen_at) - driver.power_joules(first.seen_at)) / seconds
            log(f"hwmon over {seconds:.2f} s: counter {counter:.3f} W (driven {driver.spec['counter_watts']} W, "
                f"{driver.counter_wraps(last.seen_at)} wraps), power {power:.3f} W (driven {driven_power:.3f} W)")
            self.assertGreaterEqual(driver.counter_wraps(last.seen_at) - driver.counter_wraps(first.seen_at), 1)
            self.assertTrue(close(counter, driver.spec["counter_watts"], TOLERANCE), f"{counter} W")
            self.assertTrue(close(power, driven_power, TOLERANCE), f"{power} W vs {driven_power} W")
            info = {s.labels["zone"]: s.labels["method"] for s in last.metrics.series("kepler_source_info")}
            self.assertEqual(info, {"package-0": "counter", "platform-0": "integrated_power"})
            self.assertIn("using hwmon (rapl, msr found no usable zone)", daemon.log_text())

            # The ACPI sentinel for a while: rejected and counted, its time covered by the next reading.
            driver.set_sentinel(True)
            time.sleep(0.5)
            driver.set_sentinel(False)
            before, after = h.watch_window(daemon, 4.0)
            rejected = after.metrics.value("kepler_source_rejected_readings_total", source="hwmon", zone="platform-0",
                                           reason="implausible")
            self.assertGreater(rejected, 0)
            total = joules(first, after, "platform")
            driven_total = driver.power_joules(after.seen_at) - driver.power_joules(first.seen_at)
            self.assertTrue(close(total, driven_total, TOLERANCE), f"{total} J vs {driven_total} J")

            # Both chips unreadable for a while (the driver stopped, the files gone): the zones
            # are down, then up again with the gap counted in full, as for RAPL.
            driver.pause_and_remove()
            down = h.SnapshotWatcher(daemon)
            down.next_snapshot(timeout=10)
            gone = down.next_snapshot(timeout=10)
            self.assertEqual(gone.metrics.value("kepler_source_up", source="hwmon", zone="package-0"), 0)
            self.assertEqual(gone.metrics.value("kepler_source_up", source="hwmon", zone="platform-0"), 0)
            driver.start()
            _, back = h.watch_window(daemon, 4.0)
            self.assertEqual(back.metrics.value("kepler_source_up", source="hwmon", zone="package-0"), 1)
            counted = joules(first, back, "package")
            driven = driver.counter_joules(back.seen_at) - driver.counter_joules(first.seen_at)
            self.assertTrue(close(counted, driven, TOLERANCE), f"package {counted} J vs {driven} J across the outage")
            daemon.stop()


class MsrMeterTest(unittest.TestCase):
    """A node whose RAPL registers are readable but whose powercap tree is not there."""

    def test_driven_msr_energy_within_one_percent_through_wraps(self):
        vendor = cpu_vendor()
        if vendor not in ("GenuineIntel", "AuthenticAMD", "HygonGenuine"):
            self.skipTest(f"the MSR meter reads x86 RAPL registers; this CPU is {vendor or 'not x86'}")
        with h.TestBed("kepler-it-msr-") as bed:
            driver = MsrDriver(bed.powercap_dir(), vendor)
            os.makedirs(os.path.join(driver.sysfs_root, "kernel"), exist_ok=True)
            bed.on_close(driver.stop)
            extra = f"rapl:\n  maxPlausibleWatts: 500\nmsr:\n  devicePath: {driver.device_template}\n"
            daemon = bed.add_daemon(driver.sysfs_root, extra=extra)
            driver.start()
            daemon.start()
            first, last = h.watch_window(daemon, WINDOW_S)
            seconds = last.seen_at - first.seen_at
            rate = joules(first, last, "package") / seconds
            wraps = driver.wraps(last.seen_at) - driver.wraps(first.seen_at)
            log(f"msr over {seconds:.2f} s: {rate:.3f} W (driven {driver.spec['watts']} W), {wraps} wraps")
            self.assertGreaterEqual(wraps, 2)
            self.assertTrue(close(rate, driver.spec["watts"], TOLERANCE), f"{rate} W")
            self.assertIn("using msr (rapl found no usable zone)", daemon.log_text())
            daemon.stop()


if __name__ == "__main__":
    unittest.main()
