"""The real daemon behind a web config (exporter-toolkit format): TLS with a minimum version,
basic auth with bcrypt hashes, extra headers and gzip, checked with curl, openssl-made
certificates and a real Prometheus scraping over TLS with basic auth.

Run alone: KEPLER_BINARY=/path/to/kepler python3 -m unittest -v test_web
"""

import base64
import gzip
import os
import socket
import ssl
import subprocess
import time
import unittest
import urllib.request
import warnings

import kepler_harness as h
from exposition import parse_exposition
from plumbing import log, write_atomically
from prometheus_server import Prometheus

USER = "prometheus"
PASSWORD = "s3cret-scrape"
OTHER_USER = "grafana"
OTHER_PASSWORD = "another one"
PROMTOOL = "/usr/bin/promtool"

OPENSSL_CONFIG = """[req]
distinguished_name = dn
prompt = no
[dn]
CN = kepler-test
[ca_ext]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
[server_ext]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1, DNS:localhost
"""


def run(command, directory):
    done = subprocess.run(command, cwd=directory, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if done.returncode != 0:
        raise AssertionError(f"{' '.join(command)} failed:\n{done.stdout.decode(errors='replace')}")


def make_certificates(directory):
    """A CA and a server certificate for 127.0.0.1 under `directory/tls`, made with the
    openssl command-line tool; returns the CA certificate's path."""
    tls = os.path.join(directory, "tls")
    os.makedirs(tls)
    write_atomically(os.path.join(tls, "openssl.cnf"), OPENSSL_CONFIG)
    key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-noenc"]
    run(["openssl", "req", "-x509", "-config", "openssl.cnf", "-extensions", "ca_ext", *key,
         "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=kepler-test-ca"], tls)
    run(["openssl", "req", "-new", "-config", "openssl.cnf", *key, "-keyout", "server.key",
         "-out", "server.csr", "-subj", "/CN=kepler"], tls)
    run(["openssl", "x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
         "-set_serial", "2", "-days", "2", "-extfile", "openssl.cnf", "-extensions", "server_ext",
         "-out", "server.crt"], tls)
    return os.path.join(tls, "ca.crt")


def bcrypt_hash(password, prefix):
    """A bcrypt hash (cost 10) made now with Python's crypt module (libxcrypt; deprecated in
    3.11 but present on Debian 12). `prefix` "$2y$" is what Go tools and htpasswd write."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import crypt
    salt = crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=1 << 10)   # "$2b$10$" + 22 characters
    hashed = crypt.crypt(password, prefix + salt[4:])
    if not hashed or not hashed.startswith(prefix):
        raise AssertionError(f"crypt made no {prefix} bcrypt hash: {hashed!r}")
    return hashed


def web_config_yaml():
    """TLS 1.3 at least, with paths relative to the web config (the toolkit resolves them
    against its directory), two users, and a security header."""
    return ("tls_server_config:\n"
            "  cert_file: tls/server.crt\n"
            "  key_file: tls/server.key\n"
            "  min_version: TLS13\n"
            "http_server_config:\n"
            "  headers:\n"
            "    X-Content-Type-Options: nosniff\n"
            "basic_auth_users:\n"
            f"  {USER}: {bcrypt_hash(PASSWORD, '$2y$')}\n"
            f"  {OTHER_USER}: {bcrypt_hash(OTHER_PASSWORD, '$2b$')}\n")


def read_bytes(path):
    """A file's bytes; empty if curl did not write it."""
    try:
        with open(path, "rb") as source:
            return source.read()
    except FileNotFoundError:
        return b""


class Curl:
    """curl against the daemon; each call returns (exit code, status, headers, body bytes)."""

    def __init__(self, directory, port, ca_file):
        self.directory = directory
        self.base = f"https://127.0.0.1:{port}"
        self.ca_file = ca_file

    def __call__(self, path, *options, base=None):
        headers_path = os.path.join(self.directory, "curl.headers")
        body_path = os.path.join(self.directory, "curl.body")
        for stale in (headers_path, body_path):
            if os.path.exists(stale):
                os.remove(stale)
        done = subprocess.run(
            ["curl", "-sS", "--max-time", "10", "--cacert", self.ca_file, "-D", headers_path,
             "-o", body_path, *options, (base or self.base) + path],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)
        headers_text = read_bytes(headers_path).decode("latin-1")
        body = read_bytes(body_path)
        lines = headers_text.split("\r\n")
        status = int(lines[0].split()[1]) if lines and lines[0].startswith("HTTP/") else None
        headers = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if sep:
                headers[name.strip().lower()] = value.strip()
        return done.returncode, status, headers, body, done.stdout.decode(errors="replace")


def scrape_https(port, ca_file, timeout=2.0):
    """/metrics over TLS with basic auth, by the standard library: (status, text)."""
    context = ssl.create_default_context(cafile=ca_file)
    request = urllib.request.Request(f"https://127.0.0.1:{port}/metrics")
    request.add_unredirected_header("Authorization", basic_header(USER, PASSWORD))
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}),
                                         urllib.request.HTTPSHandler(context=context))
    with opener.open(request, timeout=timeout) as response:
        return response.status, response.read().decode("utf-8", "replace")


def basic_header(user, password):
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


class WebConfigTest(unittest.TestCase):
    """One daemon with TLS and basic auth for the whole class."""

    @classmethod
    def setUpClass(cls):
        cls.bed = h.TestBed("kepler-it-web-")
        with cls.bed.closed_on_failure():
            workdir = cls.bed.workdir
            cls.ca_file = make_certificates(workdir)
            cls.web_config = os.path.join(workdir, "web.yml")
            write_atomically(cls.web_config, web_config_yaml())
            cls.bed.start_powercap()
            cls.daemon = cls.bed.add_daemon(web_config_file=cls.web_config)
            cls.daemon.spawn()
            cls.wait_until_serving()
            cls.curl = Curl(workdir, cls.daemon.port, cls.ca_file)

    @classmethod
    def wait_until_serving(cls):
        deadline = time.monotonic() + h.STARTUP_TIMEOUT_S
        last_error = None
        while time.monotonic() < deadline:
            cls.daemon._fail_if_exited("while starting")
            try:
                status, text = scrape_https(cls.daemon.port, cls.ca_file)
                if status == 200 and "\nkepler_node_cpu_joules_total{" in text:
                    log(f"kepler serving over TLS after {time.monotonic() - cls.daemon.spawned_at:.3f} s")
                    return
            except (OSError, ValueError) as error:
                last_error = error
            time.sleep(0.05)
        raise AssertionError(f"kepler not serving over TLS: {last_error}\n" + cls.daemon.log_tail())

    @classmethod
    def tearDownClass(cls):
        cls.bed.stop_daemon_and_close()

    def test_promtool_accepts_the_web_config(self):
        # The toolkit's own validator agrees that the file we serve with is a valid web config.
        done = subprocess.run([PROMTOOL, "check", "web-config", self.web_config],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.assertEqual(done.returncode, 0, done.stdout.decode(errors="replace"))

    def test_daemon_logs_that_tls_is_enabled(self):
        self.assertIn("TLS is enabled.", self.daemon.log_text())

    def test_right_credentials_get_metrics_and_the_configured_header(self):
        code, status, headers, body, output = self.curl("/metrics", "-u", f"{USER}:{PASSWORD}")
        self.assertEqual((code, status), (0, 200), output)
        self.assertEqual(headers.get("x-content-type-options"), "nosniff")
        self.assertTrue(parse_exposition(body.decode()).series("kepler_node_cpu_joules_total"))
        code, status, _, _, output = self.curl("/metrics", "-u", f"{OTHER_USER}:{OTHER_PASSWORD}")
        self.assertEqual((code, status), (0, 200), output)

    def test_missing_or_wrong_credentials_get_401(self):
        for options in ([], ["-u", f"{USER}:wrong"], ["-u", f"nobody:{PASSWORD}"],
                        ["-u", f"{OTHER_USER}:{PASSWORD}"]):
            with self.subTest(options=options):
                code, status, headers, body, output = self.curl("/metrics", *options)
                self.assertEqual((code, status), (0, 401), output)
                self.assertEqual(headers.get("www-authenticate"), "Basic")
                self.assertNotIn(b"kepler_", body)
        # Health endpoints are behind the same gate, as in the toolkit.
        self.assertEqual(self.curl("/healthz")[1], 401)

    def test_tls_below_the_minimum_is_refused(self):
        code, status, _, _, output = self.curl("/metrics", "-u", f"{USER}:{PASSWORD}", "--tlsv1.2", "--tls-max", "1.2")
        self.assertEqual(code, 35, f"curl should fail the TLS handshake (exit 35): {output}")
        self.assertIsNone(status)
        code, status, _, _, output = self.curl("/metrics", "-u", f"{USER}:{PASSWORD}", "--tlsv1.3")
        self.assertEqual((code, status), (0, 200), output)

    def test_the_certificate_is_checked_by_clients(self):
        # Without our CA curl refuses the self-made certificate: the endpoint really is TLS.
        done = subprocess.run(["curl", "-sS", "--max-time", "10", "-o", os.devnull,
                               f"https://127.0.0.1:{self.daemon.port}/metrics"],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.assertEqual(done.returncode, 60, done.stdout.decode(errors="replace"))

    def test_plain_http_to_the_tls_port_gets_400(self):
        code, status, _, body, output = self.curl("/metrics", base=f"http://127.0.0.1:{self.daemon.port}")
        self.assertEqual((code, status), (0, 400), output)
        self.assertIn(b"Client sent an HTTP request to an HTTPS server.", body)
        # The dropped connection is counted by its reason in the next snapshot.
        deadline = time.monotonic() + 10
        while True:
            code, status, _, body, output = self.curl("/metrics", "-u", f"{USER}:{PASSWORD}")
            self.assertEqual((code, status), (0, 200), output)
            found = parse_exposition(body.decode()).series("kepler_http_dropped_connections_total",
                                                           reason="plain_http_on_tls")
            if (found and found[0].value >= 1) or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        self.assertTrue(found and found[0].value >= 1, f"plain_http_on_tls drops: {found}")

    def test_metrics_are_gzipped_for_clients_that_ask(self):
        code, status, headers, body, output = self.curl(
            "/metrics", "-u", f"{USER}:{PASSWORD}", "-H", "Accept-Encoding: gzip")
        self.assertEqual((code, status), (0, 200), output)
        self.assertEqual(headers.get("content-encoding"), "gzip")
        self.assertEqual(headers.get("vary"), "Accept-Encoding")
        self.assertEqual(body[:2], b"\x1f\x8b")
        text = gzip.decompress(body).decode()
        self.assertTrue(parse_exposition(text).series("kepler_node_cpu_joules_total"))
        self.assertLess(len(body) * 3, len(text))
        # --compressed: curl asks for gzip itself and inflates the answer.
        code, status, headers, body, output = self.curl("/metrics", "-u", f"{USER}:{PASSWORD}", "--compressed")
        self.assertEqual((code, status, headers.get("content-encoding")), (0, 200, "gzip"), output)
        self.assertTrue(parse_exposition(body.decode()).series("kepler_node_cpu_joules_total"))

    def test_a_reader_taking_one_byte_a_second_blocks_nothing(self):
        # A TLS client asks for /metrics and reads a byte a second; meanwhile other scrapes are
        # answered, snapshots keep coming and no actor's mailbox grows.
        raw = socket.create_connection(("127.0.0.1", self.daemon.port), timeout=10)
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        context = ssl.create_default_context(cafile=self.ca_file)
        slow = context.wrap_socket(raw, server_hostname="127.0.0.1")
        try:
            slow.sendall(("GET /metrics HTTP/1.1\r\nHost: x\r\n"
                          f"Authorization: {basic_header(USER, PASSWORD)}\r\n\r\n").encode())
            bodies = set()
            depths = []
            for _ in range(5):
                self.assertEqual(len(slow.recv(1)), 1)
                status, text = scrape_https(self.daemon.port, self.ca_file, timeout=5.0)
                self.assertEqual(status, 200)
                bodies.add(text)
                metrics = parse_exposition(text)
                depths += [sample.value for sample in metrics.series("kepler_actor_mailbox_depth")]
                time.sleep(1.0)
        finally:
            slow.close()
        self.assertGreater(len(bodies), 1, "snapshots stopped while a slow reader was connected")
        self.assertTrue(depths, "no kepler_actor_mailbox_depth samples")
        self.assertLessEqual(max(depths), 2, f"mailbox depths {depths}")


class PrometheusOverTlsTest(unittest.TestCase):
    """A real Prometheus scrapes the daemon over TLS with basic auth (and gzip, as it asks)."""

    def test_prometheus_scrapes_over_tls_with_basic_auth(self):
        with h.TestBed("kepler-it-web-prom-") as bed:
            ca_file = make_certificates(bed.workdir)
            web_config = os.path.join(bed.workdir, "web.yml")
            write_atomically(web_config, web_config_yaml())
            bed.start_powercap()
            daemon = bed.add_daemon(web_config_file=web_config)
            daemon.spawn()
            prometheus = Prometheus(bed.workdir, f"127.0.0.1:{daemon.port}", job_options=(
                "    scheme: https\n"
                "    tls_config:\n"
                f"      ca_file: {ca_file}\n"
                "    basic_auth:\n"
                f"      username: {USER}\n"
                f"      password: {PASSWORD}\n"))
            bed.on_close(prometheus.stop)
            prometheus.start()
            deadline = time.monotonic() + 30
            up, energy = [], []
            while time.monotonic() < deadline:
                up = prometheus.query('up{job="kepler"}')
                energy = prometheus.query('kepler_node_cpu_joules_total{job="kepler"}')
                if [value for _, value in up] == [1.0] and energy:
                    break
                time.sleep(0.5)
            self.assertEqual([value for _, value in up], [1.0], prometheus.log_tail() + "\n" + daemon.log_tail())
            self.assertTrue(energy, "no kepler_node_cpu_joules_total in Prometheus")
            self.assertTrue(all(value >= 0 for _, value in energy))
            log(f"prometheus ingested {len(energy)} kepler_node_cpu_joules_total series over TLS")
            bed.stop_daemon()


class InvalidWebConfigTest(unittest.TestCase):
    """A web config that does not load stops the daemon at start with exit code 1."""

    def check_refused(self, web_yaml, expected, toolkit_agrees=True):
        with h.TestBed("kepler-it-web-bad-") as bed:
            make_certificates(bed.workdir)
            web_config = os.path.join(bed.workdir, "web.yml")
            write_atomically(web_config, web_yaml)
            config = bed.write_config(sysfs=bed.sysfs_without_powercap(), web_config_file=web_config)
            code, output = h.run_daemon_to_exit(config)
            self.assertEqual(code, 1, output)
            self.assertIn(f"web config {web_config}: ", output)
            self.assertIn(expected, output)
            if toolkit_agrees:
                done = subprocess.run([PROMTOOL, "check", "web-config", web_config],
                                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
                self.assertNotEqual(done.returncode, 0, "promtool accepts what we refuse")

    def test_unknown_key(self):
        self.check_refused("tls_server_config:\n  cert_file: tls/server.crt\n  key_file: tls/server.key\n"
                           "  min_versoin: TLS13\n", "line 4: tls_server_config.min_versoin: unknown key")

    def test_missing_certificate_file(self):
        self.check_refused("tls_server_config:\n  cert_file: tls/missing.crt\n  key_file: tls/server.key\n",
                           "tls_server_config.cert_file: ")

    def test_bad_min_version(self):
        self.check_refused("tls_server_config:\n  cert_file: tls/server.crt\n  key_file: tls/server.key\n"
                           "  min_version: TLS14\n", 'unknown TLS version "TLS14"')

    def test_plaintext_password(self):
        self.check_refused("basic_auth_users:\n  alice: hunter2\n", "basic_auth_users.alice: not a bcrypt hash")

    def test_key_that_does_not_match_the_certificate(self):
        self.check_refused("tls_server_config:\n  cert_file: tls/server.crt\n  key_file: tls/ca.key\n",
                           "tls_server_config.key_file ")


if __name__ == "__main__":
    unittest.main(verbosity=2)
