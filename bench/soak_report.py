#!/usr/bin/env python3
"""Turns bench/churn_soak.py's soak.json into a markdown table (stdout) and a PNG plot.

Flatness: over the last `--window` minutes (20), each figure's least-squares slope times the
window, as a share of its mean there: what it grew by in that time, beyond the noise that a
slope fitted to every minute averages out.

Usage: bench/soak_report.py soak.json soak.png [--window 20] > table.md
"""

import argparse
import json
import statistics

FIGURES = [("rss_mib", "RSS (MiB)"), ("open_fds", "open fds"), ("threads", "threads"),
           ("cpu_ms_per_interval", "CPU per 5 s interval (ms)"), ("series", "series"),
           ("collection_ms", "collection (ms)")]


def slope(xs, ys):
    mx, my = statistics.mean(xs), statistics.mean(ys)
    var = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / var if var else 0.0


def fmt(value):
    if value is None:
        return "–"
    if isinstance(value, list):
        return " / ".join(f"{v:+.2f}" for v in value)
    return f"{value:g}" if isinstance(value, int) else f"{value:.2f}"


def table(samples):
    head = ["min"] + [title for _, title in FIGURES] + ["steady containers, error %", "churned ended", "their error %",
                                                        "worst one %", "load"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---:|" * len(head)]
    for s in samples:
        row = [str(s["minute"])] + [fmt(s[key]) for key, _ in FIGURES] + [
            fmt(s["steady_error_pct"]), str(s["churned_containers"]), fmt(s["churned_error_pct"]),
            fmt(s["churned_worst_pct"]), f"{s['load1']:.1f}"]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def flatness(samples, window):
    last = [s for s in samples if s["minute"] > samples[-1]["minute"] - window]
    lines = ["| figure | mean | growth over the window (slope × window) | as % of mean |", "|---|---:|---:|---:|"]
    for key, title in FIGURES:
        points = [(s["minute"], s[key]) for s in last if s[key] is not None]
        if len(points) < 2:
            continue
        mean = statistics.mean(y for _, y in points)
        grown = slope([x for x, _ in points], [y for _, y in points]) * window
        share = grown / mean * 100 if mean else 0.0
        lines.append(f"| {title} | {mean:.2f} | {grown:+.2f} | {share:+.1f} % |")
    return "\n".join(lines)


def plot(samples, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(2, 3, figsize=(13, 6.5), sharex=True)
    minutes = [s["minute"] for s in samples]
    for ax, (key, title) in zip(axes.flat, FIGURES):
        ax.plot(minutes, [s[key] for s in samples], marker=".")
        ax.set_title(title)
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
    for ax in axes[1]:
        ax.set_xlabel("minute of the soak")
    fig.suptitle("kepler churn soak: 50 processes/s, a pod (2 containers) created and removed every second")
    fig.tight_layout()
    fig.savefig(path, dpi=80)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("soak_json")
    parser.add_argument("png")
    parser.add_argument("--window", type=int, default=20)
    args = parser.parse_args()
    with open(args.soak_json) as f:
        result = json.load(f)
    samples = result["samples"]
    print(table(samples))
    print()
    print(f"Flatness over the last {args.window} minutes:\n")
    print(flatness(samples, args.window))
    print()
    print("| scraper | scrapes | failed | counter decreases | conservation ≠ 0 | latency p50 / p99 (ms) |")
    print("|---|---:|---:|---:|---:|---:|")
    for s in result["scrapers"]:
        print(f"| {'gzip' if s['gzip'] else 'plain'} | {s['scrapes']} | {s['failures']} | {s['counter_decreases']} | "
              f"{s['conservation_errors']} | {s['latency_p50_ms']:.1f} / {s['latency_p99_ms']:.1f} |")
    plot(samples, args.png)


if __name__ == "__main__":
    main()
