"""The other ways to deploy: plain manifests (`kubectl kustomize deploy/k8s`, real kubectl 1.31),
the container image's Dockerfile (its recipe; test_image.py builds and runs the image), and the
systemd unit (systemd-analyze verify) with its config file run by the daemon.

Run alone: KEPLER_BINARY=… KEPLER_TEST_TOOLS=… python3 -m unittest -v test_manifests
"""

import json
import os
import re
import shlex
import shutil
import subprocess
import tempfile
import time
import unittest

import deploy_tools as d
import profile_daemon

K8S = os.path.join(d.DEPLOY, "k8s")
MONITORING = os.path.join(K8S, "monitoring")
DOCKERFILE = os.path.join(d.DEPLOY, "Dockerfile")
UNIT = os.path.join(d.DEPLOY, "systemd", "kepler.service")


class KustomizeTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.objects, cls.problems = d.parse_objects(d.kustomize_text(K8S), validate=True)

    def test_objects_are_valid_against_their_schemas(self):
        self.assertEqual(self.problems, [])
        objects, problems = d.parse_objects(d.kustomize_text(MONITORING), validate=True)
        self.assertEqual(problems, [])
        monitor = d.find(objects, "ServiceMonitor", "kepler")
        self.assertEqual(monitor["metadata"]["namespace"], d.NAMESPACE)
        self.assertEqual(monitor["spec"]["endpoints"][0]["port"], "http-metrics")
        self.assertEqual(monitor["spec"]["endpoints"][0]["interval"], "30s")

    def test_guide_names_namespace_and_labels(self):
        self.assertEqual(d.find(self.objects, "Namespace")["metadata"]["name"], d.NAMESPACE)
        key, value = d.NAME_LABEL
        for o in self.objects:
            self.assertEqual(o["metadata"]["labels"][key], value, o["kind"])
            if o["kind"] not in ("Namespace", "ClusterRole", "ClusterRoleBinding"):
                self.assertEqual(o["metadata"]["namespace"], d.NAMESPACE, o["kind"])
        service = d.find(self.objects, "Service", "kepler")
        self.assertEqual((service["spec"]["ports"][0]["name"], service["spec"]["ports"][0]["port"]),
                         ("http-metrics", 28282))
        daemonset = d.find(self.objects, "DaemonSet", "kepler")
        self.assertTrue(d.selects(service["spec"]["selector"], daemonset["spec"]["template"]["metadata"]["labels"]))

    def test_same_daemon_config_and_rbac_as_the_charts_defaults(self):
        chart_objects, _ = d.rendered()
        self.assertEqual(d.daemon_config(self.objects), d.daemon_config(chart_objects))
        self.assertEqual(d.find(self.objects, "ClusterRole")["rules"],
                         d.find(chart_objects, "ClusterRole")["rules"])

    def test_same_container_as_the_charts_defaults(self):
        chart_objects, _ = d.rendered()
        ours, chart = d.daemon_container(self.objects), d.daemon_container(chart_objects)
        for field in ("command", "args", "ports", "securityContext", "volumeMounts", "livenessProbe"):
            with self.subTest(field=field):
                expected = chart[field]
                if field == "livenessProbe":
                    expected = dict(expected, httpGet={k: v for k, v in expected["httpGet"].items() if k != "scheme"})
                self.assertEqual(ours[field], expected)
        self.assertEqual(ours["image"], chart["image"])


class DockerfileTest(unittest.TestCase):
    """The recipe, read without building it (test_image.py builds and runs the image)."""

    @classmethod
    def setUpClass(cls):
        cls.arguments, cls.stages = parse_dockerfile(d.read_text(DOCKERFILE))

    def test_build_on_debian_12_runtime_from_its_packages(self):
        self.assertEqual([stage["from"] for stage in self.stages], ["debian:12", "debian:12-slim", "scratch"])
        build = self.stages[0]
        runs = " ".join(build["RUN"])
        self.assertIn("deploy/install-build-deps.sh run", runs)
        self.assertIn("--target kepler", runs)
        self.assertIn("deploy/runtime-packages.sh /build/actors/kepler", runs)
        self.assertIn("/tmp/runtime-root.sh /rootfs", " ".join(self.stages[1]["RUN"]))
        self.assertEqual(self.stages[2]["COPY"][0], "--from=runtime-root /rootfs /")
        for stage in self.stages:
            for copied in stage["COPY"]:
                source = copied.split()[0]
                if not source.startswith("--from=") and source != ".":
                    self.assertTrue(os.path.exists(os.path.join(d.REPO, source)), source)

    def test_runtime_stage_runs_the_binary_the_chart_calls(self):
        self.assertIn("--from=build /build/actors/kepler /rootfs/usr/bin/kepler", self.stages[1]["COPY"])
        self.assertEqual(self.stages[-1]["ENTRYPOINT"], ['["/usr/bin/kepler"]'])
        objects, _ = d.rendered()
        self.assertEqual(d.daemon_container(objects)["command"], ["/usr/bin/kepler"])
        self.assertTrue(os.environ.get("KEPLER_BINARY", "/actors/kepler").endswith("/actors/kepler"),
                        "CMake builds the daemon at <build>/actors/kepler, as the Dockerfile copies it")

    def test_version_argument_is_the_cmake_project_version(self):
        # The image's version label and the build's check of `kepler --version` use it.
        self.assertIn(f"KEPLER_VERSION={d.cmake_project_version()}", self.arguments)

    def test_debug_tools_are_busybox_applets(self):
        # `kubectl exec … -- /bin/sh`, ls, cat, grep (README "Troubleshooting").
        script = d.read_text(os.path.join(d.DEPLOY, "image", "runtime-root.sh"))
        applets = re.search(r"^applets=\(([^)]*)\)", script, re.M).group(1).split()
        self.assertLessEqual({"sh", "ls", "cat", "grep"}, set(applets))

    def test_runtime_packages_hold_every_library_of_the_real_binary(self):
        binary = os.environ.get("KEPLER_BINARY")
        if not binary:
            self.skipTest("KEPLER_BINARY is not set")
        packages = subprocess.run([os.path.join(d.DEPLOY, "runtime-packages.sh"), binary],
                                  capture_output=True, text=True, check=True).stdout.split()
        self.assertIn("libcaf-core0.17", packages)
        self.assertIn("libbpf1", packages)
        libraries = [line.split()[2] for line in subprocess.run(["ldd", binary], capture_output=True, text=True,
                                                                  check=True).stdout.splitlines()
                     if " => /" in line]
        owned = subprocess.run(["dpkg-query", "-L", *packages], capture_output=True, text=True).stdout.split()
        owned_real = {os.path.realpath(path) for path in owned}
        for library in libraries:
            self.assertIn(os.path.realpath(library), owned_real, library)

    def test_runtime_packages_refuses_what_is_not_a_binary(self):
        done = subprocess.run([os.path.join(d.DEPLOY, "runtime-packages.sh"), "/nonexistent"],
                              capture_output=True, text=True)
        self.assertNotEqual(done.returncode, 0)
        self.assertIn("not an executable file", done.stderr)


def parse_dockerfile(text):
    """(ARGs before the first FROM, stages as {"from": image, INSTRUCTION: [arguments, …]}),
    continuation lines joined."""
    global_arguments, stages = [], []
    logical = text.replace("\\\n", " ")
    for line in logical.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        instruction, _, arguments = line.partition(" ")
        instruction = instruction.upper()
        if instruction == "FROM":
            stages.append({"from": shlex.split(arguments)[0]})
            continue
        if not stages:
            if instruction != "ARG":
                raise AssertionError(f"{instruction} before FROM")
            global_arguments.append(arguments.strip())
            continue
        stages[-1].setdefault(instruction, []).append(" ".join(arguments.split()))
    return global_arguments, stages


class SystemdConfigTest(unittest.TestCase):
    """deploy/systemd/config.yaml as the unit runs it, on this host's /sys and /proc (only the
    listen address moved to a free loopback port): accepted without warnings, ready, stops cleanly."""

    def test_the_daemon_runs_with_it(self):
        harness = profile_daemon.h
        config = d.parse_yaml(d.read_text(os.path.join(d.DEPLOY, "systemd", "config.yaml")))
        port = profile_daemon.free_port()
        config["web"]["listenAddresses"] = [f"127.0.0.1:{port}"]
        with harness.TestBed("kepler-deploy-systemd-") as bed:
            path = os.path.join(bed.workdir, "config.yaml")
            with open(path, "w") as out:
                json.dump(config, out)
            daemon = harness.Daemon(path, port, os.path.join(bed.workdir, "kepler.log"))
            bed.on_close(daemon.kill)
            daemon.spawn()
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and harness.http_status_or_none(daemon.url("/readyz")) != 200:
                self.assertIsNone(daemon.process.poll(), daemon.log_tail())
                time.sleep(0.05)
            self.assertEqual(harness.http_status_or_none(daemon.url("/readyz")), 200, daemon.log_tail())
            daemon.stop()
            log_text = daemon.log_text()
        self.assertNotIn("unknown configuration key", log_text)
        self.assertNotRegex(log_text, r"level=(error|critical)")


class SystemdUnitTest(unittest.TestCase):
    def test_unit_verifies_clean(self):
        analyze = shutil.which("systemd-analyze")
        if not analyze:
            self.skipTest("systemd-analyze is not installed")
        binary = os.environ.get("KEPLER_BINARY") or "/bin/true"
        with tempfile.TemporaryDirectory() as directory:
            unit = os.path.join(directory, "kepler.service")
            with open(unit, "w") as out:   # the binary where this machine has it
                out.write(d.read_text(UNIT).replace("/usr/bin/kepler", binary))
            done = subprocess.run([analyze, "verify", unit], capture_output=True, text=True)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertNotIn("kepler.service", done.stdout + done.stderr)   # no warning about our unit

    def test_unit_grants_the_ebpf_capabilities_and_nothing_else(self):
        settings = {}
        for line in d.read_text(UNIT).splitlines():
            if "=" in line and not line.startswith("#"):
                key, _, value = line.partition("=")
                settings[key] = value
        capabilities = {"CAP_BPF", "CAP_PERFMON", "CAP_SYS_PTRACE", "CAP_DAC_READ_SEARCH"}
        self.assertEqual(set(settings["AmbientCapabilities"].split()), capabilities)
        self.assertEqual(set(settings["CapabilityBoundingSet"].split()), capabilities)
        self.assertEqual(settings["NoNewPrivileges"], "yes")
        self.assertEqual(settings["ExecStart"], "/usr/bin/kepler --config.file=/etc/kepler/config.yaml")


if __name__ == "__main__":
    unittest.main()
