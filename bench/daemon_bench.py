#!/usr/bin/env python3
"""Whole-daemon figures, printed, not asserted:
  - start to first successful /metrics: budget <= 0.5 s (issue #2)
  - resident memory with 5,000 processes on the node, after a few intervals: budget <= 20 MiB
  - daemon CPU per interval with 5,000 processes, eBPF mode vs procfs mode: budget eBPF <=
    one fifth of procfs (issue #4); once with 5,000 sleeping processes (eBPF mode lists only
    processes that ran) and once with 5,000 that each wake every second (every one of them has
    new CPU time in every interval, in both modes)

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

from bench_support import proc_status


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def scrape(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as response:
        return response.read()


def rss_mib(pid):
    return proc_status(pid, "VmRSS") / 1024


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_daemon(binary, sysfs, port, bpf):
    config = os.path.join(sysfs, f"bpf-{bpf}.yaml")
    with open(config, "w") as out:
        out.write(f'bpf:\n  enabled: "{bpf}"\n')
    return subprocess.Popen([binary, f"--config.file={config}", f"--web.listen-address=127.0.0.1:{port}",
                             "--monitor.interval=1s", f"--host.sysfs={sysfs}", "--log.level=warn"],
                            stdout=subprocess.DEVNULL)


def cpu_per_interval_ms(binary, sysfs, bpf, scrape_every=None, seconds=20):
    """Daemon CPU per 1 s interval, measured over `seconds` after a warm-up, scraped every
    `scrape_every` seconds (a document is only rendered when scraped) or not at all."""
    port = free_port()
    daemon = start_daemon(binary, sysfs, port, bpf)
    try:
        time.sleep(4)
        before = cpu_seconds(daemon.pid)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            time.sleep(min(scrape_every or seconds, max(deadline - time.monotonic(), 0)))
            if scrape_every and time.monotonic() < deadline:
                scrape(port)
        return (cpu_seconds(daemon.pid) - before) / seconds * 1000
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(timeout=10)


def first_metrics_and_rss(binary, sysfs, extra_processes):
    port = free_port()
    started = time.monotonic()
    daemon = start_daemon(binary, sysfs, port, "false")
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
        series = scrape(port).count(b"\nkepler_process_cpu_joules_total{")
        print(f"start to first /metrics: {first_metrics * 1000:.0f} ms (budget 500 ms)")
        print(f"RSS with {series} process series ({extra_processes} extra processes): "
              f"{rss_mib(daemon.pid):.1f} MiB (budget 20 MiB)")
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(timeout=10)


WAKER_C = "#include <time.h>\nint main(void) { struct timespec s = {1, 0}; for (;;) nanosleep(&s, 0); }\n"


def compare_modes(binary, sysfs, processes, what, scrape_every=None):
    procfs = cpu_per_interval_ms(binary, sysfs, "false", scrape_every)
    ebpf = cpu_per_interval_ms(binary, sysfs, "true", scrape_every)
    scraped = f"scraped every {scrape_every} s" if scrape_every else "not scraped"
    print(f"daemon CPU per 1 s interval with {len(processes)} extra processes ({what}, {scraped}): "
          f"procfs {procfs:.1f} ms, eBPF {ebpf:.1f} ms ({ebpf / procfs * 100:.0f} % of procfs; budget 20 %)")


def stop(processes):
    for process in processes:
        process.kill()
    for process in processes:
        process.wait()


def main():
    binary = sys.argv[1]
    with tempfile.TemporaryDirectory() as sysfs:
        os.mkdir(os.path.join(sysfs, "class"))  # a sysfs without powercap: the fake meter
        sleepers = [subprocess.Popen(["sleep", "600"]) for _ in range(5000)]
        try:
            first_metrics_and_rss(binary, sysfs, len(sleepers))
            compare_modes(binary, sysfs, sleepers, "sleeping")
        finally:
            stop(sleepers)
        waker = os.path.join(sysfs, "waker")
        with open(waker + ".c", "w") as source:
            source.write(WAKER_C)
        subprocess.run(["cc", "-O2", "-o", waker, waker + ".c"], check=True)
        wakers = [subprocess.Popen([waker]) for _ in range(5000)]
        try:
            compare_modes(binary, sysfs, wakers, "each waking every second")
            compare_modes(binary, sysfs, wakers, "each waking every second", scrape_every=1)
        finally:
            stop(wakers)


if __name__ == "__main__":
    main()
