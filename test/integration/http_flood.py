"""Floods of connections that hold the metrics server's slots without finishing anything, and
a timed scrape to see whether a new client still gets through. Used by test_http_flood (CI
size) and bench/http_flood_bench.py (1,000 connections). Standard library only.

Kinds of flood:
  slowloris  sends the start of a request and never finishes its headers
  idle       sends one request, reads its answer and sits on the keep-alive connection
  unread     asks for /metrics (a large, shared document) and never reads the answer
"""

import socket
import time

KINDS = ("slowloris", "idle", "unread")


def loopback_sources(count):
    """`count` client addresses on the loopback network: 127.0.0.2, 127.0.0.3, … (Linux
    routes all of 127.0.0.0/8 to lo, so a socket may bind any of them)."""
    return [f"127.0.0.{2 + i % 250}" if i < 250 else f"127.0.{1 + i // 250}.{2 + i % 250}" for i in range(count)]


def _read_small_response(sock, deadline):
    """Reads one response with a Content-Length body (a /healthz answer) off `sock`."""
    data = b""
    while time.monotonic() < deadline:
        head, sep, body = data.partition(b"\r\n\r\n")
        if sep:
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            if len(body) >= length:
                return head.split(b"\r\n")[0]
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    raise AssertionError(f"no complete response on an idle flood connection: {data[:200]!r}")


class Flood:
    """`count` connections of one `kind` to 127.0.0.1:`port`, from `sources` in turn. A
    connection the server refuses or resets raises, unless `count_refusals` (then they are
    counted in `refused`: a benchmark of a server that refuses)."""

    def __init__(self, port, kind, count, sources=("127.0.0.1",), count_refusals=False):
        if kind not in KINDS:
            raise ValueError(f"unknown flood kind {kind!r} (one of {', '.join(KINDS)})")
        self.kind = kind
        self.sockets = []
        self.refused = 0
        try:
            for i in range(count):
                try:
                    self.sockets.append(self._open(port, sources[i % len(sources)]))
                except (OSError, AssertionError):
                    if not count_refusals:
                        raise
                    self.refused += 1
        except BaseException:
            self.close()
            raise

    def _open(self, port, source):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if self.kind == "unread":
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # fills up at once
        sock.bind((source, 0))
        sock.settimeout(5.0)
        sock.connect(("127.0.0.1", port))
        if self.kind == "slowloris":
            sock.sendall(b"GET /metrics HTTP/1.1\r\nHost: flood\r\n")
        elif self.kind == "idle":
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: flood\r\n\r\n")
            status = _read_small_response(sock, time.monotonic() + 5.0)
            if not status.startswith(b"HTTP/1.1 200"):
                raise AssertionError(f"idle flood connection answered {status!r}")
        else:
            sock.sendall(b"GET /metrics HTTP/1.1\r\nHost: flood\r\n\r\n")
        return sock

    def close(self):
        for sock in self.sockets:
            try:
                sock.close()
            except OSError:
                pass
        self.sockets = []

    def __enter__(self):
        return self

    def __exit__(self, *_):
        self.close()


def timed_scrape(port, timeout=2.0, source="127.0.0.1"):
    """One GET /metrics on a new connection: (seconds to the last byte, status, body text).
    Raises if it is not answered in full within `timeout`."""
    started = time.monotonic()
    deadline = started + timeout
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((source, 0))
        sock.settimeout(timeout)
        sock.connect(("127.0.0.1", port))
        sock.sendall(b"GET /metrics HTTP/1.1\r\nHost: scraper\r\nConnection: close\r\n\r\n")
        data = bytearray()
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"scrape not answered in full within {timeout} s ({len(data)} bytes)")
            sock.settimeout(remaining)
            chunk = sock.recv(1 << 16)
            if not chunk:
                break
            data += chunk
    took = time.monotonic() - started
    head, sep, body = bytes(data).partition(b"\r\n\r\n")
    if not sep:
        raise AssertionError(f"no response header in {len(data)} bytes: {bytes(data[:200])!r}")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length" and int(value) != len(body):
            raise AssertionError(f"incomplete document: {len(body)} of {int(value)} bytes")
    return took, status, body.decode("utf-8", "replace")


def percentile(values, fraction):
    """The nearest-rank percentile of `values` (0 < fraction <= 1)."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * fraction // 1))
    return ordered[int(rank) - 1]
