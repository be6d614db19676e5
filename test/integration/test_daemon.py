"""Whole-daemon tests: the real kepler binary against a driven powercap tree and the real /proc.

Run alone: KEPLER_BINARY=/path/to/kepler python3 -m unittest -v test_daemon
"""

import signal
import socket
import time
import unittest

import kepler_harness as h
from exposition import close, microjoules, promtool_check_metrics
from plumbing import log

INTERVAL_S = 1.0
WARMUP_SNAPSHOTS = 3          # the first refreshes only seed deltas
OBSERVATION_S = 13.0          # ≥ 8 s of rate window, several package wraps
SHORT_BURNER_S = 2.0          # a process that exits while we watch
RATE_TOLERANCE = 0.02

ZONE_LABELS = {"zone", "path", "node_name"}
NODE_FAMILIES = {
    "kepler_node_cpu_joules_total": "counter",
    "kepler_node_cpu_watts": "gauge",
    "kepler_node_cpu_active_joules_total": "counter",
    "kepler_node_cpu_active_watts": "gauge",
    "kepler_node_cpu_idle_joules_total": "counter",
    "kepler_node_cpu_idle_watts": "gauge",
    # Ours: active energy whose CPU time no live process accounts for.
    "kepler_node_cpu_unattributed_joules_total": "counter",
    "kepler_node_cpu_unattributed_watts": "gauge",
}
PROCESS_ZONE_LABELS = {"pid", "comm", "exe", "type", "state", "container_id", "vm_id", "zone", "node_name"}
PROCESS_SECONDS_LABELS = {"pid", "comm", "exe", "type", "container_id", "vm_id", "node_name"}
BUILD_INFO_LABELS = {"arch", "branch", "revision", "version", "goversion"}
CPU_INFO_LABELS = {"processor", "vendor_id", "model_name", "physical_id", "core_id"}
SELF_METRICS = {  # name -> labels it must carry (at least)
    "process_cpu_seconds_total": set(),
    "process_resident_memory_bytes": set(),
    "process_open_fds": set(),
    "process_start_time_seconds": set(),
    "kepler_source_up": {"source", "zone"},
    "kepler_source_errors_total": {"source", "zone"},
    "kepler_source_last_success_timestamp_seconds": {"source", "zone"},
    "kepler_actor_restarts_total": {"actor"},
    "kepler_actor_mailbox_depth": {"actor"},
}


class Observation:
    """Everything the RAPL daemon test watched, gathered once and checked by many tests."""

    def __init__(self):
        self.warmup = []      # snapshots before the measured window
        self.window = []      # consecutive snapshots of the measured window
        self.package_wraps = 0
        self.short_burner = None

    @property
    def all_snapshots(self):
        return self.warmup + self.window

    @property
    def last(self):
        return self.window[-1].metrics


def observe(bed):
    """Warm up, then record every snapshot for OBSERVATION_S while a short burner runs and exits."""
    daemon, driver = bed.daemon, bed.driver
    seen = Observation()
    watcher = h.SnapshotWatcher(daemon)
    for _ in range(WARMUP_SNAPSHOTS):
        seen.warmup.append(watcher.next_snapshot(timeout=4 * INTERVAL_S))
    wraps_before = driver.wraps("package")
    seen.short_burner = bed.add_workload(h.cpu_burner(bed.workdir, comm="kepler-short"))
    started = time.monotonic()
    while time.monotonic() - started < OBSERVATION_S:
        seen.window.append(watcher.next_snapshot(timeout=4 * INTERVAL_S))
        if seen.short_burner.running() and time.monotonic() - started >= SHORT_BURNER_S:
            seen.short_burner.stop()
    seen.package_wraps = driver.wraps("package") - wraps_before
    log(f"observed {len(seen.window)} snapshots over "
        f"{seen.window[-1].seen_at - seen.window[0].seen_at:.2f} s, "
        f"{seen.package_wraps} package wraps, powercap driver's longest stall "
        f"{driver.longest_stall_s() * 1000:.0f} ms")
    return seen


def cpuinfo_processors():
    with open("/proc/cpuinfo") as cpuinfo:
        return {line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("processor")}


def zone_values(metrics, name):
    return {s.labels["zone"]: s.value for s in metrics.series(name)}


class RaplDaemonTest(unittest.TestCase):
    """One daemon on a driven RAPL tree, with a CPU burner, an idle sleeper and a process that exits."""

    @classmethod
    def setUpClass(cls):
        cls.bed = h.TestBed("kepler-it-")
        with cls.bed.closed_on_failure():
            cls.driver = cls.bed.start_powercap()
            cls.burner = cls.bed.add_workload(h.cpu_burner(cls.bed.workdir))
            cls.sleeper = cls.bed.add_workload(h.idle_sleeper(cls.bed.workdir))
            cls.daemon = cls.bed.add_daemon().start()
            cls.seen = observe(cls.bed)

    @classmethod
    def tearDownClass(cls):
        cls.bed.stop_daemon_and_close()

    # ------------------------------------------------------------------ helpers

    def zones(self):
        return set(self.driver.watts())

    def assert_labels(self, metrics, name, expected):
        series = metrics.series(name)
        self.assertTrue(series, f"{name} missing")
        for sample in series:
            self.assertEqual(set(sample.labels), expected, f"labels of {name}: {sample.labels}")

    def driver_stall_note(self):
        """Context for rate failures: a starved driver leaves counters stale (host overloaded)."""
        return f" (powercap driver's longest stall: {self.driver.longest_stall_s() * 1000:.0f} ms)"

    def for_each_snapshot(self, check):
        """Runs `check(metrics)` on every snapshot seen, warm-up included (the exact invariants
        hold from the first snapshot on, docs/compatibility.md, difference #2); fails once, naming the first failure."""
        snapshots = self.seen.all_snapshots
        failures = []
        for index, snapshot in enumerate(snapshots):
            try:
                check(snapshot.metrics)
            except AssertionError as error:
                failures.append(f"snapshot {index}: {error}")
        if failures:
            self.fail(f"{len(failures)} of {len(snapshots)} snapshots fail; first: {failures[0]}")

    # ------------------------------------------------------------------ start-up

    def test_startup_to_first_metrics_is_reported(self):
        log(f"spawn -> first /metrics with node energy: {self.daemon.seconds_to_first_metrics:.3f} s")
        self.assertLess(self.daemon.seconds_to_first_metrics, h.STARTUP_TIMEOUT_S)

    # ------------------------------------------------------------------ names and labels

    def test_node_families_have_kepler_names_types_and_labels(self):
        metrics = self.seen.last
        for name, kind in NODE_FAMILIES.items():
            with self.subTest(family=name):
                self.assertEqual(metrics.types.get(name), kind)
                self.assert_labels(metrics, name, ZONE_LABELS)
                self.assertEqual(set(zone_values(metrics, name)), self.zones())

    def test_node_path_label_is_the_zone_directory(self):
        for sample in self.seen.last.series("kepler_node_cpu_joules_total"):
            self.assertEqual(sample.labels["path"], self.driver.zone_path(sample.labels["zone"]))

    def test_usage_ratio_family(self):
        metrics = self.seen.last
        self.assertEqual(metrics.types.get("kepler_node_cpu_usage_ratio"), "gauge")
        self.assert_labels(metrics, "kepler_node_cpu_usage_ratio", {"node_name"})
        self.assertEqual(len(metrics.series("kepler_node_cpu_usage_ratio")), 1)

    def test_process_families_have_kepler_names_types_and_labels(self):
        metrics = self.seen.last
        for name, kind in (("kepler_process_cpu_joules_total", "counter"),
                           ("kepler_process_cpu_watts", "gauge")):
            with self.subTest(family=name):
                self.assertEqual(metrics.types.get(name), kind)
                self.assert_labels(metrics, name, PROCESS_ZONE_LABELS)
        self.assertEqual(metrics.types.get("kepler_process_cpu_seconds_total"), "counter")
        self.assert_labels(metrics, "kepler_process_cpu_seconds_total", PROCESS_SECONDS_LABELS)

    def test_every_running_process_has_one_series_per_zone(self):
        metrics = self.seen.last
        zones_by_pid = {}
        for sample in metrics.series("kepler_process_cpu_joules_total", state="running"):
            zones_by_pid.setdefault(sample.labels["pid"], []).append(sample.labels["zone"])
        for pid, zones in zones_by_pid.items():
            self.assertEqual(sorted(zones), sorted(self.zones()), f"pid {pid}")

    def test_build_info(self):
        sample = self.seen.last.one("kepler_build_info")
        self.assertEqual(set(sample.labels), BUILD_INFO_LABELS)
        self.assertEqual(sample.value, 1)
        self.assertEqual(self.seen.last.types.get("kepler_build_info"), "gauge")

    def test_cpu_info(self):
        metrics = self.seen.last
        self.assert_labels(metrics, "kepler_node_cpu_info", CPU_INFO_LABELS)
        processors = {s.labels["processor"] for s in metrics.series("kepler_node_cpu_info")}
        self.assertEqual(processors, cpuinfo_processors())
        self.assertTrue(all(s.value == 1 for s in metrics.series("kepler_node_cpu_info")))

    def test_node_name_falls_back_to_host_name(self):
        hostname = socket.gethostname()
        for sample in self.seen.last.samples:
            if "node_name" in sample.labels:
                self.assertEqual(sample.labels["node_name"], hostname, sample.name)

    # ------------------------------------------------------------------ self-metrics

    def test_self_metrics_exist(self):
        metrics = self.seen.last
        for name, labels in SELF_METRICS.items():
            with self.subTest(metric=name):
                series = metrics.series(name)
                self.assertTrue(series, f"{name} missing")
                for sample in series:
                    self.assertLessEqual(labels, set(sample.labels), f"{name}{sample.labels}")
        self.assertTrue(any(s.name.startswith("kepler_collection_duration_seconds") for s in metrics.samples),
                        "kepler_collection_duration_seconds missing")

    def rapl_source_series(self, metrics, name, zone):
        """A RAPL source's health series; one source per physical zone, so its zone label may
        carry the socket (`package-0`) as well as be the bare zone name."""
        found = [s for s in metrics.series(name, source="rapl")
                 if s.labels["zone"] in (zone, f"{zone}-0")]
        self.assertEqual(len(found), 1, f'{name}{{source="rapl",zone~"{zone}"}}')
        return found[0].value

    def test_every_rapl_zone_is_up_and_fresh(self):
        metrics = self.seen.last
        now = time.time()
        for zone in self.zones():
            with self.subTest(zone=zone):
                self.assertEqual(self.rapl_source_series(metrics, "kepler_source_up", zone), 1)
                self.assertEqual(self.rapl_source_series(metrics, "kepler_source_errors_total", zone), 0)
                info = [s for s in metrics.series("kepler_source_info", source="rapl")
                        if s.labels["zone"] in (zone, f"{zone}-0")]
                self.assertEqual([s.labels["method"] for s in info], ["counter"])
                last_success = self.rapl_source_series(
                    metrics, "kepler_source_last_success_timestamp_seconds", zone)
                self.assertLess(abs(now - last_success), 5 * INTERVAL_S, "last success is not recent")

    # ------------------------------------------------------------------ exact invariants (docs/compatibility.md §5.6, differences #2, #9)

    def test_node_energy_is_active_plus_idle_to_the_microjoule(self):
        def check(metrics):
            total = zone_values(metrics, "kepler_node_cpu_joules_total")
            active = zone_values(metrics, "kepler_node_cpu_active_joules_total")
            idle = zone_values(metrics, "kepler_node_cpu_idle_joules_total")
            for zone in self.zones():
                self.assertEqual(microjoules(total[zone]),
                                 microjoules(active[zone]) + microjoules(idle[zone]), zone)
        self.for_each_snapshot(check)

    def test_node_power_is_active_plus_idle(self):
        def check(metrics):
            watts = zone_values(metrics, "kepler_node_cpu_watts")
            active = zone_values(metrics, "kepler_node_cpu_active_watts")
            idle = zone_values(metrics, "kepler_node_cpu_idle_watts")
            for zone in self.zones():
                self.assertTrue(close(watts[zone], active[zone] + idle[zone], 1e-9, 1e-12),
                                f"{zone}: {watts[zone]} != {active[zone]} + {idle[zone]}")
        self.for_each_snapshot(check)

    def test_running_process_power_plus_unattributed_is_node_active_power(self):
        def check(metrics):
            active = zone_values(metrics, "kepler_node_cpu_active_watts")
            unattributed = zone_values(metrics, "kepler_node_cpu_unattributed_watts")
            for zone in self.zones():
                processes = sum(s.value for s in metrics.series(
                    "kepler_process_cpu_watts", state="running", zone=zone))
                self.assertTrue(close(processes + unattributed[zone], active[zone], 1e-9, 1e-9),
                                f"{zone}: Σ process {processes} + unattributed {unattributed[zone]}"
                                f" != active {active[zone]}")
        self.for_each_snapshot(check)

    def test_process_energy_plus_unattributed_is_node_active_energy(self):
        def check(metrics):
            active = zone_values(metrics, "kepler_node_cpu_active_joules_total")
            unattributed = zone_values(metrics, "kepler_node_cpu_unattributed_joules_total")
            for zone in self.zones():
                series = metrics.series("kepler_process_cpu_joules_total", zone=zone)  # running + terminated
                processes_uj = sum(microjoules(s.value) for s in series)
                parts_uj = processes_uj + microjoules(unattributed[zone])
                slack_uj = len(series) + 1   # float printing, one µJ per series at most
                self.assertLessEqual(abs(parts_uj - microjoules(active[zone])), slack_uj,
                                     f"{zone}: Σ process {processes_uj} µJ + unattributed "
                                     f"{microjoules(unattributed[zone])} µJ != active "
                                     f"{microjoules(active[zone])} µJ ({len(series)} series)")
        self.for_each_snapshot(check)

    def test_conservation_self_check_reports_zero(self):
        # The daemon's own conservation metric (docs/compatibility.md, difference #19) must agree with the sums above.
        def check(metrics):
            errors = zone_values(metrics, "kepler_energy_conservation_error_joules")
            self.assertEqual(set(errors), self.zones())
            for zone, error in errors.items():
                self.assertEqual(error, 0, zone)
        self.for_each_snapshot(check)

    def test_active_share_of_power_is_the_usage_ratio(self):
        def check(metrics):
            ratio = metrics.value("kepler_node_cpu_usage_ratio")
            watts = zone_values(metrics, "kepler_node_cpu_watts")
            active = zone_values(metrics, "kepler_node_cpu_active_watts")
            for zone in self.zones():
                if watts[zone] > 0:
                    self.assertTrue(close(active[zone] / watts[zone], ratio, 1e-6),
                                    f"{zone}: active/total {active[zone] / watts[zone]} vs ratio {ratio}")
        self.for_each_snapshot(check)

    def test_active_share_of_each_energy_increment_is_the_usage_ratio(self):
        # Same window for energy and CPU (docs/compatibility.md, difference #3): Δactive / Δtotal = that window's ratio.
        def delta_uj(before, after, name, zone):
            return microjoules(after.value(name, zone=zone)) - microjoules(before.value(name, zone=zone))

        checked, failures = 0, []
        for index, (before, after) in enumerate(zip(self.seen.window, self.seen.window[1:]), 1):
            if after.seen_at - before.seen_at > 1.5 * INTERVAL_S:
                continue   # a snapshot in between was missed: not one window
            ratio = after.metrics.value("kepler_node_cpu_usage_ratio")
            for zone in self.zones():
                total = delta_uj(before.metrics, after.metrics, "kepler_node_cpu_joules_total", zone)
                active = delta_uj(before.metrics, after.metrics, "kepler_node_cpu_active_joules_total", zone)
                checked += 1
                if total <= 0 or abs(active - total * ratio) > 1 + 1e-6 * total:
                    failures.append(f"window {index} {zone}: Δactive {active} µJ, Δtotal {total} µJ, "
                                    f"ratio {ratio}")
        self.assertGreater(checked, 0, "no two consecutive snapshots one interval apart")
        self.assertFalse(failures, f"{len(failures)} of {checked} windows; first: {failures[:1]}")

    def test_usage_ratio_is_between_zero_and_one(self):
        self.for_each_snapshot(lambda metrics: self.assertTrue(
            0 <= metrics.value("kepler_node_cpu_usage_ratio") <= 1))

    def test_all_watts_are_non_negative(self):
        def check(metrics):
            for sample in metrics.samples:
                if sample.name.endswith("_watts"):
                    self.assertGreaterEqual(sample.value, 0, f"{sample.name}{sample.labels}")
        self.for_each_snapshot(check)

    # ------------------------------------------------------------------ energy matches the driven power

    def test_node_energy_rate_matches_driven_power(self):
        first, last = self.seen.window[0], self.seen.window[-1]
        seconds = last.seen_at - first.seen_at
        self.assertGreaterEqual(seconds, 8.0)
        for zone, driven in self.driver.watts().items():
            joules = (last.metrics.value("kepler_node_cpu_joules_total", zone=zone)
                      - first.metrics.value("kepler_node_cpu_joules_total", zone=zone))
            with self.subTest(zone=zone):
                log(f"{zone}: {joules / seconds:.3f} W from energy over {seconds:.2f} s, driven {driven} W")
                self.assertTrue(close(joules / seconds, driven, RATE_TOLERANCE),
                                f"{zone}: {joules / seconds:.3f} W vs driven {driven} W"
                                f"{self.driver_stall_note()}")

    def test_node_watts_gauge_matches_driven_power(self):
        # Each window's watts are off by up to one driver period of counter staleness at each
        # end; over consecutive windows those errors cancel, so the mean must be within 2 %.
        per_window_slack = RATE_TOLERANCE + 2 * self.driver.period_s / INTERVAL_S
        for zone, driven in self.driver.watts().items():
            gauges = [s.metrics.value("kepler_node_cpu_watts", zone=zone) for s in self.seen.window]
            mean = sum(gauges) / len(gauges)
            with self.subTest(zone=zone):
                log(f"{zone}: mean watts gauge {mean:.3f} W (min {min(gauges):.3f}, max {max(gauges):.3f}), "
                    f"driven {driven} W")
                self.assertTrue(close(mean, driven, RATE_TOLERANCE),
                                f"mean {mean} vs {driven}{self.driver_stall_note()}")
                for index, gauge in enumerate(gauges):
                    self.assertTrue(close(gauge, driven, per_window_slack),
                                    f"window {index}: {gauge} vs {driven}{self.driver_stall_note()}")

    def test_package_counter_wrapped_and_node_energy_never_decreased(self):
        self.assertGreaterEqual(self.seen.package_wraps, 1, "the driven package counter never wrapped")
        for zone in self.zones():
            totals = [s.metrics.value("kepler_node_cpu_joules_total", zone=zone) for s in self.seen.all_snapshots]
            with self.subTest(zone=zone):
                for before, after in zip(totals, totals[1:]):
                    self.assertGreaterEqual(after, before)

    # ------------------------------------------------------------------ workloads

    def test_burner_gets_the_most_package_energy(self):
        metrics = self.seen.last
        package = metrics.series("kepler_process_cpu_joules_total", zone="package")
        top = max(package, key=lambda s: s.value)
        self.assertEqual(top.labels["pid"], str(self.burner.pid),
                         f"top consumer is {top.labels} with {top.value} J")
        self.assertEqual(top.labels["state"], "running")
        self.assertGreater(top.value, 0)

    def test_burner_comm_and_exe_labels(self):
        sample = self.seen.last.one("kepler_process_cpu_seconds_total", pid=str(self.burner.pid))
        self.assertEqual(sample.labels["comm"], self.burner.comm)
        self.assertEqual(sample.labels["exe"], self.burner.exe)
        self.assertGreater(sample.value, 0)

    def test_idle_sleeper_gets_almost_nothing(self):
        metrics = self.seen.last
        burner = metrics.one("kepler_process_cpu_joules_total", pid=str(self.burner.pid), zone="package")
        sleeping = metrics.series("kepler_process_cpu_joules_total", pid=str(self.sleeper.pid), zone="package")
        if metrics.one("kepler_bpf_up").value == 1 and not sleeping:
            return  # eBPF lists the processes that ran; this one has not run since the probe attached
        sleeper = metrics.one("kepler_process_cpu_joules_total", pid=str(self.sleeper.pid), zone="package")
        self.assertEqual(sleeper.labels["comm"], self.sleeper.comm)
        self.assertLessEqual(sleeper.value, 0.01 * burner.value)

    def test_counters_never_decrease_between_scrapes(self):
        snapshots = self.seen.all_snapshots
        checked, decreases = 0, []
        for index, (before, after) in enumerate(zip(snapshots, snapshots[1:]), 1):
            previous = before.metrics.by_key()
            for sample in after.metrics.samples:
                if after.metrics.family_type(sample.name) != "counter" or sample.key not in previous:
                    continue
                checked += 1
                if sample.value < previous[sample.key]:
                    decreases.append(f"snapshot {index}: {sample.name}{sample.labels} "
                                     f"{previous[sample.key]} -> {sample.value}")
        self.assertGreater(checked, 0)
        self.assertFalse(decreases, f"{len(decreases)} of {checked} counter samples decreased; "
                                    f"first: {decreases[:1]}")

    def test_exited_process_is_reported_terminated_with_energy(self):
        pid = str(self.seen.short_burner.pid)
        metrics = self.seen.last
        terminated = metrics.series("kepler_process_cpu_joules_total", pid=pid, state="terminated")
        self.assertEqual({s.labels["zone"] for s in terminated}, self.zones(),
                         f"pid {pid} not terminated in the last scrape")
        self.assertFalse(metrics.series("kepler_process_cpu_joules_total", pid=pid, state="running"))
        package = metrics.one("kepler_process_cpu_joules_total", pid=pid, state="terminated", zone="package")
        self.assertEqual(package.labels["comm"], "kepler-short")
        self.assertGreater(package.value, 0)
        self.assertGreaterEqual(package.value, self.last_running_package_joules(pid))

    def last_running_package_joules(self, pid):
        for snapshot in reversed(self.seen.window):
            running = snapshot.metrics.series("kepler_process_cpu_joules_total", pid=pid,
                                              state="running", zone="package")
            if running:
                return running[0].value
        self.fail(f"pid {pid} was never seen running")

    # ------------------------------------------------------------------ format and HTTP

    def test_promtool_accepts_the_exposition(self):
        code, output = promtool_check_metrics(self.seen.window[-1].text)
        self.assertEqual(output, "", "promtool check metrics complained")
        self.assertEqual(code, 0)

    def test_landing_page(self):
        status, body = self.daemon.get("/")
        self.assertEqual(status, 200)
        self.assertIn("Kepler", body)
        self.assertIn("/metrics", body)

    def test_unknown_path_is_404(self):
        self.assertEqual(self.daemon.get("/no-such-page")[0], 404)

    def test_healthz(self):
        self.assertEqual(self.daemon.get("/healthz")[0], 200)


class NoMeterFallbackTest(unittest.TestCase):
    """No powercap tree, MSR or hwmon at all: the daemon degrades to an estimate instead of
    exiting, and says so; the fake meter when asked for."""

    def test_starts_on_the_estimate_meter(self):
        with h.TestBed("kepler-it-estimate-") as bed:
            daemon = bed.add_daemon(bed.sysfs_without_powercap(), extra="msr:\n  devicePath: /nonexistent/%d/msr\n")
            daemon.start()
            metrics = daemon.scrape()
            zones = {s.labels["zone"] for s in metrics.series("kepler_node_cpu_joules_total")}
            self.assertEqual(zones, {"package"})
            self.assertEqual(metrics.value("kepler_source_up", source="estimate", zone="package-0"), 1)
            self.assertIn("using estimate: estimated, not measured", daemon.log_text())
            info = metrics.series("kepler_source_info", source="estimate")
            self.assertEqual([s.labels["method"] for s in info], ["estimate"])
            self.assertTrue(info[0].labels["model"], "the estimate names its model")
            daemon.stop(signal.SIGTERM)

    def test_starts_on_the_fake_meter_when_asked(self):
        with h.TestBed("kepler-it-fake-") as bed:
            daemon = bed.add_daemon(bed.sysfs_without_powercap(), extra="dev:\n  fake-cpu-meter:\n    enabled: true\n")
            daemon.start()
            metrics = daemon.scrape()
            zones = {s.labels["zone"] for s in metrics.series("kepler_node_cpu_joules_total")}
            self.assertEqual(zones, {"package", "core", "dram"})
            self.assertTrue(metrics.series("kepler_source_up", source="fake-cpu-meter"),
                            'no kepler_source_up{source="fake-cpu-meter"}')
            self.assertIn("fake-cpu-meter", daemon.log_text())
            info = metrics.series("kepler_source_info", source="fake-cpu-meter")
            self.assertEqual({s.labels["zone"] for s in info}, {"package", "core", "dram"})
            self.assertEqual({(s.labels["method"], s.labels["model"]) for s in info},
                             {("estimate", "fake-cpu-meter")})
            daemon.stop(signal.SIGTERM)


class InvalidConfigTest(unittest.TestCase):

    def test_all_errors_reported_in_one_message_and_exit_1(self):
        with h.TestBed("kepler-it-bad-") as bed:
            config = bed.write_config(bed.sysfs_without_powercap(), log_level="verbose",
                                      interval="-1s")
            code, output = h.run_daemon_to_exit(config)
            self.assertEqual(code, 1, output)
            naming_both = [line for line in output.splitlines()
                           if "log.level" in line and "monitor.interval" in line]
            self.assertEqual(len(naming_both), 1, f"no single line names both settings:\n{output}")


class SignalShutdownTest(unittest.TestCase):

    def stop_with(self, sig):
        with h.TestBed("kepler-it-sig-") as bed:
            bed.start_powercap()
            daemon = bed.add_daemon()
            daemon.start()
            code, took = bed.stop_daemon(sig)
            self.assertEqual(code, 0)
            self.assertLess(took, h.STOP_TIMEOUT_S)
            self.assertIn("Graceful shutdown completed", daemon.log_text())

    def test_sigterm_exits_0(self):
        self.stop_with(signal.SIGTERM)

    def test_sigint_exits_0(self):
        self.stop_with(signal.SIGINT)


if __name__ == "__main__":
    unittest.main(verbosity=2)
