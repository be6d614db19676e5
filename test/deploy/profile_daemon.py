"""The real daemon run as a rendered profile configures it, with paths moved to test directories.

simple: the ConfigMap's config.yaml with host paths in the test's directory and a free loopback
port, run by the integration harness (test/integration).

production: the container's command line from the DaemonSet ($(NODE_NAME) and $(NODE_IP) filled
as the kubelet does), the ConfigMap's config.yaml, and the web config and TLS files of the
rendered Secrets; a driven powercap tree (with a psys zone the profile leaves out) as the host's
sysfs. It is reached over HTTPS the way Prometheus does with the ServiceMonitor's tlsConfig.
"""

import base64
import http.client
import json
import os
import re
import socket
import ssl
import subprocess
import sys
import time

import deploy_tools as d

sys.path.insert(0, os.path.join(d.REPO, "test", "integration"))

import kepler_harness as h  # noqa: E402  (after the path above)
from plumbing import free_port  # noqa: E402
from powercap_tree import PowercapDriver, PowercapZone, default_zones  # noqa: E402

STARTUP_TIMEOUT_S = 10.0
NODE_NAME = "worker-7"
PSYS = PowercapZone("intel-rapl:1", "psys", "psys", 70.0, 262_143_328_850, 1_000_000)


def rendered_config(profile):
    objects, _ = d.rendered(profile)
    return d.daemon_config(objects)


def start_profile_daemon(bed, profile, procfs="/proc"):
    """Starts kepler in `bed` (a kepler_harness.TestBed) with `profile`'s config; returns the
    Daemon once /readyz is 200 and node energy is on /metrics. The config is written as JSON,
    which is YAML too, so the daemon reads exactly the data the ConfigMap holds."""
    config = rendered_config(profile)
    config["host"]["sysfs"] = bed.sysfs_without_powercap()
    config["host"]["procfs"] = procfs
    port = free_port()
    config["web"]["listenAddresses"] = [f"127.0.0.1:{port}"]
    path = os.path.join(bed.workdir, "config.yaml")
    with open(path, "w") as out:
        json.dump(config, out, indent=2)
    daemon = h.Daemon(path, port, os.path.join(bed.workdir, "kepler.log"))
    bed.daemon = daemon
    bed.on_close(daemon.kill)
    return daemon.start()


class PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to 127.0.0.1 that verifies the certificate for `server_name`, as Prometheus does
    with tlsConfig.serverName while scraping the pod's IP."""

    def __init__(self, port, server_name, context):
        super().__init__(server_name, port, context=context, timeout=5)

    def connect(self):
        raw = socket.create_connection(("127.0.0.1", self.port), self.timeout)
        self.sock = self._context.wrap_socket(raw, server_hostname=self.host)


class ProductionDaemon:
    """The production profile's daemon in `bed`; `start()` returns once /readyz answers 200
    over verified HTTPS and /metrics carries node energy."""

    def __init__(self, bed):
        self.bed = bed
        self.objects, _ = d.rendered("production")
        self.container = d.daemon_container(self.objects)
        self.tls_config = d.find(self.objects, "ServiceMonitor")["spec"]["endpoints"][0]["tlsConfig"]
        self.port = free_port()
        self.log_path = os.path.join(bed.workdir, "kepler.log")
        self.process = None

    def start(self):
        driver = PowercapDriver(os.path.join(self.bed.workdir, "sys"), default_zones() + [PSYS]).start()
        self.bed.on_close(driver.stop)
        self.ca_file, web_config = self._write_tls_files()
        config = d.daemon_config(self.objects)
        config["host"] = {"sysfs": driver.sysfs_root, "procfs": "/proc"}
        config["web"]["listenAddresses"] = [f"127.0.0.1:{self.port}"]
        config["web"]["configFile"] = web_config
        kubelet = config["kube"].get("kubelet", {})
        for key in ("tokenFile", "caFile"):     # the service account's files
            if key in kubelet:
                kubelet[key] = self._write(os.path.basename(kubelet[key]), "test\n")
        self._spawn(self._write("config.yaml", json.dumps(config, indent=2)))
        self._wait_until_ready()
        return self

    def _write(self, name, text):
        path = os.path.join(self.bed.workdir, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as out:
            out.write(text)
        return path

    def _write_tls_files(self):
        """Every Secret the container mounts, as files under the test directory; returns the
        CA file and the web config rewritten to point at the moved certificate and key."""
        volumes = {v["name"]: v for v in d.find(self.objects, "DaemonSet")["spec"]["template"]["spec"]["volumes"]}
        secrets = {m["mountPath"]: volumes[m["name"]]["secret"]["secretName"]
                   for m in self.container["volumeMounts"] if "secret" in volumes[m["name"]]}
        moved = {}
        for mount_path, secret_name in secrets.items():
            secret = d.find(self.objects, "Secret", secret_name)
            files = {k: base64.b64decode(v).decode() for k, v in secret.get("data", {}).items()}
            files.update(secret.get("stringData", {}))
            for name, text in files.items():
                moved[f"{mount_path}/{name}"] = self._write(os.path.join(os.path.basename(mount_path), name), text)
        config_file = d.daemon_config(self.objects)["web"]["configFile"]
        web_config = d.parse_yaml(d.read_text(moved[config_file]))
        tls = web_config["tls_server_config"]
        for key in ("cert_file", "key_file"):
            tls[key] = moved[tls[key]]
        ca_secret = self.tls_config["ca"]["secret"]
        ca_mount = next(path for path, name in secrets.items() if name == ca_secret["name"])
        return moved[f"{ca_mount}/{ca_secret['key']}"], self._write("web/web-config.yml", json.dumps(web_config))

    def _spawn(self, config_path):
        """The container's command and args, $(VAR) filled from its env as the kubelet does."""
        env = {"NODE_NAME": NODE_NAME, "NODE_IP": "127.0.0.1"}
        missing = set(env) - {e["name"] for e in self.container["env"]}
        if missing:
            raise AssertionError(f"the container's env lacks {missing}")
        args = [re.sub(r"\$\((\w+)\)", lambda m: env[m.group(1)], a) for a in self.container["args"]]
        args = [f"--config.file={config_path}" if a.startswith("--config.file=") else a for a in args]
        log_file = open(self.log_path, "wb")
        self.bed.on_close(log_file.close)
        self.process = subprocess.Popen([h.kepler_binary(), *args], stdout=log_file, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL, env=dict(os.environ, **env))
        self.bed.on_close(self.kill)

    def _wait_until_ready(self):
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"kepler exited with {self.process.returncode}\n{self.log_text()}")
            try:
                if self.get("/readyz")[0] == 200 and "kepler_node_cpu_joules_total{" in self.get("/metrics")[1]:
                    return
            except (OSError, http.client.HTTPException):
                pass
            time.sleep(0.05)
        raise AssertionError(f"kepler not ready over HTTPS within {STARTUP_TIMEOUT_S} s\n{self.log_text()}")

    def scrape_context(self):
        """What the ServiceMonitor's tlsConfig gives Prometheus: the Secret's ca.crt."""
        return ssl.create_default_context(cafile=self.ca_file)

    def get(self, path, context=None, server_name=None):
        connection = PinnedHTTPSConnection(self.port, server_name or self.tls_config["serverName"],
                                           context or self.scrape_context())
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            return response.status, response.read().decode()
        finally:
            connection.close()

    def log_text(self):
        return d.read_text(self.log_path)

    def stop(self):
        """SIGTERM; raises unless the daemon exits 0 within 10 s."""
        self.process.terminate()
        code = self.process.wait(timeout=10)
        if code != 0:
            raise AssertionError(f"kepler exited with {code} after SIGTERM\n{self.log_text()}")

    def kill(self):
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
