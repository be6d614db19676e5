#!/usr/bin/env python3
"""Scrape latency over TLS while clients flood the metrics server with TLS handshakes (issue 16),
printed, not asserted. Each handshake costs the server an ECDHE key exchange and an RSA-2048
signature on its I/O thread; `openssl s_time -new` clients (each one handshake after another,
closing each connection) run for the length of a row while a scraper fetches /metrics over a
new TLS connection SCRAPES times, 20 ms apart. The table gives the scrapes' latency to the last
byte (p50/p90/p99/max), the scrapes that failed (not complete within 2 s), the handshakes the
flood completed per second and the daemon's CPU over the row.

Usage: bench/tls_handshake_bench.py build/actors/kepler [--clients 0,1,4,16,64] [--scrapes 100]
"""

import argparse
import os
import re
import socket
import ssl
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "test", "integration"))

import kepler_harness as h  # noqa: E402
from http_flood import percentile  # noqa: E402
from plumbing import write_atomically  # noqa: E402
from test_tls_scan import make_rsa_certificate, serving_over_tls  # noqa: E402


def tls_scrape(port, timeout=2.0):
    """One GET /metrics over a new TLS connection: seconds to the last byte of a whole document."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as raw:
        with context.wrap_socket(raw) as sock:
            sock.sendall(b"GET /metrics HTTP/1.1\r\nHost: scraper\r\nConnection: close\r\n\r\n")
            data = bytearray()
            while True:
                if time.monotonic() - started > timeout:
                    raise TimeoutError("not answered in full in time")
                chunk = sock.recv(1 << 16)
                if not chunk:
                    break
                data += chunk
    if not data.startswith(b"HTTP/1.1 200") or b"kepler_node_cpu_joules_total" not in data:
        raise AssertionError("not a whole document")
    return time.monotonic() - started


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def row(daemon, clients, scrapes):
    seconds = scrapes * 0.03 + 5  # the flood outlasts the scrapes
    flood = [subprocess.Popen(["openssl", "s_time", "-connect", f"127.0.0.1:{daemon.port}", "-new",
                               "-time", str(int(seconds))], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                              text=True) for _ in range(clients)]
    time.sleep(1 if clients else 0)  # under way
    cpu0, t0 = cpu_seconds(daemon.process.pid), time.monotonic()
    took, failed = [], 0
    for _ in range(scrapes):
        try:
            took.append(tls_scrape(daemon.port))
        except (OSError, AssertionError, ssl.SSLError):
            failed += 1
        time.sleep(0.02)
    cpu = (cpu_seconds(daemon.process.pid) - cpu0) / (time.monotonic() - t0)
    handshakes = 0.0
    for client in flood:
        out, _ = client.communicate(timeout=seconds + 30)
        found = re.search(r"(\d+) connections in (\d+) real seconds", out)
        if found:
            handshakes += int(found.group(1)) / float(found.group(2))
    return took, failed, handshakes, cpu


def ms(values, fraction):
    return f"{1000 * percentile(values, fraction):.1f}" if values else "-"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("kepler")
    parser.add_argument("--clients", default="0,1,4,16,64")
    parser.add_argument("--scrapes", type=int, default=100)
    args = parser.parse_args()
    os.environ["KEPLER_BINARY"] = os.path.abspath(args.kepler)
    print(f"kepler: {os.environ['KEPLER_BINARY']}; {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    with h.TestBed("kepler-tls-flood-bench-") as bed:
        make_rsa_certificate(bed.workdir)
        web_config = os.path.join(bed.workdir, "web.yml")
        write_atomically(web_config, "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n")
        bed.start_powercap()
        daemon = bed.add_daemon(web_config_file=web_config, extra='bpf:\n  enabled: "false"\n')
        daemon.spawn()
        deadline = time.monotonic() + h.STARTUP_TIMEOUT_S
        while not serving_over_tls(daemon.port):
            if time.monotonic() > deadline:
                raise SystemExit("kepler not serving over TLS\n" + daemon.log_tail())
            time.sleep(0.05)
        time.sleep(3)
        print("| handshake clients | scrape p50 ms | p90 ms | p99 ms | max ms | failed | flood handshakes/s | "
              "daemon CPU |")
        print("|---|---|---|---|---|---|---|---|")
        for clients in (int(c) for c in args.clients.split(",")):
            took, failed, handshakes, cpu = row(daemon, clients, args.scrapes)
            print(f"| {clients} | {ms(took, .5)} | {ms(took, .9)} | {ms(took, .99)} | {ms(took, 1.0)} | "
                  f"{failed}/{args.scrapes} | {handshakes:.0f} | {cpu * 100:.0f} % |", flush=True)
        bed.stop_daemon()


if __name__ == "__main__":
    main()
