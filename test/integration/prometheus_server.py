"""A real Prometheus server (/usr/bin/prometheus) scraping one target, and instant PromQL
queries against it.
"""

import json
import os
import subprocess
import time
import urllib.parse

from plumbing import free_port, http_get, http_status_or_none, read_log_text, terminate, write_atomically

PROMETHEUS = "/usr/bin/prometheus"


class Prometheus:
    """A real Prometheus server scraping one target every second."""

    def __init__(self, directory, target, scrape_interval="1s", job_options=""):
        """`job_options`: more YAML for the scrape job, indented 4 spaces (e.g. `scheme: https`)."""
        if not os.access(PROMETHEUS, os.X_OK):
            raise AssertionError(f"{PROMETHEUS} is missing: install the Debian package "
                                 "`prometheus` (CI does) to run this test")
        self.directory = directory
        self.port = free_port()
        self.config_path = os.path.join(directory, "prometheus.yml")
        write_atomically(self.config_path, (
            "global:\n"
            f"  scrape_interval: {scrape_interval}\n"
            f"  evaluation_interval: {scrape_interval}\n"
            "scrape_configs:\n"
            "  - job_name: kepler\n"
            f"    scrape_interval: {scrape_interval}\n"
            f"    scrape_timeout: {scrape_interval}\n"
            + job_options +
            "    static_configs:\n"
            f'      - targets: ["{target}"]\n'))
        self.log_path = os.path.join(directory, "prometheus.log")
        self.process = None

    @property
    def base_url(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout=30.0):
        self._log_file = open(self.log_path, "wb")
        self.process = subprocess.Popen(
            [PROMETHEUS, f"--config.file={self.config_path}",
             f"--storage.tsdb.path={os.path.join(self.directory, 'tsdb')}",
             f"--web.listen-address=127.0.0.1:{self.port}"],
            stdout=self._log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"prometheus exited with {self.process.returncode}\n"
                                     + self.log_tail())
            if http_status_or_none(self.base_url + "/-/ready") == 200:
                return self
            time.sleep(0.1)
        self.stop()
        raise AssertionError(f"prometheus not ready within {timeout} s\n" + self.log_tail())

    def wait_for_first_scrape(self, timeout=20.0):
        """Prometheus applies new targets a few seconds after it is ready; wait for real data."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.query("up"):
                return
            time.sleep(0.2)
        raise AssertionError(f"prometheus did not scrape within {timeout} s\n" + self.log_tail())

    def query(self, promql, at=None):
        """The result vector of an instant query: [(labels, value)]."""
        params = {"query": promql}
        if at is not None:
            params["time"] = f"{at:.3f}"
        status, body = http_get(self.base_url + "/api/v1/query?" + urllib.parse.urlencode(params),
                                timeout=10.0)
        if status != 200:
            raise AssertionError(f"query {promql!r} answered {status}: {body[:500]}")
        answer = json.loads(body)
        if answer.get("status") != "success":
            raise AssertionError(f"query {promql!r} failed: {body[:500]}")
        return [(item["metric"], float(item["value"][1])) for item in answer["data"]["result"]]

    def stop(self):
        terminate(self.process, timeout=10)
        if getattr(self, "_log_file", None) and not self._log_file.closed:
            self._log_file.close()

    def log_tail(self, lines=30):
        tail = read_log_text(self.log_path).splitlines()[-lines:]
        return "---- prometheus log tail ----\n" + "\n".join(tail)
