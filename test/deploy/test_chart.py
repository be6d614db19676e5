"""The Helm chart (deploy/helm/kepler) with the real helm 3.17: lint, rendering of the defaults
and both profiles validated against the Kubernetes schemas, the names the deployment guide uses,
namespace handling, values the schema must refuse, and the config checksum that rolls the pods.

Needs the tools of setup_tools.sh (CTest runs it first). Run alone:
KEPLER_TEST_TOOLS=/var/cache/kepler-test-tools python3 -m unittest -v test_chart
"""

import unittest

import deploy_tools as d

NAMESPACED_KINDS = {"ConfigMap", "DaemonSet", "Service", "ServiceAccount", "Secret", "ServiceMonitor",
                    "PrometheusRule", "PodDisruptionBudget", "NetworkPolicy"}


class ChartLintTest(unittest.TestCase):
    def test_lint_passes_for_the_defaults_and_both_profiles(self):
        for profile in d.PROFILES:
            with self.subTest(profile=profile):
                output = d.helm_lint(profile)
                self.assertIn("0 chart(s) failed", output)
                self.assertNotIn("[ERROR]", output)
                self.assertNotIn("[WARNING]", output)

    def test_every_rendered_object_is_valid_against_its_kubernetes_schema(self):
        for profile in d.PROFILES:
            with self.subTest(profile=profile):
                objects, problems = d.rendered(profile)
                self.assertGreaterEqual(len(objects), 6)
                self.assertEqual(problems, [])

    def test_chart_app_version_is_the_daemons_version_and_the_default_image_tag(self):
        chart = d.parse_yaml(d.read_text(f"{d.CHART}/Chart.yaml"))
        self.assertEqual(chart["name"], "kepler")
        self.assertEqual(str(chart["appVersion"]), d.cmake_project_version())
        objects, _ = d.rendered()
        image = d.daemon_container(objects)["image"]
        self.assertTrue(image.endswith(f":{d.cmake_project_version()}"), image)


class GuideNamesTest(unittest.TestCase):
    """`helm install kepler … --namespace kepler-system --create-namespace` as the guide runs it."""

    def test_objects_are_named_after_the_release(self):
        for profile in d.PROFILES:
            with self.subTest(profile=profile):
                objects, _ = d.rendered(profile)
                for kind in ("DaemonSet", "Service", "ConfigMap", "ServiceAccount", "ClusterRole",
                             "ClusterRoleBinding"):
                    d.find(objects, kind, "kepler")

    def test_every_namespaced_object_goes_to_the_release_namespace_and_no_namespace_is_rendered(self):
        for namespace in (d.NAMESPACE, "energy"):
            with self.subTest(namespace=namespace):
                objects, _ = d.rendered("production", namespace=namespace)
                self.assertEqual(d.find_all(objects, "Namespace"), [],
                                 "--create-namespace creates it; a rendered one would clash")
                for o in objects:
                    if o["kind"] in NAMESPACED_KINDS:
                        self.assertEqual(o["metadata"].get("namespace"), namespace, o["metadata"]["name"])
                binding = d.find(objects, "ClusterRoleBinding", "kepler")
                self.assertEqual(binding["subjects"][0]["namespace"], namespace)

    def test_create_namespace_flag_renders_the_same_objects(self):
        plain = d.helm_template_text("simple")
        created = d.helm_template_text("simple", extra=("--create-namespace",))
        self.assertEqual(plain, created)

    def test_namespace_create_renders_the_namespace_and_moves_everything_into_it(self):
        objects, problems = d.rendered(sets=("namespace.create=true", "namespace.name=kepler-ns"))
        self.assertEqual(problems, [])
        self.assertEqual(d.find(objects, "Namespace")["metadata"]["name"], "kepler-ns")
        self.assertEqual(d.find(objects, "DaemonSet", "kepler")["metadata"]["namespace"], "kepler-ns")

    def test_pods_and_every_object_carry_the_guides_label(self):
        key, value = d.NAME_LABEL
        for profile in d.PROFILES:
            with self.subTest(profile=profile):
                objects, _ = d.rendered(profile)
                for o in objects:
                    self.assertEqual(o["metadata"]["labels"].get(key), value, o["kind"])
                pod_labels = d.find(objects, "DaemonSet", "kepler")["spec"]["template"]["metadata"]["labels"]
                self.assertEqual(pod_labels[key], value)

    def test_service_kepler_exposes_28282_as_http_metrics_on_the_pods_port(self):
        for profile in d.PROFILES:
            with self.subTest(profile=profile):
                objects, _ = d.rendered(profile)
                service = d.find(objects, "Service", "kepler")
                port = service["spec"]["ports"][0]
                self.assertEqual(port["port"], 28282)
                self.assertEqual(port["name"], "http-metrics")
                self.assertEqual(port["protocol"], "TCP")
                container = d.daemon_container(objects)
                named = {p["name"]: p["containerPort"] for p in container["ports"]}
                self.assertEqual(named.get(port["targetPort"]), 28282)
                self.assertIn(d.NAME_LABEL[0], service["metadata"]["labels"])
                pod_labels = d.find(objects, "DaemonSet", "kepler")["spec"]["template"]["metadata"]["labels"]
                self.assertTrue(d.selects(service["spec"]["selector"], pod_labels))

    def test_the_container_port_follows_the_listen_address(self):
        objects, _ = d.rendered(sets=("config.web.listenAddresses[0]=:9102",))
        container = d.daemon_container(objects)
        self.assertEqual(container["ports"][0]["containerPort"], 9102)
        self.assertEqual(d.daemon_config(objects)["web"]["listenAddresses"], [":9102"])

    def test_daemonset_selector_selects_its_own_pods(self):
        objects, _ = d.rendered()
        daemonset = d.find(objects, "DaemonSet", "kepler")
        self.assertTrue(d.selects(daemonset["spec"]["selector"]["matchLabels"],
                                  daemonset["spec"]["template"]["metadata"]["labels"]))

    def test_config_file_node_name_and_host_paths_reach_the_daemon(self):
        for profile in d.PROFILES:
            with self.subTest(profile=profile):
                objects, _ = d.rendered(profile)
                container = d.daemon_container(objects)
                self.assertEqual(container["command"], ["/usr/bin/kepler"])
                self.assertIn("--config.file=/etc/kepler/config.yaml", container["args"])
                self.assertIn("--kube.node-name=$(NODE_NAME)", container["args"])
                env = {e["name"]: e["valueFrom"]["fieldRef"]["fieldPath"] for e in container["env"]
                       if "valueFrom" in e}
                self.assertEqual(env["NODE_NAME"], "spec.nodeName")
                self.assertEqual(env["NODE_IP"], "status.hostIP")
                mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
                config_mount = mounts["/etc/kepler/config.yaml"]
                self.assertEqual(config_mount["subPath"], "config.yaml")
                volumes = {v["name"]: v for v in d.find(objects, "DaemonSet")["spec"]["template"]["spec"]["volumes"]}
                self.assertEqual(volumes[config_mount["name"]]["configMap"]["name"], "kepler")
                config = d.daemon_config(objects)
                for key, host_path in (("sysfs", "/sys"), ("procfs", "/proc")):
                    mount = mounts[config["host"][key]]
                    self.assertTrue(mount["readOnly"])
                    self.assertEqual(volumes[mount["name"]]["hostPath"]["path"], host_path)

    def test_rbac_lets_the_service_account_read_pods_and_its_node(self):
        objects, _ = d.rendered("production")
        role = d.find(objects, "ClusterRole", "kepler")
        granted = {(resource, verb) for rule in role["rules"] for resource in rule["resources"]
                   for verb in rule["verbs"] if rule["apiGroups"] == [""]}
        self.assertEqual(granted, {("pods", "get"), ("pods", "list"), ("pods", "watch"),
                                   ("nodes", "get"), ("nodes/proxy", "get")})
        binding = d.find(objects, "ClusterRoleBinding", "kepler")
        self.assertEqual(binding["roleRef"]["name"], "kepler")
        account = d.find(objects, "ServiceAccount")["metadata"]["name"]
        self.assertEqual(binding["subjects"][0]["name"], account)
        pod = d.find(objects, "DaemonSet")["spec"]["template"]["spec"]
        self.assertEqual(pod["serviceAccountName"], account)
        self.assertTrue(pod["hostPID"])


class ValuesSchemaTest(unittest.TestCase):
    """Bad values stop `helm install` with a message that names the value."""

    def assert_refused(self, assignment, named):
        with self.assertRaises(d.ToolFailed) as failure:
            d.helm_template_text(sets=(assignment,))
        self.assertIn(named, failure.exception.output)
        self.assertIn("schema", failure.exception.output)

    def test_unknown_top_level_key(self):
        self.assert_refused("daemonSet.hostPID=false", "daemonSet")

    def test_unknown_log_level(self):
        self.assert_refused("config.log.level=verbose", "config.log.level")

    def test_duration_without_unit(self):
        self.assert_refused("config.monitor.interval=5", "config.monitor.interval")

    def test_port_out_of_range(self):
        self.assert_refused("service.port=70000", "service.port")

    def test_listen_address_without_port(self):
        self.assert_refused("config.web.listenAddresses[0]=localhost", "config.web.listenAddresses")

    def test_unknown_meter(self):
        self.assert_refused("config.cpu.preferredMeters[0]=nvml", "config.cpu.preferredMeters")

    def test_negative_estimate_watts(self):
        self.assert_refused("config.estimate.tdpWatts=-1", "config.estimate.tdpWatts")

    def test_metrics_level_typo(self):
        self.assert_refused("config.exporter.prometheus.metricsLevel=nodes",
                            "config.exporter.prometheus.metricsLevel")

    def test_resource_quantity_that_is_not_one(self):
        self.assert_refused("daemonset.resources.limits.memory=lots", "daemonset.resources.limits.memory")

    def test_scrape_interval_that_is_not_a_duration(self):
        self.assert_refused("serviceMonitor.interval=30", "serviceMonitor.interval")

    def test_disruption_budget_kubernetes_cannot_apply_to_daemonset_pods(self):
        self.assert_refused("podDisruptionBudget.maxUnavailable=1", "maxUnavailable")

    def test_probe_with_unknown_field(self):
        self.assert_refused("daemonset.livenessProbe.periodSecond=10", "periodSecond")


class ConfigChecksumTest(unittest.TestCase):
    """A config change rolls the pods: the pod template's checksum annotation follows it."""

    @staticmethod
    def annotations(sets=(), profile=None):
        objects, _ = d.rendered(profile, sets=sets)
        return d.find(objects, "DaemonSet")["spec"]["template"]["metadata"]["annotations"]

    def test_checksum_changes_with_the_config_and_only_with_it(self):
        base = self.annotations()["checksum/config"]
        self.assertEqual(self.annotations()["checksum/config"], base)
        self.assertNotEqual(self.annotations(("config.monitor.interval=10s",))["checksum/config"], base)
        self.assertEqual(self.annotations(("daemonset.priorityClassName=x",))["checksum/config"], base)

    def test_web_config_changes_roll_the_pods_too(self):
        base = self.annotations(profile="production")
        changed = self.annotations(("webConfig.config.tls_server_config.min_version=TLS13",), "production")
        self.assertEqual(base["checksum/config"], changed["checksum/config"])
        self.assertNotEqual(base["checksum/web-config"], changed["checksum/web-config"])


if __name__ == "__main__":
    unittest.main()
