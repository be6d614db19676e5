"""The chart's kepler pod, run from the real image with podman (deploy/image/podman.sh) the way
the kubelet would run it: the image, command and arguments of the rendered DaemonSet ($(VAR)
filled from its env, the downward API's fields given here), the security context as podman flags,
hostPID, the resource limits, every volume mount (host paths, the ConfigMap's config.yaml, the
Secrets' files with their mode, the service account's token), and the grace period on stop.

Every field of the pod spec that the container's behaviour depends on is translated; one this
module does not know fails the test rather than being left out. The one difference from a pod:
the host's network (this machine has no container network), so the chart is rendered with a free
listen port, and requests go to 127.0.0.1.
"""

import base64
import http.client
import json
import os
import re
import ssl
import subprocess
import time

import deploy_tools as d
from profile_daemon import PinnedHTTPSConnection
from plumbing import free_port, log

PODMAN = os.path.join(d.DEPLOY, "image", "podman.sh")
PODMAN_SECCOMP = "/usr/share/containers/seccomp.json"      # podman's default profile (containers-common)
NODE_NAME = "worker-7"
NODE_IP = "127.0.0.1"                 # status.hostIP: the kubelet there is not running
SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
PODMAN_TIMEOUT_S = 120
CAPABILITY_BITS = {"DAC_READ_SEARCH": 2, "SYS_PTRACE": 19, "SYS_ADMIN": 21, "PERFMON": 38, "BPF": 39}


def podman(*arguments, check=True, stdin_text=None, timeout=PODMAN_TIMEOUT_S):
    """podman as this machine runs it; returns the CompletedProcess (raises on failure if `check`)."""
    done = subprocess.run([PODMAN, *arguments], input=stdin_text, capture_output=True, text=True,
                          timeout=timeout)
    if check and done.returncode != 0:
        raise AssertionError(f"podman {' '.join(arguments)} exited with {done.returncode}:\n"
                             f"{done.stdout}{done.stderr}")
    return done


def image_labels(image):
    return json.loads(podman("image", "inspect", "--format", "{{json .Labels}}", image).stdout) or {}


def image_size(image):
    return int(podman("image", "inspect", "--format", "{{.Size}}", image).stdout)


def _quantity_bytes(quantity):
    units = {"Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30, "k": 10**3, "M": 10**6, "G": 10**9}
    number, unit = re.fullmatch(r"(\d+)([A-Za-z]*)", quantity).groups()
    return int(number) * units.get(unit, 1)


def _cpus(quantity):
    return int(quantity[:-1]) / 1000 if quantity.endswith("m") else float(quantity)


class ImagePod:
    """`profile`'s pod as a podman container in `workdir`. `start()` returns once the startup
    probe (else the readiness probe) passes, as the kubelet would mark the pod ready."""

    def __init__(self, profile, workdir, podman_seccomp=False):
        """`podman_seccomp`: podman's own default seccomp profile for RuntimeDefault, unchanged
        (see runtime_default_seccomp)."""
        self.profile = profile
        self.workdir = workdir
        self.podman_seccomp = podman_seccomp
        self.port = free_port()
        self.objects, _ = d.rendered(profile, sets=(f"config.web.listenAddresses={{:{self.port}}}",))
        self.daemonset = d.find(self.objects, "DaemonSet", d.RELEASE)
        self.pod = self.daemonset["spec"]["template"]["spec"]
        self.container = d.daemon_container(self.objects)
        self.config = d.daemon_config(self.objects)
        self.config_text = d.find(self.objects, "ConfigMap", d.RELEASE)["data"]["config.yaml"]
        self.name = f"kepler-image-test-{profile}-{os.getpid()}"
        self.env = self._container_env()
        self.ca_file = self.server_name = None
        self.started_at = None
        self.ready_after_s = None

    # ------------------------------------------------------------------ the podman command

    def run_arguments(self):
        """`podman run` arguments for the rendered pod."""
        arguments = ["--detach", "--name", self.name, "--network=host"]
        arguments += self._pod_arguments() + self._security_arguments() + self._resource_arguments()
        arguments += self._env_arguments() + self._volume_arguments()
        command = self.container["command"]
        arguments += ["--entrypoint", json.dumps(command), self.container["image"]]
        return arguments + [re.sub(r"\$\((\w+)\)", lambda m: self.env[m.group(1)], a)
                            for a in self.container.get("args", [])]

    def _pod_arguments(self):
        known = {"serviceAccountName", "hostPID", "terminationGracePeriodSeconds", "securityContext",
                 "tolerations", "nodeSelector", "affinity", "priorityClassName", "containers", "volumes",
                 "imagePullSecrets"}
        unknown = set(self.pod) - known
        if unknown:
            raise AssertionError(f"the pod spec has fields this test cannot run: {sorted(unknown)}")
        pod_security = dict(self.pod.get("securityContext", {}))
        seccomp = pod_security.pop("seccompProfile", None)
        if pod_security or seccomp not in (None, {"type": "RuntimeDefault"}):
            raise AssertionError(f"pod securityContext this test cannot run: {self.pod['securityContext']}")
        arguments = ["--stop-timeout", str(self.grace_period_s())]
        if seccomp is None:           # the kubelet's default: no profile
            arguments += ["--security-opt", "seccomp=unconfined"]
        elif not self.podman_seccomp:
            arguments += ["--security-opt", f"seccomp={self.runtime_default_seccomp()}"]
        if self.pod.get("hostPID"):
            arguments.append("--pid=host")
        return arguments

    def runtime_default_seccomp(self):
        """RuntimeDefault as containerd (and Docker) define it: podman's default profile, but
        bpf() allowed with CAP_BPF and perf_event_open() with CAP_PERFMON, as containerd's
        profile allows them; Debian 12's podman profile allows them only with CAP_SYS_ADMIN."""
        with open(PODMAN_SECCOMP) as source:
            profile = json.load(source)
        gated = {"bpf": "CAP_BPF", "perf_event_open": "CAP_PERFMON"}
        rules = []
        for rule in profile["syscalls"]:
            if rule["action"] == "SCMP_ACT_ERRNO" and set(gated) & set(rule["names"]):
                # "refused unless CAP_SYS_ADMIN" becomes "refused unless CAP_SYS_ADMIN or the
                # syscall's own capability"; excludes skips a rule when any cap listed is held.
                for name in set(gated) & set(rule["names"]):
                    caps = rule.get("excludes", {}).get("caps", []) + [gated[name]]
                    rules.append(dict(rule, names=[name], excludes=dict(rule.get("excludes", {}), caps=caps)))
                rule = dict(rule, names=[n for n in rule["names"] if n not in gated])
            rules.append(rule)
        rules += [{"names": [name], "action": "SCMP_ACT_ALLOW", "includes": {"caps": [capability]}}
                  for name, capability in gated.items()]
        profile["syscalls"] = rules
        path = os.path.join(self.workdir, "runtime-default-seccomp.json")
        with open(path, "w") as out:
            json.dump(profile, out)
        return path

    def _security_arguments(self):
        context = dict(self.container.get("securityContext", {}))
        arguments = []
        if context.pop("privileged", False):
            arguments.append("--privileged")
        if "runAsUser" in context:
            arguments += ["--user", str(context.pop("runAsUser"))]
        context.pop("runAsNonRoot", None)       # a check on the image's user: USER 0 here
        if context.pop("allowPrivilegeEscalation", True) is False:
            arguments += ["--security-opt", "no-new-privileges"]
        if context.pop("readOnlyRootFilesystem", False):
            # Kubernetes adds no writable /tmp or /run, as podman would.
            arguments += ["--read-only", "--read-only-tmpfs=false"]
        capabilities = dict(context.pop("capabilities", {}))
        for name in capabilities.pop("drop", []):
            arguments += ["--cap-drop", name]
        for name in capabilities.pop("add", []):
            arguments += ["--cap-add", name]
        if context or capabilities:
            raise AssertionError(f"securityContext fields this test cannot run: {context or capabilities}")
        return arguments

    def _resource_arguments(self):
        limits = self.container.get("resources", {}).get("limits", {})
        arguments = []
        if "memory" in limits:
            arguments += ["--memory", str(_quantity_bytes(limits["memory"]))]
        if "cpu" in limits:
            arguments += ["--cpus", str(_cpus(limits["cpu"]))]
        return arguments

    def _container_env(self):
        """The container's environment as the kubelet fills it: the downward API's fields here."""
        fields = {"spec.nodeName": NODE_NAME, "status.hostIP": NODE_IP}
        env = {}
        for variable in self.container.get("env", []):
            if "value" in variable:
                env[variable["name"]] = variable["value"]
            else:
                env[variable["name"]] = fields[variable["valueFrom"]["fieldRef"]["fieldPath"]]
        return env

    def _env_arguments(self):
        return [argument for name, value in self.env.items() for argument in ("--env", f"{name}={value}")]

    def _volume_arguments(self):
        volumes = {v["name"]: v for v in self.pod.get("volumes", [])}
        arguments = []
        for mount in self.container.get("volumeMounts", []):
            volume = volumes[mount["name"]]
            if "hostPath" in volume:
                source = volume["hostPath"]["path"]
            elif "configMap" in volume:
                source = self._write_object_files(mount, volume["configMap"]["name"], "ConfigMap",
                                                  volume["configMap"].get("defaultMode", 0o644))
            elif "secret" in volume:
                source = self._write_object_files(mount, volume["secret"]["secretName"], "Secret",
                                                  volume["secret"].get("defaultMode", 0o644))
            else:
                raise AssertionError(f"volume kind this test cannot mount: {volume}")
            if "subPath" in mount:
                source = os.path.join(source, mount["subPath"])
            options = "ro" if mount.get("readOnly") else "rw"
            arguments += ["--volume", f"{source}:{mount['mountPath']}:{options}"]
        if self.pod.get("automountServiceAccountToken", True):
            arguments += ["--volume", f"{self._service_account_files()}:{SERVICE_ACCOUNT_DIR}:ro"]
        return arguments

    def _write_object_files(self, mount, object_name, kind, mode):
        """A ConfigMap's or Secret's keys as files in a directory of their own, as the kubelet
        writes them."""
        source = d.find(self.objects, kind, object_name)
        files = {k: base64.b64decode(v) for k, v in source.get("data", {}).items()} if kind == "Secret" \
            else {k: v.encode() for k, v in source.get("data", {}).items()}
        files.update({k: v.encode() for k, v in source.get("stringData", {}).items()})
        directory = os.path.join(self.workdir, "volumes", mount["name"])
        os.makedirs(directory, exist_ok=True)
        for key, content in files.items():
            path = os.path.join(directory, key)
            with open(path, "wb") as out:
                out.write(content)
            os.chmod(path, mode)
        return directory

    def _service_account_files(self):
        """The projected service account volume: a token, the cluster CA, the namespace."""
        directory = os.path.join(self.workdir, "volumes", "serviceaccount")
        os.makedirs(directory, exist_ok=True)
        for name, text in (("token", "image-test-token\n"), ("ca.crt", ""), ("namespace", d.NAMESPACE)):
            with open(os.path.join(directory, name), "w") as out:
                out.write(text)
        return directory

    # ------------------------------------------------------------------ running it

    def grace_period_s(self):
        return int(self.pod.get("terminationGracePeriodSeconds", 30))

    def tls(self):
        return bool(self.config.get("web", {}).get("configFile"))

    def start(self):
        arguments = self.run_arguments()
        if self.tls():
            self.ca_file = self._scrape_ca_file()
        log(f"podman run {' '.join(arguments)}")
        self.started_at = time.monotonic()
        podman("run", *arguments)
        probe = self.container.get("startupProbe") or self.container["readinessProbe"]
        budget_s = probe.get("periodSeconds", 10) * probe.get("failureThreshold", 3) + probe.get("initialDelaySeconds", 0)
        deadline = self.started_at + budget_s
        while time.monotonic() < deadline:
            if not self.running():
                raise AssertionError(f"the container exited with {self.exit_code()}\n{self.logs()}")
            try:
                if self.probe(probe) == 200:
                    self.ready_after_s = time.monotonic() - self.started_at
                    log(f"{self.profile}: ready {self.ready_after_s:.2f} s after podman run")
                    return self
            except (OSError, http.client.HTTPException):
                pass
            time.sleep(0.05)
        raise AssertionError(f"{self.profile}: not ready within the probe's {budget_s} s\n{self.logs()}")

    def _scrape_ca_file(self):
        """What the ServiceMonitor's tlsConfig gives Prometheus: the CA from its Secret."""
        tls_config = d.find(self.objects, "ServiceMonitor")["spec"]["endpoints"][0]["tlsConfig"]
        self.server_name = tls_config["serverName"]
        ca = tls_config["ca"]["secret"]
        secret = d.find(self.objects, "Secret", ca["name"])
        path = os.path.join(self.workdir, "scrape-ca.crt")
        with open(path, "wb") as out:
            out.write(base64.b64decode(secret["data"][ca["key"]]))
        return path

    def probe(self, probe):
        """A kubelet probe's httpGet: its path and scheme, the port it names."""
        http_get = probe["httpGet"]
        return self.get(http_get["path"], scheme=http_get.get("scheme", "HTTP"))[0]

    def get(self, path, scheme=None, context=None):
        """(status, body) of GET `path`: over HTTPS verified as Prometheus does when TLS is on
        (the ServiceMonitor's CA and server name), or with `context`."""
        scheme = scheme or ("HTTPS" if self.tls() else "HTTP")
        if scheme == "HTTPS":
            connection = PinnedHTTPSConnection(self.port, self.server_name,
                                               context or ssl.create_default_context(cafile=self.ca_file))
        else:
            connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            return response.status, response.read().decode()
        finally:
            connection.close()

    def exec(self, *command, stdin_text=None):
        """`kubectl exec` into the pod: (exit code, stdout + stderr)."""
        done = podman("exec", *(["--interactive"] if stdin_text is not None else []), self.name, *command,
                      check=False, stdin_text=stdin_text)
        return done.returncode, done.stdout + done.stderr

    def pid(self):
        """The daemon's process id on this host."""
        return int(self._state("{{.State.Pid}}"))

    def running(self):
        return self._state("{{.State.Running}}") == "true"

    def exit_code(self):
        return int(self._state("{{.State.ExitCode}}"))

    def _state(self, template):
        return podman("inspect", "--format", template, self.name).stdout.strip()

    def logs(self):
        done = podman("logs", self.name, check=False)
        return done.stdout + done.stderr

    def stop(self):
        """What the kubelet does on delete: SIGTERM, SIGKILL after the grace period. Returns
        (exit code, seconds it took)."""
        began = time.monotonic()
        podman("stop", "--time", str(self.grace_period_s()), self.name,
               timeout=self.grace_period_s() + PODMAN_TIMEOUT_S)
        took = time.monotonic() - began
        log(f"{self.profile}: stopped in {took:.2f} s")
        return self.exit_code(), took

    def remove(self):
        podman("rm", "--force", "--ignore", self.name, check=False)
