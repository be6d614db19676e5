"""Sensor faults, injected for real: the daemon reads its powercap tree through a FUSE file
system (fault_fs.py) whose files and directories the tests break while it runs. Every fault is
held for a few intervals and cleared; a background scraper watches the whole time.

Asserted for every fault: the daemon stays alive and /metrics keeps answering (within 100 ms
while a read hangs), no counter decreases or jumps beyond the plausible power, the zone is down
within two intervals and back within two intervals after the fault clears (or, for values that
are wrong rather than unreadable, the rejection is counted within two intervals), errors,
rejections and restarts are counted, and the log tells each change once.

Needs root and FUSE (/dev/fuse, python3-fusepy, fuse3); skips with the reason otherwise.
Run alone: KEPLER_BINARY=/path/to/kepler python3 -m unittest -v test_faults
"""

import os
import re
import socket
import threading
import time
import unittest

import kepler_harness as h
from exposition import parse_exposition
from fault_fs import FaultFs, FuseUnavailable, fuse_unavailable_reason
from plumbing import http_get, log
from powercap_tree import PowercapDriver, default_zones

INTERVAL_S = 0.5
MAX_PLAUSIBLE_W = 1000.0           # rapl.maxPlausibleWatts: the package polls every 75 ms
TWO_INTERVALS_S = 2 * INTERVAL_S
DETECTION_SLACK_S = 0.15           # the watcher's poll period plus a scheduling hiccup
HOLD_S = 3 * INTERVAL_S            # how long a fault lasts
HANG_SCRAPE_BOUND_S = 0.100        # the bound on /metrics while a read hangs
WATCH_PERIOD_S = 0.05
RATE_TOLERANCE = 0.05

ZONE_DIRS = {"package-0": "class/powercap/intel-rapl:0", "core-0": "class/powercap/intel-rapl:0:0",
             "dram-0": "class/powercap/intel-rapl:0:1"}
NODE_ZONE = {"package-0": "package", "core-0": "core", "dram-0": "dram"}
WATCHED = ("kepler_node_cpu_joules_total", "kepler_source_up", "kepler_source_errors_total",
           "kepler_source_rejected_readings_total", "kepler_actor_restarts_total",
           "kepler_actor_mailbox_depth")

# What each fault did, for docs/fault-matrix.md: fault -> {column: value}.
MATRIX = {}


def energy_file(zone):
    return ZONE_DIRS[zone] + "/energy_uj"


class Scrape:
    """One /metrics answer, reduced to the families the fault tests watch."""

    def __init__(self, at, latency_s, text):
        self.at = at
        self.latency_s = latency_s
        wanted = [line for line in text.splitlines() if line.startswith(WATCHED)]
        self.metrics = parse_exposition("\n".join(wanted))

    def value(self, name, default=None, **labels):
        found = self.metrics.series(name, **labels)
        return found[0].value if found else default

    def up(self, zone):
        return self.value("kepler_source_up", source="rapl", zone=zone)

    def joules(self, zone):
        return self.value("kepler_node_cpu_joules_total", zone=NODE_ZONE[zone])

    def rejected(self, zone, reason):
        return self.value("kepler_source_rejected_readings_total", 0, source="rapl", zone=zone, reason=reason)


class Watcher(threading.Thread):
    """Scrapes every WATCH_PERIOD_S for the whole class and keeps every answer; a scrape that
    fails is recorded as one (the daemon must never stop serving)."""

    def __init__(self, daemon):
        super().__init__(daemon=True)
        self.daemon_under_test = daemon
        self.scrapes = []
        self.failures = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()

    def run(self):
        while not self.stopping.is_set():
            started = time.monotonic()
            try:
                status, body = http_get(self.daemon_under_test.url("/metrics"), timeout=5.0)
                latency = time.monotonic() - started
                if status != 200:
                    raise OSError(f"status {status}")
                scrape = Scrape(started, latency, body)
                with self.lock:
                    self.scrapes.append(scrape)
            except (OSError, ValueError) as error:
                with self.lock:
                    self.failures.append(f"{time.monotonic():.3f}: {error}")
            self.stopping.wait(max(0.0, WATCH_PERIOD_S - (time.monotonic() - started)))

    def since(self, moment):
        with self.lock:
            return [s for s in self.scrapes if s.at >= moment]

    def latest(self):
        with self.lock:
            return self.scrapes[-1]

    def fresh(self, zone, timeout=10 * INTERVAL_S):
        """The first scrape, from now on, of a snapshot whose `zone` energy changed: it was
        read at most one watcher period before the scrape, which makes energy comparisons
        between two fresh scrapes precise to about 0.1 s of power."""
        previous = self.latest().joules(zone)
        _, scrape = self.wait_for(lambda s: s.joules(zone) != previous, time.monotonic(), timeout,
                                  f"a new snapshot of {zone}")
        return scrape

    def wait_for(self, condition, after, timeout, what):
        """The first scrape started after `after` that satisfies `condition`; seconds from
        `after` to that scrape, and the scrape."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for scrape in self.since(after):
                if condition(scrape):
                    return scrape.at - after, scrape
            time.sleep(WATCH_PERIOD_S / 2)
        raise AssertionError(f"{what}: not seen within {timeout} s")


def skip_reason():
    if not os.environ.get("KEPLER_BINARY"):
        return "KEPLER_BINARY is not set"
    return fuse_unavailable_reason()


@unittest.skipIf(skip_reason(), f"fault injection needs FUSE: {skip_reason()}")
class SensorFaultTest(unittest.TestCase):
    """One daemon on a FUSE-served powercap tree; each test breaks one thing, then repairs it."""

    @classmethod
    def setUpClass(cls):
        cls.bed = h.TestBed("kepler-it-faults-")
        with cls.bed.closed_on_failure():
            workdir = cls.bed.workdir
            cls.driver = PowercapDriver(os.path.join(cls.bed.powercap_dir(), "backing"), default_zones()).start()
            cls.bed.driver = cls.driver
            cls.bed.on_close(cls.driver.stop)
            cls.fs = FaultFs(cls.driver.sysfs_root, os.path.join(workdir, "sys"), workdir)
            try:
                cls.fs.start()
            except FuseUnavailable as why:
                raise unittest.SkipTest(f"FUSE cannot be mounted here: {why}")
            cls.bed.on_close(cls.fs.stop)
            cls.daemon = cls.bed.add_daemon(
                sysfs=cls.fs.mountpoint, interval=f"{int(INTERVAL_S * 1000)}ms", log_level="info",
                extra=f"rapl:\n  maxPlausibleWatts: {MAX_PLAUSIBLE_W:g}\n").start()
            cls.watcher = Watcher(cls.daemon)
            cls.watcher.start()
            cls.bed.on_close(cls.watcher.stopping.set)

    @classmethod
    def tearDownClass(cls):
        try:
            cls.fs.clear_all()
            cls.watcher.stopping.set()
            cls.watcher.join(timeout=5)
            cls.check_whole_run()
        finally:
            cls.bed.stop_daemon_and_close()
            write_matrix_log()

    @classmethod
    def check_whole_run(cls):
        """Over every scrape of the class: served without a failure, counters monotonic and
        never faster than the plausible power."""
        assert not cls.watcher.failures, f"/metrics failed: {cls.watcher.failures[:3]}"
        scrapes = cls.watcher.scrapes
        assert len(scrapes) > 100, f"only {len(scrapes)} scrapes"
        problems = []
        for before, after in zip(scrapes, scrapes[1:]):
            earlier = before.metrics.by_key()
            allowed_j = MAX_PLAUSIBLE_W * (after.at - before.at + 2 * INTERVAL_S)
            for sample in after.metrics.samples:
                if sample.name not in ("kepler_node_cpu_joules_total", "kepler_source_errors_total",
                                       "kepler_source_rejected_readings_total", "kepler_actor_restarts_total"):
                    continue
                previous = earlier.get(sample.key)
                if previous is None:
                    continue
                if sample.value < previous:
                    problems.append(f"{sample.name}{sample.labels} decreased {previous} -> {sample.value}")
                if sample.name == "kepler_node_cpu_joules_total" and sample.value - previous > allowed_j:
                    problems.append(f"{sample.labels['zone']} jumped {sample.value - previous:.0f} J")
        log(f"whole run: {len(scrapes)} scrapes, max latency "
            f"{max(s.latency_s for s in scrapes) * 1000:.1f} ms")
        assert not problems, f"{len(problems)} problems; first: {problems[:3]}"

    # ------------------------------------------------------------------ helpers

    def setUp(self):
        self.assertIsNone(self.daemon.process.poll(), "kepler is not running\n" + self.daemon.log_tail())
        self.fs.clear_all()
        self.watcher.wait_for(lambda s: all(s.up(z) == 1 for z in ZONE_DIRS), time.monotonic(),
                              10 * INTERVAL_S, "every zone up before the test")
        self.log_offset = len(self.daemon.log_text())

    def new_log_lines(self, pattern):
        return [line for line in self.daemon.log_text()[self.log_offset:].splitlines() if re.search(pattern, line)]

    def wait_down_then_up(self, zone, fault_name, path, kind, **params):
        """Applies the fault, asserts the zone goes down within two intervals, holds it, clears
        it and asserts the zone is back within two intervals. Returns (before, during, after)
        scrapes and the two delays."""
        before = self.watcher.fresh(zone)
        set_at = time.monotonic()
        self.fs.set_fault(path, kind, **params)
        down_s, _ = self.watcher.wait_for(lambda s: s.up(zone) == 0, set_at, 10 * INTERVAL_S,
                                          f"{zone} down under {fault_name}")
        time.sleep(HOLD_S)
        during = self.watcher.latest()
        self.assertEqual(during.up(zone), 0, f"{zone} came back while {fault_name} lasted")
        self.assertIsNone(self.daemon.process.poll(), "kepler died\n" + self.daemon.log_tail())
        cleared_at = time.monotonic()
        self.fs.clear(path)
        up_s, after = self.watcher.wait_for(lambda s: s.up(zone) == 1, cleared_at, 10 * INTERVAL_S,
                                            f"{zone} back after {fault_name}")
        log(f"{fault_name}: {zone} down after {down_s:.3f} s, back {up_s:.3f} s after clearing")
        self.assertLessEqual(down_s, TWO_INTERVALS_S + DETECTION_SLACK_S, f"{zone} down too late")
        self.assertLessEqual(up_s, TWO_INTERVALS_S + DETECTION_SLACK_S, f"{zone} back too late")
        return before, during, after, down_s, up_s

    def assert_logged_once(self, zone):
        down = self.new_log_lines(rf"source rapl {zone} is down")
        back = self.new_log_lines(rf"source rapl {zone} is back")
        self.assertEqual(len(down), 1, f"'is down' logged {len(down)} times: {down}")
        self.assertEqual(len(back), 1, f"'is back' logged {len(back)} times: {back}")

    def assert_energy_kept(self, zone, since, fault_name, may_lose_j=0.0):
        """Exported energy from `since` to now matches the driven power: nothing lost beyond
        `may_lose_j`, nothing invented."""
        time.sleep(INTERVAL_S)   # past the first reading after recovery
        now = self.watcher.fresh(zone)
        watts = self.driver.zone(NODE_ZONE[zone]).watts
        seconds = now.at - since.at
        joules = now.joules(zone) - since.joules(zone)
        lost_j = watts * seconds - joules
        log(f"{fault_name}: {zone} {joules:.2f} J over {seconds:.2f} s at {watts} W "
            f"(expected {watts * seconds:.2f} J)")
        # Both ends were read within a watcher period (50 ms) of their scrape, from counters
        # that the driver advances every 50 ms.
        timing_j = watts * 0.2 + 0.5
        self.assertLessEqual(lost_j, timing_j + may_lose_j, f"{zone} lost {lost_j:.2f} J")
        self.assertGreaterEqual(lost_j, -timing_j, f"{zone} gained {-lost_j:.2f} J")
        return lost_j

    def record(self, fault, **columns):
        MATRIX[fault] = columns

    # ------------------------------------------------------------------ unreadable values

    def unreadable(self, fault_name, zone, path, kind, **params):
        before, during, after, down_s, up_s = self.wait_down_then_up(zone, fault_name, path, kind, **params)
        errors = during.value("kepler_source_errors_total", source="rapl", zone=zone)
        self.assertGreater(errors, before.value("kepler_source_errors_total", source="rapl", zone=zone))
        for other in ZONE_DIRS:
            if other != zone:
                self.assertEqual(during.up(other), 1, f"{other} went down with {zone}")
        self.assert_logged_once(zone)
        lost_j = self.assert_energy_kept(zone, before, fault_name)
        self.record(fault_name, served="yes", lost=f"no ({lost_j:+.1f} J vs driven)",
                    detected=f"{down_s:.2f} s (down)", recovered=f"{up_s:.2f} s")

    def test_energy_file_missing(self):
        self.unreadable("energy_uj missing (ENOENT)", "core-0", energy_file("core-0"), "missing")

    def test_energy_file_holds_garbage(self):
        self.unreadable("energy_uj holds garbage", "core-0", energy_file("core-0"), "garbage", text="0x1f;DROP")

    def test_energy_file_read_fails_with_eio(self):
        self.unreadable("read fails with EIO", "dram-0", energy_file("dram-0"), "eio")

    def test_whole_zone_vanishes_and_comes_back(self):
        self.unreadable("zone directory vanishes", "package-0", ZONE_DIRS["package-0"], "missing")

    def test_counter_beyond_its_range_is_rejected_every_time(self):
        zone = "core-0"
        before = self.watcher.fresh(zone)  # latest() could hold a snapshot up to an interval old
        before_rejected = before.rejected(zone, "out_of_range")
        _, during, _, down_s, up_s = self.wait_down_then_up(
            zone, "counter beyond max_energy_range_uj", energy_file(zone), "garbage", text="999999999999999")
        self.assertGreater(during.rejected(zone, "out_of_range"), before_rejected)
        self.assertEqual(len(self.new_log_lines(rf"rapl_sampler:{zone}: rejected reading")), 1)
        self.assert_logged_once(zone)
        lost_j = self.assert_energy_kept(zone, before, "out of range")
        self.record("counter beyond its range", served="yes", lost=f"no ({lost_j:+.1f} J vs driven)",
                    detected=f"{down_s:.2f} s (down; out_of_range counted)", recovered=f"{up_s:.2f} s")

    # ------------------------------------------------------------------ wrong values

    def rejected_once(self, fault_name, zone, kind, uj, reason_on_set, reason_on_clear):
        """A counter that moves by `uj` at once: the reading is rejected and counted within two
        intervals, counting resumes from the new value, and the energy in between is lost."""
        before = self.watcher.fresh(zone)
        set_at = time.monotonic()
        self.fs.set_fault(energy_file(zone), kind, uj=uj)
        detected_s, _ = self.watcher.wait_for(
            lambda s: s.rejected(zone, reason_on_set) > before.rejected(zone, reason_on_set),
            set_at, 10 * INTERVAL_S, f"{fault_name} rejected")
        time.sleep(HOLD_S)
        during = self.watcher.latest()
        cleared_at = time.monotonic()
        self.fs.clear(energy_file(zone))
        undone_s, _ = self.watcher.wait_for(
            lambda s: s.rejected(zone, reason_on_clear) > during.rejected(zone, reason_on_clear),
            cleared_at, 10 * INTERVAL_S, f"{fault_name} undone, rejected")
        log(f"{fault_name}: rejected ({reason_on_set}) after {detected_s:.3f} s; undoing it rejected "
            f"({reason_on_clear}) after {undone_s:.3f} s")
        self.assertLessEqual(detected_s, TWO_INTERVALS_S + DETECTION_SLACK_S)
        self.assertLessEqual(undone_s, TWO_INTERVALS_S + DETECTION_SLACK_S)
        # Still counting while the fault lasted: the new value became the baseline.
        self.assertGreater(during.joules(zone), before.joules(zone))
        self.assertEqual(len(self.new_log_lines(rf"rapl_sampler:{zone}: rejected reading")), 2,
                         "one warning when the counter moved, one when it moved back")
        # Each move loses the energy between the last good reading and the moved one.
        watts = self.driver.zone(NODE_ZONE[zone]).watts
        lost_j = self.assert_energy_kept(zone, before, fault_name, may_lose_j=2 * watts * INTERVAL_S)
        self.record(fault_name, served="yes", lost=f"two poll windows at most ({lost_j:+.1f} J)",
                    detected=f"{detected_s:.2f} s ({reason_on_set} counted)",
                    recovered=f"at once (undone: {reason_on_clear} counted after {undone_s:.2f} s)")

    def test_counter_goes_backwards(self):
        self.rejected_once("counter goes back 800 J (reset)", "core-0", "backwards", 800_000_000,
                           "reset", "implausible")

    def test_counter_jumps_absurdly(self):
        self.rejected_once("counter jumps 100 kJ", "dram-0", "jump", 100_000_000_000,
                           "implausible", "reset")

    def test_counter_wrapping_twice_per_interval_is_counted_in_full(self):
        zone = "package-0"
        extra_w = 600.0        # 640 W on a 150 J range: a wrap every 0.23 s, two per interval
        max_uj = self.driver.zone("package").max_energy_uj
        self.assertGreater((40 + extra_w) * INTERVAL_S, 2 * max_uj / 1e6, "not two wraps per interval")
        self.fs.set_fault(energy_file(zone), "fast", watts=extra_w)
        time.sleep(2 * INTERVAL_S)
        first = self.watcher.fresh(zone)  # both just after a snapshot: latest() may be an interval old
        time.sleep(4.0)
        last = self.watcher.fresh(zone)
        self.fs.clear(energy_file(zone))
        seconds = last.at - first.at
        watts = (last.joules(zone) - first.joules(zone)) / seconds
        log(f"double wrap: package {watts:.1f} W measured over {seconds:.2f} s, driven {40 + extra_w} W")
        self.assertAlmostEqual(watts, 40 + extra_w, delta=(40 + extra_w) * 0.1)
        for reason in ("reset", "implausible", "out_of_range"):
            self.assertEqual(last.rejected(zone, reason), first.rejected(zone, reason), reason)
        self.assertEqual(last.up(zone), 1)
        self.record("counter wraps twice per interval", served="yes",
                    lost=f"no ({watts:.0f} W measured, {40 + extra_w:.0f} W driven)",
                    detected="n/a (not a fault: every wrap is seen)", recovered="n/a")

    # ------------------------------------------------------------------ hangs

    def test_hung_read_stalls_only_its_zone(self):
        zone = "dram-0"
        threads_before = thread_count(self.daemon.process.pid)
        restarts_before = self.watcher.latest().value("kepler_actor_restarts_total", 0,
                                                      actor=f"rapl_sampler:{zone}")
        set_at = time.monotonic()
        self.fs.set_fault(energy_file(zone), "hang")
        down_s, _ = self.watcher.wait_for(lambda s: s.up(zone) == 0, set_at, 10 * INTERVAL_S,
                                          f"{zone} down while its read hangs")
        latencies = []
        hold_until = time.monotonic() + 6 * INTERVAL_S     # past the stuck-reader replacement
        while time.monotonic() < hold_until:
            started = time.monotonic()
            status, _ = http_get(self.daemon.url("/metrics"), timeout=5.0)
            latencies.append(time.monotonic() - started)
            self.assertEqual(status, 200)
            time.sleep(0.02)
        during = self.watcher.latest()
        threads_during = thread_count(self.daemon.process.pid)
        restarts = during.value("kepler_actor_restarts_total", 0, actor=f"rapl_sampler:{zone}") - restarts_before
        cleared_at = time.monotonic()
        self.fs.clear(energy_file(zone))
        up_s, _ = self.watcher.wait_for(lambda s: s.up(zone) == 1, cleared_at, 10 * INTERVAL_S,
                                        f"{zone} back after the hang")
        worst = max(latencies)
        log(f"hang: {zone} down after {down_s:.3f} s, back {up_s:.3f} s after release; "
            f"{len(latencies)} scrapes while hung, worst {worst * 1000:.1f} ms, median "
            f"{sorted(latencies)[len(latencies) // 2] * 1000:.1f} ms; threads {threads_before} -> "
            f"{threads_during}; reader restarts {restarts:g}")
        self.assertLess(worst, HANG_SCRAPE_BOUND_S, "/metrics slow while a read hangs")
        self.assertLessEqual(down_s, TWO_INTERVALS_S + DETECTION_SLACK_S)
        self.assertLessEqual(up_s, TWO_INTERVALS_S + DETECTION_SLACK_S)
        self.assertEqual(restarts, 1, "one fresh reader, and no more while it hangs too")
        self.assertLessEqual(threads_during, threads_before + 1, "stuck readers pile up")
        for other in ZONE_DIRS:
            if other != zone:
                self.assertEqual(during.up(other), 1)
        self.assert_logged_once(zone)
        self.assertEqual(len(self.new_log_lines(rf"rapl_sampler:{zone}: a read has not returned")), 1)
        self.record("read hangs forever", served=f"yes (worst scrape {worst * 1000:.0f} ms)",
                    lost="no (the next reading covers the gap)", detected=f"{down_s:.2f} s (down)",
                    recovered=f"{up_s:.2f} s; 1 reader replaced, threads +{threads_during - threads_before}")

    # ------------------------------------------------------------------ backpressure

    def test_slow_scrapers_leave_every_mailbox_bounded(self):
        """Scrapers that read one byte a second hold their connections; the pipeline and the
        other scrapers do not notice, and every exported mailbox depth stays small."""
        started = time.monotonic()
        slow = [slow_scraper(self.daemon.port) for _ in range(4)]
        try:
            deadline = time.monotonic() + 5.0
            received = 0
            while time.monotonic() < deadline:
                for connection in slow:
                    received += len(connection.recv(1))
                time.sleep(1.0)
            scrapes = self.watcher.since(started)
            depths = [s.metrics.series("kepler_actor_mailbox_depth") for s in scrapes]
            deepest = max((d.value, d.labels["actor"]) for row in depths for d in row)
            worst = max(s.latency_s for s in scrapes)
            log(f"slow scrapers: {received} bytes read in 5 s; {len(scrapes)} other scrapes, worst "
                f"{worst * 1000:.1f} ms; deepest mailbox {deepest[0]:g} ({deepest[1]})")
            self.assertGreater(len(scrapes), 20)
            self.assertLessEqual(deepest[0], 2, f"mailbox of {deepest[1]} grew")
            self.assertLess(worst, 1.0)
            self.assertEqual(len({s.joules("package-0") for s in scrapes}) > 5, True, "snapshots stopped")
            self.record("slow scrapers (1 byte/s)", served=f"yes (others' worst {worst * 1000:.0f} ms)",
                        lost="no", detected="n/a", recovered=f"deepest mailbox {deepest[0]:g}")
        finally:
            for connection in slow:
                connection.close()


def slow_scraper(port):
    """A connection that asked for /metrics and reads nothing yet (the test reads it byte by byte)."""
    connection = socket.create_connection(("127.0.0.1", port), timeout=5)
    connection.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    connection.sendall(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n")
    return connection


def thread_count(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("Threads:"):
                return int(line.split()[1])
    raise AssertionError(f"no Threads: line for pid {pid}")


def write_matrix_log():
    """Logs the fault matrix as measured (docs/fault-matrix.md is written from it)."""
    if not MATRIX:
        return
    log("fault matrix: fault | served? | data lost? | detected after | recovered after")
    for fault, c in MATRIX.items():
        log(f"| {fault} | {c['served']} | {c['lost']} | {c['detected']} | {c['recovered']} |")


if __name__ == "__main__":
    unittest.main(verbosity=2)
