"""The two example profiles, rendered by the real helm: what the deployment guide promises of
each (deploy/kepler-simple.yaml for kind/minikube, deploy/kepler-production.yaml for bare metal),
checked on the objects and on the daemon config in the ConfigMap.

Run alone: KEPLER_TEST_TOOLS=/var/cache/kepler-test-tools python3 -m unittest -v test_profiles
"""

import base64
import unittest

import deploy_tools as d

# What eBPF mode needs as root (README "CPU time: eBPF or /proc"): load and attach, and read
# other users' /proc/<pid>/exe and environ.
PRODUCTION_CAPABILITIES = {"BPF", "PERFMON", "SYS_PTRACE"}


def probe_of(container, kind):
    return container.get(f"{kind}Probe")


class SimpleProfileTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.objects, cls.problems = d.rendered("simple")
        cls.config = d.daemon_config(cls.objects)
        cls.container = d.daemon_container(cls.objects)

    def test_renders_valid_objects(self):
        self.assertEqual(self.problems, [])

    def test_kubernetes_integration_is_off(self):
        self.assertFalse(self.config["kube"]["enabled"])
        self.assertNotIn("--kube.enable", self.container["args"])
        self.assertIn("--kube.node-name=$(NODE_NAME)", self.container["args"])   # node_name label only

    def test_fake_meter_is_on_and_the_configmap_says_so(self):
        self.assertTrue(self.config["dev"]["fake-cpu-meter"]["enabled"])
        configmap_text = d.find(self.objects, "ConfigMap", "kepler")["data"]["config.yaml"]
        self.assertIn("fake-cpu-meter", configmap_text)   # the guide greps the ConfigMap for it

    def test_legacy_metric_names_are_on(self):
        self.assertTrue(self.config["exporter"]["prometheus"]["legacyMetrics"])

    def test_minimal_security_privileged_without_tls(self):
        self.assertTrue(self.container["securityContext"]["privileged"])
        self.assertNotIn("web-config", {v["name"] for v in self.container["volumeMounts"]})
        self.assertEqual(self.config["web"]["configFile"], "")
        self.assertEqual(probe_of(self.container, "liveness")["httpGet"]["scheme"], "HTTP")

    def test_conservative_resources(self):
        resources = self.container["resources"]
        self.assertEqual(resources["requests"], {"cpu": "50m", "memory": "64Mi"})
        self.assertEqual(resources["limits"], {"cpu": "250m", "memory": "256Mi"})

    def test_no_prometheus_operator_objects(self):
        for kind in ("ServiceMonitor", "PrometheusRule", "PodDisruptionBudget", "NetworkPolicy", "Secret"):
            self.assertEqual(d.find_all(self.objects, kind), [], kind)

    def test_probes_use_the_daemons_health_endpoints(self):
        self.assertEqual(probe_of(self.container, "liveness")["httpGet"]["path"], "/healthz")
        self.assertEqual(probe_of(self.container, "readiness")["httpGet"]["path"], "/readyz")


class ProductionProfileTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.objects, cls.problems = d.rendered("production")
        cls.config = d.daemon_config(cls.objects)
        cls.container = d.daemon_container(cls.objects)
        cls.daemonset = d.find(cls.objects, "DaemonSet", "kepler")
        cls.pod_labels = cls.daemonset["spec"]["template"]["metadata"]["labels"]

    def test_renders_valid_objects(self):
        self.assertEqual(self.problems, [])

    def test_kubernetes_integration_in_kubelet_mode(self):
        # Switched on by flag: the daemon validates the file before flags apply, and the node
        # name (required with kube on) only comes by flag, from the downward API.
        args = self.container["args"]
        self.assertIn("--kube.enable", args)
        self.assertIn("--kube.node-name=$(NODE_NAME)", args)
        kube = self.config["kube"]
        self.assertFalse(kube["enabled"])
        self.assertEqual(kube["nodeName"], "")
        self.assertEqual(kube["podInformer"]["mode"], "kubelet")
        self.assertEqual(kube["kubelet"]["tokenFile"], "/var/run/secrets/kubernetes.io/serviceaccount/token")

    def test_rapl_zones_and_no_fake_meter(self):
        self.assertEqual(self.config["rapl"]["zones"], ["package", "core", "uncore", "dram"])
        self.assertEqual(self.config["cpu"]["preferredMeters"], ["rapl", "hwmon"])  # measured only
        self.assertFalse(self.config["dev"]["fake-cpu-meter"]["enabled"])

    def test_ebpf_with_only_its_capabilities_and_no_privilege(self):
        self.assertIn(self.config["bpf"]["enabled"], ("auto", "true", True))
        security = self.container["securityContext"]
        self.assertFalse(security.get("privileged", False))
        self.assertEqual(security["capabilities"]["drop"], ["ALL"])
        self.assertEqual(set(security["capabilities"]["add"]), PRODUCTION_CAPABILITIES)
        self.assertFalse(security["allowPrivilegeEscalation"])
        self.assertTrue(self.daemonset["spec"]["template"]["spec"]["hostPID"])

    def test_read_only_root_filesystem(self):
        self.assertTrue(self.container["securityContext"]["readOnlyRootFilesystem"])
        for mount in self.container["volumeMounts"]:
            self.assertTrue(mount.get("readOnly"), mount["mountPath"])

    def test_runtime_default_seccomp(self):
        pod_security = self.daemonset["spec"]["template"]["spec"]["securityContext"]
        self.assertEqual(pod_security["seccompProfile"]["type"], "RuntimeDefault")

    def test_guide_resources(self):
        self.assertEqual(self.container["resources"], {"requests": {"cpu": "200m", "memory": "256Mi"},
                                                       "limits": {"cpu": "1000m", "memory": "1Gi"}})

    def test_startup_liveness_and_readiness_probes_over_https(self):
        expected = {"startup": "/readyz", "liveness": "/healthz", "readiness": "/readyz"}
        for kind, path in expected.items():
            with self.subTest(probe=kind):
                http_get = probe_of(self.container, kind)["httpGet"]
                self.assertEqual(http_get["path"], path)
                self.assertEqual(http_get["port"], "http-metrics")
                self.assertEqual(http_get["scheme"], "HTTPS")

    def test_service_monitor_scrapes_http_metrics_every_30s_over_tls(self):
        monitor = d.find(self.objects, "ServiceMonitor", "kepler")
        self.assertEqual(monitor["metadata"]["namespace"], d.NAMESPACE)
        endpoint = monitor["spec"]["endpoints"][0]
        self.assertEqual(endpoint["port"], "http-metrics")
        self.assertEqual(endpoint["interval"], "30s")
        self.assertEqual(endpoint["path"], "/metrics")
        self.assertEqual(endpoint["scheme"], "https")
        tls_secret = endpoint["tlsConfig"]["ca"]["secret"]
        self.assertEqual((tls_secret["name"], tls_secret["key"]), ("kepler-tls", "ca.crt"))
        self.assertEqual(endpoint["tlsConfig"]["serverName"], f"kepler.{d.NAMESPACE}.svc")
        service = d.find(self.objects, "Service", "kepler")
        self.assertTrue(d.selects(monitor["spec"]["selector"]["matchLabels"], service["metadata"]["labels"]))
        self.assertIn(d.NAME_LABEL[0], monitor["spec"]["selector"]["matchLabels"])
        self.assertEqual(monitor["spec"]["namespaceSelector"]["matchNames"], [d.NAMESPACE])

    def test_tls_web_config_comes_from_a_secret_and_reaches_the_daemon(self):
        web_config_path = self.config["web"]["configFile"]
        mounts = {m["mountPath"]: m["name"] for m in self.container["volumeMounts"]}
        volumes = {v["name"]: v for v in self.daemonset["spec"]["template"]["spec"]["volumes"]}
        directory, file_name = web_config_path.rsplit("/", 1)
        secret_name = volumes[mounts[directory]]["secret"]["secretName"]
        secret = d.find(self.objects, "Secret", secret_name)
        web_config = d.parse_yaml(secret["stringData"][file_name])
        tls = web_config["tls_server_config"]
        tls_directory = tls["cert_file"].rsplit("/", 1)[0]
        self.assertEqual(tls["key_file"].rsplit("/", 1)[0], tls_directory)
        tls_secret = d.find(self.objects, "Secret", volumes[mounts[tls_directory]]["secret"]["secretName"])
        self.assertEqual(tls_secret["type"], "kubernetes.io/tls")
        self.assertEqual(set(tls_secret["data"]), {"tls.crt", "tls.key", "ca.crt"})
        certificate = base64.b64decode(tls_secret["data"]["tls.crt"]).decode()
        self.assertTrue(certificate.startswith("-----BEGIN CERTIFICATE-----"))

    def test_existing_tls_secret_is_used_instead_of_a_generated_one(self):
        objects, problems = d.rendered("production", sets=("webConfig.tls.existingSecret=kepler-cert",))
        self.assertEqual(problems, [])
        self.assertEqual([s["metadata"]["name"] for s in d.find_all(objects, "Secret")], ["kepler-web-config"])
        volumes = d.find(objects, "DaemonSet")["spec"]["template"]["spec"]["volumes"]
        self.assertIn("kepler-cert", {v.get("secret", {}).get("secretName") for v in volumes})

    def test_existing_web_config_secret_replaces_the_rendered_one(self):
        objects, problems = d.rendered("production", sets=("webConfig.existingSecret=my-web-config",))
        self.assertEqual(problems, [])
        self.assertNotIn("kepler-web-config", {s["metadata"]["name"] for s in d.find_all(objects, "Secret")})
        pod = d.find(objects, "DaemonSet")["spec"]["template"]
        self.assertIn("my-web-config", {v.get("secret", {}).get("secretName") for v in pod["spec"]["volumes"]})
        self.assertNotIn("checksum/web-config", pod["metadata"]["annotations"])

    def test_pod_disruption_budget_covers_the_pods(self):
        budget = d.find(self.objects, "PodDisruptionBudget", "kepler")
        # DaemonSet pods: Kubernetes computes only an integer minAvailable for them.
        self.assertEqual(budget["spec"]["minAvailable"], 1)
        self.assertNotIn("maxUnavailable", budget["spec"])
        self.assertTrue(d.selects(budget["spec"]["selector"]["matchLabels"], self.pod_labels))

    def test_network_policy_opens_only_the_metrics_port_to_monitoring(self):
        policy = d.find(self.objects, "NetworkPolicy", "kepler")
        self.assertTrue(d.selects(policy["spec"]["podSelector"]["matchLabels"], self.pod_labels))
        self.assertEqual(policy["spec"]["policyTypes"], ["Ingress"])
        [rule] = policy["spec"]["ingress"]
        self.assertEqual(rule["ports"], [{"port": "http-metrics", "protocol": "TCP"}])
        self.assertEqual(rule["from"][0]["namespaceSelector"]["matchLabels"],
                         {"kubernetes.io/metadata.name": "monitoring"})

    def test_alert_rules_and_dashboard_ship_as_objects(self):
        rule = d.find(self.objects, "PrometheusRule", "kepler")
        file_rules = d.parse_yaml(d.read_text(d.RULES))
        self.assertEqual(rule["spec"], file_rules)
        dashboard = d.find(self.objects, "ConfigMap", "kepler-dashboard")
        self.assertEqual(dashboard["metadata"]["labels"]["grafana_dashboard"], "1")
        self.assertEqual(dashboard["data"]["kepler-dashboard.json"].strip(), d.read_text(d.DASHBOARD).strip())


if __name__ == "__main__":
    unittest.main()
