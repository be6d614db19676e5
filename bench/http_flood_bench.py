#!/usr/bin/env python3
"""Scrape latency while 1,000 connections hold the metrics server (issue 16), printed, not
asserted. For each flood kind (slowloris: headers never finished; idle: keep-alive, silent;
unread: asks for /metrics and never reads), from one address (the scraper's own, 127.0.0.1)
and from 200 loopback addresses (5 each), a new client scrapes /metrics on a new connection
SCRAPES times, 20 ms apart, while the flood holds its connections; the table gives the
latency to the last byte of a complete document (p50/p90/p99/max), the scrapes that failed
(refused, reset, or not complete within 2 s), the connections the server closed to make room
and its resident memory during the flood.

Two limits: the daemon's open files limit as this shell has it (the connection limit is then
2048, above the flood), and a hard limit of 1,024 descriptors (limit 512: the flood overflows
it and the server closes connections to make room).

Usage: bench/http_flood_bench.py build/actors/kepler [--size 1000] [--scrapes 100]
       (as root or with `ulimit -n` above 2 * size + 100: the flood's own sockets count too)
"""

import argparse
import os
import resource
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "integration"))

import kepler_harness as h  # noqa: E402
from http_flood import KINDS, Flood, loopback_sources, percentile, timed_scrape  # noqa: E402

from bench_support import proc_status  # noqa: E402

EVICTIONS = ("evicted", "evicted_request", "evicted_response", "over_limit")


def drops(daemon):
    metrics = daemon.scrape()
    return {s.labels["reason"]: s.value for s in metrics.series("kepler_http_dropped_connections_total")}


def scrape_series(port, count):
    """`count` scrapes 20 ms apart: (latencies of those answered in full, failures)."""
    took, failed = [], 0
    for _ in range(count):
        try:
            seconds, status, body = timed_scrape(port, timeout=2.0)
            if status == 200 and "kepler_node_cpu_joules_total" in body:
                took.append(seconds)
            else:
                failed += 1
        except (OSError, AssertionError, ValueError, IndexError):
            failed += 1
        time.sleep(0.02)
    return took, failed


def ms(values, fraction):
    return f"{1000 * percentile(values, fraction):.1f}" if values else "-"


def run_flood(daemon, kind, size, sources, scrapes):
    before = drops(daemon)
    with Flood(daemon.port, kind, size, sources, count_refusals=True) as flood:
        took, failed = scrape_series(daemon.port, scrapes)
        rss = proc_status(daemon.process.pid, "VmRSS") / 1024
    time.sleep(1.5)  # the next snapshot counts the drops
    after = drops(daemon)
    closed = {r: int(after.get(r, 0) - before.get(r, 0)) for r in EVICTIONS}
    if flood.refused:
        closed["flood connections refused"] = flood.refused
    return took, failed, rss, closed


def bench(binary, wrapper, label, size, scrapes):
    with h.TestBed("kepler-flood-bench-") as bed:
        bed.start_powercap()
        daemon = bed.add_daemon(log_level="info", extra='bpf:\n  enabled: "false"\n')
        daemon.binary = binary
        daemon.wrapper = wrapper
        daemon.start()
        limit_line = [line for line in daemon.log_text().splitlines() if "at most" in line and "connections" in line]
        print(f"\n### {label}: {limit_line[0].split('metrics server: ')[-1] if limit_line else 'limit not logged'}")
        baseline, failed = scrape_series(daemon.port, scrapes)
        print(f"no flood: p50 {ms(baseline, .5)} ms, p99 {ms(baseline, .99)} ms, failed {failed}, "
              f"RSS {rss_mib(daemon.process.pid):.1f} MiB\n")
        print("| flood | from | p50 ms | p90 ms | p99 ms | max ms | failed | closed to make room | RSS MiB |")
        print("|---|---|---|---|---|---|---|---|---|")
        for kind in KINDS:
            for mode, sources in (("1 address", ["127.0.0.1"]), ("200 addresses", loopback_sources(200))):
                took, failed, rss, closed = run_flood(daemon, kind, size, sources, scrapes)
                shown = ", ".join(f"{r} {n}" for r, n in closed.items() if n) or "0"
                print(f"| {kind} {size} | {mode} | {ms(took, .5)} | {ms(took, .9)} | {ms(took, .99)} | "
                      f"{ms(took, 1.0)} | {failed}/{scrapes} | {shown} | {rss:.1f} |", flush=True)
        bed.stop_daemon()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("kepler")
    parser.add_argument("--size", type=int, default=1000)
    parser.add_argument("--scrapes", type=int, default=100)
    parser.add_argument("--inherited-limit-only", action="store_true",
                        help="skip the run under a 1,024 descriptor limit")
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 2 * args.size + 100:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4 * args.size), hard))
    binary = os.path.abspath(args.kepler)
    os.environ["KEPLER_BINARY"] = binary  # the harness's default daemon
    print(f"kepler: {binary}; {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    bench(binary, [], "open files limit as inherited", args.size, args.scrapes)
    if not args.inherited_limit_only:
        bench(binary, ["prlimit", "--nofile=1024:1024", "--"], "open files limit 1024", args.size, args.scrapes)


if __name__ == "__main__":
    main()
