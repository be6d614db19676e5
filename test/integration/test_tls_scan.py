"""The TLS defaults as a scanner sees them: Debian's testssl.sh against the real daemon, with a
web config that names only a certificate (RSA, so that static-RSA key exchange could show) and
a key. It fails on any weak default: a protocol below TLS 1.2, a suite without forward secrecy
(static RSA), a CBC suite (LUCKY13), a 64-bit block cipher (SWEET32), NULL, export or
anonymous suites. About 50 s: protocols, cipher categories, forward secrecy, the suites of each
protocol and the two CBC attacks only (testssl.sh -p -s -f -E -L -W).

Run alone: KEPLER_BINARY=/path/to/kepler python3 -m unittest -v test_tls_scan
"""

import json
import os
import shutil
import ssl
import subprocess
import time
import unittest
import urllib.request

import kepler_harness as h
from plumbing import log, write_atomically

TESTSSL = shutil.which("testssl") or shutil.which("testssl.sh")
SCAN_TIMEOUT_S = 150


def make_rsa_certificate(directory):
    """A self-signed RSA certificate for 127.0.0.1 and its key, as server.crt and server.key."""
    done = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-noenc", "-keyout", "server.key",
                           "-out", "server.crt", "-days", "2", "-subj", "/CN=kepler",
                           "-addext", "subjectAltName=IP:127.0.0.1"],
                          cwd=directory, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if done.returncode != 0:
        raise AssertionError(f"openssl failed:\n{done.stdout.decode(errors='replace')}")


def serving_over_tls(port):
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # a scanner trusts nothing either
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}),
                                         urllib.request.HTTPSHandler(context=context))
    try:
        with opener.open(f"https://127.0.0.1:{port}/healthz", timeout=1.0) as response:
            return response.status == 200
    except OSError:
        return False


@unittest.skipUnless(TESTSSL, "needs testssl.sh (Debian package testssl.sh)")
class TlsScanTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.bed = h.TestBed("kepler-it-tls-scan-")
        with cls.bed.closed_on_failure():
            workdir = cls.bed.workdir
            make_rsa_certificate(workdir)
            web_config = os.path.join(workdir, "web.yml")
            write_atomically(web_config, "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n")
            cls.bed.start_powercap()
            cls.daemon = cls.bed.add_daemon(web_config_file=web_config)
            cls.daemon.spawn()
            deadline = time.monotonic() + h.STARTUP_TIMEOUT_S
            while not serving_over_tls(cls.daemon.port):
                cls.daemon._fail_if_exited("while starting")
                if time.monotonic() > deadline:
                    raise AssertionError("kepler not serving over TLS\n" + cls.daemon.log_tail())
                time.sleep(0.05)
            cls.findings = cls.scan(workdir, cls.daemon.port)

    @classmethod
    def scan(cls, workdir, port):
        """testssl.sh's findings as {id: (severity, finding)}."""
        report = os.path.join(workdir, "testssl.json")
        started = time.monotonic()
        done = subprocess.run([TESTSSL, "--quiet", "--color", "0", "--warnings", "off", "--openssl", "/usr/bin/openssl",
                               "-p", "-s", "-f", "-E", "-L", "-W", "--jsonfile", report, f"https://127.0.0.1:{port}"],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=SCAN_TIMEOUT_S,
                              stdin=subprocess.DEVNULL)
        output = done.stdout.decode(errors="replace")
        log(f"testssl.sh took {time.monotonic() - started:.1f} s")
        if not os.path.exists(report):
            raise AssertionError(f"testssl.sh wrote no report (exit {done.returncode}):\n{output}")
        with open(report) as source:
            findings = {entry["id"]: (entry["severity"], entry["finding"]) for entry in json.load(source)}
        cls.output = output
        return findings

    @classmethod
    def tearDownClass(cls):
        cls.bed.stop_daemon_and_close()

    def finding(self, key):
        self.assertIn(key, self.findings, self.output)
        return self.findings[key][1]

    def test_only_tls_1_2_and_1_3_are_offered(self):
        for old in ("SSLv2", "SSLv3", "TLS1", "TLS1_1"):
            self.assertTrue(self.finding(old).startswith("not offered"), f"{old}: {self.finding(old)}")
        for current in ("TLS1_2", "TLS1_3"):
            self.assertTrue(self.finding(current).startswith("offered"), f"{current}: {self.finding(current)}")

    def test_no_weak_cipher_category_is_offered(self):
        # AVERAGE is testssl 3.0's "obsolete CBC ciphers" category.
        for category in ("NULL", "aNULL", "EXPORT", "LOW", "3DES_IDEA", "AVERAGE"):
            key = f"cipherlist_{category}"
            self.assertTrue(self.finding(key).startswith("not offered"), f"{key}: {self.finding(key)}")

    def test_every_tls_1_2_suite_has_forward_secrecy_and_an_aead_cipher(self):
        suites = [finding.split()[-1] for key, (_, finding) in self.findings.items()
                  if key.startswith("cipher-tls1_2_")]
        log(f"TLS 1.2 suites offered: {' '.join(suites)}")
        self.assertTrue(suites, self.output)
        for suite in suites:
            self.assertTrue(suite.startswith("TLS_ECDHE_"), f"no forward secrecy: {suite}")
            self.assertTrue("_GCM_" in suite or "CHACHA20" in suite, f"not AEAD: {suite}")
        self.assertTrue(self.finding("PFS").startswith("offered"), self.finding("PFS"))

    def test_not_vulnerable_to_the_cbc_attacks(self):
        for attack in ("SWEET32", "LUCKY13"):
            severity, finding = self.findings.get(attack, ("missing", ""))
            self.assertEqual(severity, "OK", f"{attack}: {finding}")

    def test_the_key_exchange_groups_are_the_default_ones(self):
        self.assertEqual(self.finding("PFS_ECDHE_curves").split(), ["prime256v1", "secp384r1", "X25519"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
