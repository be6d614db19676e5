"""A real browser for the page's tests: Debian's `chromium` in headless mode, one process per
page load with a fresh profile, the DOM read after the page's script ran (virtual time lets its
timers and fetches finish), screenshots as PNG files, and a small parser for what the tests
read back from the DOM.
"""

import html.parser
import os
import shutil
import subprocess
import tempfile

CHROMIUM = "/usr/bin/chromium"
RUN_TIMEOUT_S = 90

# Quiet and self-contained: no sandbox (it needs user namespaces, and root must disable it), no
# GPU, no first-run or background traffic, no proxy from the environment.
COMMON_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
    "--no-default-browser-check", "--disable-extensions", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--mute-audio", "--hide-scrollbars",
    "--proxy-server=direct://", "--proxy-bypass-list=*",
]


def chromium_or_none():
    """The browser's path, or None when it is not installed (deploy/install-build-deps.sh test
    installs it)."""
    return CHROMIUM if os.access(CHROMIUM, os.X_OK) else shutil.which("chromium")


def spki_pin(certificate_path):
    """base64(SHA-256(SubjectPublicKeyInfo)) of a PEM certificate, as
    --ignore-certificate-errors-spki-list takes it: Chromium then trusts that one key only."""
    public_key = subprocess.run(["openssl", "x509", "-in", certificate_path, "-pubkey", "-noout"],
                                check=True, capture_output=True).stdout
    der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "der"], input=public_key,
                         check=True, capture_output=True).stdout
    digest = subprocess.run(["openssl", "dgst", "-sha256", "-binary"], input=der,
                            check=True, capture_output=True).stdout
    return subprocess.run(["base64"], input=digest, check=True, capture_output=True).stdout.decode().strip()


class Browser:
    """Runs chromium once per call. `pin` (from spki_pin) makes it trust that server key."""

    def __init__(self, workdir, pin=None):
        self.binary = chromium_or_none()
        if not self.binary:
            raise RuntimeError("chromium is not installed (deploy/install-build-deps.sh test installs it)")
        self.workdir = workdir
        self.pin = pin

    def _run(self, url, flags, budget_ms):
        with tempfile.TemporaryDirectory(prefix="chromium-", dir=self.workdir) as profile:
            command = [self.binary, *COMMON_FLAGS, f"--user-data-dir={profile}",
                       f"--virtual-time-budget={budget_ms}", *flags]
            if self.pin:
                command.append(f"--ignore-certificate-errors-spki-list={self.pin}")
            done = subprocess.run([*command, url], stdin=subprocess.DEVNULL, capture_output=True,
                                  timeout=RUN_TIMEOUT_S)
        return done.returncode, done.stdout.decode("utf-8", "replace"), done.stderr.decode("utf-8", "replace")

    def dom(self, url, budget_ms=5000):
        """The DOM as HTML once `budget_ms` of virtual time passed after the load; "" when the
        page did not load (then `last_error` holds chromium's complaint)."""
        code, out, err = self._run(url, ["--dump-dom"], budget_ms)
        self.last_error = "\n".join(line for line in err.splitlines()
                                    if "dbus" not in line and "Fontconfig" not in line)[-3000:]
        return out if code == 0 else ""

    last_error = ""

    def screenshot(self, url, path, width, height, budget_ms=5000):
        """Saves a PNG of the page at `width` × `height` CSS pixels."""
        if os.path.exists(path):
            os.remove(path)
        self._run(url, [f"--screenshot={path}", f"--window-size={width},{height}"], budget_ms)
        return path


class Element:
    def __init__(self, tag, attrs, parent):
        self.tag, self.attrs, self.parent, self.children, self.text_parts = tag, dict(attrs), parent, [], []

    def text(self):
        return "".join(part if isinstance(part, str) else part.text() for part in self.text_parts)

    def classes(self):
        return set((self.attrs.get("class") or "").split())

    def find_all(self, predicate):
        found = []
        for child in self.children:
            if predicate(child):
                found.append(child)
            found.extend(child.find_all(predicate))
        return found

    def find(self, predicate):
        found = self.find_all(predicate)
        return found[0] if found else None

    def by_id(self, element_id):
        return self.find(lambda e: e.attrs.get("id") == element_id)


VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class _TreeBuilder(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = Element("#root", {}, None)
        self.current = self.root

    def handle_starttag(self, tag, attrs):
        element = Element(tag, attrs, self.current)
        self.current.children.append(element)
        self.current.text_parts.append(element)
        if tag not in VOID:
            self.current = element

    def handle_endtag(self, tag):
        node = self.current
        while node is not self.root and node.tag != tag:
            node = node.parent
        if node is not self.root:
            self.current = node.parent

    def handle_data(self, data):
        self.current.text_parts.append(data)


def parse_dom(text):
    """The DOM dump as a small tree of Elements (tag, attrs, children, text())."""
    builder = _TreeBuilder()
    builder.feed(text)
    builder.close()
    return builder.root
