"""The Helm chart (deploy/helm/kepler) with the real helm 3.17: lint, rendering of the defaults
and both profiles validated against the Kubernetes schemas, the names the deployment guide uses,
namespace handling, values the schema must refuse, the config checksum that rolls the pods, and
the Redfish BMC file given as a Secret.

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

    def test_redfish_switch_that_is_not_a_boolean(self):
        self.assert_refused("redfish.enabled=yes", "redfish.enabled")

    def test_redfish_staleness_that_is_not_a_duration(self):
        self.assert_refused("config.experimental.platform.redfish.staleness=1min",
                            "config.experimental.platform.redfish.staleness")

    def test_unknown_platform_key(self):
        self.assert_refused("config.experimental.platform.attributeToWorkload=true", "attributeToWorkload")

    def test_bmc_endpoint_without_a_scheme(self):
        self.assert_refused("redfish.config.bmcs.bmc-1.endpoint=10.0.0.11", "redfish.config.bmcs.bmc-1.endpoint")

    def test_bmc_with_a_misspelt_key(self):
        self.assert_refused("redfish.config.bmcs.bmc-1.pasword=secret", "pasword")

    def test_bmc_with_an_unknown_authentication(self):
        self.assert_refused("redfish.config.bmcs.bmc-1.auth=digest", "redfish.config.bmcs.bmc-1.auth")


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


class RedfishTest(unittest.TestCase):
    """The BMC file as a Secret mounted where experimental.platform.redfish.configFile points;
    the daemon only reads the file, so nothing RBAC-related changes."""

    BMC_FILE = {"nodes": {"worker-1": "bmc-1"},
                "bmcs": {"bmc-1": {"endpoint": "https://10.0.0.11", "username": "monitor", "password": "secret",
                                   "insecure": False, "caFile": "/etc/kepler/redfish/ca.crt", "auth": "basic"}}}
    INLINE = ("redfish.enabled=true", "redfish.config.nodes.worker-1=bmc-1",
              "redfish.config.bmcs.bmc-1.endpoint=https://10.0.0.11", "redfish.config.bmcs.bmc-1.username=monitor",
              "redfish.config.bmcs.bmc-1.password=secret", "redfish.config.bmcs.bmc-1.insecure=false",
              "redfish.config.bmcs.bmc-1.caFile=/etc/kepler/redfish/ca.crt", "redfish.config.bmcs.bmc-1.auth=basic")
    EXISTING = ("redfish.enabled=true", "redfish.existingSecret=bmc-credentials")

    @staticmethod
    def bmc_file_volume(objects):
        """(the daemon's redfish settings, the mount of the configFile's directory, its Secret's name)."""
        redfish = d.daemon_config(objects)["experimental"]["platform"]["redfish"]
        directory = redfish["configFile"].rsplit("/", 1)[0]
        mounts = {m["mountPath"]: m for m in d.daemon_container(objects)["volumeMounts"]}
        volumes = {v["name"]: v for v in d.find(objects, "DaemonSet")["spec"]["template"]["spec"]["volumes"]}
        mount = mounts[directory]
        return redfish, mount, volumes[mount["name"]]["secret"]["secretName"]

    def test_off_by_default_with_the_acpi_meter_on_and_no_workload_families(self):
        for profile in d.PROFILES:
            with self.subTest(profile=profile):
                objects, _ = d.rendered(profile)
                platform = d.daemon_config(objects)["experimental"]["platform"]
                self.assertFalse(platform["redfish"]["enabled"])
                self.assertEqual(platform["redfish"]["configFile"], "")
                self.assertTrue(platform["acpi"]["enabled"])
                self.assertFalse(platform["attributeToWorkloads"])
                self.assertNotIn("/etc/kepler/redfish",
                                 {m["mountPath"] for m in d.daemon_container(objects)["volumeMounts"]})
                self.assertNotIn("kepler-redfish", {s["metadata"]["name"] for s in d.find_all(objects, "Secret")})

    def test_inline_bmc_file_becomes_a_secret_mounted_where_the_config_points(self):
        objects, problems = d.rendered(sets=self.INLINE)
        self.assertEqual(problems, [])
        redfish, mount, secret_name = self.bmc_file_volume(objects)
        self.assertTrue(redfish["enabled"])
        self.assertEqual(redfish["configFile"], "/etc/kepler/redfish/redfish.yaml")
        self.assertTrue(mount["readOnly"])
        secret = d.find(objects, "Secret", secret_name)
        self.assertEqual(secret_name, "kepler-redfish")
        self.assertEqual(secret["metadata"]["namespace"], d.NAMESPACE)
        self.assertEqual(d.parse_yaml(secret["stringData"][redfish["configFile"].rsplit("/", 1)[1]]), self.BMC_FILE)
        # The BMC file's caFile lies in the same mounted Secret.
        self.assertTrue(self.BMC_FILE["bmcs"]["bmc-1"]["caFile"].startswith(mount["mountPath"] + "/"))

    def test_the_node_is_looked_up_by_the_pods_kubernetes_node_name(self):
        # An empty redfish.nodeName falls back to kube.nodeName, which the flag fills from the
        # downward API (the file's kube.nodeName stays empty).
        objects, _ = d.rendered(sets=self.INLINE)
        config = d.daemon_config(objects)
        self.assertEqual(config["experimental"]["platform"]["redfish"]["nodeName"], "")
        container = d.daemon_container(objects)
        self.assertIn("--kube.node-name=$(NODE_NAME)", container["args"])
        env = {e["name"]: e["valueFrom"]["fieldRef"]["fieldPath"] for e in container["env"] if "valueFrom" in e}
        self.assertEqual(env["NODE_NAME"], "spec.nodeName")

    def test_existing_secret_is_mounted_and_none_is_rendered(self):
        objects, problems = d.rendered(sets=self.EXISTING)
        self.assertEqual(problems, [])
        self.assertEqual(d.find_all(objects, "Secret"), [])
        redfish, mount, secret_name = self.bmc_file_volume(objects)
        self.assertTrue(redfish["enabled"])
        self.assertEqual(redfish["configFile"], "/etc/kepler/redfish/redfish.yaml")
        self.assertEqual(secret_name, "bmc-credentials")
        annotations = d.find(objects, "DaemonSet")["spec"]["template"]["metadata"]["annotations"]
        self.assertNotIn("checksum/redfish", annotations)

    def test_the_users_timing_keys_reach_the_daemon(self):
        objects, _ = d.rendered(sets=self.EXISTING + ("config.experimental.platform.redfish.pollInterval=30s",
                                                      "config.experimental.platform.redfish.staleness=2m",
                                                      "config.experimental.platform.redfish.nodeName=rack-3-u12"))
        redfish = d.daemon_config(objects)["experimental"]["platform"]["redfish"]
        self.assertEqual((redfish["pollInterval"], redfish["staleness"], redfish["nodeName"]),
                         ("30s", "2m", "rack-3-u12"))
        self.assertEqual(redfish["httpTimeout"], "5s")

    def test_bmc_file_changes_roll_the_pods(self):
        def annotations(*sets):
            objects, _ = d.rendered(sets=self.INLINE + sets)
            return d.find(objects, "DaemonSet")["spec"]["template"]["metadata"]["annotations"]
        base, changed = annotations(), annotations("redfish.config.bmcs.bmc-1.password=rotated")
        self.assertEqual(base["checksum/config"], changed["checksum/config"])
        self.assertNotEqual(base["checksum/redfish"], changed["checksum/redfish"])

    def test_nothing_rbac_related_changes(self):
        rbac_kinds = ("ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding", "ServiceAccount")
        plain, _ = d.rendered("production")
        for name, sets in (("inline", self.INLINE), ("existingSecret", self.EXISTING)):
            with self.subTest(name):
                objects, _ = d.rendered("production", sets=sets)
                for kind in rbac_kinds:
                    self.assertEqual(d.find_all(objects, kind), d.find_all(plain, kind), kind)
                pod, plain_pod = (d.find(o, "DaemonSet")["spec"]["template"]["spec"] for o in (objects, plain))
                for key in ("serviceAccountName", "automountServiceAccountToken"):
                    self.assertEqual(pod.get(key), plain_pod.get(key), key)
                # Only the BMC file's Secret is new, and it is no ServiceAccount token.
                added = {(o["kind"], o["metadata"]["name"]) for o in objects} - \
                    {(o["kind"], o["metadata"]["name"]) for o in plain}
                self.assertEqual(added, {("Secret", "kepler-redfish")} if name == "inline" else set())

    def test_lint_passes_with_redfish(self):
        for sets in (self.INLINE, self.EXISTING):
            with self.subTest(sets=sets[-1]):
                output = d.helm_lint("production", sets)
                self.assertIn("0 chart(s) failed", output)
                self.assertNotIn("[WARNING]", output)

    def assert_fails(self, sets, message):
        with self.assertRaises(d.ToolFailed) as failure:
            d.helm_template_text(sets=sets)
        self.assertIn(message, failure.exception.output)

    def test_enabled_without_a_bmc_file_is_refused(self):
        self.assert_fails(("redfish.enabled=true",), "redfish.enabled needs the BMC file")

    def test_daemon_switch_without_a_bmc_file_is_refused(self):
        # The daemon would refuse to start; the chart says so at install time.
        self.assert_fails(("config.experimental.platform.redfish.enabled=true",),
                          "config.experimental.platform.redfish.enabled needs the BMC file")

    def test_a_config_file_of_the_users_own_does_not_silently_lose_to_the_mounted_one(self):
        self.assert_fails(self.EXISTING + ("config.experimental.platform.redfish.configFile=/etc/bmc.yaml",),
                          "leave config.experimental.platform.redfish.configFile empty")

    def test_a_bmc_file_mounted_by_the_user_passes_through(self):
        objects, problems = d.rendered(sets=("config.experimental.platform.redfish.enabled=true",
                                             "config.experimental.platform.redfish.configFile=/etc/bmc/redfish.yaml"))
        self.assertEqual(problems, [])
        redfish = d.daemon_config(objects)["experimental"]["platform"]["redfish"]
        self.assertEqual((redfish["enabled"], redfish["configFile"]), (True, "/etc/bmc/redfish.yaml"))
        self.assertEqual(d.find_all(objects, "Secret"), [])


if __name__ == "__main__":
    unittest.main()
