#!/usr/bin/env python3
"""Scale (issue 16), a benchmark, not a CI test. Needs root, cgroup v2 (a hybrid host's unified
hierarchy will do) and eBPF.

20,000 processes in 2,000 containers of 500 pods (four containers each, kubelet's cgroup layout,
served by the fake kubelet), each process waking every second and burning 5 µs (bench/waker.c).
For each mode (eBPF, /proc) and each `--cap` (0: every process series; N: maxProcessSeries N)
a fresh daemon (monitor.interval 5s, the fake meter with `--zones`) is measured:

  - start to the first /metrics answered (with all 20,000 processes already running);
  - daemon CPU per 5 s interval, not scraped, over `--seconds` (60), and as % of one core;
  - render time: the first scrape of a new snapshot renders it (once, on a worker), later
    ones are served from the rendered bytes; render ≈ that first scrape's latency minus the
    median of the later ones (the same for gzip: render + compress);
  - scrape latency p50/p99 with and without gzip once the document is rendered (scrapes one
    after another for `--seconds`, the first of each snapshot left out);
  - RSS (VmRSS and its peak VmHWM), series count, document size;
  - accuracy: per container, the growth of kepler_container_cpu_seconds_total between two
    snapshots a minute apart against the growth of its cgroup's usage_usec, each read right
    after the snapshot appeared.

pid_max is raised to 131072 for the run if it is lower, and restored. Prints a JSON document.

Usage: bench/scale_bench.py build/actors/kepler build/test/fake_kubelet [--pods 500] [--modes ebpf,procfs]
       [--caps 0,1000] [--seconds 60] [--accuracy-seconds 60] [--out scale.json]
"""

import argparse
import contextlib
import json
import os
import statistics
import tempfile
import time
import zlib

import bench_support as b

PODS = 500
CONTAINERS_PER_POD = 4
PROCESSES_PER_CONTAINER = 10
BURN_US = 5
INTERVAL_S = 5


@contextlib.contextmanager
def sysctl_at_least(path, value):
    """Raises a /proc/sys value for the run and puts the old one back."""
    with open(path) as f:
        old = int(f.read())
    if old < value:
        with open(path, "w") as f:
            f.write(str(value))
    try:
        yield
    finally:
        if old < value:
            with open(path, "w") as f:
                f.write(str(old))


def node_energy(text):
    """The first node energy line: it changes with every snapshot (found without parsing the
    whole document, which at this size takes the client longer than the daemon's render)."""
    start = text.find("\nkepler_node_cpu_joules_total{")
    return text[start:text.find("\n", start + 1)]


def wait_for_new_snapshot(url, timeout=2 * INTERVAL_S + 2):
    """Polls every 50 ms until the node's energy changes; returns that scrape's text."""
    first = node_energy(b.scrape(url))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(0.05)
        text = b.scrape(url)
        if node_energy(text) != first:
            return text
    raise RuntimeError("no new snapshot")


def container_seconds(text):
    out = {}
    for line in text.split("\n"):
        if line.startswith("kepler_container_cpu_seconds_total{"):
            series, _, value = line.rpartition(" ")
            out[b.label(series, "container_id")] = float(value)
    return out


def accuracy(daemon, containers, seconds):
    """Per container (daemon growth, cgroup growth) over `seconds`, both read right after a snapshot."""
    before = wait_for_new_snapshot(daemon.url)
    usage_before = {c.id: c.usage_seconds() for c in containers}
    time.sleep(seconds)
    after = wait_for_new_snapshot(daemon.url)
    usage_after = {c.id: c.usage_seconds() for c in containers}
    d0, d1 = container_seconds(before), container_seconds(after)
    return [(d1.get(c.id, 0) - d0.get(c.id, 0), usage_after[c.id] - usage_before[c.id]) for c in containers]


def summarise_accuracy(pairs):
    errors = sorted(abs(d - c) / c * 100 for d, c in pairs if c > 0)
    total_d, total_c = sum(d for d, _ in pairs), sum(c for _, c in pairs)
    return {"containers": len(errors), "total_error_pct": round((total_d - total_c) / total_c * 100, 3),
            "median_abs_error_pct": round(statistics.median(errors), 3),
            "p99_abs_error_pct": round(errors[int(len(errors) * 0.99)], 3), "max_abs_error_pct": round(errors[-1], 3),
            "within_1pct": sum(1 for e in errors if e <= 1.0)}


def scrape_latencies(url, gzipped, seconds):
    """(latencies of scrapes served from the rendered document, first scrapes of a snapshot).
    Only the bytes are received: the client's gunzip and decoding of a document this size
    would take longer than the server. A new snapshot changes the node's values near the top
    of the document, so its first 16 KiB (gzipped or not) tell one document from the next."""
    served, first = [], []
    last = None
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        started = time.monotonic()
        body, _ = b.scrape_bytes(url, gzipped)
        took = time.monotonic() - started
        head = zlib.crc32(body[:16384])
        (first if last is not None and head != last else served).append(took)
        last = head
    return served, first


def pct(values, p):
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))] * 1000, 2) if ordered else None


def measure(args, workdir, kubelet, containers, mode, cap):
    config = (f"log:\n  level: warn\nmonitor:\n  interval: {INTERVAL_S}s\n"
              f"bpf:\n  enabled: \"{'true' if mode == 'ebpf' else 'false'}\"\n"
              f"dev:\n  fake-cpu-meter:\n    enabled: true\n    zones: [{args.zones}]\n"
              f"exporter:\n  prometheus:\n    maxProcessSeries: {cap}\n"
              + b.kube_yaml(kubelet, workdir, "15s"))
    daemon = b.Daemon(args.kepler, workdir, config, name=f"kepler-{mode}-{cap}")
    result = {"mode": mode, "max_process_series": cap}
    try:
        result["first_metrics_ms"] = round(daemon.wait_for_first_metrics() * 1000, 1)
        time.sleep(3 * INTERVAL_S)  # pods synced, every process seen, eBPF maps warm
        if not args.skip_cpu:
            cpu0, t0 = daemon.cpu_seconds(), time.monotonic()
            time.sleep(args.seconds)
            cpu = (daemon.cpu_seconds() - cpu0) / (time.monotonic() - t0)
            result["cpu_ms_per_interval"] = round(cpu * INTERVAL_S * 1000, 1)
            result["cpu_pct_of_one_core"] = round(cpu * 100, 2)
        for gzipped in (False, True):
            served, first = scrape_latencies(daemon.url, gzipped, args.seconds)
            key = "gzip" if gzipped else "plain"
            result[f"scrape_{key}_p50_ms"] = pct(served, 50)
            result[f"scrape_{key}_p99_ms"] = pct(served, 99)
            result[f"scrapes_{key}"] = len(served)
            result[f"first_scrape_{key}_ms"] = [round(f * 1000, 1) for f in first]
            result[f"render_{key}_ms"] = round((statistics.median(first) - statistics.median(served)) * 1000, 1) \
                if first and served else None
        text = wait_for_new_snapshot(daemon.url)
        lines = [line for line in text.split("\n") if line and line[0] != "#"]
        result["series"] = len(lines)
        result["document_mib"] = round(len(text) / 2**20, 2)
        result["process_series"] = sum(1 for line in lines if line.startswith("kepler_process_"))
        result["rss_mib"] = round(daemon.rss_mib(), 1)
        result["rss_peak_mib"] = round(b.proc_status(daemon.process.pid, "VmHWM") / 1024, 1)
        result["threads"] = daemon.threads()
        if args.accuracy_seconds:
            result["accuracy"] = summarise_accuracy(accuracy(daemon, containers, args.accuracy_seconds))
        result["load1"] = round(os.getloadavg()[0], 2)
    finally:
        daemon.stop()
    b.log(json.dumps(result))
    return result


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("kepler")
    parser.add_argument("fake_kubelet")
    parser.add_argument("--pods", type=int, default=PODS, help="500: 20,000 processes; fewer to see how cost grows")
    parser.add_argument("--modes", default="ebpf,procfs")
    parser.add_argument("--caps", default="0,1000")
    parser.add_argument("--zones", default="package, dram")
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--accuracy-seconds", type=int, default=60)
    parser.add_argument("--skip-cpu", action="store_true", help="leave out the CPU measurement (latency reruns)")
    parser.add_argument("--out", default="scale.json")
    args = parser.parse_args()
    results = []
    with sysctl_at_least("/proc/sys/kernel/pid_max", 131072), \
            tempfile.TemporaryDirectory(prefix="kepler-scale-") as workdir:
        kubelet = b.FakeKubelet(args.fake_kubelet, workdir)
        spawner = b.Spawner(workdir)
        pods = []
        try:
            for index in range(args.pods):
                pod = b.Pod(index, CONTAINERS_PER_POD)
                for container in pod.containers:
                    spawner.start(PROCESSES_PER_CONTAINER, 0, BURN_US, container.path)
                pods.append(pod)
            kubelet.serve(pods)
            containers = [c for pod in pods for c in pod.containers]
            time.sleep(10)
            running = sum(len(open(os.path.join(c.path, "cgroup.procs")).read().split()) for c in containers)
            b.log(f"{running} processes in {len(containers)} containers of {len(pods)} pods")
            for mode in args.modes.split(","):
                for cap in (int(c) for c in args.caps.split(",")):
                    results.append(measure(args, workdir, kubelet, containers, mode, cap))
                    with open(args.out, "w") as out:
                        json.dump({"processes": running, "containers": len(containers), "pods": len(pods),
                                   "results": results}, out, indent=1)
        finally:
            spawner.close()
            for pod in pods:
                pod.remove()
            b.remove_kubepods_slices()
            kubelet.close()


if __name__ == "__main__":
    main()
