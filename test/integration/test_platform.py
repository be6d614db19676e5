"""Whole-node power from a BMC over Redfish through the real daemon: a fake BMC (HTTPS with a CA
made at test time, sessions or basic auth, keep-alive) serves DMTF mockups (both schemas, one
and two chassis) at driven watts; the exported platform energy must match what was driven
within 1 %, with the BMC's energy counter and with power integrated between readings, and the workloads' platform energy must add up to the node's
active platform energy to the microjoule. Then each fault a BMC shows (down at start, 401, an
expired session, 429 with Retry-After, a 10 s stall, garbage, a restart) is logged once, counted
by kind, never stops /metrics, and passes without restarting the daemon; a stop while a request
stalls is prompt."""

import os
import time
import unittest

import kepler_harness as h
from exposition import close, microjoules
from fake_bmc import MOCKUPS_DIR, FakeBmc
from plumbing import log, write_atomically

TOLERANCE = 0.01
WINDOW_S = 16.0 if h.sanitizer() else 10.0
FAULT_TIMEOUT_S = 30.0
BMC_ID = "bmc-1"


def redfish_settings(bed, bmc, http_timeout="2s", staleness="5s", auth="session"):
    """The BMC file for `bmc` and the daemon's settings pointing at it (YAML to append)."""
    bmc_file = os.path.join(bed.workdir, "redfish.yaml")
    write_atomically(bmc_file, (
        "nodes:\n  test-node: " + BMC_ID + "\n"
        "bmcs:\n  " + BMC_ID + ":\n"
        f"    endpoint: {bmc.url}\n    username: monitor\n    password: secret\n    caFile: {bmc.ca_file}\n"
        f"    auth: {auth}\n"))
    return ("experimental:\n  platform:\n    redfish:\n      enabled: true\n      nodeName: test-node\n"
            f"      configFile: {bmc_file}\n      httpTimeout: {http_timeout}\n      pollInterval: 1s\n"
            f"      staleness: {staleness}\n    attributeToWorkloads: true\n")


def start_bmc(bed, mockup="dmtf/public-rackmount1"):
    bmc = FakeBmc(os.path.join(MOCKUPS_DIR, mockup), workdir=bed.workdir, username="monitor", password="secret")
    bed.on_close(bmc.stop)
    return bmc.start()


def platform_joules(snapshot):
    return snapshot.metrics.value("kepler_platform_joules_total", source="redfish")


def exported_watts(bed, first, last):
    """The platform's power over a window, timed by the daemon's own package energy (driven at
    constant power, read in the same rounds): a clock no scheduling delay of this test skews."""
    package = (last.metrics.value("kepler_node_cpu_joules_total", zone="package")
               - first.metrics.value("kepler_node_cpu_joules_total", zone="package"))
    seconds = package / bed.driver.zone("package").watts
    return (platform_joules(last) - platform_joules(first)) / seconds, seconds


def wait_for(daemon, what, predicate, timeout=FAULT_TIMEOUT_S):
    """Scrapes until `predicate(metrics)` holds; fails with the log's tail otherwise."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        metrics = daemon.scrape()
        if predicate(metrics):
            return metrics
        time.sleep(0.1)
    raise AssertionError(f"{what} within {timeout} s\n" + daemon.log_tail())


def errors(metrics, kind):
    return metrics.value("kepler_platform_errors_total", source="redfish", bmc_id=BMC_ID, kind=kind)


class DrivenPlatformTest(unittest.TestCase):
    """The BMC's power, driven, read back through /metrics."""

    def measure(self, energy_counter, watts):
        with h.TestBed("kepler-it-platform-") as bed:
            bed.start_powercap()
            bmc = start_bmc(bed)
            bmc.drive(watts, energy_counter=energy_counter)
            # Accuracy, not staleness, is measured here: slow answers on a busy machine must not
            # leave a gap that the staleness rule rightly refuses to fill.
            daemon = bed.add_daemon(extra=redfish_settings(bed, bmc, http_timeout="5s", staleness="30s"))
            daemon.start()
            wait_for(daemon, "platform energy exported", lambda m: m.series("kepler_platform_joules_total"))
            first, last = h.watch_window(daemon, WINDOW_S)
            exported, seconds = exported_watts(bed, first, last)
            log(f"platform over {seconds:.2f} s: {exported:.3f} W exported for {watts} W driven "
                f"(energy counter: {energy_counter}); {bmc.connections_accepted} connection(s), "
                f"{len(bmc.requests)} request(s)")
            self.assertTrue(close(exported, watts, TOLERANCE), f"{exported} W for {watts} W")
            self.check_labels_and_provenance(last.metrics, watts, energy_counter)
            self.check_workloads_add_up(last.metrics)
            # One kept connection for every poll, one session.
            self.assertLessEqual(bmc.connections_accepted, 2)
            self.assertEqual(bmc.sessions_created, 1)
            daemon.stop()
            self.assertEqual(bmc.sessions_deleted, 1, "the session is ended at shutdown")

    def check_labels_and_provenance(self, metrics, watts, energy_counter):
        v011 = metrics.series("kepler_platform_watts", source="redfish")
        self.assertEqual(len(v011), 1, v011)
        self.assertEqual({k: v for k, v in v011[0].labels.items() if k != "node_name"},
                         {"source": "redfish", "bmc_id": BMC_ID, "chassis_id": "1U", "source_id": "0",
                          "source_name": "System Input Power", "source_type": "PowerControl"})
        self.assertAlmostEqual(v011[0].value, watts, places=3)
        info = metrics.series("kepler_platform_source_info")[0].labels
        self.assertEqual(info["method"], "counter" if energy_counter else "integrated_power")
        self.assertEqual(info["resource"], "EnvironmentMetrics.EnergyJoules" if energy_counter
                         else "EnvironmentMetrics.PowerWatts")
        self.assertLess(metrics.value("kepler_platform_reading_age_seconds", bmc_id=BMC_ID), 5.0)
        self.assertEqual(metrics.value("kepler_energy_conservation_error_joules", zone="platform"), 0)

    def check_workloads_add_up(self, metrics):
        processes = sum(microjoules(s.value) for s in metrics.series("kepler_process_platform_joules_total"))
        unattributed = microjoules(metrics.value("kepler_node_platform_unattributed_joules_total"))
        active = microjoules(metrics.value("kepler_node_platform_active_joules_total"))
        self.assertGreater(active, 0)
        # Terminated processes past their retention are retired from the series but not from the
        # books; with maxTerminated -1 and a 60 s retention none has been retired yet.
        self.assertEqual(processes + unattributed, active)
        containers = metrics.series("kepler_container_platform_joules_total")
        self.assertTrue(all(s.labels["zone"] == "platform" for s in containers))
        self.assertFalse(metrics.series("kepler_node_cpu_joules_total", zone="platform"),
                         "the platform is not a CPU zone")

    def test_integrated_power_within_one_percent(self):
        self.measure(energy_counter=False, watts=300.0)

    def test_energy_counter_within_one_percent(self):
        self.measure(energy_counter=True, watts=450.0)

    def test_current_schema_only_two_chassis_basic_auth(self):
        """DMTF's public-smartnic, where v0.11 exports nothing: each chassis's EnvironmentMetrics
        is exported, the node's power is the server's (not the card inside it as well)."""
        with h.TestBed("kepler-it-platform-smartnic-") as bed:
            bed.start_powercap()
            bmc = start_bmc(bed, "dmtf/public-smartnic")
            bmc.drive(250.0)
            daemon = bed.add_daemon(extra=redfish_settings(bed, bmc, http_timeout="5s", staleness="30s", auth="basic"))
            daemon.start()
            wait_for(daemon, "platform energy exported", lambda m: m.series("kepler_platform_joules_total"))
            first, last = h.watch_window(daemon, WINDOW_S)
            exported, _ = exported_watts(bed, first, last)
            self.assertTrue(close(exported, 250.0, TOLERANCE), f"{exported} W for 250 W")
            series = last.metrics.series("kepler_platform_watts", source="redfish")
            self.assertEqual(sorted((s.labels["chassis_id"], s.labels["source_type"], s.value) for s in series),
                             [("1U", "EnvironmentMetrics", 250.0), ("Card1", "EnvironmentMetrics", 250.0)])
            self.assertEqual(bmc.sessions_created, 0)
            self.assertTrue(all(r.had_basic for r in bmc.requests if r.path.rstrip("/") != "/redfish/v1"))


class BmcFaultTest(unittest.TestCase):
    """Every fault is logged once, counted by kind, and passes without a daemon restart."""

    def test_faults_are_logged_once_counted_and_recovered_from(self):
        with h.TestBed("kepler-it-platform-faults-") as bed:
            bed.start_powercap()
            bmc = start_bmc(bed)
            bmc.drive(200.0)
            bmc.down()
            daemon = bed.add_daemon(extra=redfish_settings(bed, bmc))
            daemon.start()  # serves CPU metrics although the BMC is down
            wait_for(daemon, "the unreachable BMC counted", lambda m: errors(m, "unreachable") >= 2)
            bmc.up()
            wait_for(daemon, "the platform power after the BMC came up",
                     lambda m: m.series("kepler_platform_watts", source="redfish"))
            self.assertEqual(daemon.log_text().count(f"BMC {BMC_ID}: unreachable:"), 1)
            self.assertIn(f"BMC {BMC_ID} answers again after", daemon.log_text())

            self.episode(daemon, "auth", lambda: bmc.reject_credentials(True), lambda: bmc.reject_credentials(False))
            self.episode(daemon, "rate_limited", lambda: bmc.rate_limit(status=429, retry_after=2, count=2))
            self.episode(daemon, "timeout", lambda: bmc.stall(10, count=1))
            self.episode(daemon, "bad_response", lambda: bmc.garbage(count=1))

            # An expired session and a restarted BMC cost a new session, not an error.
            before = daemon.scrape()
            sessions = bmc.sessions_created
            bmc.expire_sessions()
            wait_for(daemon, "a new session after expiry", lambda m: bmc.sessions_created > sessions)
            # A restart between a login and its first request would refuse that request twice
            # in a row (counted as auth): let a poll complete on the new session first.
            polls = len(bmc.requests)
            wait_for(daemon, "a poll on the new session", lambda m: len(bmc.requests) >= polls + 2
                     and m.value("kepler_platform_reading_age_seconds", bmc_id=BMC_ID) < 1.0)
            bmc.restart()
            wait_for(daemon, "a new session after a BMC restart", lambda m: bmc.sessions_created > sessions + 1)
            after = wait_for(daemon, "fresh readings", lambda m: m.value(
                "kepler_platform_reading_age_seconds", bmc_id=BMC_ID) < 1.5)
            for kind in ("auth", "unreachable", "bad_response"):
                self.assertEqual(errors(after, kind), errors(before, kind), kind)

            # A stop while the BMC stalls a request is clean: exit 0, which the daemon's 4 s
            # shutdown watchdog would turn into 1 if the stalled request held the stop up.
            bmc.stall(30, count=1000)
            time.sleep(2.5)
            _, took = daemon.stop()
            log(f"stopped in {took:.2f} s with a BMC request stalled")

    def episode(self, daemon, kind, start, end=None):
        """Starts a fault, waits until it is counted, ends it, waits for fresh readings; the
        /metrics snapshots keep coming throughout, and the log has one line about it."""
        before = errors(daemon.scrape(), kind)
        watcher = h.SnapshotWatcher(daemon)
        start()
        wait_for(daemon, f"{kind} counted", lambda m: errors(m, kind) > before)
        watcher.next_snapshot(timeout=3)  # the engine keeps its pace while the BMC misbehaves
        watcher.next_snapshot(timeout=3)
        if end:
            end()
        wait_for(daemon, f"fresh readings after {kind}",
                 lambda m: m.value("kepler_platform_reading_age_seconds", bmc_id=BMC_ID) < 1.5
                 and m.series("kepler_platform_watts", source="redfish"))
        lines = daemon.log_text().count(f"BMC {BMC_ID}: {kind}:")
        log(f"{kind}: {errors(daemon.scrape(), kind) - before} failed poll(s), {lines} log line(s)")
        self.assertEqual(lines, 1, daemon.log_tail())


if __name__ == "__main__":
    unittest.main()
