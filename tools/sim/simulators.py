#!/usr/bin/env python3
"""Provider simulators for development and tests (standard library only).

One process serves three simulators, each on its own 127.0.0.1 port:

  telco       POST /v1/subscribers/verify   subscriber-ownership check (chính chủ)
  population  GET  /v1/citizens/<cccd>      population database (CSDL dân cư)
  sms         POST /v1/sms                  SMS sink; GET /v1/sms, /v1/sms/last, /v1/otp/last

Every port also serves the admin API: /admin/people, /admin/faults, /admin/reset.
People are seeded from tools/sim/people.json (or --people FILE). See docs/simulators.md.

Usage:
  python3 tools/sim/simulators.py [--telco-port N] [--population-port N] [--sms-port N]
                                  [--people FILE] [--port-file FILE] [--host H] [--verbose]
  (--telco_port, --population_port, --sms_port and --port_file are accepted too)
Port 0 picks a free port. Once every simulator listens, the process prints one
`SIM_<NAME>_URL=http://127.0.0.1:<port>` line per simulator on stdout (flushed), then `SIM_READY=1`.
"""

import argparse
import copy
import datetime
import http.server
import json
import os
import re
import signal
import socket
import sys
import threading
import unicodedata
import urllib.parse
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_PEOPLE = os.path.join(HERE, "people.json")
DEFAULT_PORTS = {"telco": 18081, "population": 18082, "sms": 18083}
NAMES = ("telco", "population", "sms")

MAX_BODY = 1 << 20
DEFAULT_TIMEOUT_MS = 30000  # fault mode "timeout" without latency_ms
FAULT_MODES = ("none", "timeout", "error", "drop")

# Carrier by domestic prefix (DOMAIN-FACTS.md). Longest prefix wins (Gmobile 0993-0997).
CARRIER_PREFIXES = {
    "VIETTEL": ["032", "033", "034", "035", "036", "037", "038", "039", "086", "096", "097", "098"],
    "MOBIFONE": ["070", "076", "077", "078", "079", "089", "090", "093"],
    "VINAPHONE": ["081", "082", "083", "084", "085", "088", "091", "094"],
    "ITEL": ["087"],
    "VIETNAMOBILE": ["052", "056", "058", "092"],
    "GMOBILE": ["059", "0993", "0994", "0995", "0996", "0997"],
    "REDDI": ["055"],
}

PERSON_FIELDS = ("cccd", "cmnd", "full_name", "date_of_birth", "gender", "place_of_birth",
                 "hometown", "permanent_address", "phones", "bhxh_code")
REQUIRED_FIELDS = ("cccd", "full_name", "date_of_birth", "gender")


class BadRequest(Exception):
    pass


# ----------------------------------------------------------------------------------------------
# Normalisation and validation


def carrier_of(domestic):
    best = None
    for carrier, prefixes in CARRIER_PREFIXES.items():
        for p in prefixes:
            if domestic.startswith(p) and (best is None or len(p) > len(best[1])):
                best = (carrier, p)
    return best[0] if best else None


def to_domestic(phone):
    """'0912345678', '84912345678' or '+84912345678' -> '0912345678'; None when malformed."""
    if not isinstance(phone, str):
        return None
    p = phone.strip().replace(" ", "")
    if p.startswith("+84"):
        p = "0" + p[3:]
    elif p.startswith("84") and len(p) == 11:
        p = "0" + p[2:]
    return p if re.fullmatch(r"0[1-9]\d{8}", p) else None


def to_msisdn(domestic):
    return "84" + domestic[1:]


def norm_name(name):
    return " ".join(unicodedata.normalize("NFC", name).casefold().split())


def parse_date(s):
    if not isinstance(s, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", s):
        return None
    try:
        return datetime.date.fromisoformat(s)
    except ValueError:
        return None


def cccd_problem(cccd, dob=None, gender=None):
    """Returns why `cccd` is invalid (optionally against a birth date and gender), or None."""
    if not isinstance(cccd, str) or not re.fullmatch(r"\d{12}", cccd):
        return "cccd must be 12 digits"
    province = int(cccd[0:3])
    if not 1 <= province <= 96:
        return "cccd province code must be 001-096"
    g = int(cccd[3])
    year = 1900 + 100 * (g // 2) + int(cccd[4:6])
    if dob is not None and dob.year != year:
        return "cccd century/year digits (%s) do not match date_of_birth" % cccd[3:6]
    if gender is not None and gender != ("male" if g % 2 == 0 else "female"):
        return "cccd gender digit does not match gender"
    return None


def validate_person(raw):
    """Validates and normalises one person record; raises BadRequest."""
    if not isinstance(raw, dict):
        raise BadRequest("person must be a JSON object")
    unknown = sorted(set(raw) - set(PERSON_FIELDS))
    if unknown:
        raise BadRequest("unknown fields: %s" % ", ".join(unknown))
    for f in REQUIRED_FIELDS:
        if not isinstance(raw.get(f), str) or not raw[f].strip():
            raise BadRequest("%s is required" % f)
    p = {}
    dob = parse_date(raw["date_of_birth"])
    if dob is None:
        raise BadRequest("date_of_birth must be a valid YYYY-MM-DD date")
    gender = raw["gender"]
    if gender not in ("male", "female"):
        raise BadRequest("gender must be male or female")
    problem = cccd_problem(raw["cccd"], dob, gender)
    if problem:
        raise BadRequest(problem)
    p["cccd"] = raw["cccd"]
    if raw.get("cmnd") not in (None, ""):
        if not isinstance(raw["cmnd"], str) or not re.fullmatch(r"\d{9}", raw["cmnd"]):
            raise BadRequest("cmnd must be 9 digits")
        p["cmnd"] = raw["cmnd"]
    p["full_name"] = unicodedata.normalize("NFC", raw["full_name"].strip())
    p["date_of_birth"] = raw["date_of_birth"]
    p["gender"] = gender
    for f in ("place_of_birth", "hometown", "permanent_address"):
        v = raw.get(f, "")
        if not isinstance(v, str):
            raise BadRequest("%s must be a string" % f)
        p[f] = unicodedata.normalize("NFC", v.strip())
    phones = raw.get("phones", [])
    if not isinstance(phones, list):
        raise BadRequest("phones must be a list")
    p["phones"] = []
    for ph in phones:
        d = to_domestic(ph)
        if d is None:
            raise BadRequest("phone %r is not a Vietnamese mobile number" % (ph,))
        if d not in p["phones"]:
            p["phones"].append(d)
    if raw.get("bhxh_code") not in (None, ""):
        if not isinstance(raw["bhxh_code"], str) or not re.fullmatch(r"\d{10}", raw["bhxh_code"]):
            raise BadRequest("bhxh_code must be 10 digits")
        p["bhxh_code"] = raw["bhxh_code"]
    return p


def load_people(path):
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    if not isinstance(data, list):
        raise ValueError("%s: expected a JSON array of persons" % path)
    people = []
    for i, raw in enumerate(data):
        try:
            people.append(validate_person(raw))
        except BadRequest as e:
            raise ValueError("%s: person #%d: %s" % (path, i, e))
    return people


# ----------------------------------------------------------------------------------------------
# Shared state


class People:
    """People by CCCD; a phone belongs to at most one person (the last one registered)."""

    def __init__(self, seed):
        self._lock = threading.Lock()
        self._seed = seed
        self._by_cccd = {}
        self.reset()

    def reset(self):
        with self._lock:
            self._by_cccd = {}
            for p in self._seed:
                self._put_locked(copy.deepcopy(p))

    def _put_locked(self, person):
        for other in self._by_cccd.values():
            if other["cccd"] != person["cccd"]:
                other["phones"] = [x for x in other["phones"] if x not in person["phones"]]
        replaced = person["cccd"] in self._by_cccd
        self._by_cccd[person["cccd"]] = person
        return replaced

    def put(self, person):
        with self._lock:
            return self._put_locked(copy.deepcopy(person))

    def get(self, cccd):
        with self._lock:
            p = self._by_cccd.get(cccd)
            return json.loads(json.dumps(p)) if p else None

    def by_phone(self, domestic):
        with self._lock:
            for p in self._by_cccd.values():
                if domestic in p["phones"]:
                    return json.loads(json.dumps(p))
        return None

    def all(self):
        with self._lock:
            return json.loads(json.dumps(list(self._by_cccd.values())))


class Faults:
    def __init__(self):
        self._lock = threading.Lock()
        self.reset()

    def reset(self):
        with self._lock:
            self._latency_ms, self._mode, self._count = 0, "none", 0

    def set(self, latency_ms, mode, count):
        with self._lock:
            self._latency_ms, self._mode, self._count = latency_ms, mode, count

    def describe(self):
        with self._lock:
            return {"latency_ms": self._latency_ms, "mode": self._mode, "count": self._count}

    def take(self):
        """Returns (latency_ms, mode) for the next provider request, consuming one count."""
        with self._lock:
            if self._count == 0:
                return 0, "none"
            fault = (self._latency_ms, self._mode)
            if self._count > 0:
                self._count -= 1
                if self._count == 0:
                    self._latency_ms, self._mode = 0, "none"
            return fault


class SmsLog:
    def __init__(self):
        self._lock = threading.Lock()
        self.reset()

    def reset(self):
        with self._lock:
            self._messages = []  # oldest first
            self._ids = set()

    def add(self, msg):
        """Stores msg unless its message_id was seen; returns True when stored."""
        with self._lock:
            if msg["message_id"] in self._ids:
                return False
            self._ids.add(msg["message_id"])
            self._messages.append(msg)
            return True

    def list(self, msisdn=None):
        with self._lock:
            return [dict(m) for m in reversed(self._messages)
                    if msisdn is None or m["to"] == msisdn]


class State:
    def __init__(self, seed, stop_event):
        self.people = People(seed)
        self.sms = SmsLog()
        self.faults = {n: Faults() for n in NAMES}
        self.stop_event = stop_event


# ----------------------------------------------------------------------------------------------
# HTTP


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "dvc-sim/1"
    sim_name = ""  # set per simulator subclass
    state = None
    verbose = False

    # -- plumbing

    def log_message(self, fmt, *args):
        if self.verbose:
            # No query strings: they carry phone numbers.
            sys.stderr.write("[sim %s] %s %s\n" % (self.sim_name, self.command,
                                                   self.path.split("?")[0]))

    def _send(self, status, obj):
        body = json.dumps(obj, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _error(self, status, message):
        # The request body may be unread: never reuse the connection after an error.
        self.close_connection = True
        self._send(status, {"error": message})

    def _json_body(self):
        length = self.headers.get("Content-Length")
        if length is None:
            raise BadRequest("Content-Length required")
        try:
            n = int(length)
        except ValueError:
            raise BadRequest("bad Content-Length")
        if n < 0 or n > MAX_BODY:
            raise BadRequest("body too large")
        raw = self.rfile.read(n)
        try:
            return json.loads(raw.decode("utf-8")) if raw else None
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise BadRequest("invalid JSON: %s" % e)

    def _drop(self):
        self.close_connection = True
        try:
            # RST instead of FIN so the client sees the connection die mid-request.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00"
                                       b"\x00\x00\x00\x00")
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def do_GET(self):
        self._dispatch()

    def do_POST(self):
        self._dispatch()

    def do_PUT(self):
        self._dispatch()

    def do_DELETE(self):
        self._dispatch()

    def _dispatch(self):
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query)
        path = url.path
        try:
            if path.startswith("/admin/"):
                return self._admin(path, query)
            route = self._route(path)
            if route is None:
                return self._error(404, "no such endpoint: %s %s" % (self.command, path))
            if self.command not in route:
                return self._error(405, "method not allowed")
            fn, provider = route[self.command]
            if provider and not self._apply_fault():
                return None
            return fn(path, query)
        except BadRequest as e:
            return self._error(400, str(e))
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
            return None

    def _apply_fault(self):
        """Applies the configured fault; returns False when the request is already answered."""
        latency_ms, mode = self.state.faults[self.sim_name].take()
        delay = latency_ms
        if mode == "timeout" and delay <= 0:
            delay = DEFAULT_TIMEOUT_MS
        if delay > 0 and self.state.stop_event.wait(delay / 1000.0):
            self._drop()  # shutting down
            return False
        if mode == "error":
            self._error(503, "simulated provider failure")
            return False
        if mode == "drop":
            self._drop()
            return False
        return True

    def _route(self, path):
        """Returns {method: (handler, is_provider_endpoint)} or None for an unknown path."""
        return None

    # -- admin API (every simulator)

    def _admin(self, path, query):
        if path == "/admin/people" and self.command == "GET":
            return self._send(200, {"people": self.state.people.all()})
        if path == "/admin/people" and self.command == "POST":
            person = validate_person(self._json_body())
            replaced = self.state.people.put(person)
            return self._send(200 if replaced else 201, {"person": person, "replaced": replaced})
        if path == "/admin/faults" and self.command == "GET":
            return self._send(200, self.state.faults[self.sim_name].describe())
        if path == "/admin/faults" and self.command == "POST":
            body = self._json_body() or {}
            if not isinstance(body, dict):
                raise BadRequest("body must be a JSON object")
            latency = body.get("latency_ms", 0)
            mode = body.get("mode", "none")
            count = body.get("count", -1)
            if not isinstance(latency, int) or isinstance(latency, bool) or latency < 0:
                raise BadRequest("latency_ms must be a non-negative integer")
            if mode not in FAULT_MODES:
                raise BadRequest("mode must be one of %s" % "|".join(FAULT_MODES))
            if not isinstance(count, int) or isinstance(count, bool) or count < -1:
                raise BadRequest("count must be -1 (until reset) or >= 0")
            self.state.faults[self.sim_name].set(latency, mode, count)
            return self._send(200, self.state.faults[self.sim_name].describe())
        if path == "/admin/reset" and self.command == "POST":
            body = self._json_body() if self.headers.get("Content-Length") else None
            self.state.faults[self.sim_name].reset()
            if self.sim_name == "sms":
                self.state.sms.reset()
            if isinstance(body, dict) and body.get("people") is True:
                self.state.people.reset()
            return self._send(200, {"reset": True})
        return self._error(404, "no such admin endpoint: %s %s" % (self.command, path))


class TelcoHandler(Handler):
    sim_name = "telco"

    def _route(self, path):
        if path == "/v1/subscribers/verify":
            return {"POST": (self._verify, True)}
        return None

    def _verify(self, path, query):
        req = self._json_body()
        if not isinstance(req, dict):
            raise BadRequest("body must be a JSON object")
        for f in ("request_id", "msisdn", "id_number", "full_name", "date_of_birth"):
            if not isinstance(req.get(f), str) or not req[f].strip():
                raise BadRequest("%s is required" % f)
        msisdn = req["msisdn"]
        if not re.fullmatch(r"84[1-9]\d{8}", msisdn):
            raise BadRequest("msisdn must be 84 followed by 9 digits")
        id_number = req["id_number"]
        if not re.fullmatch(r"\d{12}|\d{9}", id_number):
            raise BadRequest("id_number must be a 12-digit CCCD or a 9-digit CMND")
        if parse_date(req["date_of_birth"]) is None:
            raise BadRequest("date_of_birth must be a valid YYYY-MM-DD date")
        domestic = "0" + msisdn[2:]
        person = self.state.people.by_phone(domestic)
        resp = {"request_id": req["request_id"], "msisdn": msisdn, "carrier": carrier_of(domestic),
                "subscriber_found": person is not None, "match": False, "mismatches": []}
        if person is not None:
            mismatches = []
            if id_number not in (person["cccd"], person.get("cmnd")):
                mismatches.append("id_number")
            if norm_name(req["full_name"]) != norm_name(person["full_name"]):
                mismatches.append("full_name")
            if req["date_of_birth"] != person["date_of_birth"]:
                mismatches.append("date_of_birth")
            resp["mismatches"] = mismatches
            resp["match"] = not mismatches
        return self._send(200, resp)


class PopulationHandler(Handler):
    sim_name = "population"

    def _route(self, path):
        if path.startswith("/v1/citizens/"):
            return {"GET": (self._citizen, True)}
        return None

    def _citizen(self, path, query):
        cccd = path[len("/v1/citizens/"):]
        problem = cccd_problem(cccd)
        if problem:
            raise BadRequest(problem)
        person = self.state.people.get(cccd)
        if person is None:
            return self._error(404, "citizen not found")
        person.pop("phones", None)
        return self._send(200, person)


class SmsHandler(Handler):
    sim_name = "sms"

    def _route(self, path):
        if path == "/v1/sms":
            return {"POST": (self._send_sms, True), "GET": (self._list, False)}
        if path == "/v1/sms/last":
            return {"GET": (self._last, False)}
        if path == "/v1/otp/last":
            return {"GET": (self._otp, False)}
        return None

    def _send_sms(self, path, query):
        req = self._json_body()
        if not isinstance(req, dict):
            raise BadRequest("body must be a JSON object")
        to = req.get("to")
        if not isinstance(to, str) or not re.fullmatch(r"84[1-9]\d{8}", to):
            raise BadRequest("to must be 84 followed by 9 digits")
        text = req.get("text")
        if not isinstance(text, str) or not text:
            raise BadRequest("text is required")
        sender = req.get("sender", "")
        if not isinstance(sender, str):
            raise BadRequest("sender must be a string")
        message_id = req.get("message_id")
        if message_id in (None, ""):
            message_id = str(uuid.uuid4())
        if not isinstance(message_id, (str, int)) or isinstance(message_id, bool):
            raise BadRequest("message_id must be a string")
        message_id = str(message_id)
        now = datetime.datetime.now(datetime.timezone.utc)
        stored = self.state.sms.add({
            "message_id": message_id, "to": to, "text": text, "sender": sender,
            "received_at": now.isoformat(timespec="milliseconds").replace("+00:00", "Z")})
        return self._send(202, {"message_id": message_id, "duplicate": not stored})

    def _to(self, query, required):
        values = query.get("to")
        if not values:
            if required:
                raise BadRequest("to is required")
            return None
        d = to_domestic(values[0])
        if d is None:
            raise BadRequest("to must be a Vietnamese mobile number (84... or 0...)")
        return to_msisdn(d)

    def _list(self, path, query):
        return self._send(200, {"messages": self.state.sms.list(self._to(query, False))})

    def _last(self, path, query):
        msgs = self.state.sms.list(self._to(query, True))
        if not msgs:
            return self._error(404, "no message for this number")
        return self._send(200, msgs[0])

    def _otp(self, path, query):
        msgs = self.state.sms.list(self._to(query, True))
        if not msgs:
            return self._error(404, "no message for this number")
        m = re.search(r"(?<!\d)\d{6}(?!\d)", msgs[0]["text"])
        if not m:
            return self._error(404, "the last message holds no 6-digit code")
        return self._send(200, {"otp": m.group(0), "message_id": msgs[0]["message_id"]})


HANDLERS = {"telco": TelcoHandler, "population": PopulationHandler, "sms": SmsHandler}


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class Simulators:
    """All simulators in this process. start() binds every port; stop() shuts down."""

    def __init__(self, ports=None, people=None, host="127.0.0.1", verbose=False):
        self.stop_event = threading.Event()
        seed = people if people is not None else load_people(DEFAULT_PEOPLE)
        self.state = State(seed, self.stop_event)
        self.host = host
        self.ports = dict(DEFAULT_PORTS)
        self.ports.update(ports or {})
        self.verbose = verbose
        self.servers = {}
        self.threads = []

    def start(self):
        try:
            for name in NAMES:
                cls = type(HANDLERS[name].__name__, (HANDLERS[name],),
                           {"state": self.state, "verbose": self.verbose})
                self.servers[name] = _Server((self.host, self.ports[name]), cls)
                self.ports[name] = self.servers[name].server_address[1]
        except OSError:
            self.stop()
            raise
        for name, srv in self.servers.items():
            t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.2},
                                 name="sim-" + name, daemon=True)
            t.start()
            self.threads.append(t)
        return self

    def url(self, name):
        return "http://%s:%d" % (self.host, self.ports[name])

    def stop(self):
        self.stop_event.set()
        if any(t.is_alive() for t in self.threads):
            # shutdown() waits for the serve loop to notice; do all servers at once.
            stoppers = [threading.Thread(target=srv.shutdown) for srv in self.servers.values()]
            for t in stoppers:
                t.start()
            for t in stoppers:
                t.join()
        for srv in self.servers.values():
            srv.server_close()
        self.servers = {}
        self.threads = []


def main(argv=None):
    ap = argparse.ArgumentParser(description="Provider simulators (telco, population, sms).")
    ap.add_argument("--host", default="127.0.0.1")
    # Both --telco-port and --telco_port (the services' flag style) are accepted.
    for name in NAMES:
        ap.add_argument("--%s-port" % name, "--%s_port" % name, dest="%s_port" % name, type=int,
                        default=DEFAULT_PORTS[name],
                        help="port of the %s simulator (0 = pick a free one)" % name)
    ap.add_argument("--people", default=DEFAULT_PEOPLE, help="people seed file (JSON array)")
    ap.add_argument("--port-file", "--port_file", dest="port_file",
                    help="write name=port lines here once listening")
    ap.add_argument("--verbose", action="store_true", help="log requests (paths only) on stderr")
    args = ap.parse_args(argv)

    try:
        people = load_people(args.people)
    except (OSError, ValueError) as e:
        print("simulators: cannot load people: %s" % e, file=sys.stderr)
        return 2
    ports = {n: getattr(args, n + "_port") for n in NAMES}
    sims = Simulators(ports=ports, people=people, host=args.host, verbose=args.verbose)
    try:
        sims.start()
    except OSError as e:
        print("simulators: cannot listen: %s" % e, file=sys.stderr)
        return 1

    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())

    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            for n in NAMES:
                f.write("%s=%d\n" % (n, sims.ports[n]))
        os.replace(tmp, args.port_file)
    for n in NAMES:
        print("SIM_%s_URL=%s" % (n.upper(), sims.url(n)))
    print("SIM_READY=1", flush=True)

    while not stop.wait(0.2):
        pass
    sims.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
