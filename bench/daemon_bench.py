#!/usr/bin/env python3
"""Whole-daemon figures (issue #2), printed, not asserted:
  - start to first successful /metrics: budget <= 0.5 s
  - resident memory with 5,000 processes on the node, after a few intervals: budget <= 20 MiB

Usage: bench/daemon_bench.py build/actors/kepler
"""
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def scrape(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as response:
        return response.read()


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def main():
    binary = sys.argv[1]
    sleepers = [subprocess.Popen(["sleep", "600"]) for _ in range(5000)]
    port = free_port()
    with tempfile.TemporaryDirectory() as empty_sysfs:
        os.mkdir(os.path.join(empty_sysfs, "class"))  # a sysfs without powercap: the fake meter
        started = time.monotonic()
        daemon = subprocess.Popen([binary, f"--web.listen-address=127.0.0.1:{port}",
                                   "--monitor.interval=1s", f"--host.sysfs={empty_sysfs}",
                                   "--log.level=warn"], stdout=subprocess.DEVNULL)
        try:
            while daemon.poll() is None:
                try:
                    scrape(port)
                    break
                except OSError:
                    time.sleep(0.005)
            if daemon.returncode is not None:
                sys.exit(f"kepler exited with code {daemon.returncode}")
            first_metrics = time.monotonic() - started
            time.sleep(5)
            body = scrape(port)
            series = body.count(b"\nkepler_process_cpu_joules_total{")
            print(f"start to first /metrics: {first_metrics * 1000:.0f} ms (budget 500 ms)")
            print(f"RSS with {series} process series ({len(sleepers)} extra processes): "
                  f"{rss_mib(daemon.pid):.1f} MiB (budget 20 MiB)")
        finally:
            daemon.send_signal(signal.SIGTERM)
            daemon.wait(timeout=10)
            for sleeper in sleepers:
                sleeper.kill()
            for sleeper in sleepers:
                sleeper.wait()


if __name__ == "__main__":
    main()
