"""Alert and recording rules and the Grafana dashboard, with the real promtool and the real daemon:
the rules pass `promtool check rules` and their unit tests (kepler_rules_test.yaml); every PromQL
expression of the dashboard parses; every metric a rule or a panel names is one the daemon
exports (run with the simple profile, legacy names on, and with the production profile,
Kubernetes on), one our recording rules make, or Prometheus' own `up`.

Run alone: KEPLER_BINARY=… KEPLER_TEST_TOOLS=… python3 -m unittest -v test_monitoring
"""

import json
import os
import re
import subprocess
import tempfile
import unittest

import deploy_tools as d
import profile_daemon
from profile_daemon import h

from exposition import parse_exposition

PROMTOOL = "/usr/bin/promtool"
RULES_TEST = os.path.join(d.HERE, "kepler_rules_test.yaml")
PROMETHEUS_OWN = {"up"}

# Grafana's variables, replaced by values that keep the expression's shape.
GRAFANA_VARIABLES = {"$__rate_interval": "1m", "$__interval": "1m", "$__range": "1h",
                     "${datasource}": "prometheus", "$zone": "package", "$node": ".*", "$namespace": ".*"}

PROMQL_WORDS = {"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring",
                "group_left", "group_right", "inf", "nan", "atan2"}


def promtool(*arguments, cwd=None):
    done = subprocess.run([PROMTOOL, *arguments], capture_output=True, text=True, cwd=cwd, timeout=60)
    return done.returncode, done.stdout + done.stderr


def metric_names(expression):
    """The metric names a PromQL expression selects: identifiers left after removing strings,
    label matchers, ranges, grouping clauses, function calls and keywords."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`', '""', expression)
    text = re.sub(r"\{[^}]*\}", " ", text)
    text = re.sub(r"\[[^\]]*\]", " ", text)
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    names = set()
    for match in re.finditer(r"(?<![\w.:])([a-zA-Z_:][a-zA-Z0-9_:]*)", text):
        name = match.group(1)
        followed_by_call = re.match(r"\s*\(", text[match.end():])
        if not followed_by_call and name.lower() not in PROMQL_WORDS:
            names.add(name)
    return names


def substitute_grafana_variables(expression):
    for variable, value in GRAFANA_VARIABLES.items():
        expression = expression.replace(variable, value)
    leftover = re.search(r"\$\{?\w+", expression)
    if leftover:
        raise AssertionError(f"unknown dashboard variable {leftover.group(0)} in {expression}")
    return expression


def dashboard_expressions(dashboard):
    """Every panel target's PromQL (rows' nested panels included) and the metric of each
    label_values() variable query, with Grafana's variables substituted."""
    expressions = []

    def panels(items):
        for panel in items:
            yield panel
            yield from panels(panel.get("panels", []))

    for panel in panels(dashboard["panels"]):
        for target in panel.get("targets", []):
            expressions.append((panel["title"], substitute_grafana_variables(target["expr"])))
    for variable in dashboard["templating"]["list"]:
        if variable["type"] != "query":
            continue
        query = variable["query"]["query"] if isinstance(variable["query"], dict) else variable["query"]
        match = re.fullmatch(r"label_values\((.+),\s*(\w+)\)", query)
        if not match:
            raise AssertionError(f"variable {variable['name']}: not a label_values() query: {query}")
        expressions.append((f"variable {variable['name']}", match.group(1)))
    return expressions


def rules():
    return d.parse_yaml(d.read_text(d.RULES))


def rule_expressions():
    return [(rule.get("alert") or rule["record"], rule["expr"])
            for group in rules()["groups"] for rule in group["rules"]]


def recorded_names():
    return {rule["record"] for group in rules()["groups"] for rule in group["rules"] if "record" in rule}


class RulesTest(unittest.TestCase):
    def test_promtool_checks_the_rules(self):
        code, output = promtool("check", "rules", d.RULES)
        self.assertEqual(code, 0, output)
        self.assertIn("SUCCESS", output)

    def test_alerts_fire_on_what_they_describe(self):
        code, output = promtool("test", "rules", os.path.basename(RULES_TEST), cwd=os.path.dirname(RULES_TEST))
        self.assertEqual(code, 0, output)

    def test_the_alerts_the_issue_asks_for_exist(self):
        alerts = {rule["alert"]: rule["expr"] for group in rules()["groups"] for rule in group["rules"]
                  if "alert" in rule}
        self.assertIn("up", metric_names(alerts["KeplerExporterDown"]))
        self.assertIn("kepler_source_up", metric_names(alerts["KeplerSourceDown"]))
        self.assertIn("kepler_actor_restarts_total", metric_names(alerts["KeplerActorRestartsClimbing"]))
        self.assertIn("kepler_energy_conservation_error_joules",
                      metric_names(alerts["KeplerEnergyConservationFailing"]))

    def test_recording_rules_cover_namespaces_nodes_and_the_cluster(self):
        recorded = recorded_names()
        for name in ("node_name_zone:kepler_node_cpu_watts:sum", "zone:kepler_node_cpu_watts:sum",
                     "pod_namespace_zone:kepler_pod_cpu_watts:sum"):
            self.assertIn(name, recorded)


class DashboardParsingTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dashboard = json.loads(d.read_text(d.DASHBOARD))
        cls.expressions = dashboard_expressions(cls.dashboard)

    def test_every_expression_parses(self):
        """promtool parses each expression as the expression of a recording rule."""
        self.assertGreater(len(self.expressions), 20)
        group = {"groups": [{"name": "dashboard", "rules": [
            {"record": f"dashboard:expression_{i}:check", "expr": expression}
            for i, (_, expression) in enumerate(self.expressions)]}]}
        with tempfile.NamedTemporaryFile("w", suffix=".yaml") as rule_file:
            json.dump(group, rule_file)   # JSON is YAML
            rule_file.flush()
            code, output = promtool("check", "rules", rule_file.name)
        self.assertEqual(code, 0, output)

    def test_a_broken_expression_is_caught(self):
        """The check above can fail: promtool refuses what is not PromQL."""
        group = {"groups": [{"name": "bad", "rules": [{"record": "bad:expr", "expr": "sum by (zone (x)"}]}]}
        with tempfile.NamedTemporaryFile("w", suffix=".yaml") as rule_file:
            json.dump(group, rule_file)
            rule_file.flush()
            code, _ = promtool("check", "rules", rule_file.name)
        self.assertNotEqual(code, 0)

    def test_metric_name_extraction(self):
        self.assertEqual(metric_names('sum by (zone) (rate(kepler_node_cpu_joules_total{zone="a b"}[5m])) / 3.6e6'),
                         {"kepler_node_cpu_joules_total"})
        self.assertEqual(metric_names("up == 1 unless on (instance) count by (instance) (x_total)"),
                         {"up", "x_total"})
        self.assertEqual(metric_names("topk(10, a:b:sum{node_name=~\".*\"}) offset 5m"), {"a:b:sum"})

    def test_panels_use_the_datasource_variable(self):
        for panel in self.dashboard["panels"]:
            if panel["type"] != "row":
                self.assertEqual(panel["datasource"]["uid"], "${datasource}", panel["title"])


class MetricNamesTest(unittest.TestCase):
    """Names in rules and panels against what the real daemon exports."""

    @classmethod
    def setUpClass(cls):
        cls.exported = set()
        for scrape in (cls.scrape_simple, cls.scrape_production):
            metrics = scrape()
            cls.exported |= set(metrics.types) | {s.name for s in metrics.samples}
        cls.known = cls.exported | recorded_names() | PROMETHEUS_OWN
        used = {}
        for source, expression in rule_expressions() + dashboard_expressions(json.loads(d.read_text(d.DASHBOARD))):
            for name in metric_names(expression):
                used.setdefault(name, []).append(source)
        cls.used = used

    @staticmethod
    def scrape_simple():
        """Legacy names on, fake meter."""
        with h.TestBed("kepler-deploy-names-") as bed:
            daemon = profile_daemon.start_profile_daemon(bed, "simple")
            metrics = daemon.scrape()
            daemon.stop()
        return metrics

    @staticmethod
    def scrape_production():
        """Kubernetes on (its pod source fails here: no kubelet), RAPL, TLS."""
        with h.TestBed("kepler-deploy-names-") as bed:
            daemon = profile_daemon.ProductionDaemon(bed).start()
            metrics = parse_exposition(daemon.get("/metrics")[1])
            daemon.stop()
        return metrics

    def test_every_name_is_exported_or_recorded(self):
        unknown = {name: sources for name, sources in self.used.items() if name not in self.known}
        self.assertEqual(unknown, {}, f"names the exporter does not export (it does: {sorted(self.exported)})")

    def test_the_check_sees_the_exporters_families(self):
        self.assertIn("kepler_node_cpu_joules_total", self.exported)
        self.assertIn("kepler_container_dram_joules_total", self.exported)
        self.assertIn("kepler_source_up", self.exported)
        self.assertIn("kepler_kube_up", self.exported)
        self.assertIn("kepler_pod_cpu_watts", self.exported)


if __name__ == "__main__":
    unittest.main()
