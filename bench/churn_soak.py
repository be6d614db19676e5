#!/usr/bin/env python3
"""Churn soak (issue 16), a benchmark, not a CI test. Needs root, cgroup v2 (a hybrid host's
unified hierarchy will do) and eBPF for the default mode.

For `--minutes` (30) the node churns:
  - 50 processes a second start (bench/waker.c: each wakes every second and burns 200 µs) and
    live 1 to 10 s; nine in ten in a container, the rest outside any;
  - every second a pod with two containers (cgroups) is created and the oldest churned pod,
    25 s old, is removed (its processes have exited by then; what is left is killed);
  - the fake kubelet's pod list is rewritten every second and polled every second;
  - four steady pods, each one container of ten wakers burning 2 ms a wake-up, for accuracy;
  - two scrapers every second, one asking for gzip;
and the daemon runs with monitor.interval 5s, terminatedRetention 60s (the default),
maxTerminated -1 and minTerminatedEnergyThreshold 0, so every process, container and pod that
ends stays exported for the whole window: the window is full after one minute.

Every scrape checks that no counter decreased since that scraper's previous scrape and that
kepler_energy_conservation_error_joules is 0. Every minute it samples RSS, open fds, threads,
daemon CPU per interval, series count, collection duration, and accuracy: the steady
containers' kepler_container_cpu_seconds_total against their cgroups' usage_usec (read right
after a new snapshot appears), and the final totals of churned containers that ended.

Writes <out>/soak.json; bench/soak_report.py turns it into the table and the plot.

Usage: bench/churn_soak.py build/actors/kepler build/test/fake_kubelet [--minutes 30] [--out docs]
"""

import argparse
import collections
import json
import os
import random
import statistics
import tempfile
import threading
import time

import bench_support as b

PROCESSES_PER_S = 50
POD_LIFETIME_S = 25
INTERVAL_S = 5
# Each churned process burns this much per wake-up, so that the CPU time it uses before it has
# joined its cgroup (bench/waker.c) is a small part of what its cgroup counts.
CHURN_BURN_US = 200


class Scraper(threading.Thread):
    """Scrapes every second; checks counters and conservation; keeps the latest figures."""

    def __init__(self, url, gzipped, stop, on_scrape=None):
        super().__init__(daemon=True)
        self.url, self.gzipped, self.stop, self.on_scrape = url, gzipped, stop, on_scrape
        self.previous = {}
        self.scrapes = self.failures = self.decreases = self.conservation_errors = 0
        self.examples = []
        self.series = 0
        self.latencies = []
        self.collection = collections.deque(maxlen=120)

    def run(self):
        while not self.stop.wait(1.0):
            started = time.monotonic()
            try:
                text = b.scrape(self.url, self.gzipped)
            except OSError as error:
                self.failures += 1
                self.examples.append(f"scrape failed: {error}")
                continue
            self.latencies.append(time.monotonic() - started)
            current = b.samples(text)
            self.check(current)
            self.previous = {k: v for k, v in current.items() if b.is_counter(k)}
            self.series = len(current)
            self.scrapes += 1
            if self.on_scrape:
                self.on_scrape(current)

    def check(self, current):
        for series, value in current.items():
            if series.startswith("kepler_energy_conservation_error_joules") and value != 0:
                self.conservation_errors += 1
                self.examples.append(f"{series} = {value}")
            before = self.previous.get(series)
            if before is not None and value < before:
                self.decreases += 1
                self.examples.append(f"{series}: {before} -> {value}")
        duration = current.get("kepler_collection_duration_seconds")
        if duration is not None:
            self.collection.append(duration)


class Churn:
    """Pods, containers and processes coming and going, once a second."""

    def __init__(self, spawner, kubelet):
        self.spawner, self.kubelet = spawner, kubelet
        self.pods = collections.deque()  # (created monotonic, pod)
        self.steady = []
        self.finals = {}  # container id -> cgroup usage seconds when it was removed
        self.lock = threading.Lock()
        self.pod_index = 0

    def add_steady(self, count):
        for _ in range(count):
            pod = b.Pod(self.next_index(), 1)
            self.spawner.start(10, 0, 2000, pod.containers[0].path)
            self.steady.append(pod)

    def next_index(self):
        self.pod_index += 1
        return self.pod_index

    def tick(self):
        now = time.monotonic()
        self.pods.append((now, b.Pod(self.next_index(), 2)))
        while self.pods and now - self.pods[0][0] > POD_LIFETIME_S:
            _, pod = self.pods.popleft()
            with self.lock:
                for container in pod.containers:
                    self.finals[container.id] = container.usage_seconds()
            pod.remove()
        self.start_processes(now)
        self.kubelet.serve(self.steady + [pod for _, pod in self.pods])

    def start_processes(self, now):
        young = [c for created, pod in self.pods if now - created < POD_LIFETIME_S - 12 for c in pod.containers]
        targets = collections.Counter()
        for _ in range(PROCESSES_PER_S):
            lifetime = random.randint(1, 10)
            container = random.choice(young) if young and random.random() < 0.9 else None
            targets[(container.path if container else None, lifetime)] += 1
        for (path, lifetime), count in targets.items():
            self.spawner.start(count, lifetime, CHURN_BURN_US, path)

    def close(self):
        for _, pod in self.pods:
            pod.remove()
        for pod in self.steady:
            pod.remove()
        b.remove_kubepods_slices()


class Accuracy:
    """Daemon container CPU seconds against cgroup usage: steady containers right after a new
    snapshot, churned containers by their final totals."""

    def __init__(self, churn):
        self.churn = churn
        self.terminated = {}  # container id -> daemon's final cpu seconds (terminated series)
        self.lock = threading.Lock()

    def on_scrape(self, current):
        found = {}
        for series, value in current.items():
            if series.startswith("kepler_container_cpu_seconds_total{") and 'state="terminated"' in series:
                found[b.label(series, "container_id")] = value
        with self.lock:
            self.terminated.update(found)

    def churned(self):
        """(containers compared, Σ daemon, Σ cgroup, worst relative error) for the churned
        containers that ended and whose terminated series was seen; forgets them."""
        with self.lock, self.churn.lock:
            both = [cid for cid in self.churn.finals if cid in self.terminated]
            pairs = [(self.terminated.pop(cid), self.churn.finals.pop(cid)) for cid in both]
        if not pairs:
            return None
        worst = max(abs(d - c) / c for d, c in pairs if c > 0)
        return len(pairs), sum(d for d, _ in pairs), sum(c for _, c in pairs), worst


def wait_for_new_snapshot(url, timeout=2 * INTERVAL_S + 1):
    """Polls until the node's energy changes; returns that scrape's samples."""
    first = b.samples(b.scrape(url))
    key = next(k for k in first if k.startswith("kepler_node_cpu_joules_total{"))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(0.1)
        current = b.samples(b.scrape(url))
        if current.get(key) != first[key]:
            return current
    return current


def steady_errors(daemon, steady):
    """Per steady container: (daemon seconds, cgroup seconds) right after a new snapshot."""
    current = wait_for_new_snapshot(daemon.url)
    usage = [pod.containers[0].usage_seconds() for pod in steady]
    out = []
    for pod, cgroup in zip(steady, usage):
        cid = pod.containers[0].id
        series = [v for k, v in current.items()
                  if k.startswith("kepler_container_cpu_seconds_total{") and f'container_id="{cid}"' in k]
        out.append((series[0] if series else float("nan"), cgroup))
    return out


def minute_sample(minute, daemon, scrapers, accuracy, churn, last_cpu):
    cpu = daemon.cpu_seconds()
    steady = steady_errors(daemon, churn.steady)
    churned = accuracy.churned()
    collection = [d for s in scrapers for d in s.collection]
    sample = {
        "minute": minute,
        "rss_mib": round(daemon.rss_mib(), 2),
        "open_fds": daemon.open_fds(),
        "threads": daemon.threads(),
        "cpu_ms_per_interval": round((cpu - last_cpu) * 1000 / (60 / INTERVAL_S), 2),
        "series": scrapers[0].series,
        "collection_ms": round(statistics.mean(collection) * 1000, 2) if collection else None,
        "steady_error_pct": [round((d - c) / c * 100, 3) for d, c in steady],
        "churned_containers": churned[0] if churned else 0,
        "churned_error_pct": round((churned[1] - churned[2]) / churned[2] * 100, 3) if churned else None,
        "churned_worst_pct": round(churned[3] * 100, 2) if churned else None,
        "live_processes": sum(1 for _ in os.scandir("/proc") if _.name.isdigit()),
        "load1": os.getloadavg()[0],
    }
    b.log(json.dumps(sample))
    return sample, cpu


def run(args, workdir):
    spawner = b.Spawner(workdir)
    kubelet = b.FakeKubelet(args.fake_kubelet, workdir)
    churn = Churn(spawner, kubelet)
    config = ("log:\n  level: warn\nmonitor:\n  interval: 5s\n  terminatedRetention: 60s\n"
              "  maxTerminated: -1\n  minTerminatedEnergyThreshold: 0\n"
              f"bpf:\n  enabled: \"{args.bpf}\"\ndev:\n  fake-cpu-meter:\n    enabled: true\n"
              + b.kube_yaml(kubelet, workdir, "1s"))
    daemon = b.Daemon(args.kepler, workdir, config)
    stop = threading.Event()
    try:
        b.log(f"first /metrics after {daemon.wait_for_first_metrics():.3f} s")
        churn.add_steady(4)
        accuracy = Accuracy(churn)
        scrapers = [Scraper(daemon.url, False, stop, accuracy.on_scrape), Scraper(daemon.url, True, stop)]
        for scraper in scrapers:
            scraper.start()
        samples, last_cpu = [], daemon.cpu_seconds()
        sampler_result = []
        started = time.monotonic()
        next_minute = 1
        while time.monotonic() - started < args.minutes * 60:
            tick_start = time.monotonic()
            churn.tick()
            if time.monotonic() - started >= next_minute * 60 and not sampler_result:
                minute = next_minute
                thread = threading.Thread(target=lambda m=minute, c=last_cpu: sampler_result.append(
                    minute_sample(m, daemon, scrapers, accuracy, churn, c)), daemon=True)
                thread.start()
                next_minute += 1
            if sampler_result:
                sample, last_cpu = sampler_result.pop()
                samples.append(sample)
            if daemon.process.poll() is not None:
                raise RuntimeError(f"kepler exited with {daemon.process.returncode}")
            time.sleep(max(0.0, 1.0 - (time.monotonic() - tick_start)))
        time.sleep(3)
        if sampler_result:
            samples.append(sampler_result.pop()[0])
        stop.set()
        for scraper in scrapers:
            scraper.join(timeout=10)
        return {
            "minutes": args.minutes,
            "bpf": args.bpf,
            "first_metrics_s": daemon.first_metrics_s,
            "samples": samples,
            "scrapers": [{"gzip": s.gzipped, "scrapes": s.scrapes, "failures": s.failures,
                          "counter_decreases": s.decreases, "conservation_errors": s.conservation_errors,
                          "latency_p50_ms": percentile(s.latencies, 50) * 1000,
                          "latency_p99_ms": percentile(s.latencies, 99) * 1000,
                          "examples": s.examples[:10]} for s in scrapers],
        }
    finally:
        stop.set()
        spawner.close()
        daemon.stop()
        churn.close()
        kubelet.close()


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))] if ordered else float("nan")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("kepler")
    parser.add_argument("fake_kubelet")
    parser.add_argument("--minutes", type=int, default=30)
    parser.add_argument("--bpf", default="true")
    parser.add_argument("--out", default=".")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kepler-soak-") as workdir:
        result = run(args, workdir)
    with open(os.path.join(args.out, "soak.json"), "w") as out:
        json.dump(result, out, indent=1)
    b.log(json.dumps(result["scrapers"]))


if __name__ == "__main__":
    main()
