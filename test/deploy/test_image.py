"""The container image that deploy/Dockerfile builds (deploy/image/build.sh, the ctest fixture
image_build), and the image run as the chart runs it in both profiles (image_pod.ImagePod):

- the image: within its size budget; busybox's sh, ls, cat and grep, and no compiler, package
  manager or package lists; its packages are the README's list; its OCI labels name the CMake
  version, this checkout's revision and its source.
- each profile's pod: ready within its startup (or readiness) probe's budget, the probes' paths
  200, /metrics over verified HTTPS (production) or HTTP (simple), kepler_build_info as the
  labels say, eBPF loaded where this host can load it (else the reason in the log and the /proc
  fallback), the chart's privileges in force (capabilities, no new privileges, read-only root),
  the guide's debug commands working in the container, and SIGTERM stopping it with exit code 0
  within the grace period.

Each pod is started, looked at and stopped in setUpClass; the tests check what was seen. Needs
root and podman (CI installs them, see deploy/image/build.sh). Run alone, after
deploy/image/build.sh: KEPLER_TEST_TOOLS=… python3 -m unittest -v test_image
"""

import io
import os
import re
import ssl
import subprocess
import tarfile
import tempfile
import unittest

import deploy_tools as d
import image_pod
from image_pod import podman

from exposition import parse_exposition    # test/integration, on the path profile_daemon set

SIZE_BUDGET_BYTES = 80_000_000             # uncompressed, as `podman images` counts
DEBUG_TOOLS = ("sh", "ls", "cat", "grep")
NOT_IN_PRODUCTION = ("gcc", "cc", "c++", "clang", "ld", "as", "make", "cmake", "apt", "apt-get",
                     "dpkg", "perl", "python3", "bash", "curl", "wget", "nc")
BIN_DIRECTORIES = ("usr/bin", "usr/sbin", "usr/local/bin", "usr/local/sbin")   # /bin, /sbin link there
# Package lists and caches, headers, documentation but copyrights: none of it in the image.
NO_FILES_UNDER = ("var/lib/apt", "var/cache", "usr/include", "usr/share/man", "usr/share/info",
                  "usr/share/locale", "root")
BTF_PATH = "/sys/kernel/btf/vmlinux"
FALLBACK_WARNING = "eBPF CPU accounting unavailable ("
GUIDE_METRICS = r"^kepler_(node_cpu|container_cpu|container_dram)_joules_total"
README = os.path.join(d.REPO, "README.md")
README_PACKAGES = re.compile(r"<!-- image-packages -->(.*?)<!-- /image-packages -->", re.S)


def chart_image():
    objects, _ = d.rendered()
    return d.daemon_container(objects)["image"]


def git(*arguments):
    done = subprocess.run(["git", "-C", d.REPO, *arguments], capture_output=True, text=True)
    return done.stdout.strip() if done.returncode == 0 else ""


def require_image(image):
    if podman("image", "exists", image, check=False).returncode != 0:
        raise AssertionError(f"no image {image}: build it with deploy/image/build.sh")


def in_image(image, script):
    """(exit code, output) of `sh -c script` in a throw-away container of `image`."""
    done = podman("run", "--rm", "--network=none", "--entrypoint", "/bin/sh", image, "-c", script, check=False)
    return done.returncode, done.stdout + done.stderr


def image_files(image):
    """{path: TarInfo} of the image's file system (`podman export` of a container not started)."""
    name = f"kepler-image-files-{os.getpid()}"
    podman("create", "--name", name, image)
    try:
        exported = subprocess.run([image_pod.PODMAN, "export", name], capture_output=True, check=True,
                                  timeout=image_pod.PODMAN_TIMEOUT_S).stdout
    finally:
        podman("rm", "--force", name, check=False)
    with tarfile.open(fileobj=io.BytesIO(exported)) as archive:
        files = {m.name.removeprefix("./").rstrip("/"): m for m in archive.getmembers()}
        status = archive.extractfile(archive.getmember("var/lib/dpkg/status")).read().decode()
    return files, status


def ebpf_host():
    """Whether this host can load the probe (root, a kernel with BTF): the eBPF integration
    tests' condition (test/integration/ebpf_support.py)."""
    return os.geteuid() == 0 and os.path.exists(BTF_PATH)


class ImageTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.image = chart_image()
        require_image(cls.image)
        cls.files, cls.dpkg_status = image_files(cls.image)

    def test_size_is_within_budget(self):
        size = image_pod.image_size(self.image)
        image_pod.log(f"{self.image}: {size} bytes ({size / 1e6:.1f} MB), {len(self.files)} files")
        self.assertLessEqual(size, SIZE_BUDGET_BYTES)

    def test_labels_name_the_version_the_revision_and_the_source(self):
        labels = image_pod.image_labels(self.image)
        self.assertEqual(labels.get("org.opencontainers.image.version"), d.cmake_project_version())
        self.assertEqual(labels.get("org.opencontainers.image.revision"), git("rev-parse", "--short", "HEAD"))
        self.assertEqual(labels.get("org.opencontainers.image.source"), git("remote", "get-url", "origin"))

    def test_debug_tools_are_there(self):
        for tool in DEBUG_TOOLS:
            with self.subTest(tool=tool):
                self.assertEqual(in_image(self.image, f"command -v {tool}"), (0, f"/usr/bin/{tool}\n"))
        self.assertEqual(in_image(self.image, "ls /etc/os-release && cat /etc/os-release | grep -q =bookworm"),
                         (0, "/etc/os-release\n"))

    def test_no_compiler_package_manager_or_shell_beyond_busybox(self):
        present = [f"{directory}/{tool}" for directory in BIN_DIRECTORIES for tool in NOT_IN_PRODUCTION
                   if f"{directory}/{tool}" in self.files]
        self.assertEqual(present, [])

    def test_no_package_lists_caches_headers_or_docs(self):
        stray = [path for path, member in self.files.items() if not member.isdir() and (
            any(path.startswith(prefix + "/") for prefix in NO_FILES_UNDER)
            or (path.startswith("usr/share/doc/") and not path.endswith("/copyright")))]
        self.assertEqual(stray, [])

    def test_readme_lists_the_images_packages(self):
        installed = sorted(re.findall(r"^Package: (\S+)$", self.dpkg_status, re.M))
        self.assertIn("busybox", installed)
        self.assertIn("libbpf1", installed)
        listed = README_PACKAGES.search(d.read_text(README))
        self.assertIsNotNone(listed, "README.md has no <!-- image-packages --> list")
        self.assertEqual(sorted(set(re.findall(r"`([a-z0-9][a-z0-9.+-]+)`", listed.group(1)))), installed)

    def test_every_library_the_binary_loads_resolves(self):
        code, output = in_image(self.image, "/lib64/ld-linux-x86-64.so.2 --list /usr/bin/kepler")
        self.assertEqual(code, 0, output)
        self.assertNotIn("not found", output)


class ProfileChecks:
    """Checks both profiles share; a subclass names PROFILE."""

    PROFILE = None
    PODMAN_SECCOMP = False

    @classmethod
    def setUpClass(cls):
        cls.directory = tempfile.TemporaryDirectory(prefix=f"kepler-image-{cls.PROFILE}-")
        require_image(chart_image())
        cls.pod = image_pod.ImagePod(cls.PROFILE, cls.directory.name, podman_seccomp=cls.PODMAN_SECCOMP)
        try:
            cls.pod.start()
            cls.look()
            cls.stop_code, cls.stop_seconds = cls.pod.stop()
            cls.log_text = cls.pod.logs()
        finally:
            cls.pod.remove()
            cls.directory.cleanup()

    @classmethod
    def look(cls):
        """Everything the tests check while the pod runs."""
        pod, container = cls.pod, cls.pod.container
        cls.probe_statuses = {kind: pod.probe(container[f"{kind}Probe"])
                              for kind in ("startup", "liveness", "readiness") if container.get(f"{kind}Probe")}
        status, text = pod.get("/metrics")
        cls.metrics_status, cls.metrics = status, parse_exposition(text)
        cls.metrics_text = text
        with open(f"/proc/{pod.pid()}/status") as source:
            cls.process_status = dict(line.split(":\t", 1) for line in source.read().splitlines() if ":\t" in line)
        cls.write_attempt = pod.exec("/bin/sh", "-c", "echo x > /image-test-probe")
        sysfs = pod.config["host"]["sysfs"]
        cls.powercap_listing = pod.exec("ls", "-la", f"{sysfs}/class/powercap/")
        cls.config_cat = pod.exec("cat", "/etc/kepler/config.yaml")
        cls.metrics_grep = pod.exec("grep", "-E", GUIDE_METRICS, stdin_text=text)
        cls.ready_after_s = pod.ready_after_s

    def test_probes_pass(self):
        self.assertIn("readiness", self.probe_statuses)
        for kind, status in self.probe_statuses.items():
            self.assertEqual(status, 200, kind)

    def test_metrics_are_served(self):
        self.assertEqual(self.metrics_status, 200)
        self.assertEqual(self.metrics.value("kepler_build_info", version=d.cmake_project_version()), 1)

    def test_build_info_agrees_with_the_image_labels(self):
        labels = image_pod.image_labels(self.pod.container["image"])
        info = self.metrics.one("kepler_build_info").labels
        self.assertEqual(info["version"], labels["org.opencontainers.image.version"])
        self.assertEqual(info["revision"], labels["org.opencontainers.image.revision"])

    def test_ebpf_loads_where_the_host_allows_else_says_why(self):
        bpf_up = self.metrics.value("kepler_bpf_up")
        if ebpf_host():
            self.assertEqual(bpf_up, 1, self.log_text)
            self.assertNotIn(FALLBACK_WARNING, self.log_text)
        else:
            self.assertEqual(bpf_up, 0)
            self.assertRegex(self.log_text, re.escape(FALLBACK_WARNING) + r".+\); falling back to /proc")

    def test_stops_on_sigterm_within_the_grace_period(self):
        self.assertEqual(self.stop_code, 0, self.log_text)
        self.assertLess(self.stop_seconds, self.pod.grace_period_s())
        self.assertIn("received SIGTERM, shutting down", self.log_text)

    def test_node_name_comes_from_the_downward_api(self):
        names = {s.labels["node_name"] for s in self.metrics.series("kepler_node_cpu_usage_ratio")}
        self.assertEqual(names, {image_pod.NODE_NAME})

    def test_guide_debug_commands_work_in_the_container(self):
        # kubectl exec … -- ls -la /host/sys/class/powercap/ (what the daemon reads): as on the host.
        code, listing = self.powercap_listing
        if os.path.isdir("/sys/class/powercap"):
            self.assertEqual(code, 0, listing)
            for zone in os.listdir("/sys/class/powercap"):
                self.assertIn(zone, listing)
        else:
            self.assertNotEqual(code, 0)
            self.assertIn("No such file or directory", listing)
        # kubectl exec … -- cat /etc/kepler/config.yaml: the ConfigMap's file.
        self.assertEqual(self.config_cat, (0, self.pod.config_text))
        # … | grep -E '^kepler_(node_cpu|…)_joules_total', with the container's grep.
        code, grepped = self.metrics_grep
        expected = [line for line in self.metrics_text.splitlines() if re.match(GUIDE_METRICS, line)]
        self.assertEqual(grepped.splitlines(), expected)
        self.assertEqual(code, 0 if expected else 1)


class ProductionProfileTest(ProfileChecks, unittest.TestCase):
    PROFILE = "production"

    @classmethod
    def look(cls):
        super().look()
        # A scraper that trusts the system's CAs but not the chart's.
        cls.untrusted = cls._refused(lambda: cls.pod.get("/metrics", context=ssl.create_default_context()))

    @staticmethod
    def _refused(request):
        try:
            return request()[0]
        except (ssl.SSLError, OSError) as error:
            return type(error).__name__

    def test_metrics_only_over_https_with_the_charts_ca(self):
        self.assertTrue(self.pod.tls())
        self.assertEqual(self.untrusted, "SSLCertVerificationError")

    def test_runs_with_the_charts_capabilities_only(self):
        added = self.pod.container["securityContext"]["capabilities"]["add"]
        expected = sum(1 << image_pod.CAPABILITY_BITS[name] for name in added)
        self.assertEqual(self.process_status["Uid"].split()[:2], ["0", "0"])
        self.assertEqual(int(self.process_status["CapEff"], 16), expected)
        self.assertEqual(int(self.process_status["CapBnd"], 16), expected)
        self.assertEqual(self.process_status["NoNewPrivs"].strip(), "1")
        line = next(line for line in self.log_text.splitlines() if "running as uid 0, gid 0" in line)
        self.assertEqual(set(re.findall(r"CAP_(\w+)", line)), set(added))

    def test_root_filesystem_is_read_only(self):
        code, output = self.write_attempt
        self.assertNotEqual(code, 0)
        self.assertIn("Read-only file system", output)

    def test_no_rapl_no_estimate(self):
        # The profile's preferredMeters measure only: node energy only where this host has a
        # meter, never the fake meter or an estimate.
        for source in ("fake-cpu-meter", "estimate"):
            self.assertEqual(self.metrics.series("kepler_source_up", source=source), [], source)
        has_rapl = os.path.isdir("/sys/class/powercap") and any(
            z.startswith("intel-rapl") for z in os.listdir("/sys/class/powercap"))
        if not has_rapl:
            self.assertIn("no readable RAPL zones under /host/sys/class/powercap", self.log_text)


class ProductionUnderPodmansSeccompTest(ProductionProfileTest):
    """The production pod under Debian 12 podman's own default seccomp profile, which refuses
    bpf() and perf_event_open() without CAP_SYS_ADMIN (containerd's RuntimeDefault allows them
    with CAP_BPF and CAP_PERFMON): the probe cannot load, the daemon says why, falls back to /proc
    and serves as before."""

    PODMAN_SECCOMP = True

    def test_ebpf_loads_where_the_host_allows_else_says_why(self):
        self.assertEqual(self.metrics.value("kepler_bpf_up"), 0)
        self.assertRegex(self.log_text, re.escape(FALLBACK_WARNING) + r".+\); falling back to /proc")


class SimpleProfileTest(ProfileChecks, unittest.TestCase):
    PROFILE = "simple"

    def test_plain_http_and_privileged(self):
        self.assertFalse(self.pod.tls())
        self.assertTrue(self.pod.container["securityContext"]["privileged"])
        self.assertIn("CAP_SYS_ADMIN", next(line for line in self.log_text.splitlines() if "running as uid 0" in line))

    def test_fake_meter_gives_node_energy(self):
        self.assertIn("using fake-cpu-meter", self.log_text)
        zones = {s.labels["zone"] for s in self.metrics.series("kepler_node_cpu_joules_total")}
        self.assertLessEqual({"package", "dram"}, zones)


if __name__ == "__main__":
    unittest.main()
