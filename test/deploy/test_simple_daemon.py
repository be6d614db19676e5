"""The simple profile's ConfigMap runs the real daemon (host paths moved to test directories):
the deployment guide's three key metrics are on /metrics, and its log checks hold — it mentions
fake-cpu-meter and has no error lines.

A container for kepler_container_cpu_joules_total needs a cgroup of its own, which needs root;
without root that one check is skipped. Run alone:
KEPLER_BINARY=… KEPLER_TEST_TOOLS=… python3 -m unittest -v test_simple_daemon
"""

import os
import re
import sys
import time
import unittest
import uuid

import profile_daemon
from profile_daemon import h

import cgroups  # from test/integration, on the path profile_daemon set

CONTAINER_TIMEOUT_S = 30.0     # the profile's 5 s interval: energy from the second interval on
BURNER = "import time\nwhile True:\n    time.sleep(0.001) if int(time.time() * 10) % 2 else None\n"


def make_container(builder):
    """A kubepods container cgroup (v2, else v1) with an id of 64 hex digits; None if the host
    has no hierarchy to make it in."""
    pod_uid, container_id = str(uuid.uuid4()), uuid.uuid4().hex + uuid.uuid4().hex
    try:
        cgroup = builder.create_v2(cgroups.kubepods_v2_path("burstable", pod_uid, container_id))
    except cgroups.CgroupUnavailable:
        try:
            cgroup = builder.create_v1(cgroups.kubepods_v1_path("burstable", pod_uid, container_id))
        except cgroups.CgroupUnavailable:
            return None
    return container_id, cgroup


class SimpleProfileDaemonTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.bed = h.TestBed("kepler-deploy-simple-")
        with cls.bed.closed_on_failure():
            cls.container_id = None
            if os.geteuid() == 0:
                builder = cgroups.CgroupBuilder()
                cls.bed.on_close(builder.remove_all)
                made = make_container(builder)
                if made:
                    cls.container_id, cgroup = made
                    cls.bed.add_workload(h.Workload(cls.bed.workdir, "kepler-ctr", sys.executable,
                                                    ["-c", BURNER], preexec_fn=cgroup.join))
            cls.daemon = profile_daemon.start_profile_daemon(cls.bed, "simple")

    @classmethod
    def tearDownClass(cls):
        cls.bed.stop_daemon_and_close()

    def test_node_cpu_joules_total_has_every_fake_zone(self):
        metrics = self.daemon.scrape()
        zones = {s.labels["zone"] for s in metrics.series("kepler_node_cpu_joules_total")}
        self.assertLessEqual({"package", "dram"}, zones)

    def test_container_dram_joules_total_is_exported(self):
        metrics = self.daemon.scrape()
        series = metrics.series("kepler_container_dram_joules_total")
        self.assertTrue(series, "no kepler_container_dram_joules_total sample")
        self.assertIn("system_processes", {s.labels["container_id"] for s in series})
        self.assertEqual(metrics.types["kepler_container_dram_joules_total"], "counter")

    def test_container_cpu_joules_total_for_a_container(self):
        self.assertEqual(self.daemon.scrape().types.get("kepler_container_cpu_joules_total"), "counter")
        if not self.container_id:
            self.skipTest("needs root and a cgroup hierarchy to make a container in")
        deadline = time.monotonic() + CONTAINER_TIMEOUT_S
        joules = 0.0
        while time.monotonic() < deadline and joules <= 0:
            series = self.daemon.scrape().series("kepler_container_cpu_joules_total",
                                                 container_id=self.container_id, zone="package")
            joules = series[0].value if series else 0.0
            time.sleep(0.5)
        self.assertGreater(joules, 0, f"container {self.container_id} got no energy\n" + self.daemon.log_tail())

    def test_log_says_fake_cpu_meter_and_has_no_errors(self):
        log_text = self.daemon.log_text()
        self.assertIn("fake-cpu-meter", log_text)           # kubectl logs … | grep fake-cpu-meter
        # kubectl logs … | grep -i error: nothing logged at error level (a warning may quote a
        # kernel's or library's message, e.g. why eBPF fell back to /proc).
        errors = [line for line in log_text.splitlines() if re.search(r"\blevel=(error|critical)\b", line)]
        self.assertEqual(errors, [])

    def test_health_endpoints_the_probes_use(self):
        for path in ("/healthz", "/readyz"):
            status, _ = self.daemon.get(path)
            self.assertEqual(status, 200, path)


if __name__ == "__main__":
    unittest.main()
