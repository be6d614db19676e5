"""A real Prometheus scrapes the real daemon; PromQL rates must match the driven power.

Run alone: KEPLER_BINARY=/path/to/kepler python3 -m unittest -v test_prometheus
"""

import time
import unittest

import kepler_harness as h
from exposition import close
from plumbing import log
from prometheus_server import Prometheus

# rate() divides the counter change between the window's first and last samples by their scrape
# times, but each scraped value is the daemon's latest snapshot, up to one daemon interval old.
# The rate is thus off by up to (interval + driver period) / window: 100 ms and 20 ms over a
# ~9 s window keep that below 1.4 %, inside the 2 % asked for, whatever the phase of the two clocks.
DAEMON_INTERVAL = "100ms"
DRIVER_PERIOD_S = 0.02
SCRAPING_S = 13.0             # after the first scrape: enough for one 10 s window and its offset
RATE_WINDOW = "10s"
RATE_TOLERANCE = 0.02
# rate() cannot see the energy of a process's first scrape, nor what it used between its last
# `running` sample and the `terminated` series that replaces it: host process churn (a parallel
# build, say) shows up as a shortfall of the summed rates.
PROCESS_SUM_TOLERANCE = 0.05
# Busy CPU time that no process owns (interrupts, steal on VMs) is unattributed by design, so
# processes alone fall further short of the node's active energy.
PROCESS_ONLY_TOLERANCE = 0.10


def by_zone(result):
    return {labels["zone"]: value for labels, value in result}


class PrometheusScrapeTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.bed = h.TestBed("kepler-it-prom-")
        with cls.bed.closed_on_failure():
            cls.driver = cls.bed.start_powercap(period_s=DRIVER_PERIOD_S)
            cls.bed.add_workload(h.cpu_burner(cls.bed.workdir))
            cls.daemon = cls.bed.add_daemon(interval=DAEMON_INTERVAL)
            cls.prometheus = Prometheus(cls.bed.workdir, f"127.0.0.1:{cls.daemon.port}")
            cls.bed.on_close(cls.prometheus.stop)
            cls.daemon.start()
            cls.prometheus.start()
            cls.prometheus.wait_for_first_scrape()
            log(f"prometheus on port {cls.prometheus.port} scraping for {SCRAPING_S:.0f} s")
            time.sleep(SCRAPING_S)

    @classmethod
    def tearDownClass(cls):
        cls.bed.stop_daemon_and_close()

    def query_by_zone(self, promql, at=None):
        result = by_zone(self.prometheus.query(promql, at))
        self.assertEqual(set(result), set(self.driver.watts()), f"zones of {promql}")
        return result

    def test_target_is_up(self):
        result = self.prometheus.query('up{job="kepler"}')
        self.assertEqual([value for _, value in result], [1.0], self.prometheus.log_tail())

    def test_energy_rate_matches_driven_power(self):
        rates = self.query_by_zone(f"rate(kepler_node_cpu_joules_total[{RATE_WINDOW}])")
        for zone, driven in self.driver.watts().items():
            with self.subTest(zone=zone):
                log(f"{zone}: rate {rates[zone]:.3f} W, driven {driven} W")
                self.assertTrue(close(rates[zone], driven, RATE_TOLERANCE),
                                f"{zone}: rate {rates[zone]} W vs driven {driven} W (powercap driver's "
                                f"longest stall {self.driver.longest_stall_s() * 1000:.0f} ms)")

    def test_process_energy_rate_adds_up_to_node_active_rate(self):
        processes = self.query_by_zone(
            f"sum by (zone) (rate(kepler_process_cpu_joules_total[{RATE_WINDOW}]))")
        unattributed = self.query_by_zone(
            f"rate(kepler_node_cpu_unattributed_joules_total[{RATE_WINDOW}])")
        active = self.query_by_zone(f"rate(kepler_node_cpu_active_joules_total[{RATE_WINDOW}])")
        for zone in self.driver.watts():
            with self.subTest(zone=zone):
                log(f"{zone}: Σ process rate {processes[zone]:.3f} W + unattributed "
                    f"{unattributed[zone]:.3f} W, node active {active[zone]:.3f} W")
                self.assertGreater(active[zone], 0)
                self.assertTrue(close(processes[zone], active[zone], PROCESS_ONLY_TOLERANCE),
                                f"{zone}: Σ process {processes[zone]} W vs active {active[zone]} W")
                self.assertTrue(close(processes[zone] + unattributed[zone], active[zone],
                                      PROCESS_SUM_TOLERANCE),
                                f"{zone}: Σ process {processes[zone]} W + unattributed "
                                f"{unattributed[zone]} W vs active {active[zone]} W")

    def test_energy_stored_in_prometheus_adds_up_exactly(self):
        # Differences of sums, unlike sums of rates, see every process, including those that
        # started or ended in the window: Prometheus must hold the daemon's exact accounting.
        accounted = ("sum by (zone) (kepler_process_cpu_joules_total{OFFSET}) + on(zone) "
                     "kepler_node_cpu_unattributed_joules_total{OFFSET}")
        active = "kepler_node_cpu_active_joules_total{OFFSET}"
        at = time.time()
        accounted_gain = self.gain_by_zone(accounted, at)
        active_gain = self.gain_by_zone(active, at)
        for zone in self.driver.watts():
            with self.subTest(zone=zone):
                self.assertGreater(active_gain[zone], 0)
                self.assertTrue(close(accounted_gain[zone], active_gain[zone], 1e-9, 1e-6),
                                f"{zone}: Σ process + unattributed gained {accounted_gain[zone]} J, "
                                f"node active {active_gain[zone]} J")

    def gain_by_zone(self, template, at):
        now = self.query_by_zone(template.replace("{OFFSET}", ""), at)
        before = self.query_by_zone(template.replace("{OFFSET}", f" offset {RATE_WINDOW}"), at)
        return {zone: now[zone] - before[zone] for zone in now}


if __name__ == "__main__":
    unittest.main(verbosity=2)
