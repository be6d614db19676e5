"""A scrape gets through floods: the real daemon, under a low open files limit (so that its
connection limit is 128, below the flood), is held by 200 connections that never finish their
headers, that sit idle on keep-alive, or that never read their answer, from one address (the
scraper's own) and from 40; every new scrape is answered in full within 2 s, the connections
closed to make room are counted by reason, and each episode at the limit is logged twice
(begin, end), not once per connection.

Run alone: KEPLER_BINARY=/path/to/kepler python3 -m unittest -v test_http_flood
"""

import shutil
import time
import unittest

import kepler_harness as h
from exposition import parse_exposition
from http_flood import KINDS, Flood, loopback_sources, timed_scrape
from plumbing import log

FLOOD_SIZE = 200
SCRAPES = 5
SCRAPE_BOUND_S = 2.0
FILE_LIMIT = 512          # the daemon raises its soft limit to this hard one ...
CONNECTION_LIMIT = 128    # ... and serves half of what its 256 reserved descriptors leave
# An unread request for /metrics is closed while its answer is written (evicted_response), or
# while it waits for the interval's first rendering on a worker (evicted_request), or, if its
# answer fitted in the socket buffers, once it waits for the next request (evicted).
REASONS_OF = {"slowloris": ["evicted_request"], "idle": ["evicted"],
              "unread": ["evicted_response", "evicted_request", "evicted"]}
BEGIN = "metrics server: connection limit reached"
END = "metrics server: connection limit no longer reached"


@unittest.skipUnless(shutil.which("prlimit"), "needs prlimit (util-linux)")
class FloodTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.bed = h.TestBed("kepler-it-flood-")
        with cls.bed.closed_on_failure():
            cls.bed.start_powercap()
            cls.daemon = cls.bed.add_daemon()
            # A soft limit below the hard one, as many init systems leave it.
            cls.daemon.wrapper = ["prlimit", f"--nofile=64:{FILE_LIMIT}", "--"]
            cls.daemon.start()

    @classmethod
    def tearDownClass(cls):
        cls.bed.stop_daemon_and_close()

    def drops(self):
        metrics = self.daemon.scrape()
        return {sample.labels["reason"]: sample.value
                for sample in metrics.series("kepler_http_dropped_connections_total")}

    def wait_for_log(self, text, count, timeout=10.0):
        deadline = time.monotonic() + timeout
        while self.daemon.log_text().count(text) < count and time.monotonic() < deadline:
            time.sleep(0.1)
        self.assertEqual(self.daemon.log_text().count(text), count, self.daemon.log_tail())

    def test_the_connection_limit_follows_the_raised_open_files_limit(self):
        self.assertIn(f"at most {CONNECTION_LIMIT} connections (open files limit {FILE_LIMIT})",
                      self.daemon.log_text())

    def test_scrapes_get_through_every_flood_from_one_address_and_from_many(self):
        episodes = self.daemon.log_text().count(BEGIN)
        for kind in KINDS:
            before = self.drops()
            for mode, sources in (("one address", ["127.0.0.1"]), ("40 addresses", loopback_sources(40))):
                with self.subTest(kind=kind, mode=mode):
                    with Flood(self.daemon.port, kind, FLOOD_SIZE, sources):
                        took = [self.scrape_in_full() for _ in range(SCRAPES)]
                    log(f"{kind} flood of {FLOOD_SIZE} from {mode}: scrapes took "
                        + ", ".join(f"{1000 * s:.1f}" for s in took) + " ms")
                    # One episode per flood: one line as it begins, one once it is over.
                    episodes += 1
                    self.wait_for_log(BEGIN, episodes)
                    self.wait_for_log(END, episodes)
            # Each flood of 200 overflows the limit of 128 twice (one address, many).
            self.wait_for_drops(kind, before, 2 * (FLOOD_SIZE - CONNECTION_LIMIT))

    def scrape_in_full(self):
        seconds, status, body = timed_scrape(self.daemon.port, timeout=SCRAPE_BOUND_S)
        self.assertEqual(status, 200)
        self.assertIn("\nkepler_node_cpu_joules_total{", body)
        self.assertTrue(body.endswith("\n"))
        return seconds

    def wait_for_drops(self, kind, before, at_least):
        """Waits for the next snapshots to count at least `at_least` connections closed to make
        room during the `kind` floods, and none refused."""
        deadline = time.monotonic() + 5
        while True:
            after = self.drops()
            grown = sum(after.get(reason, 0) - before.get(reason, 0) for reason in REASONS_OF[kind])
            if grown >= at_least or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        log(f"{kind}: {grown:.0f} connections closed to make room ({', '.join(REASONS_OF[kind])})")
        self.assertGreaterEqual(grown, at_least, f"{kind}: {after}")
        self.assertEqual(after.get("over_limit", 0), before.get("over_limit", 0), "a newcomer was refused")


if __name__ == "__main__":
    unittest.main(verbosity=2)
