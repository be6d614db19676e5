"""The deployment artefacts under test and the real tools that read them: helm and kubectl from
the cache that setup_tools.sh fills ($KEPLER_TEST_TOOLS), Node with the Kubernetes schemas
(k8s_objects.js), promtool. Rendering returns plain Python objects (dicts, as JSON gives them).

Standard library only.
"""

import functools
import json
import os
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", ".."))
DEPLOY = os.path.join(REPO, "deploy")
CHART = os.path.join(DEPLOY, "helm", "kepler")
SIMPLE = os.path.join(DEPLOY, "kepler-simple.yaml")
PRODUCTION = os.path.join(DEPLOY, "kepler-production.yaml")
PROFILES = {"default": None, "simple": SIMPLE, "production": PRODUCTION}
RULES = os.path.join(CHART, "files", "kepler-rules.yaml")
DASHBOARD = os.path.join(CHART, "files", "kepler-dashboard.json")

# The guide's names.
RELEASE = "kepler"
NAMESPACE = "kepler-system"
NAME_LABEL = ("app.kubernetes.io/name", "kepler")

TOOL_TIMEOUT_S = 120


class ToolFailed(AssertionError):
    """A tool exited non-zero; carries its output so that a test can look at the message."""

    def __init__(self, command, returncode, output):
        super().__init__(f"{' '.join(command)} exited with {returncode}:\n{output}")
        self.returncode = returncode
        self.output = output


def tools_dir():
    """Where setup_tools.sh installed helm, kubectl and node_modules."""
    directory = os.environ.get("KEPLER_TEST_TOOLS", "")
    if not directory:
        for candidate in ("/var/cache/kepler-test-tools",
                          os.path.join(os.path.expanduser("~"), ".cache", "kepler-test-tools")):
            if os.path.isdir(candidate):
                directory = candidate
                break
    if not directory or not os.access(os.path.join(directory, "bin", "helm"), os.X_OK):
        raise RuntimeError("helm and kubectl are not installed: run test/deploy/setup_tools.sh "
                           "and set KEPLER_TEST_TOOLS to its directory")
    return directory


def helm_binary():
    return os.path.join(tools_dir(), "bin", "helm")


def kubectl_binary():
    return os.path.join(tools_dir(), "bin", "kubectl")


def run(command, stdin_text=None, env=None, cwd=None):
    """Runs `command`; returns stdout, raises ToolFailed (with stdout and stderr) otherwise."""
    done = subprocess.run(command, input=stdin_text, capture_output=True, text=True, env=env,
                          cwd=cwd, timeout=TOOL_TIMEOUT_S)
    if done.returncode != 0:
        raise ToolFailed(command, done.returncode, done.stdout + done.stderr)
    return done.stdout


def _helm_env():
    """helm with its own empty home, so no user repositories or plugins take part."""
    home = os.path.join(tools_dir(), "helm-home")
    env = dict(os.environ)
    env.update(HELM_CACHE_HOME=os.path.join(home, "cache"), HELM_CONFIG_HOME=os.path.join(home, "config"),
               HELM_DATA_HOME=os.path.join(home, "data"))
    return env


def helm(*arguments):
    return run([helm_binary(), *arguments], env=_helm_env())


def values_arguments(profile=None, sets=(), values_files=()):
    arguments = []
    if PROFILES.get(profile):
        arguments += ["-f", PROFILES[profile]]
    for path in values_files:
        arguments += ["-f", path]
    for assignment in sets:
        arguments += ["--set", assignment]
    return arguments


def helm_template_text(profile=None, namespace=NAMESPACE, release=RELEASE, sets=(), values_files=(),
                       extra=()):
    """`helm template` as the guide's `helm install` would render it."""
    return helm("template", release, CHART, "--namespace", namespace,
                *values_arguments(profile, sets, values_files), *extra)


def helm_lint(profile=None, sets=()):
    return helm("lint", "--strict", CHART, *values_arguments(profile, sets))


def kustomize_text(directory):
    return run([kubectl_binary(), "kustomize", directory])


def read_text(path):
    with open(path) as source:
        return source.read()


def parse_objects(yaml_text, validate=False):
    """(objects, problems): the documents of a YAML stream, and with `validate` the schema
    problems k8s_objects.js found (one entry per invalid object)."""
    env = dict(os.environ, NODE_PATH=os.path.join(tools_dir(), "node_modules"))
    command = ["node", os.path.join(HERE, "k8s_objects.js")] + (["--validate"] if validate else [])
    result = json.loads(run(command, stdin_text=yaml_text, env=env))
    return result["objects"], result["problems"]


def parse_yaml(text):
    """One YAML document as Python data (through the same Node YAML parser)."""
    objects, _ = parse_objects(text)
    if len(objects) != 1:
        raise AssertionError(f"expected one YAML document, got {len(objects)}")
    return objects[0]


@functools.lru_cache(maxsize=None)
def _rendered(profile, namespace, sets):
    return parse_objects(helm_template_text(profile, namespace=namespace, sets=sets), validate=True)


def rendered(profile=None, namespace=NAMESPACE, sets=()):
    """The validated objects of a chart rendering (cached: rendering is the slow part)."""
    objects, problems = _rendered(profile, namespace, tuple(sets))
    return objects, problems


def find(objects, kind, name=None):
    """The one object of `kind` (and `name`), or an AssertionError naming what is there."""
    matches = [o for o in objects if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)]
    if len(matches) != 1:
        present = sorted(f"{o['kind']}/{o['metadata']['name']}" for o in objects)
        raise AssertionError(f"expected one {kind} {name or ''}, found {len(matches)} among {present}")
    return matches[0]


def find_all(objects, kind):
    return [o for o in objects if o["kind"] == kind]


def daemon_container(objects):
    daemonset = find(objects, "DaemonSet", RELEASE)
    containers = daemonset["spec"]["template"]["spec"]["containers"]
    return next(c for c in containers if c["name"] == "kepler")


def daemon_config(objects):
    """The daemon's config.yaml from the rendered ConfigMap, as Python data."""
    return parse_yaml(find(objects, "ConfigMap", RELEASE)["data"]["config.yaml"])


def selects(selector, labels):
    """Whether a matchLabels selector selects an object with `labels`."""
    return all(labels.get(key) == value for key, value in selector.items())


def cmake_project_version():
    """VERSION of the top-level CMakeLists.txt's project()."""
    with open(os.path.join(REPO, "CMakeLists.txt")) as cmake:
        for line in cmake:
            if line.startswith("project(kepler") and " VERSION " in line:
                return line.split(" VERSION ")[1].split()[0]
    raise AssertionError("no project(kepler VERSION …) in CMakeLists.txt")
