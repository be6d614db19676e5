"""The Prometheus text format as /metrics serves it: a parser into samples, helpers to compare
exported values, and `promtool check metrics`.
"""

import dataclasses
import math
import re
import subprocess

PROMTOOL = "/usr/bin/promtool"


@dataclasses.dataclass
class Sample:
    name: str
    labels: dict
    value: float

    @property
    def key(self):
        """Identity of the series: name plus all label pairs."""
        return (self.name, tuple(sorted(self.labels.items())))


class Exposition:
    """One parsed scrape: samples in document order, plus # TYPE and # HELP per family."""

    def __init__(self, samples, types, helps):
        self.samples = samples
        self.types = types
        self.helps = helps

    def series(self, name, **labels):
        return [s for s in self.samples
                if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())]

    def one(self, name, **labels):
        found = self.series(name, **labels)
        if len(found) != 1:
            raise AssertionError(f"expected one {name}{labels}, found {len(found)}")
        return found[0]

    def value(self, name, **labels):
        return self.one(name, **labels).value

    def by_key(self):
        return {s.key: s.value for s in self.samples}

    def family_type(self, sample_name):
        """The # TYPE of the family a sample belongs to (histogram/summary suffixes handled)."""
        if sample_name in self.types:
            return self.types[sample_name]
        for suffix in ("_bucket", "_sum", "_count"):
            base = sample_name[: -len(suffix)]
            if sample_name.endswith(suffix) and base in self.types:
                return self.types[base]
        return None


_SAMPLE_LINE = re.compile(
    r"^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?P<labels>.*)\})?"
    r"[ \t]+(?P<value>\S+)(?:[ \t]+(?P<timestamp>-?\d+))?$")
_LABEL_PAIR = re.compile(r'\s*(?P<name>[a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"(?P<value>(?:[^"\\]|\\.)*)"\s*(?:,|$)')
_ESCAPES = {"\\\\": "\\", '\\"': '"', "\\n": "\n"}


def _unescape(text):
    return re.sub(r"\\[\\\"n]", lambda m: _ESCAPES[m.group(0)], text)


def _parse_labels(text, line):
    labels = {}
    position = 0
    while position < len(text):
        match = _LABEL_PAIR.match(text, position)
        if not match:
            raise ValueError(f"bad labels in line: {line!r}")
        if match.group("name") in labels:
            raise ValueError(f"duplicate label {match.group('name')} in line: {line!r}")
        labels[match.group("name")] = _unescape(match.group("value"))
        position = match.end()
    return labels


def parse_exposition(text):
    """Parses the Prometheus text format 0.0.4 (as served by /metrics)."""
    samples, types, helps = [], {}, {}
    for line in text.splitlines():
        if not line.strip():
            continue
        if line.startswith("#"):
            parts = line.split(None, 3)
            if len(parts) >= 3 and parts[1] == "TYPE":
                types[parts[2]] = parts[3].strip() if len(parts) > 3 else ""
            elif len(parts) >= 3 and parts[1] == "HELP":
                helps[parts[2]] = parts[3] if len(parts) > 3 else ""
            continue
        match = _SAMPLE_LINE.match(line)
        if not match:
            raise ValueError(f"bad sample line: {line!r}")
        labels = _parse_labels(match.group("labels") or "", line)
        samples.append(Sample(match.group("name"), labels, float(match.group("value"))))
    return Exposition(samples, types, helps)


def microjoules(joules):
    """Exported joules back to the daemon's integer microjoules (exact for < 2^53 / 1e6 J)."""
    return round(joules * 1e6)


def close(actual, expected, rel, abs_tol=0.0):
    return math.isclose(actual, expected, rel_tol=rel, abs_tol=abs_tol)


def promtool_check_metrics(text):
    """(exit code, combined output) of `promtool check metrics` fed with `text`."""
    done = subprocess.run([PROMTOOL, "check", "metrics"], input=text.encode(),
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)
    return done.returncode, done.stdout.decode("utf-8", "replace")
