"""Plumbing shared by the harness modules: progress notes, atomic file writes, loopback ports
and HTTP, and the child processes the tests start.

Standard library only, so the tests run wherever python3 does.
"""

import os
import socket
import subprocess
import sys
import urllib.error
import urllib.request


def log(message):
    """Progress notes on stderr, next to unittest's own output."""
    print(f"[harness] {message}", file=sys.stderr, flush=True)


def write_atomically(path, text):
    """Readers see the old or the new content, never a half-written file."""
    temporary = f"{path}.tmp"
    with open(temporary, "w") as out:
        out.write(text)
    os.replace(temporary, path)


def read_log_text(path):
    """A child's log file as text; empty if it cannot be read."""
    try:
        with open(path, "rb") as source:
            return source.read().decode("utf-8", "replace")
    except OSError:
        return ""


def terminate(process, timeout):
    """SIGTERM, then SIGKILL if `process` outlives `timeout` s; nothing if it is None or gone."""
    if process and process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def free_port():
    """A loopback port nobody listens on right now (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# No proxies: CI environments often export http_proxy, which must not see loopback traffic.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def http_get(url, timeout=2.0):
    """(status, body text); HTTP errors are returned, not raised. Connection errors raise."""
    try:
        with _OPENER.open(url, timeout=timeout) as response:
            return response.status, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("utf-8", "replace")


def http_status_or_none(url, timeout=1.0):
    try:
        return http_get(url, timeout)[0]
    except (OSError, urllib.error.URLError):
        return None
