#!/usr/bin/env python3
"""A slow BMC costs the engine nothing (issue 15): the daemon's snapshot pace and collection
duration with Redfish off, and with a fake BMC that takes 5 s to answer every request, side by
side. Printed, not asserted. Each run: a driven powercap tree, a 1 s interval, 40 s watched.

Usage: KEPLER_BINARY=build/actors/kepler bench/platform_bench.py
"""
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "integration"))

import kepler_harness as h  # noqa: E402
from fake_bmc import MOCKUPS_DIR, FakeBmc  # noqa: E402
from test_platform import redfish_settings  # noqa: E402

WATCH_S = 40.0
BMC_DELAY_S = 5.0


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def watch(daemon):
    """Gaps between successive snapshots (as the poller sees them) and their collection times."""
    watcher = h.SnapshotWatcher(daemon, poll_s=0.005)
    last = watcher.next_snapshot(timeout=10)
    gaps, collections = [], []
    start = time.monotonic()
    while time.monotonic() - start < WATCH_S:
        snap = watcher.next_snapshot(timeout=10)
        gaps.append(snap.seen_at - last.seen_at)
        collections.append(snap.metrics.value("kepler_collection_duration_seconds"))
        last = snap
    return gaps, collections


def run(with_bmc):
    with h.TestBed("kepler-bench-platform-") as bed:
        bed.start_powercap()
        extra = ""
        bmc = None
        if with_bmc:
            bmc = FakeBmc(os.path.join(MOCKUPS_DIR, "dmtf/public-rackmount1"), workdir=bed.workdir,
                          username="monitor", password="secret").start()
            bed.on_close(bmc.stop)
            bmc.drive(300.0)
            bmc.stall(BMC_DELAY_S, count=10**6)
            extra = redfish_settings(bed, bmc, http_timeout="10s", staleness="30s")
        daemon = bed.add_daemon(extra=extra, log_level="info")
        daemon.start()
        gaps, collections = watch(daemon)
        readings = len(bmc.requests) if bmc else 0
        return gaps, collections, readings


def row(name, values, unit_scale=1e3):
    return (f"| {name} | {statistics.mean(values) * unit_scale:.1f} | {percentile(values, 0.5) * unit_scale:.1f} | "
            f"{percentile(values, 0.99) * unit_scale:.1f} | {max(values) * unit_scale:.1f} |")


def main():
    print(f"# snapshots watched for {WATCH_S:.0f} s at a 1 s interval; BMC answers in {BMC_DELAY_S:.0f} s")
    print("| run | mean ms | p50 ms | p99 ms | max ms |")
    print("|---|---|---|---|---|")
    for with_bmc in (False, True):
        gaps, collections, requests = run(with_bmc)
        label = f"Redfish on ({requests} slow BMC requests)" if with_bmc else "Redfish off"
        print(row(f"{label}: snapshot gap", gaps))
        print(row(f"{label}: collection duration", collections))


if __name__ == "__main__":
    main()
