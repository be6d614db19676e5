"""A fake Redfish BMC for the platform power tests: it serves a mockup from
test/fixtures/redfish (DMTF layout; SOURCES.md there says what each one must yield) over HTTPS
with a CA made at test time, keeps connections alive, authenticates as BMCs do, reports the
power the test drives, and injects the faults real BMCs show, switched at any time.

    with FakeBmc(os.path.join(MOCKUPS_DIR, "dmtf/public-tower"), workdir=bed.workdir,
                 username="monitor", password="secret") as bmc:
        bmc.drive(250.0, energy_counter=True)
        ...                       # point the daemon at bmc.url, trusting bmc.ca_file
        bmc.rate_limit(status=503, retry_after=2, count=3)

Resources: `GET /redfish/v1/<P>` is `<root>/<P>/index.json`, `/redfish/v1` is
`<root>/index.json`; trailing slashes and query strings are ignored; anything else is 404 with
a Redfish error body. Every answer has a Content-Length (204 has no body and none) and the
connection stays open for the next request.

Authentication, when `username` and `password` are given: `POST` the credentials as JSON
(`UserName`, `Password`) to `/redfish/v1/SessionService/Sessions` for a session (201 with
`X-Auth-Token` and `Location`; wrong ones get 401), `DELETE <Location>` ends it (204). Every
other request needs that token or HTTP Basic credentials, else 401 — except the service root,
which Redfish (DSP0266) requires to be readable without authentication, and which clients read
to find the sessions URL before they log in. Without credentials nothing is checked.

Standard library only.
"""

import base64
import collections
import json
import math
import os
import secrets
import socket
import ssl
import sys
import tempfile
import threading
import time
import traceback
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from plumbing import log
from test_web import make_certificates

MOCKUPS_DIR = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "fixtures", "redfish"))

SERVICE_ROOT = "/redfish/v1"
CHASSIS_COLLECTION = SERVICE_ROOT + "/Chassis"
SESSIONS = SERVICE_ROOT + "/SessionService/Sessions"

ENERGY_OFFSET_J = 1.5e9        # where the driven energy counter starts: far from zero, as on a real BMC
JOULES_PER_KWH = 3.6e6
GARBAGE = b"{invalid json"
IDLE_CONNECTION_TIMEOUT_S = 60.0
THREAD_JOIN_TIMEOUT_S = 2.0

BmcRequest = collections.namedtuple("BmcRequest", "method path connection_id had_token had_basic")
BmcRequest.__doc__ = "One request as the fake BMC saw it (path as sent, query string included)."

Reply = collections.namedtuple("Reply", "status body headers", defaults=((),))


# --------------------------------------------------------------------------- certificates

def make_bmc_certificates(workdir):
    """A new CA and a server certificate for IP 127.0.0.1 signed by it (test_web's), in a fresh
    folder under `workdir`, so that several BMCs can share a workdir. Returns (ca_file,
    cert_file, key_file)."""
    ca_file = make_certificates(tempfile.mkdtemp(prefix="bmc-", dir=workdir))
    tls = os.path.dirname(ca_file)
    return ca_file, os.path.join(tls, "server.crt"), os.path.join(tls, "server.key")


# --------------------------------------------------------------------------- Redfish bodies

def _json_bytes(document):
    return (json.dumps(document, indent=2) + "\n").encode()


def _error(status, message_id, message, headers=()):
    """A Redfish error answer (DSP0266 §9.7: `error` with `code`, `message` and extended info)."""
    code = f"Base.1.8.{message_id}"
    detail = {"MessageId": code, "Message": message, "Severity": "Critical"}
    body = {"error": {"code": code, "message": message, "@Message.ExtendedInfo": [detail]}}
    return Reply(status, _json_bytes(body), headers)


def _unauthorised():
    return _error(401, "NoValidSession", "There is no valid session or credentials for this request.",
                  (("WWW-Authenticate", 'Basic realm="fake-bmc"'),))


def _synthesised_chassis_collection(member_ids):
    return _json_bytes({
        "@odata.id": CHASSIS_COLLECTION,
        "@odata.type": "#ChassisCollection.ChassisCollection",
        "Name": "Chassis Collection",
        "Members@odata.count": len(member_ids),
        "Members": [{"@odata.id": f"{CHASSIS_COLLECTION}/{member}"} for member in member_ids]})


def _synthesised_service_root():
    return _json_bytes({
        "@odata.id": SERVICE_ROOT + "/",
        "@odata.type": "#ServiceRoot.v1_5_0.ServiceRoot",
        "Id": "RootService",
        "Name": "Root Service",
        "RedfishVersion": "1.6.0",
        "Chassis": {"@odata.id": CHASSIS_COLLECTION},
        "SessionService": {"@odata.id": SERVICE_ROOT + "/SessionService"},
        "Links": {"Sessions": {"@odata.id": SESSIONS}}})


def _normalised(raw_path):
    """`/redfish/v1/...` without query, percent-escapes and trailing slashes; None for a path
    outside the service or one with empty, `.` or `..` segments (never a file outside the root)."""
    path = urllib.parse.unquote(urllib.parse.urlsplit(raw_path).path).rstrip("/")
    if path == SERVICE_ROOT:
        return path
    if not path.startswith(SERVICE_ROOT + "/"):
        return None
    segments = path[len(SERVICE_ROOT) + 1:].split("/")
    return None if any(segment in ("", ".", "..") for segment in segments) else path


# --------------------------------------------------------------------------- driven power

class _DrivenPower:
    """The power the test sets, step by step, and its exact integral over monotonic time: a
    driven energy counter and `driven_joules_between` agree to rounding."""

    def __init__(self):
        self._steps = []                # (monotonic time from which it holds, watts)

    @property
    def watts(self):
        return self._steps[-1][1] if self._steps else None

    def set(self, watts, now):
        self._steps.append((now, float(watts)))

    def joules_until(self, moment):
        """Energy driven from the first step up to `moment`."""
        if not self._steps or moment < self._steps[0][0]:
            raise ValueError(f"no power was driven at monotonic time {moment}")
        ends = [start for start, _ in self._steps[1:]] + [math.inf]
        return sum(watts * (min(moment, end) - start)
                   for (start, watts), end in zip(self._steps, ends) if start < moment)


def _set_reading(document, name, value):
    """Sets the `Reading` of an excerpt property (`PowerWatts`, `EnergykWh`, ...) the resource
    already has; a property it lacks stays absent."""
    if isinstance(document.get(name), dict):
        document[name] = {**document[name], "Reading": value}


def _drive_document(document, watts, joules):
    """The resource as it reads while `watts` are driven; `joules` is the energy counter, or
    None when the test wants a BMC without one (then the file's energy readings read null, so a
    frozen counter in the mockup cannot contradict the driven power). Members inlined in a
    collection (Kepler's mockup inlines its power supplies) are driven as well."""
    kind = document.get("@odata.type", "")
    kwh = None if joules is None else joules / JOULES_PER_KWH
    if isinstance(document.get("PowerControl"), list):
        readings = [entry for entry in document["PowerControl"]
                    if isinstance(entry, dict) and entry.get("PowerConsumedWatts")]
        if readings:
            readings[0]["PowerConsumedWatts"] = watts
    if kind.startswith("#EnvironmentMetrics."):
        _set_reading(document, "PowerWatts", watts)
        if joules is None:
            _set_reading(document, "EnergyJoules", None)
            _set_reading(document, "EnergykWh", None)
        else:
            document["EnergyJoules"] = {**document.get("EnergyJoules", {}), "Reading": joules}
            document["EnergykWh"] = {**document.get("EnergykWh", {}), "Reading": kwh}
    elif kind.startswith("#PowerSupplyMetrics."):
        _set_reading(document, "InputPowerWatts", watts)
        _set_reading(document, "EnergykWh", kwh)
    elif kind.startswith("#PowerSupply.") and document.get("PowerOutputWatts"):
        document["PowerOutputWatts"] = watts        # not in DMTF's schema; what Kepler v0.11 reads
    elif kind.startswith("#Sensor."):
        by_type = {"Power": watts, "EnergyJoules": joules, "EnergykWh": kwh}
        if document.get("ReadingType") in by_type:
            document["Reading"] = by_type[document["ReadingType"]]
    for member in document.get("Members", []):
        if isinstance(member, dict) and "@odata.type" in member:
            _drive_document(member, watts, joules)
    return document


# --------------------------------------------------------------------------- the server

class _Connection:
    """One accepted connection: a number for the request log, its socket (the TLS one once
    wrapped) so that down() and restart() can cut it, and the thread serving it."""

    def __init__(self, number, sock):
        self.number = number
        self.sock = sock
        self.cut = False
        self.thread = None


class _Listener(ThreadingHTTPServer):
    """A ThreadingHTTPServer that hands every accepted socket to the FakeBmc and does the TLS
    handshake in the connection's own thread, so a client that never speaks cannot stop others
    from being accepted."""

    daemon_threads = True
    block_on_close = False

    def __init__(self, port, bmc):
        self.bmc = bmc
        super().__init__(("127.0.0.1", port), _Handler)

    def get_request(self):
        sock, address = self.socket.accept()
        return self.bmc._accepted(sock), address

    def finish_request(self, connection, address):
        sock = self.bmc._secured(connection)
        if sock is not None:
            _Handler(sock, address, self, connection.number)

    def shutdown_request(self, connection):
        self.bmc._forget(connection)

    def handle_error(self, connection, address):
        """Connections cut by a fault or by the client end in OSError: expected, not reported."""
        if not isinstance(sys.exc_info()[1], OSError):
            log(f"fake BMC: error serving connection {connection.number}:\n{traceback.format_exc()}")


class _Handler(BaseHTTPRequestHandler):
    """HTTP/1.1 with keep-alive; every request goes to FakeBmc._answer."""

    protocol_version = "HTTP/1.1"
    server_version = "FakeBMC/1"
    timeout = IDLE_CONNECTION_TIMEOUT_S

    def __init__(self, sock, address, server, connection_id):
        self.connection_id = connection_id
        super().__init__(sock, address, server)

    def do_GET(self):
        self.server.bmc._answer(self)

    do_POST = do_DELETE = do_PATCH = do_PUT = do_GET

    def log_message(self, *_):
        """Quiet: tests read FakeBmc.requests instead."""

    def request_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def send(self, reply):
        self.send_response(reply.status)
        for name, value in reply.headers:
            self.send_header(name, value)
        if reply.status != 204:         # RFC 9110: a 204 carries neither body nor Content-Length
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(reply.body)))
        self.send_header("OData-Version", "4.0")
        self.end_headers()
        self.wfile.write(reply.body)


class FakeBmc:
    """A Redfish BMC on 127.0.0.1 serving the mockup at `mockup_root`.

    `tls`: HTTPS with a certificate from a CA made at start() (`ca_file`), else plain HTTP.
    `workdir`: where the certificates go. `username`, `password`: require authentication (see
    the module docstring). `chassis_collection`: member ids for a made-up `/redfish/v1/Chassis`,
    for captures that have none (the vendor folders); a service root linking it and the sessions
    is made up too when the mockup has none. Power readings are the files' until drive().

    Every setter below is thread-safe and takes effect for the next request; the counted faults
    apply in this order: stall, rate limit, authentication, garbage.
    """

    def __init__(self, mockup_root, *, tls=True, workdir, username=None, password=None,
                 chassis_collection=None):
        if (username is None) != (password is None):
            raise ValueError("give both username and password, or neither")
        self.mockup_root = mockup_root
        self.tls = tls
        self.workdir = workdir
        self.username = username
        self.password = password
        self.ca_file = None
        self.port = None
        self._synthesised = self._synthesise(chassis_collection)
        self._ssl_context = None
        self._lock = threading.Lock()
        self._listener = None
        self._serving_thread = None
        self._connections = set()
        self._interrupt = threading.Event()   # set (and replaced) to wake stalled requests
        self._requests = []
        self._connections_accepted = 0
        self._sessions = {}                    # token -> session id
        self._sessions_created = 0
        self._sessions_deleted = 0
        self._faults = {}                      # name -> [requests left, parameters]
        self._rejecting = False
        self._power = _DrivenPower()
        self._energy_counter = False

    def _synthesise(self, chassis_collection):
        if chassis_collection is None:
            return {}
        if os.path.exists(self._file_for(CHASSIS_COLLECTION)):
            raise ValueError(f"{self.mockup_root} has a Chassis collection of its own")
        made = {CHASSIS_COLLECTION: _synthesised_chassis_collection(list(chassis_collection))}
        if not os.path.exists(self._file_for(SERVICE_ROOT)):
            made[SERVICE_ROOT] = _synthesised_service_root()
        return made

    # ----------------------------------------------------------------- lifecycle

    @property
    def url(self):
        """The base URL to configure as the BMC endpoint, e.g. https://127.0.0.1:40123."""
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    def start(self):
        """Makes the certificates (TLS) and starts listening on a free port; returns self."""
        if self.tls:
            self.ca_file, cert_file, key_file = make_bmc_certificates(self.workdir)
            self._ssl_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self._ssl_context.load_cert_chain(cert_file, key_file)
        self.port = 0
        return self.up()

    def stop(self):
        """Closes everything and waits (briefly) for the connection threads: a stalled request
        is woken, so this returns promptly."""
        self.down()
        with self._lock:
            threads = [connection.thread for connection in self._connections if connection.thread]
        for thread in threads:
            thread.join(THREAD_JOIN_TIMEOUT_S)

    def __enter__(self):
        return self if self.port else self.start()

    def __exit__(self, *_):
        self.stop()

    # ----------------------------------------------------------------- faults

    def down(self):
        """The BMC goes away: the listening socket is closed (connecting is refused) and every
        open connection is cut. Returns self."""
        with self._lock:
            listener, self._listener = self._listener, None
        if listener is not None:
            listener.shutdown()
            listener.server_close()
            self._serving_thread.join()
        self._cut_connections()
        return self

    def up(self):
        """Listens again, on the same port as before down(). Returns self."""
        with self._lock:
            if self._listener is not None:
                return self
            self._listener = _Listener(self.port, self)
            self.port = self._listener.server_address[1]
            self._serving_thread = threading.Thread(target=self._listener.serve_forever, args=(0.05,),
                                                    name=f"fake-bmc-{self.port}", daemon=True)
            self._serving_thread.start()
        return self

    def restart(self):
        """A BMC reboot seen from outside: every session is forgotten and every connection cut,
        but the port keeps accepting."""
        with self._lock:
            self._sessions.clear()
        self._cut_connections()

    def reject_credentials(self, rejecting=True):
        """While on, every request but the service root gets 401, session logins included (as
        when the BMC password was changed). Sessions are kept: turning it off lets them work."""
        with self._lock:
            self._rejecting = rejecting

    def expire_sessions(self):
        """Forgets every session token: the next request with an old token gets 401."""
        with self._lock:
            self._sessions.clear()

    def rate_limit(self, status=429, retry_after=1, count=1):
        """The next `count` requests get `status` (429 or 503) with `Retry-After: retry_after`."""
        self._arm("rate_limit", count, (status, retry_after))

    def stall(self, seconds, count=1):
        """The next `count` requests wait `seconds` before being handled (down(), restart() and
        stop() end the wait, and the connection with it)."""
        self._arm("stall", count, seconds)

    def garbage(self, count=1):
        """The next `count` GETs that pass authentication get 200 with the body `{invalid json`."""
        self._arm("garbage", count, GARBAGE)

    def _arm(self, name, count, parameters):
        with self._lock:
            self._faults[name] = [count, parameters]

    def _take(self, name):
        """The parameters of fault `name` if it applies to this request (one use spent)."""
        with self._lock:
            fault = self._faults.get(name)
            if not fault or fault[0] <= 0:
                return None
            fault[0] -= 1
            return fault[1]

    # ----------------------------------------------------------------- driven power

    def drive(self, watts, energy_counter=False):
        """From now on every power reading served is `watts`: the first non-zero
        `PowerControl[].PowerConsumedWatts` of a Power resource (the others stay), the
        `PowerWatts` of EnvironmentMetrics, the `InputPowerWatts` of PowerSupplyMetrics, a
        non-zero `PowerOutputWatts` of a PowerSupply (Kepler's mockup), and the `Reading` of
        Power sensors. Each of them, so a tree with several chassis or power supplies reads
        `watts` several times. The legacy `Power.PowerSupplies[]` array stays as in the file.

        With `energy_counter`, EnvironmentMetrics also carry `EnergyJoules` (starting at
        ENERGY_OFFSET_J, the exact integral of the driven power up to the moment of the answer)
        and `EnergykWh` equal to it; the PowerSupplyMetrics' and energy sensors' own counters
        read the same energy. Without it those counters read null: a BMC without one."""
        with self._lock:
            self._power.set(watts, time.monotonic())
            self._energy_counter = energy_counter

    def driven_joules_between(self, t0, t1):
        """Energy driven between two time.monotonic() instants, both after the first drive()."""
        with self._lock:
            return self._power.joules_until(t1) - self._power.joules_until(t0)

    # ----------------------------------------------------------------- observations

    @property
    def requests(self):
        """Every request so far, oldest first: BmcRequest(method, path, connection_id, had_token,
        had_basic) tuples. `had_*` say what the client sent, valid or not."""
        with self._lock:
            return list(self._requests)

    @property
    def connections_accepted(self):
        with self._lock:
            return self._connections_accepted

    @property
    def sessions_created(self):
        with self._lock:
            return self._sessions_created

    @property
    def sessions_deleted(self):
        with self._lock:
            return self._sessions_deleted

    # ----------------------------------------------------------------- connections

    def _accepted(self, sock):
        with self._lock:
            self._connections_accepted += 1
            connection = _Connection(self._connections_accepted, sock)
            self._connections.add(connection)
            return connection

    def _secured(self, connection):
        """The connection's socket ready for HTTP (TLS handshake done), or None when it was cut
        or the handshake failed. Wrapping replaces the socket object, so it happens under the
        lock that _cut_connections takes: a cut never misses the socket in use."""
        connection.thread = threading.current_thread()
        connection.sock.settimeout(IDLE_CONNECTION_TIMEOUT_S)
        with self._lock:
            if connection.cut:
                return None
            if self._ssl_context is not None:
                connection.sock = self._ssl_context.wrap_socket(connection.sock, server_side=True,
                                                                do_handshake_on_connect=False)
        if self._ssl_context is not None:
            try:
                connection.sock.do_handshake()
            except OSError:
                return None
        return connection.sock

    def _forget(self, connection):
        with self._lock:
            self._connections.discard(connection)
        connection.sock.close()

    def _cut_connections(self):
        """Shuts every open connection down; their threads see the end of the stream and close
        them. Stalled requests are woken after that, so they cannot answer on a cut connection."""
        with self._lock:
            connections = list(self._connections)
            for connection in connections:
                connection.cut = True
            interrupt, self._interrupt = self._interrupt, threading.Event()
        for connection in connections:
            try:
                # socket.socket's own shutdown: SSLSocket.shutdown would drop its TLS state
                # under the thread still reading it.
                socket.socket.shutdown(connection.sock, socket.SHUT_RDWR)
            except OSError:
                pass
        interrupt.set()

    # ----------------------------------------------------------------- requests

    def _answer(self, handler):
        body = handler.request_body()
        token = handler.headers.get("X-Auth-Token")
        authorization = handler.headers.get("Authorization", "")
        with self._lock:
            self._requests.append(BmcRequest(handler.command, handler.path, handler.connection_id,
                                             bool(token), authorization.lower().startswith("basic ")))
            interrupt = self._interrupt
        stall_s = self._take("stall")
        if stall_s is not None:
            interrupt.wait(stall_s)
        handler.send(self._reply(handler.command, handler.path, body, token, authorization))

    def _reply(self, method, raw_path, body, token, authorization):
        limit = self._take("rate_limit")
        if limit is not None:
            status, retry_after = limit
            return _error(status, "ServiceTemporarilyUnavailable", "Too many requests; retry later.",
                          (("Retry-After", str(retry_after)),))
        path = _normalised(raw_path)
        if method == "POST" and path == SESSIONS:
            return self._log_in(body)
        if path != SERVICE_ROOT and not self._authorised(token, authorization):
            return _unauthorised()
        garbage = self._take("garbage") if method == "GET" else None
        if garbage is not None:
            return Reply(200, garbage)
        if method == "DELETE" and path is not None and path.startswith(SESSIONS + "/"):
            return self._log_out(path[len(SESSIONS) + 1:])
        if method != "GET":
            return _error(405, "OperationNotAllowed", f"{method} is not supported on {raw_path}.",
                          (("Allow", "GET"),))
        return self._resource(path, raw_path)

    def _authorised(self, token, authorization):
        with self._lock:
            if self._rejecting:
                return False
            if self.username is None or (token and token in self._sessions):
                return True
        return self._basic_credentials(authorization) == (self.username, self.password)

    @staticmethod
    def _basic_credentials(authorization):
        scheme, _, encoded = authorization.partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            user, _, password = base64.b64decode(encoded.strip(), validate=True).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return None
        return user, password

    def _log_in(self, body):
        try:
            credentials = json.loads(body)
            offered = (credentials["UserName"], credentials["Password"])
        except (ValueError, TypeError, KeyError):
            return _error(400, "MalformedJSON", "The body must be a JSON object with UserName and Password.")
        with self._lock:
            if self._rejecting or (self.username is not None and offered != (self.username, self.password)):
                return _error(401, "ResourceAtUriUnauthorized", "The credentials are not valid.")
            self._sessions_created += 1
            session_id = str(self._sessions_created)
            token = secrets.token_hex(16)
            self._sessions[token] = session_id
        location = f"{SESSIONS}/{session_id}"
        session = {"@odata.id": location, "@odata.type": "#Session.v1_0_0.Session", "Id": session_id,
                   "Name": f"Session {session_id}", "UserName": offered[0]}
        return Reply(201, _json_bytes(session), (("X-Auth-Token", token), ("Location", location)))

    def _log_out(self, session_id):
        with self._lock:
            tokens = [token for token, session in self._sessions.items() if session == session_id]
            for token in tokens:
                del self._sessions[token]
            if tokens:
                self._sessions_deleted += 1
        if not tokens:
            return _error(404, "ResourceMissingAtURI", f"There is no session {session_id}.")
        return Reply(204, b"")

    def _file_for(self, path):
        segments = [segment for segment in path[len(SERVICE_ROOT):].split("/") if segment]
        return os.path.join(self.mockup_root, *segments, "index.json")

    def _resource(self, path, raw_path):
        """The file's exact bytes, or the document with the driven readings when drive() was
        called (the energy counter taken at this moment)."""
        content = self._synthesised.get(path)
        if content is None and path is not None:
            try:
                with open(self._file_for(path), "rb") as source:
                    content = source.read()
            except OSError:
                content = None
        if content is None:
            return _error(404, "ResourceMissingAtURI", f"The resource at {raw_path} was not found.")
        with self._lock:
            watts = self._power.watts
            joules = (ENERGY_OFFSET_J + self._power.joules_until(time.monotonic())
                      if watts is not None and self._energy_counter else None)
        if watts is None:
            return Reply(200, content)
        return Reply(200, _json_bytes(_drive_document(json.loads(content), watts, joules)))
