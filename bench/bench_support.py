"""Shared by bench/churn_soak.py and bench/scale_bench.py: the waker processes (bench/waker.c),
kubepods-style cgroups on the cgroup v2 hierarchy, a fake kubelet serving a pod list that the
bench rewrites, the daemon, and a fast reading of /metrics.

Needs root (cgroups) and the build's fake_kubelet. Standard library only.
"""

import gzip
import os
import random
import signal
import socket
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "integration"))
import cgroups  # noqa: E402  (the tests' cgroup helpers: mounts and paths)

HERE = os.path.dirname(os.path.abspath(__file__))


def log(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def write_atomically(path, text):
    with open(path + ".tmp", "w") as out:
        out.write(text)
    os.replace(path + ".tmp", path)


# --------------------------------------------------------------------------- wakers

class Spawner:
    """bench/waker.c compiled into `workdir`, in spawn mode: each `start` forks wakers."""

    def __init__(self, workdir):
        binary = os.path.join(workdir, "waker")
        subprocess.run(["cc", "-O2", "-o", binary, os.path.join(HERE, "waker.c")], check=True)
        self.process = subprocess.Popen([binary, "spawn"], stdin=subprocess.PIPE, text=True)

    def start(self, count, lifetime_s=0, burn_us=5, cgroup=None):
        procs = os.path.join(cgroup, "cgroup.procs") if cgroup else "-"
        self.process.stdin.write(f"{count} {lifetime_s} {burn_us} {procs}\n")
        self.process.stdin.flush()

    def close(self):
        """Stops spawning; wakers already started live on (their cgroups' removal kills them)."""
        self.process.stdin.close()
        self.process.wait(timeout=10)


# --------------------------------------------------------------------------- containers and pods

def random_hex(digits):
    return "".join(random.choice("0123456789abcdef") for _ in range(digits))


def random_uid():
    h = random_hex(32)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


class Container:
    """One container's cgroup on the v2 hierarchy, in kubelet's systemd layout (so its pod UID is
    in the path), created at construction."""

    def __init__(self, pod, name):
        self.pod = pod
        self.name = name
        self.id = random_hex(64)
        root = cgroups.cgroup_v2_mount().path
        self.path = os.path.join(root, cgroups.kubepods_v2_path("burstable", pod.uid, self.id))
        os.makedirs(self.path)

    def usage_seconds(self):
        """CPU time the kernel accounts to the cgroup (`usage_usec` of cpu.stat)."""
        with open(os.path.join(self.path, "cpu.stat")) as stat:
            for line in stat:
                key, value = line.split()
                if key == "usage_usec":
                    return int(value) / 1e6
        raise RuntimeError(f"no usage_usec in {self.path}/cpu.stat")

    def remove(self):
        """Kills what is left inside and removes the cgroup, retrying while exiting tasks
        still count (EBUSY)."""
        procs = os.path.join(self.path, "cgroup.procs")
        deadline = time.monotonic() + 10
        while True:
            try:
                with open(procs) as f:
                    pids = [int(line) for line in f if line.strip()]
            except FileNotFoundError:
                return
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            try:
                os.rmdir(self.path)
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.02)


class Pod:
    def __init__(self, index, containers):
        self.uid = random_uid()
        self.name = f"bench-pod-{index}"
        self.namespace = f"bench-ns-{index % 7}"
        self.containers = [Container(self, f"c{i}") for i in range(containers)]

    @property
    def slice_path(self):
        return os.path.dirname(self.containers[0].path)

    def remove(self):
        for container in self.containers:
            container.remove()
        try:
            os.rmdir(self.slice_path)
        except OSError:
            pass

    def json(self):
        statuses = ",".join(
            f'{{"name":"{c.name}","containerID":"containerd://{c.id}","state":{{"running":{{}}}}}}'
            for c in self.containers)
        return (f'{{"metadata":{{"name":"{self.name}","namespace":"{self.namespace}","uid":"{self.uid}"}},'
                f'"status":{{"containerStatuses":[{statuses}]}}}}')


def pod_list_json(pods):
    return '{"kind":"PodList","apiVersion":"v1","items":[' + ",".join(p.json() for p in pods) + "]}"


def remove_kubepods_slices():
    """The bench's parent slices, once every pod is gone."""
    root = os.path.join(cgroups.cgroup_v2_mount().path, "kubepods.slice")
    for directory in (os.path.join(root, "kubepods-burstable.slice"), root):
        try:
            os.rmdir(directory)
        except OSError:
            pass


class FakeKubelet:
    """build/test/fake_kubelet over plain HTTP, serving `pods_file` (read on every request)."""

    def __init__(self, binary, workdir):
        self.pods_file = os.path.join(workdir, "pods.json")
        write_atomically(self.pods_file, pod_list_json([]))
        self.port = free_port()
        self.log = open(os.path.join(workdir, "fake_kubelet.log"), "wb")
        self.process = subprocess.Popen([binary, "--plain", "--pods", self.pods_file, "--port", str(self.port)],
                                        stdout=self.log, stderr=subprocess.DEVNULL)
        time.sleep(0.3)

    def serve(self, pods):
        write_atomically(self.pods_file, pod_list_json(pods))

    @property
    def endpoint(self):
        return f"http://127.0.0.1:{self.port}"

    def close(self):
        self.process.terminate()
        self.process.wait(timeout=5)
        self.log.close()


def kube_yaml(kubelet, workdir, poll_interval):
    token = os.path.join(workdir, "token")
    write_atomically(token, "bench-token\n")
    return ("kube:\n  enabled: true\n  nodeName: bench-node\n  podInformer:\n    mode: kubelet\n"
            f"    pollInterval: {poll_interval}\n  kubelet:\n    endpoint: {kubelet.endpoint}\n"
            f"    tokenFile: {token}\n")


# --------------------------------------------------------------------------- the daemon

class Daemon:
    def __init__(self, binary, workdir, config_text, name="kepler"):
        self.port = free_port()
        self.config = os.path.join(workdir, f"{name}.yaml")
        write_atomically(self.config, config_text + f'web:\n  listenAddresses:\n    - "127.0.0.1:{self.port}"\n')
        self.log = open(os.path.join(workdir, f"{name}.log"), "wb")
        self.started = time.monotonic()
        self.process = subprocess.Popen([binary, f"--config.file={self.config}"], stdout=self.log,
                                        stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self.first_metrics_s = None

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}/metrics"

    def wait_for_first_metrics(self, timeout=30):
        """Seconds from spawn to the first /metrics answered 200."""
        while time.monotonic() - self.started < timeout:
            if self.process.poll() is not None:
                raise RuntimeError(f"kepler exited with {self.process.returncode}")
            try:
                scrape(self.url, timeout=1)
                self.first_metrics_s = time.monotonic() - self.started
                return self.first_metrics_s
            except OSError:
                time.sleep(0.005)
        raise RuntimeError("no /metrics within the timeout")

    def rss_mib(self):
        return proc_status(self.process.pid, "VmRSS") / 1024

    def threads(self):
        return proc_status(self.process.pid, "Threads")

    def open_fds(self):
        return len(os.listdir(f"/proc/{self.process.pid}/fd"))

    def cpu_seconds(self):
        with open(f"/proc/{self.process.pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


def proc_status(pid, key):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise KeyError(key)


# --------------------------------------------------------------------------- /metrics

_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def scrape_bytes(url, gzipped=False, timeout=5):
    """(the body as sent, whether it is gzipped): what a scrape costs the server and the wire,
    without the client's decompressing and decoding."""
    request = urllib.request.Request(url, headers={"Accept-Encoding": "gzip"} if gzipped else {})
    with _OPENER.open(request, timeout=timeout) as response:
        return response.read(), response.headers.get("Content-Encoding") == "gzip"


def scrape(url, gzipped=False, timeout=5):
    """The document's text."""
    body, compressed = scrape_bytes(url, gzipped, timeout)
    return (gzip.decompress(body) if compressed else body).decode()


def samples(text):
    """{series (name and labels, as written): value}. The daemon writes each series once, with
    its labels in a fixed order, so the written text is a stable key."""
    out = {}
    for line in text.split("\n"):
        if not line or line[0] == "#":
            continue
        series, _, value = line.rpartition(" ")
        out[series] = float(value)
    return out


def is_counter(series):
    name = series.split("{", 1)[0]
    return name.startswith("kepler_") and name.endswith("_total")


def label(series, name):
    """One label's value from a series key (values here never hold quotes)."""
    for opening in ("{", ","):
        start = series.find(f'{opening}{name}="')
        if start >= 0:
            start += len(name) + 3
            return series[start:series.index('"', start)]
    return None
