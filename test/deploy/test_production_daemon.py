"""The production profile as the pod runs it (see profile_daemon.ProductionDaemon): TLS as a
Prometheus with the ServiceMonitor's tlsConfig sees it (the chart's ca.crt and the Service's DNS
name verify), no plain HTTP, the probes' endpoints, the RAPL zone allow-list, and the node name
from the downward API.

Run alone: KEPLER_BINARY=… KEPLER_TEST_TOOLS=… python3 -m unittest -v test_production_daemon
"""

import http.client
import ssl
import unittest

import profile_daemon
from profile_daemon import h

from exposition import parse_exposition


class ProductionProfileDaemonTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.bed = h.TestBed("kepler-deploy-production-")
        with cls.bed.closed_on_failure():
            cls.daemon = profile_daemon.ProductionDaemon(cls.bed).start()

    @classmethod
    def tearDownClass(cls):
        try:
            cls.daemon.stop()
        finally:
            cls.bed.close()

    def metrics(self):
        status, text = self.daemon.get("/metrics")
        self.assertEqual(status, 200)
        return parse_exposition(text)

    def test_probe_endpoints_answer_over_https(self):
        for kind in ("startup", "liveness", "readiness"):
            http_get = self.daemon.container[f"{kind}Probe"]["httpGet"]
            self.assertEqual(http_get["scheme"], "HTTPS")
            self.assertEqual(self.daemon.get(http_get["path"])[0], 200, kind)

    def test_scrapers_without_the_ca_are_refused(self):
        with self.assertRaises(ssl.SSLCertVerificationError):
            self.daemon.get("/metrics", context=ssl.create_default_context())

    def test_the_certificate_is_for_the_service_name_only(self):
        with self.assertRaises(ssl.SSLCertVerificationError):
            self.daemon.get("/healthz", server_name="kepler.other-namespace.svc")

    def test_no_plain_http(self):
        connection = http.client.HTTPConnection("127.0.0.1", self.daemon.port, timeout=5)
        try:
            connection.request("GET", "/metrics")
            status = connection.getresponse().status
        except (OSError, http.client.HTTPException):
            status = None
        finally:
            connection.close()
        self.assertNotEqual(status, 200)

    def test_rapl_zones_are_the_profiles_allow_list(self):
        zones = {s.labels["zone"] for s in self.metrics().series("kepler_node_cpu_joules_total")}
        self.assertEqual(zones, {"package", "core", "dram"})   # the host also has psys

    def test_node_name_comes_from_the_downward_api_argument(self):
        names = {s.labels["node_name"] for s in self.metrics().series("kepler_node_cpu_watts")}
        self.assertEqual(names, {profile_daemon.NODE_NAME})

    def test_log_says_tls_is_on(self):
        self.assertIn("TLS is enabled", self.daemon.log_text())


if __name__ == "__main__":
    unittest.main()
