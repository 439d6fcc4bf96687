#!/usr/bin/env python3
"""Provider simulators for development and tests (standard library only; signing uses the
`openssl` command-line tool).

One process serves five simulators, each on its own 127.0.0.1 port:

  telco       POST /v1/subscribers/verify   subscriber-ownership check (chính chủ)
  population  GET  /v1/citizens/<cccd>      population database (CSDL dân cư)
  sms         POST /v1/sms                  SMS sink; GET /v1/sms, /v1/sms/last, /v1/otp/last
  mssp        POST /soap                    SIM signature (ETSI TS 102 204, SOAP 1.2 or 1.1)
  smartca     POST /v1/credentials/get_certificate, /v1/signatures/sign,
              GET|POST /v1/signatures/sign/<tran_id>/status   VNPT SmartCA remote signing

Every port also serves the admin API: /admin/people, /admin/faults, /admin/reset,
/admin/mssp/..., /admin/smartca/.... People are seeded from tools/sim/people.json (or --people
FILE); signing users come from a test-PKI manifest (--pki_manifest FILE, tools/pki/gen).
See docs/simulators.md.

Usage:
  python3 tools/sim/simulators.py [--telco_port N] [--population_port N] [--sms_port N]
                                  [--mssp_port N] [--smartca_port N] [--pki_manifest FILE]
                                  [--people FILE] [--port_file FILE] [--host H] [--verbose]
  (hyphenated spellings such as --telco-port are accepted too; --help lists every flag)
Port 0 picks a free port. Once every simulator listens, the process prints one
`SIM_<NAME>_URL=http://127.0.0.1:<port>` line per simulator on stdout, then `SIM_READY=1`
(all in one flushed write).
"""

import argparse
import base64
import binascii
import collections
import copy
import datetime
import hashlib
import http.server
import json
import os
import re
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import unicodedata
import urllib.parse
import uuid
import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape as xml_escape
from xml.sax.saxutils import quoteattr

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_PEOPLE = os.path.join(HERE, "people.json")
DEFAULT_PORTS = {"telco": 18081, "population": 18082, "sms": 18083, "mssp": 18084,
                 "smartca": 18085}
NAMES = ("telco", "population", "sms", "mssp", "smartca")

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


# ----------------------------------------------------------------------------------------------
# Test PKI: signing users of the MSSP and SmartCA simulators (tools/pki manifest, Contract A)

# DER prefix of a SHA-256 DigestInfo (AlgorithmIdentifier with NULL parameters), RFC 8017 §9.2.
SHA256_DIGESTINFO_PREFIX = bytes.fromhex("3031300d060960864801650304020105000420")
_RSA_OID = bytes.fromhex("06092a864886f70d010101")
_PEM_CERT_RE = re.compile(rb"-----BEGIN CERTIFICATE-----(.+?)-----END CERTIFICATE-----", re.S)


def digest_info_sha256(digest):
    return SHA256_DIGESTINFO_PREFIX + digest


def sha256_of_digest_info(der):
    """The SHA-256 hash inside a DER DigestInfo, or None when `der` is not exactly one."""
    if len(der) == len(SHA256_DIGESTINFO_PREFIX) + 32 and der.startswith(SHA256_DIGESTINFO_PREFIX):
        return der[len(SHA256_DIGESTINFO_PREFIX):]
    return None


def _openssl(args, data=None):
    try:
        r = subprocess.run(["openssl"] + args, input=data, capture_output=True, timeout=30)
    except (OSError, subprocess.SubprocessError) as e:
        raise ValueError("openssl %s: %s" % (args[0], e))
    if r.returncode != 0:
        raise ValueError("openssl %s failed: %s" % (args[0], r.stderr.decode("utf-8", "replace")
                                                    .strip()[:300]))
    return r.stdout


def _pem_certs(path):
    with open(path, "rb") as f:
        blocks = _PEM_CERT_RE.findall(f.read())
    if not blocks:
        raise ValueError("%s: no PEM certificate" % path)
    return [base64.b64decode(b"".join(b.split())) for b in blocks]


def _openssl_date(s):
    d = datetime.datetime.strptime(" ".join(s.split()), "%b %d %H:%M:%S %Y GMT")
    return d.strftime("%Y-%m-%dT%H:%M:%SZ")


class Signer:
    """One certificate with its private key: what a SIM or a SmartCA account signs with."""

    def __init__(self, name, cert_path, key_path, chain_path=None, subject=None):
        self.name = name
        self.key_path = key_path
        self.cert_der = _pem_certs(cert_path)[0]
        self.chain_der = _pem_certs(chain_path) if chain_path else [self.cert_der]
        if self.chain_der[0] != self.cert_der:
            self.chain_der = [self.cert_der] + self.chain_der
        info = {}
        out = _openssl(["x509", "-inform", "DER", "-noout", "-serial", "-startdate", "-enddate",
                        "-subject", "-nameopt", "RFC2253,-esc_msb"], self.cert_der)
        for line in out.decode("utf-8", "replace").splitlines():
            k, _, v = line.partition("=")
            info[k.strip()] = v.strip()
        self.serial = info.get("serial", "").upper()
        self.subject = subject or info.get("subject", "")
        self.valid_from = _openssl_date(info["notBefore"])
        self.valid_to = _openssl_date(info["notAfter"])
        pub = _openssl(["pkey", "-in", key_path, "-pubout", "-outform", "DER"])
        self.is_rsa = _RSA_OID in pub[:32]
        self.cert_id = str(uuid.uuid5(uuid.NAMESPACE_OID,
                                      hashlib.sha256(self.cert_der).hexdigest()))

    def sign_digest(self, digest):
        """PKCS#1 v1.5 signature of a SHA-256 hash (RSA: over its DigestInfo), or ECDSA (DER)."""
        data = digest_info_sha256(digest) if self.is_rsa else digest
        return _openssl(["pkeyutl", "-sign", "-inkey", self.key_path], data)

    def describe(self):
        return {"name": self.name, "subject": self.subject, "serial_number": self.serial,
                "valid_from": self.valid_from, "valid_to": self.valid_to}


class Pki:
    """Signing users: MSISDN -> Signer (MSSP) and SmartCA user_id -> [Signer]."""

    def __init__(self, mssp_users=None, smartca_users=None):
        self.mssp_users = mssp_users or {}
        self.smartca_users = smartca_users or {}


def load_pki_manifest(path):
    """Loads the certificates with a "phone" or "smartca_user_id" from a tools/pki manifest."""
    with open(path, encoding="utf-8") as f:
        manifest = json.load(f)
    certs = manifest.get("certs") if isinstance(manifest, dict) else None
    if not isinstance(certs, dict):
        raise ValueError("%s: no \"certs\" object" % path)
    base = os.path.dirname(os.path.abspath(path))

    def resolve(p):
        if os.path.isabs(p) or os.path.exists(p):
            return p
        return os.path.join(base, p)

    pki = Pki()
    for name in sorted(certs):
        c = certs[name]
        phone, user_id = c.get("phone"), c.get("smartca_user_id")
        if not phone and not user_id:
            continue
        if not c.get("cert") or not c.get("key"):
            raise ValueError("%s: certs.%s needs \"cert\" and \"key\"" % (path, name))
        try:
            signer = Signer(name, resolve(c["cert"]), resolve(c["key"]),
                            resolve(c["chain"]) if c.get("chain") else None, c.get("subject"))
        except (OSError, ValueError, KeyError) as e:
            raise ValueError("%s: certs.%s: %s" % (path, name, e))
        if phone:
            msisdn = str(phone).lstrip("+")
            if not re.fullmatch(r"84[1-9]\d{8}", msisdn):
                raise ValueError("%s: certs.%s: phone %r is not 84 + 9 digits"
                                 % (path, name, phone))
            if msisdn in pki.mssp_users:
                sys.stderr.write("simulators: %s: phone %s of %s already belongs to %s; ignored\n"
                                 % (path, msisdn, name, pki.mssp_users[msisdn].name))
            else:
                pki.mssp_users[msisdn] = signer
        if user_id:
            pki.smartca_users.setdefault(str(user_id), []).append(signer)
    return pki


# ----------------------------------------------------------------------------------------------
# Scripted signer behaviour and transactions (MSSP and SmartCA)


def _now_iso():
    return (datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"))


class Behaviours:
    """Scripted outcome per user (MSISDN or SmartCA user_id): {outcome, delay_ms, count}."""

    def __init__(self, key_name, outcomes, default_outcome, default_delay_ms):
        self.key_name = key_name
        self.outcomes = outcomes
        self.default_outcome = default_outcome
        self.default_delay_ms = default_delay_ms
        self._lock = threading.Lock()
        self._by_key = {}

    def reset(self, key=None):
        with self._lock:
            if key is None:
                self._by_key = {}
            else:
                self._by_key.pop(key, None)

    def set(self, body, key_re):
        if not isinstance(body, dict):
            raise BadRequest("body must be a JSON object")
        unknown = sorted(set(body) - {self.key_name, "outcome", "delay_ms", "count"})
        if unknown:
            raise BadRequest("unknown fields: %s" % ", ".join(unknown))
        key = body.get(self.key_name)
        if not isinstance(key, str) or not re.fullmatch(key_re, key):
            raise BadRequest("%s is required (%s)" % (self.key_name, key_re))
        outcome = body.get("outcome")
        if outcome not in self.outcomes:
            raise BadRequest("outcome must be one of %s" % "|".join(self.outcomes))
        delay = body.get("delay_ms")
        if delay is not None and (not isinstance(delay, int) or isinstance(delay, bool)
                                  or delay < 0):
            raise BadRequest("delay_ms must be a non-negative integer")
        count = body.get("count", -1)
        if not isinstance(count, int) or isinstance(count, bool) or count < -1:
            raise BadRequest("count must be -1 (until reset), 0 (clear) or a positive integer")
        with self._lock:
            if count == 0:
                self._by_key.pop(key, None)
                return None
            b = {self.key_name: key, "outcome": outcome, "delay_ms": delay, "count": count}
            self._by_key[key] = b
            return dict(b)

    def describe(self):
        with self._lock:
            return {"default": {"outcome": self.default_outcome,
                                "delay_ms": self.default_delay_ms},
                    "behaviours": [dict(b) for _, b in sorted(self._by_key.items())]}

    def take(self, key):
        """(outcome, delay_ms) for the next transaction of `key`, consuming one count."""
        with self._lock:
            b = self._by_key.get(key)
            if b is None:
                return self.default_outcome, self.default_delay_ms
            if b["count"] > 0:
                b["count"] -= 1
                if b["count"] == 0:
                    del self._by_key[key]
            delay = b["delay_ms"] if b["delay_ms"] is not None else self.default_delay_ms
            return b["outcome"], delay


class Transactions:
    """The last MAX transactions of one simulator by id (dicts, guarded by one lock)."""
    MAX = 500

    def __init__(self):
        self.lock = threading.Lock()
        self._by_id = collections.OrderedDict()

    def reset(self):
        with self.lock:
            self._by_id.clear()

    def add(self, txn_id, txn):
        with self.lock:
            self._by_id[txn_id] = txn
            while len(self._by_id) > self.MAX:
                self._by_id.popitem(last=False)

    def get(self, txn_id):
        with self.lock:
            return self._by_id.get(txn_id)

    def newest_first(self):
        with self.lock:
            return list(reversed(self._by_id.values()))


MSSP_OUTCOMES = ("approve", "cancel", "timeout", "pin_blocked", "no_cert", "unreachable",
                 "bad_signature")
SMARTCA_OUTCOMES = ("approve", "reject", "expire", "fail", "bad_signature")


class SignerConfig:
    """Credentials and defaults of the MSSP and SmartCA simulators (command-line flags)."""

    def __init__(self, mssp_ap_id="dvc-ap", mssp_ap_password="dvc-ap-secret",
                 mssp_default_delay_ms=300, smartca_sp_id="dvc-sp",
                 smartca_sp_password="dvc-sp-secret", smartca_default_delay_ms=300):
        self.mssp_ap_id = mssp_ap_id
        self.mssp_ap_password = mssp_ap_password
        self.mssp_default_delay_ms = mssp_default_delay_ms
        self.smartca_sp_id = smartca_sp_id
        self.smartca_sp_password = smartca_sp_password
        self.smartca_default_delay_ms = smartca_default_delay_ms


class State:
    def __init__(self, seed, stop_event, pki=None, config=None):
        self.people = People(seed)
        self.sms = SmsLog()
        self.faults = {n: Faults() for n in NAMES}
        self.stop_event = stop_event
        self.pki = pki or Pki()
        self.config = config or SignerConfig()
        self.mssp_behaviours = Behaviours("msisdn", MSSP_OUTCOMES, "approve",
                                          self.config.mssp_default_delay_ms)
        self.mssp_txns = Transactions()
        self.smartca_behaviours = Behaviours("user_id", SMARTCA_OUTCOMES, "approve",
                                             self.config.smartca_default_delay_ms)
        self.smartca_txns = Transactions()


# ----------------------------------------------------------------------------------------------
# HTTP


class _Headers(dict):
    """Request headers by lower-cased name, answering get() and [] like email.message.Message:
    any case, the first occurrence, None when absent."""

    def get(self, name, default=None):
        return dict.get(self, name.lower(), default)

    def __getitem__(self, name):
        return dict.get(self, name.lower())

    def __contains__(self, name):
        return dict.__contains__(self, name.lower())


MAX_HEADERS = 100  # as http.client


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "dvc-sim/1"
    # Each answer goes out in one write (below) with TCP_NODELAY: with Nagle on and the headers
    # and body written apart, the body waited for the client's delayed ACK, 40 ms per request.
    disable_nagle_algorithm = True
    sim_name = ""  # set per simulator subclass
    state = None
    verbose = False

    # -- plumbing

    def parse_request(self):
        """BaseHTTPRequestHandler.parse_request for HTTP/1.0 and 1.1 with a plain header parser:
        the standard one runs the headers through the email package, which was the largest part
        of a simulator request's CPU."""
        self.command = None
        self.request_version = self.default_request_version
        self.close_connection = True
        self.requestline = str(self.raw_requestline, "iso-8859-1").rstrip("\r\n")
        words = self.requestline.split()
        if not words:
            return False
        if len(words) != 3 or words[2] not in ("HTTP/1.0", "HTTP/1.1"):
            self.request_version = "HTTP/1.1"  # so that the answer has a status line
            self.send_error(400, "Bad request line (%r)" % self.requestline)
            return False
        self.command, self.path, self.request_version = words
        if self.path.startswith("//"):
            self.path = "/" + self.path.lstrip("/")  # as the standard parser (gh-87389)
        headers = _Headers()
        for _ in range(MAX_HEADERS + 1):
            line = self.rfile.readline(65537)
            if len(line) > 65536:
                self.send_error(431, "Line too long")
                return False
            if line in (b"\r\n", b"\n", b""):
                break
            name, sep, value = line.decode("iso-8859-1").partition(":")
            if not sep or not name or name != name.strip():
                self.send_error(400, "Bad header line")
                return False
            headers.setdefault(name.lower(), value.strip())
        else:
            self.send_error(431, "Too many headers")
            return False
        self.headers = headers
        self.close_connection = self.request_version == "HTTP/1.0"
        connection = headers.get("Connection", "").lower()
        if connection == "close":
            self.close_connection = True
        elif connection == "keep-alive":
            self.close_connection = False
        if (headers.get("Expect", "").lower() == "100-continue"
                and self.request_version == "HTTP/1.1" and not self.handle_expect_100()):
            return False
        return True

    def log_message(self, fmt, *args):
        if self.verbose:
            # No query strings: they carry phone numbers.
            sys.stderr.write("[sim %s] %s %s\n" % (self.sim_name, self.command,
                                                   self.path.split("?")[0]))

    def _send(self, status, obj):
        self._send_bytes(status, json.dumps(obj, ensure_ascii=False).encode("utf-8"),
                         "application/json; charset=utf-8")

    def _send_bytes(self, status, body, content_type):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self._headers_buffer.append(b"\r\n")  # end_headers() without its own write
        if self.command != "HEAD":
            self._headers_buffer.append(body)
        self.flush_headers()

    def _error(self, status, message):
        # The request body may be unread: never reuse the connection after an error.
        self.close_connection = True
        self._send(status, {"error": message})

    def _json_body(self):
        raw = self._raw_body()
        try:
            return json.loads(raw.decode("utf-8")) if raw else None
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise BadRequest("invalid JSON: %s" % e)

    def _raw_body(self):
        length = self.headers.get("Content-Length")
        if length is None:
            raise BadRequest("Content-Length required")
        try:
            n = int(length)
        except ValueError:
            raise BadRequest("bad Content-Length")
        if n < 0 or n > MAX_BODY:
            raise BadRequest("body too large")
        return self.rfile.read(n)

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
        if path.startswith("/admin/mssp/") or path.startswith("/admin/smartca/"):
            return self._admin_signer(path, query)
        if path == "/admin/reset" and self.command == "POST":
            body = self._json_body() if self.headers.get("Content-Length") else None
            self.state.faults[self.sim_name].reset()
            if self.sim_name == "sms":
                self.state.sms.reset()
            if self.sim_name == "mssp":
                self.state.mssp_behaviours.reset()
                self.state.mssp_txns.reset()
            if self.sim_name == "smartca":
                self.state.smartca_behaviours.reset()
                self.state.smartca_txns.reset()
            if isinstance(body, dict) and body.get("people") is True:
                self.state.people.reset()
            return self._send(200, {"reset": True})
        return self._error(404, "no such admin endpoint: %s %s" % (self.command, path))

    def _admin_signer(self, path, query):
        st = self.state
        if path.startswith("/admin/mssp/"):
            beh, txns, key, key_re, view = (st.mssp_behaviours, st.mssp_txns, "msisdn",
                                            r"84[1-9]\d{8}", mssp_txn_view)
            users = [dict(s.describe(), msisdn=m) for m, s in sorted(st.pki.mssp_users.items())]
        else:
            beh, txns, key, key_re, view = (st.smartca_behaviours, st.smartca_txns, "user_id",
                                            r".+", smartca_txn_view)
            users = [dict(s.describe(), user_id=u) for u, signers in
                     sorted(st.pki.smartca_users.items()) for s in signers]
        sub = path.split("/", 3)[3]
        wanted = query.get(key, [None])[0]
        if wanted is not None and key == "msisdn":
            wanted = wanted.strip().lstrip("+")
        if sub == "behaviour" and self.command == "GET":
            return self._send(200, beh.describe())
        if sub == "behaviour" and self.command == "POST":
            body = self._json_body()
            if isinstance(body, dict) and key == "msisdn" and isinstance(body.get(key), str):
                body[key] = body[key].strip().lstrip("+")
            b = beh.set(body, key_re)
            return self._send(200, dict(beh.describe(), behaviour=b))
        if sub == "behaviour" and self.command == "DELETE":
            beh.reset(wanted)
            return self._send(200, beh.describe())
        if sub == "transactions" and self.command == "GET":
            return self._send(200, {"transactions": [view(t) for t in txns.newest_first()
                                                     if wanted is None or t[key] == wanted]})
        if sub == "users" and self.command == "GET":
            return self._send(200, {"users": users})
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


# ----------------------------------------------------------------------------------------------
# MSSP: SIM signature, ETSI TS 102 204 over SOAP (1.2 or 1.1)

MSS_NS = "http://uri.etsi.org/TS102204/v1.1.2#"
SOAP12_NS = "http://www.w3.org/2003/05/soap-envelope"
SOAP11_NS = "http://schemas.xmlsoap.org/soap/envelope/"
SIM_MSSP_NS = "urn:dvc:sim:mssp:v1"  # simulator-defined extension elements
MSS_FORMAT_PKCS1 = MSS_NS + "PKCS1"
MSSP_ID_URI = "http://mssp.sim.dvc.local"
DEFAULT_SIGNATURE_PROFILE = "http://mssp.sim.dvc.local/profile/sign"
DEFAULT_MSS_TIMEOUT_S = 300
MAX_MSS_TIMEOUT_S = 3600

MSS_STATUS = {100: "REQUEST_OK", 101: "WRONG_PARAM", 102: "MISSING_PARAM",
              104: "UNAUTHORIZED_ACCESS", 105: "UNKNOWN_CLIENT", 208: "EXPIRED_TRANSACTION",
              209: "OTA_ERROR", 401: "USER_CANCEL", 402: "PIN_NR_BLOCKED", 422: "NO_CERT_FOUND",
              500: "SIGNATURE", 504: "OUTSTANDING_TRANSACTION", 900: "INTERNAL_ERROR"}
MSSP_OUTCOME_CODE = {"approve": 500, "bad_signature": 500, "cancel": 401, "timeout": 208,
                     "pin_blocked": 402, "no_cert": 422, "unreachable": 209}
MSSP_OUTCOME_TEXT = {401: "the user cancelled the signature request",
                     208: "the user did not answer within the transaction's time-out",
                     402: "the SIM's signature PIN is blocked",
                     422: "no signing certificate on the SIM",
                     209: "the phone could not be reached over the air"}


class MsspError(Exception):
    def __init__(self, code, detail):
        Exception.__init__(self, detail)
        self.code = code
        self.detail = detail


def _split_tag(tag):
    if not isinstance(tag, str):
        return None, ""
    if tag.startswith("{"):
        ns, _, local = tag[1:].partition("}")
        return ns, local
    return "", tag


def _child(elem, name):
    """First child element with local name `name` (namespaces ignored), or None."""
    if elem is None:
        return None
    for c in elem:
        if _split_tag(c.tag)[1] == name:
            return c
    return None


def _text(elem):
    return "".join(elem.itertext()).strip() if elem is not None else ""


def _uri_of(elem):
    """Text of an mssURIType element (<X><mssURI>uri</mssURI></X>) or of the element itself."""
    if elem is None:
        return ""
    inner = _child(elem, "mssURI")
    return _text(inner if inner is not None else elem)


def _mss(name, attrs=None, body=None):
    a = "".join(" %s=%s" % (k, quoteattr(str(v))) for k, v in (attrs or []))
    if body is None:
        return "<mss:%s%s/>" % (name, a)
    return "<mss:%s%s>%s</mss:%s>" % (name, a, body, name)


class MsspHandler(Handler):
    sim_name = "mssp"
    soap_ns = SOAP12_NS

    def _route(self, path):
        if path == "/soap":
            return {"POST": (self._soap, True)}
        return None

    # -- SOAP plumbing

    def _send_soap(self, http_status, body_xml):
        env = ('<?xml version="1.0" encoding="UTF-8"?>\n'
               '<env:Envelope xmlns:env="%s" xmlns:mss="%s" xmlns:sim="%s"><env:Body>%s'
               '</env:Body></env:Envelope>' % (self.soap_ns, MSS_NS, SIM_MSSP_NS, body_xml))
        ctype = ("application/soap+xml; charset=utf-8" if self.soap_ns == SOAP12_NS
                 else "text/xml; charset=utf-8")
        self._send_bytes(http_status, env.encode("utf-8"), ctype)

    @staticmethod
    def _status_xml(code, detail_xml=""):
        body = _mss("StatusCode", [("Value", code)]) + _mss("StatusMessage", None,
                                                             MSS_STATUS[code])
        if detail_xml:
            body += _mss("StatusDetail", None, detail_xml)
        return _mss("Status", None, body)

    def _fault(self, code, explanation):
        """A SOAP fault for an error status (HTTP 500), the status also in the Detail."""
        self.close_connection = True  # the request body may be unread
        sender = 100 <= code < 200
        detail = (self._status_xml(code) + "<sim:Explanation>%s</sim:Explanation>"
                  % xml_escape(explanation))
        if self.soap_ns == SOAP12_NS:
            fault = ("<env:Fault><env:Code><env:Value>env:%s</env:Value><env:Subcode>"
                     "<env:Value>mss:_%d</env:Value></env:Subcode></env:Code><env:Reason>"
                     '<env:Text xml:lang="en">%s</env:Text></env:Reason><env:Detail>%s'
                     "</env:Detail></env:Fault>"
                     % ("Sender" if sender else "Receiver", code, MSS_STATUS[code], detail))
        else:
            fault = ("<env:Fault><faultcode>env:%s</faultcode><faultstring>%s</faultstring>"
                     "<detail>%s</detail></env:Fault>"
                     % ("Client" if sender else "Server", MSS_STATUS[code], detail))
        self._send_soap(500, fault)

    def _soap(self, path, query):
        ctype = (self.headers.get("Content-Type") or "").lower()
        self.soap_ns = SOAP11_NS if ctype.startswith("text/xml") else SOAP12_NS
        try:
            try:
                raw = self._raw_body()
            except BadRequest as e:
                raise MsspError(101, str(e))
            op, req = self._parse_envelope(raw)
            if op == "signature":
                return self._mss_signature(req)
            return self._mss_status_query(req)
        except MsspError as e:
            return self._fault(e.code, e.detail)
        except (BrokenPipeError, ConnectionResetError):
            raise
        except Exception as e:  # noqa: BLE001 - a simulator bug must still get an answer
            sys.stderr.write("[sim mssp] internal error: %r\n" % (e,))
            return self._fault(900, "internal error of the simulator")

    def _parse_envelope(self, raw):
        if re.search(rb"<!DOCTYPE", raw, re.I):
            raise MsspError(101, "document type declarations are not allowed")
        try:
            root = ET.fromstring(raw)
        except ET.ParseError as e:
            raise MsspError(101, "malformed XML: %s" % e)
        ns, name = _split_tag(root.tag)
        if name != "Envelope" or ns not in (SOAP12_NS, SOAP11_NS):
            raise MsspError(101, "not a SOAP 1.1 or 1.2 Envelope")
        self.soap_ns = ns
        body = None
        for c in root:
            if c.tag == "{%s}Body" % ns:
                body = c
        if body is None or len(body) == 0:
            raise MsspError(101, "empty or missing SOAP Body")
        op_ns, op = _split_tag(body[0].tag)
        if op_ns != MSS_NS:
            raise MsspError(101, "unknown operation {%s}%s" % (op_ns, op))
        if op in ("MSS_Signature", "MSS_SignatureReq"):
            req = body[0] if op == "MSS_SignatureReq" else _child(body[0], "MSS_SignatureReq")
            if req is None:
                raise MsspError(102, "MSS_SignatureReq missing")
            return "signature", req
        if op in ("MSS_StatusQuery", "MSS_StatusReq"):
            req = body[0] if op == "MSS_StatusReq" else _child(body[0], "MSS_StatusReq")
            if req is None:
                raise MsspError(102, "MSS_StatusReq missing")
            return "status", req
        raise MsspError(101, "unsupported operation %s (MSS_Signature and MSS_StatusQuery only)"
                        % op)

    def _ap_info(self, req):
        """Checks MajorVersion/MinorVersion, AP_Info (credentials) and MSSP_Info/MSSP_ID."""
        for a in ("MajorVersion", "MinorVersion"):
            if not (req.get(a) or "").strip():
                raise MsspError(102, "attribute %s missing" % a)
        ap = _child(req, "AP_Info")
        if ap is None:
            raise MsspError(102, "AP_Info missing")
        for a in ("AP_ID", "AP_TransID", "AP_PWD", "Instant"):
            if ap.get(a) is None or (a != "AP_PWD" and not ap.get(a).strip()):
                raise MsspError(102, "AP_Info attribute %s missing" % a)
        cfg = self.state.config
        if ap.get("AP_ID") != cfg.mssp_ap_id or ap.get("AP_PWD") != cfg.mssp_ap_password:
            raise MsspError(104, "unknown AP_ID or wrong AP_PWD")
        try:
            datetime.datetime.fromisoformat(ap.get("Instant").strip().replace("Z", "+00:00"))
        except ValueError:
            raise MsspError(101, "AP_Info/@Instant is not an xs:dateTime")
        if not _text(_child(_child(req, "MSSP_Info"), "MSSP_ID")):
            raise MsspError(102, "MSSP_Info/MSSP_ID missing")
        return {"AP_ID": ap.get("AP_ID"), "AP_TransID": ap.get("AP_TransID"),
                "Instant": ap.get("Instant")}

    def _resp_xml(self, name, ap, txn, code):
        attrs = [("MajorVersion", 1), ("MinorVersion", 1)]
        if name == "MSS_SignatureResp":
            attrs.append(("MSSP_TransID", txn["mssp_trans_id"]))
        parts = [
            _mss("AP_Info", [("AP_ID", ap["AP_ID"]), ("AP_TransID", ap["AP_TransID"]),
                             ("AP_PWD", ""), ("Instant", ap["Instant"])]),
            _mss("MSSP_Info", [("Instant", _now_iso())],
                 _mss("MSSP_ID", None, _mss("URI", None, MSSP_ID_URI))),
            _mss("MobileUser", None, _mss("MSISDN", None, txn["msisdn"])),
        ]
        detail = ""
        if code == 500:
            parts.append(_mss("MSS_Signature", None, _mss(
                "Base64Signature", None, base64.b64encode(txn["signature"]).decode())))
            detail = "<sim:SignerCertificate>%s</sim:SignerCertificate>" % "".join(
                "<sim:X509Certificate>%s</sim:X509Certificate>" % base64.b64encode(d).decode()
                for d in txn["signer"].chain_der)
        if name == "MSS_SignatureResp":
            parts.append(_mss("SignatureProfile", None,
                              _mss("mssURI", None, xml_escape(txn["signature_profile"]))))
        parts.append(self._status_xml(code, detail))
        return _mss(name, attrs, "".join(parts))

    @staticmethod
    def txn_code(txn, now=None):
        if (now if now is not None else time.monotonic()) < txn["ready_at"]:
            return 504
        return MSSP_OUTCOME_CODE[txn["outcome"]]

    def _final(self, op, name, ap, txn):
        code = MSSP_OUTCOME_CODE[txn["outcome"]]
        if code != 500:
            return self._fault(code, MSSP_OUTCOME_TEXT[code])
        return self._send_soap(200, _mss(op, None, self._resp_xml(name, ap, txn, 500)))

    # -- operations

    def _mss_signature(self, req):
        ap = self._ap_info(req)
        mode = (req.get("MessagingMode") or "").strip()
        if not mode:
            raise MsspError(102, "attribute MessagingMode missing")
        if mode not in ("synch", "asynchClientServer"):
            raise MsspError(101, "MessagingMode %s is not supported (synch, asynchClientServer)"
                            % mode)
        timeout_s = DEFAULT_MSS_TIMEOUT_S
        if req.get("TimeOut") is not None:
            t = req.get("TimeOut").strip()
            if not re.fullmatch(r"[1-9]\d{0,5}", t) or int(t) > MAX_MSS_TIMEOUT_S:
                raise MsspError(101, "TimeOut must be 1-%d seconds" % MAX_MSS_TIMEOUT_S)
            timeout_s = int(t)
        msisdn = _text(_child(_child(req, "MobileUser"), "MSISDN"))
        if not msisdn:
            raise MsspError(102, "MobileUser/MSISDN missing")
        msisdn = msisdn.lstrip("+")
        if not re.fullmatch(r"84[1-9]\d{8}", msisdn):
            raise MsspError(101, "MSISDN must be 84 followed by 9 digits")
        dtbs_el = _child(req, "DataToBeSigned")
        if not _text(dtbs_el):
            raise MsspError(102, "DataToBeSigned missing")
        enc = dtbs_el.get("Encoding")
        if enc is not None and enc.strip().lower() != "base64":
            raise MsspError(101, "DataToBeSigned/@Encoding must be base64")
        try:
            dtbs = base64.b64decode("".join(_text(dtbs_el).split()), validate=True)
        except (binascii.Error, ValueError):
            raise MsspError(101, "DataToBeSigned is not base64")
        digest = sha256_of_digest_info(dtbs)
        if digest is None:
            raise MsspError(101, "DataToBeSigned must be the DER DigestInfo of a SHA-256 hash")
        fmt_el = _child(req, "MSS_Format")
        if fmt_el is None:
            raise MsspError(102, "MSS_Format missing (only %s is supported)" % MSS_FORMAT_PKCS1)
        if _uri_of(fmt_el) != MSS_FORMAT_PKCS1:
            raise MsspError(101, "MSS_Format %s is not supported (only %s)"
                            % (_uri_of(fmt_el), MSS_FORMAT_PKCS1))
        display = _text(_child(req, "DataToBeDisplayed"))
        profile = _uri_of(_child(req, "SignatureProfile")) or DEFAULT_SIGNATURE_PROFILE
        signer = self.state.pki.mssp_users.get(msisdn)
        if signer is None:
            raise MsspError(105, "no SIM signature subscriber with this MSISDN")

        outcome, delay_ms = self.state.mssp_behaviours.take(msisdn)
        delay_s = delay_ms / 1000.0
        effective = outcome
        if outcome == "timeout" or delay_s > timeout_s:
            effective, delay_s = "timeout", min(delay_s, timeout_s)
        signature = None
        if effective in ("approve", "bad_signature"):
            signed = digest if effective == "approve" else hashlib.sha256(
                b"dvc-sim: not the requested hash" + digest).digest()
            try:
                signature = signer.sign_digest(signed)
            except ValueError as e:
                raise MsspError(900, "signing failed: %s" % e)
        txn = {"mssp_trans_id": "mssp-" + uuid.uuid4().hex[:20], "ap_trans_id": ap["AP_TransID"],
               "msisdn": msisdn, "signer": signer, "scripted_outcome": outcome,
               "outcome": effective, "ready_at": time.monotonic() + delay_s,
               "signature": signature, "data_to_be_displayed": display,
               "data_to_be_signed": base64.b64encode(dtbs).decode(), "digest": digest.hex(),
               "messaging_mode": mode, "timeout_s": timeout_s, "signature_profile": profile,
               "created_at": _now_iso()}
        self.state.mssp_txns.add(txn["mssp_trans_id"], txn)
        if mode == "asynchClientServer":
            return self._send_soap(200, _mss("MSS_SignatureResponse", None, self._resp_xml(
                "MSS_SignatureResp", ap, txn, 100)))
        wait = txn["ready_at"] - time.monotonic()
        if wait > 0 and self.state.stop_event.wait(wait):
            return self._drop()  # shutting down
        return self._final("MSS_SignatureResponse", "MSS_SignatureResp", ap, txn)

    def _mss_status_query(self, req):
        ap = self._ap_info(req)
        tid = (req.get("MSSP_TransID") or "").strip()
        if not tid:
            raise MsspError(102, "attribute MSSP_TransID missing")
        txn = self.state.mssp_txns.get(tid)
        if txn is None:
            raise MsspError(101, "unknown MSSP_TransID")
        if self.txn_code(txn) == 504:
            return self._send_soap(200, _mss("MSS_StatusQueryResponse", None, self._resp_xml(
                "MSS_StatusResp", ap, txn, 504)))
        return self._final("MSS_StatusQueryResponse", "MSS_StatusResp", ap, txn)


def mssp_txn_view(txn):
    code = MsspHandler.txn_code(txn)
    return {"mssp_trans_id": txn["mssp_trans_id"], "ap_trans_id": txn["ap_trans_id"],
            "msisdn": txn["msisdn"], "certificate": txn["signer"].name,
            "messaging_mode": txn["messaging_mode"], "timeout_s": txn["timeout_s"],
            "data_to_be_displayed": txn["data_to_be_displayed"],
            "data_to_be_signed": txn["data_to_be_signed"], "hash": txn["digest"],
            "signature_profile": txn["signature_profile"], "outcome": txn["outcome"],
            "status_code": code, "status_message": MSS_STATUS[code],
            "created_at": txn["created_at"]}


# ----------------------------------------------------------------------------------------------
# VNPT SmartCA: remote signing (REST/JSON)

SMARTCA_OUTCOME_STATUS = {"approve": 1, "bad_signature": 1, "expire": 4001, "reject": 4002,
                          "fail": 4004}
SMARTCA_STATUS_MESSAGE = {1: "success", 4000: "sig_wait_for_user_confirm",
                          4001: "transaction_expired", 4002: "sig_rejected_by_user",
                          4004: "sig_failed"}


class SmartCaError(Exception):
    def __init__(self, status, message):
        Exception.__init__(self, message)
        self.status = status
        self.message = message


def _serial_key(s):
    return s.strip().upper().lstrip("0") if isinstance(s, str) else None


class SmartCaHandler(Handler):
    sim_name = "smartca"
    _STATUS_PATH = re.compile(r"/v1/signatures/sign/([^/]+)/status")

    def _route(self, path):
        if path == "/v1/credentials/get_certificate":
            return {"POST": (self._wrap(self._get_certificate), True)}
        if path == "/v1/signatures/sign":
            return {"POST": (self._wrap(self._sign), True)}
        if self._STATUS_PATH.fullmatch(path):
            return {"GET": (self._wrap(self._status), True),
                    "POST": (self._wrap(self._status), True)}
        return None

    def _error(self, status, message):
        if self.path.startswith("/admin/"):
            return Handler._error(self, status, message)
        self.close_connection = True
        return self._send(status, {"status_code": status, "message": message, "data": None})

    def _wrap(self, fn):
        def run(path, query):
            try:
                return fn(path, query)
            except SmartCaError as e:
                return self._error(e.status, e.message)
        return run

    def _check_sp(self, req):
        cfg = self.state.config
        if req.get("sp_id") != cfg.smartca_sp_id or req.get("sp_password") != \
                cfg.smartca_sp_password:
            raise SmartCaError(401, "invalid_sp_credentials")

    def _request(self):
        req = self._json_body()
        if not isinstance(req, dict):
            raise BadRequest("body must be a JSON object")
        self._check_sp(req)
        for f in ("user_id", "transaction_id"):
            if not isinstance(req.get(f), str) or not req[f].strip():
                raise BadRequest("%s is required" % f)
        for f in ("serial_number", "transaction_desc", "time_stamp"):
            if req.get(f) is not None and not isinstance(req[f], str):
                raise BadRequest("%s must be a string" % f)
        certs = self.state.pki.smartca_users.get(req["user_id"])
        if not certs:
            raise SmartCaError(404, "user_not_found")
        return req, certs

    def _get_certificate(self, path, query):
        req, certs = self._request()
        if req.get("serial_number"):
            certs = [c for c in certs if _serial_key(c.serial) == _serial_key(
                req["serial_number"])]
        out = [{"cert_id": c.cert_id, "serial_number": c.serial, "cert_subject": c.subject,
                "cert_valid_from": c.valid_from, "cert_valid_to": c.valid_to,
                "cert_data": base64.b64encode(c.cert_der).decode(),
                "chain_data": [base64.b64encode(d).decode() for d in c.chain_der[1:]]}
               for c in certs]
        return self._send(200, {"status_code": 200, "message": "success",
                                "data": {"user_certificates": out}})

    def _sign(self, path, query):
        req, certs = self._request()
        signer = certs[0]
        if req.get("serial_number"):
            match = [c for c in certs if _serial_key(c.serial) == _serial_key(
                req["serial_number"])]
            if not match:
                raise SmartCaError(404, "certificate_not_found")
            signer = match[0]
        files = req.get("sign_files")
        if not isinstance(files, list) or not files:
            raise BadRequest("sign_files must be a non-empty list")
        docs = []
        for i, f in enumerate(files):
            if not isinstance(f, dict):
                raise BadRequest("sign_files[%d] must be an object" % i)
            h = f.get("data_to_be_signed")
            if not isinstance(h, str) or not re.fullmatch(r"[0-9a-fA-F]{64}", h):
                raise BadRequest("sign_files[%d].data_to_be_signed must be a hex SHA-256 hash"
                                 % i)
            if not isinstance(f.get("doc_id"), str) or not f["doc_id"].strip():
                raise BadRequest("sign_files[%d].doc_id is required" % i)
            if f.get("sign_type") != "hash":
                raise BadRequest("sign_files[%d].sign_type must be \"hash\"" % i)
            if f.get("file_type") is not None and not isinstance(f["file_type"], str):
                raise BadRequest("sign_files[%d].file_type must be a string" % i)
            docs.append({"doc_id": f["doc_id"], "data_to_be_signed": h.lower(),
                         "file_type": f.get("file_type", "")})
        if len({d["doc_id"] for d in docs}) != len(docs):
            raise BadRequest("doc_id values must be unique")

        outcome, delay_ms = self.state.smartca_behaviours.take(req["user_id"])
        signatures = None
        if outcome in ("approve", "bad_signature"):
            signatures = []
            for d in docs:
                digest = bytes.fromhex(d["data_to_be_signed"])
                if outcome == "bad_signature":
                    digest = hashlib.sha256(b"dvc-sim: not the requested hash" + digest).digest()
                try:
                    sig = signer.sign_digest(digest)
                except ValueError as e:
                    raise SmartCaError(500, "signing failed: %s" % e)
                signatures.append({"doc_id": d["doc_id"],
                                   "signature_value": base64.b64encode(sig).decode()})
        tran_id = str(uuid.uuid4())
        tran_code = "".join(random.choice("ABCDEFGHJKLMNPQRSTUVWXYZ23456789") for _ in range(6))
        self.state.smartca_txns.add(tran_id, {
            "transaction_id": tran_id, "tran_code": tran_code, "user_id": req["user_id"],
            "sp_transaction_id": req["transaction_id"],
            "transaction_desc": req.get("transaction_desc") or "",
            "time_stamp": req.get("time_stamp") or "", "serial_number": signer.serial,
            "certificate": signer.name, "docs": docs, "outcome": outcome,
            "ready_at": time.monotonic() + delay_ms / 1000.0, "signatures": signatures,
            "created_at": _now_iso()})
        return self._send(200, {"status_code": 200, "message": "sig_wait_for_user_confirm",
                                "data": {"transaction_id": tran_id, "tran_code": tran_code}})

    @staticmethod
    def txn_status(txn):
        if time.monotonic() < txn["ready_at"]:
            return 4000
        return SMARTCA_OUTCOME_STATUS[txn["outcome"]]

    def _status(self, path, query):
        if self.command == "POST" and self.headers.get("Content-Length") not in (None, "0"):
            req = self._json_body()
            if req is not None:
                if not isinstance(req, dict):
                    raise BadRequest("body must be a JSON object")
                self._check_sp(req)
        tran_id = self._STATUS_PATH.fullmatch(path).group(1)
        txn = self.state.smartca_txns.get(urllib.parse.unquote(tran_id))
        if txn is None:
            raise SmartCaError(404, "transaction_not_found")
        st = self.txn_status(txn)
        data = {"transaction_id": txn["transaction_id"], "tran_code": txn["tran_code"],
                "status": st}
        if st == 1:
            data["signatures"] = [dict(s) for s in txn["signatures"]]
        return self._send(200, {"status_code": 200, "message": SMARTCA_STATUS_MESSAGE[st],
                                "data": data})


def smartca_txn_view(txn):
    v = {k: txn[k] for k in ("transaction_id", "tran_code", "user_id", "sp_transaction_id",
                             "transaction_desc", "time_stamp", "serial_number", "certificate",
                             "outcome", "created_at")}
    v["docs"] = [dict(d) for d in txn["docs"]]
    v["status"] = SmartCaHandler.txn_status(txn)
    return v


HANDLERS = {"telco": TelcoHandler, "population": PopulationHandler, "sms": SmsHandler,
            "mssp": MsspHandler, "smartca": SmartCaHandler}


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class Simulators:
    """All simulators in this process. start() binds every port; stop() shuts down."""

    def __init__(self, ports=None, people=None, host="127.0.0.1", verbose=False, pki=None,
                 config=None):
        """pki: a Pki (see load_pki_manifest) with the MSSP/SmartCA users, or None for none;
        config: a SignerConfig (credentials and default delays of those two simulators)."""
        self.stop_event = threading.Event()
        seed = people if people is not None else load_people(DEFAULT_PEOPLE)
        self.state = State(seed, self.stop_event, pki, config)
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
    ap = argparse.ArgumentParser(
        description="Provider simulators (telco, population, sms, mssp, smartca).")
    ap.add_argument("--host", default="127.0.0.1")
    # Both --telco-port and --telco_port (the services' flag style) are accepted.
    for name in NAMES:
        ap.add_argument("--%s-port" % name, "--%s_port" % name, dest="%s_port" % name, type=int,
                        default=DEFAULT_PORTS[name],
                        help="port of the %s simulator (0 = pick a free one)" % name)
    ap.add_argument("--people", default=DEFAULT_PEOPLE, help="people seed file (JSON array)")
    ap.add_argument("--pki-manifest", "--pki_manifest", dest="pki_manifest",
                    help="tools/pki manifest.json: certificates with a phone are MSSP users, "
                         "with a smartca_user_id SmartCA users (default: no users)")
    d = SignerConfig()
    for flag, default, help_text in (
            ("mssp_ap_id", d.mssp_ap_id, "AP_ID the MSSP accepts"),
            ("mssp_ap_password", d.mssp_ap_password, "AP_PWD the MSSP accepts"),
            ("mssp_default_delay_ms", d.mssp_default_delay_ms,
             "time until the simulated phone user approves, unless scripted"),
            ("smartca_sp_id", d.smartca_sp_id, "sp_id SmartCA accepts"),
            ("smartca_sp_password", d.smartca_sp_password, "sp_password SmartCA accepts"),
            ("smartca_default_delay_ms", d.smartca_default_delay_ms,
             "time until the simulated SmartCA user approves, unless scripted")):
        ap.add_argument("--" + flag.replace("_", "-"), "--" + flag, dest=flag,
                        type=type(default), default=default, help=help_text)
    ap.add_argument("--port-file", "--port_file", dest="port_file",
                    help="write name=port lines here once listening")
    ap.add_argument("--verbose", action="store_true", help="log requests (paths only) on stderr")
    args = ap.parse_args(argv)

    try:
        people = load_people(args.people)
    except (OSError, ValueError) as e:
        print("simulators: cannot load people: %s" % e, file=sys.stderr)
        return 2
    pki = None
    if args.pki_manifest:
        try:
            pki = load_pki_manifest(args.pki_manifest)
        except (OSError, ValueError) as e:
            print("simulators: cannot load the PKI manifest: %s" % e, file=sys.stderr)
            return 2
    if args.mssp_default_delay_ms < 0 or args.smartca_default_delay_ms < 0:
        print("simulators: default delays must not be negative", file=sys.stderr)
        return 2
    config = SignerConfig(args.mssp_ap_id, args.mssp_ap_password, args.mssp_default_delay_ms,
                          args.smartca_sp_id, args.smartca_sp_password,
                          args.smartca_default_delay_ms)
    ports = {n: getattr(args, n + "_port") for n in NAMES}
    sims = Simulators(ports=ports, people=people, host=args.host, verbose=args.verbose, pki=pki,
                      config=config)
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
    if pki is not None:
        sys.stderr.write("simulators: %d MSSP users, %d SmartCA users\n"
                         % (len(pki.mssp_users), len(pki.smartca_users)))
    # One write: whoever waits for any SIM_ line finds all of them.
    sys.stdout.write("".join("SIM_%s_URL=%s\n" % (n.upper(), sims.url(n)) for n in NAMES)
                     + "SIM_READY=1\n")
    sys.stdout.flush()

    while not stop.wait(0.2):
        pass
    sims.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
