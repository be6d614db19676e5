"""Pods from a kubelet, seen by the real daemon (issue 5, "Tests (CI)").

A fake kubelet (test/support/fake_kubelet, HTTPS with a CA and certificates made here with the
`openssl` CLI, bearer token required) serves a real PodList fixture. The test creates cgroups
named after the fixture's container ids (kubelet's systemd layout on cgroup v2, a dashed pod UID
and a static pod's 32-hex UID), runs CPU burners in them, and runs the daemon in kubelet mode:

- pod series carry the fixture's pod_name, pod_namespace and pod_id, container series the
  container names of the pod spec; pod = Σ its containers to the microjoule;
- faults, each with one clear log line, the last good pod list kept (pod series still served),
  kepler_kube_up 0 and kepler_kube_errors_total{kind} counting, then recovery once fixed: kubelet
  down at start, HTTP 500, a stall past the request timeout, truncated JSON, a 50 MB body
  (bounded memory), a missing token file, a rotated token, a server certificate from another CA.

Needs root (cgroups) and cgroup v2. Run alone:
KEPLER_BINARY=… FAKE_KUBELET=… python3 -m unittest -v test_kubernetes
"""

import json
import os
import shutil
import subprocess
import time
import unittest

import cgroups
import kepler_harness as h
from exposition import microjoules
from plumbing import free_port, log, terminate, write_atomically

FIXTURE = os.path.join(os.path.dirname(__file__), "..", "fixtures", "kubelet-pods",
                       "nr_k8s1.28_containerd1.6_kind.json")
NODE_NAME = "kind-worker"
POLL_INTERVAL = "1s"
MAX_RESPONSE_BYTES = 1 << 20   # the 50 MB body must be refused well before it is read
HUGE_BODY_BYTES = 50_000_000
MAX_DAEMON_RSS_BYTES = 64 << 20
FAULT_TIMEOUT_S = 15.0         # the 5 s request timeout plus backoff, with room
BURNER_DUTY = 0.3

def fake_kubelet_binary():
    path = os.environ.get("FAKE_KUBELET")
    if not path or not os.access(path, os.X_OK):
        raise unittest.SkipTest("FAKE_KUBELET is not set to the fake_kubelet binary (CTest sets it)")
    return path


def skip_unless_possible():
    if os.geteuid() != 0:
        raise unittest.SkipTest("needs root: creates cgroups and moves processes into them")
    try:
        cgroups.cgroup_v2_mount()
    except cgroups.CgroupUnavailable as reason:
        raise unittest.SkipTest(str(reason))
    if shutil.which("openssl") is None:
        raise unittest.SkipTest("needs the openssl CLI to make certificates")


# --------------------------------------------------------------------------- certificates

def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def make_ca(directory, name):
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", f"/CN={name}",
            "-keyout", f"{name}.key", "-out", f"{name}.crt", cwd=directory)


def make_server_cert(directory, ca, name):
    """A serving certificate for 127.0.0.1 (IP subjectAltName, as kubelet serving certs have)."""
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=kubelet", "-keyout", f"{name}.key",
            "-out", f"{name}.csr", cwd=directory)
    write_atomically(os.path.join(directory, f"{name}.ext"), "subjectAltName=IP:127.0.0.1\n")
    openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.crt", "-CAkey", f"{ca}.key", "-CAcreateserial",
            "-days", "2", "-extfile", f"{name}.ext", "-out", f"{name}.crt", cwd=directory)


# --------------------------------------------------------------------------- the fixture's pods

def running_containers(pod):
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    return [(s["name"], s["containerID"].split("://", 1)[1]) for s in statuses
            if s.get("containerID") and "running" in (s.get("state") or {})]


def pick_pods(pod_list):
    """A pod with two running containers and a static pod (32-hex UID) with one."""
    items = pod_list["items"]
    multi = next(p for p in items if len(running_containers(p)) >= 2)
    static = next(p for p in items if "-" not in p["metadata"]["uid"] and running_containers(p))
    return [multi, static]


class Container:
    def __init__(self, pod, name, container_id, builder):
        self.pod_uid = pod["metadata"]["uid"]
        self.pod_name = pod["metadata"]["name"]
        self.pod_namespace = pod["metadata"]["namespace"]
        self.name = name
        self.container_id = container_id
        self.cgroup = builder.create_v2(cgroups.kubepods_v2_path("burstable", self.pod_uid, container_id))


# --------------------------------------------------------------------------- the fake kubelet

class FakeKubelet:
    """fake_kubelet on a fixed port, so it can be stopped and started again with another
    certificate; faults are switched through its control file."""

    def __init__(self, workdir, pods_file):
        self.workdir = workdir
        self.pods_file = pods_file
        self.port = free_port()
        self.token_file = os.path.join(workdir, "kubelet-expected-token")
        self.control_file = os.path.join(workdir, "kubelet-control")
        self.process = None
        self.log = open(os.path.join(workdir, "fake_kubelet.log"), "ab")
        write_atomically(self.token_file, "token-1\n")
        self.set_fault("ok")

    @property
    def endpoint(self):
        return f"https://127.0.0.1:{self.port}"

    def start(self, cert="kubelet"):
        port_file = os.path.join(self.workdir, "kubelet-port")
        if os.path.exists(port_file):
            os.unlink(port_file)
        self.process = subprocess.Popen(
            [fake_kubelet_binary(), "--pods", self.pods_file, "--cert", os.path.join(self.workdir, f"{cert}.crt"),
             "--key", os.path.join(self.workdir, f"{cert}.key"), "--token-file", self.token_file,
             "--control", self.control_file, "--port", str(self.port), "--port-file", port_file],
            stdout=self.log, stderr=self.log, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while not os.path.exists(port_file):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError("fake_kubelet did not start; see fake_kubelet.log")
            time.sleep(0.02)
        return self

    def stop(self):
        if self.process and self.process.poll() is None:
            terminate(self.process, 5)
        self.process = None

    def close(self):
        self.stop()
        self.log.close()

    def set_fault(self, fault):
        write_atomically(self.control_file, fault + "\n")


# --------------------------------------------------------------------------- the test

def kube_config(kubelet, token_file, ca_file):
    return ("kube:\n"
            "  enabled: true\n"
            f"  nodeName: {NODE_NAME}\n"
            "  podInformer:\n"
            "    mode: kubelet\n"
            f"    pollInterval: {POLL_INTERVAL}\n"
            f"    maxResponseBytes: {MAX_RESPONSE_BYTES}\n"
            "  kubelet:\n"
            f"    endpoint: {kubelet.endpoint}\n"
            f"    tokenFile: {token_file}\n"
            f"    caFile: {ca_file}\n")


class KubeletModeTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        skip_unless_possible()
        cls.bed = h.TestBed("kepler-kube-")
        with cls.bed.closed_on_failure():
            cls._set_up()

    @classmethod
    def _set_up(cls):
        bed = cls.bed
        workdir = bed.workdir
        make_ca(workdir, "ca")
        make_ca(workdir, "other-ca")
        make_server_cert(workdir, "ca", "kubelet")
        make_server_cert(workdir, "other-ca", "kubelet-other")
        with open(FIXTURE) as f:
            pod_list = json.load(f)
        pods_file = os.path.join(workdir, "pods.json")
        shutil.copy(FIXTURE, pods_file)

        builder = cgroups.CgroupBuilder()
        bed.on_close(builder.remove_all)
        cls.containers = [Container(pod, name, cid, builder)
                          for pod in pick_pods(pod_list) for name, cid in running_containers(pod)]
        for container in cls.containers:
            bed.add_workload(h.duty_cycle_burner(workdir, f"burn-{container.name}"[:15], BURNER_DUTY,
                                                 preexec_fn=container.cgroup.join))
            log(f"container {container.name} of {container.pod_namespace}/{container.pod_name} "
                f"({container.pod_uid}) in {container.cgroup.directories[0]}")

        cls.kubelet = FakeKubelet(workdir, pods_file)
        bed.on_close(cls.kubelet.close)
        cls.token_file = os.path.join(workdir, "daemon-token")
        write_atomically(cls.token_file, "token-1\n")
        bed.start_powercap()
        daemon = bed.add_daemon(extra=kube_config(cls.kubelet, cls.token_file, os.path.join(workdir, "ca.crt")))
        # Kubelet down at start: the daemon serves node metrics and says the pod source is down.
        daemon.start()
        cls.down_at_start = cls.wait_for_error("connect")
        cls.down_at_start_log = daemon.log_text()
        cls.kubelet.start()
        cls.wait_until_synced()
        cls.wait_for_pod_series()

    @classmethod
    def tearDownClass(cls):
        cls.bed.stop_daemon_and_close()

    # ----------------------------------------------------------------- helpers

    @classmethod
    def wait_for(cls, what, predicate, timeout=FAULT_TIMEOUT_S):
        deadline = time.monotonic() + timeout
        while True:
            metrics = cls.bed.daemon.scrape()
            if predicate(metrics):
                return metrics
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}\n" + cls.bed.daemon.log_tail())
            time.sleep(0.2)

    @staticmethod
    def errors(metrics, kind):
        found = metrics.series("kepler_kube_errors_total", kind=kind)
        return found[0].value if found else 0

    @classmethod
    def wait_for_error(cls, kind):
        before = cls.errors(cls.bed.daemon.scrape(), kind)
        return cls.wait_for(f"a {kind} error",
                            lambda m: cls.errors(m, kind) > before and m.value("kepler_kube_up", mode="kubelet") == 0)

    @classmethod
    def wait_until_synced(cls, after_wall_s=0.0):
        return cls.wait_for("a pod list sync",
                            lambda m: m.value("kepler_kube_up", mode="kubelet") == 1
                            and m.value("kepler_kube_last_sync_timestamp_seconds", mode="kubelet") > after_wall_s)

    @classmethod
    def wait_for_pod_series(cls):
        def every_pod_has_energy(metrics):
            return all(any(s.value > 0 for s in metrics.series("kepler_pod_cpu_joules_total", pod_id=c.pod_uid,
                                                                 state="running"))
                       for c in cls.containers)
        return cls.wait_for("pod series with energy", every_pod_has_energy)

    def check_last_pod_list_kept(self, metrics):
        for container in self.containers:
            self.assertTrue(metrics.series("kepler_pod_cpu_joules_total", pod_id=container.pod_uid,
                                           pod_name=container.pod_name, state="running"),
                            f"pod {container.pod_name} no longer exported during the fault")

    def run_fault(self, fault, kind):
        """Switches `fault` on until the daemon reports a `kind` error, checks it kept serving
        the last pod list and logged the fault once, then clears it and waits for a sync."""
        self.kubelet.set_fault(fault)
        try:
            metrics = self.wait_for_error(kind)
            self.check_last_pod_list_kept(metrics)
            started = time.monotonic()
            self.bed.daemon.scrape()
            log(f"{fault}: {kind} reported; a scrape during the fault took {time.monotonic() - started:.3f} s")
        finally:
            self.kubelet.set_fault("ok")
        self.wait_until_synced(after_wall_s=time.time())
        self.assertEqual(self.count_log_lines(kind), 1, f"the {fault} fault is logged once")
        self.assertIn("synced again", self.bed.daemon.log_text())

    def count_log_lines(self, kind):
        """Warnings of the pod source that name this error kind."""
        return sum(1 for line in self.bed.daemon.log_text().splitlines()
                   if "pod source kubelet" in line and f"({kind})" in line)

    # ----------------------------------------------------------------- tests

    def test_kubelet_down_at_start_is_reported_and_recovered(self):
        self.assertEqual(self.down_at_start.value("kepler_kube_up", mode="kubelet"), 0)
        self.assertTrue(self.down_at_start.series("kepler_node_cpu_joules_total"), "node metrics served meanwhile")
        self.assertIn("pod source kubelet", self.down_at_start_log)
        self.assertEqual(self.bed.daemon.scrape().value("kepler_kube_up", mode="kubelet"), 1)

    def test_pods_carry_their_names_and_containers_their_spec_names(self):
        metrics = self.wait_for_pod_series()
        for c in self.containers:
            pods = metrics.series("kepler_pod_cpu_joules_total", pod_id=c.pod_uid, state="running")
            self.assertTrue(pods)
            for sample in pods:
                self.assertEqual(sample.labels["pod_name"], c.pod_name)
                self.assertEqual(sample.labels["pod_namespace"], c.pod_namespace)
                self.assertEqual(sample.labels["node_name"], NODE_NAME)
            containers = metrics.series("kepler_container_cpu_joules_total", container_id=c.container_id,
                                        state="running")
            self.assertTrue(containers, f"container {c.name} not exported")
            for sample in containers:
                self.assertEqual(sample.labels["container_name"], c.name)
                self.assertEqual(sample.labels["pod_id"], c.pod_uid)
        with open(FIXTURE) as f:
            self.assertEqual(metrics.value("kepler_kube_pods", mode="kubelet"), len(json.load(f)["items"]))

    def test_a_pod_is_the_sum_of_its_containers(self):
        metrics = self.wait_for_pod_series()
        zones = {s.labels["zone"] for s in metrics.series("kepler_node_cpu_joules_total")}
        for pod_uid in {c.pod_uid for c in self.containers}:
            ids = [c.container_id for c in self.containers if c.pod_uid == pod_uid]
            for zone in zones:
                pod = microjoules(metrics.value("kepler_pod_cpu_joules_total", pod_id=pod_uid, zone=zone,
                                                state="running"))
                parts = sum(microjoules(metrics.value("kepler_container_cpu_joules_total", container_id=cid,
                                                      zone=zone, state="running")) for cid in ids)
                self.assertEqual(pod, parts, f"pod {pod_uid} zone {zone}")
                self.assertGreater(pod, 0)

    def test_http_500(self):
        self.run_fault("500", "http_status")

    def test_stall_past_the_request_timeout(self):
        self.run_fault("stall 10", "timeout")

    def test_truncated_json(self):
        self.run_fault("truncate", "parse")

    def test_huge_body_is_refused_with_bounded_memory(self):
        self.run_fault(f"huge {HUGE_BODY_BYTES}", "body_too_large")
        with open(f"/proc/{self.bed.daemon.process.pid}/status") as f:
            peak = next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmHWM:"))
        log(f"daemon peak RSS {peak / 2**20:.1f} MiB after a {HUGE_BODY_BYTES / 1e6:.0f} MB body")
        if not h.sanitizer():   # under a sanitizer the budget does not apply
            self.assertLess(peak, MAX_DAEMON_RSS_BYTES)

    def test_missing_token_file(self):
        os.rename(self.token_file, self.token_file + ".away")
        try:
            self.check_last_pod_list_kept(self.wait_for_error("token_file"))
        finally:
            os.rename(self.token_file + ".away", self.token_file)
        self.wait_until_synced(after_wall_s=time.time())
        self.assertEqual(self.count_log_lines("token_file"), 1)

    def test_rotated_token_is_read_again(self):
        auth_errors = self.errors(self.bed.daemon.scrape(), "auth")
        rotated_at = time.time()
        write_atomically(self.kubelet.token_file, "token-2\n")
        write_atomically(self.token_file, "token-2\n")
        metrics = self.wait_until_synced(after_wall_s=rotated_at + 0.1)
        self.assertEqual(self.errors(metrics, "auth"), auth_errors, "the rotated token was not used")
        # The old token no longer works: the kubelet now refuses it.
        write_atomically(self.token_file, "token-1\n")
        try:
            self.wait_for_error("auth")
        finally:
            write_atomically(self.token_file, "token-2\n")
        self.wait_until_synced(after_wall_s=time.time())

    def test_certificate_from_another_ca(self):
        self.kubelet.stop()
        self.kubelet.start(cert="kubelet-other")
        try:
            self.check_last_pod_list_kept(self.wait_for_error("tls"))
        finally:
            self.kubelet.stop()
            self.kubelet.start()
        self.wait_until_synced(after_wall_s=time.time())
        self.assertEqual(self.count_log_lines("tls"), 1)


if __name__ == "__main__":
    unittest.main()
