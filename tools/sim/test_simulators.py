"""Tests of the provider simulators. Run: cd tools/sim && python3 -m unittest -v"""

import base64
import hashlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import simulators  # noqa: E402


def call(url, method="GET", body=None, timeout=5, raw=None):
    """Returns (status, parsed JSON body)."""
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    req = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, json.loads(resp.read().decode("utf-8"))
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read().decode("utf-8"))


VALID_VERIFY = {"request_id": "req-1", "msisdn": "84912345678", "id_number": "001099012345",
                "full_name": "Nguyễn Văn An", "date_of_birth": "1999-03-15"}

NEWCOMER = {"cccd": "024197001234", "full_name": "Lương Thị Hoa", "date_of_birth": "1997-04-01",
            "gender": "female", "place_of_birth": "Bắc Giang", "hometown": "Bắc Giang",
            "permanent_address": "1 Hoàng Văn Thụ, Bắc Giang", "phones": ["+84971234567"]}


class SimulatorTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sims = simulators.Simulators(ports={n: 0 for n in simulators.NAMES}).start()
        cls.telco = cls.sims.url("telco")
        cls.pop = cls.sims.url("population")
        cls.sms = cls.sims.url("sms")

    @classmethod
    def tearDownClass(cls):
        cls.sims.stop()

    def setUp(self):
        for u in (self.telco, self.pop, self.sms):
            self.assertEqual(call(u + "/admin/reset", "POST", {"people": True})[0], 200)

    def verify(self, **overrides):
        body = dict(VALID_VERIFY)
        body.update(overrides)
        return call(self.telco + "/v1/subscribers/verify", "POST", body)

    # ---- HTTP handling (the simulators' own request parser)

    def _exchange(self, raw, read_all=False):
        """Sends raw bytes to the SMS sink; returns the raw answer (one, or all until close)."""
        port = int(self.sms.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(raw)
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    return data
                data += chunk
                if not read_all and b"\r\n\r\n" in data:
                    head, _, body = data.partition(b"\r\n\r\n")
                    n = [int(h.split(b":")[1]) for h in head.split(b"\r\n")
                         if h.lower().startswith(b"content-length:")]
                    if n and len(body) >= n[0]:
                        return data

    def test_keep_alive_headers_in_any_case_and_one_write_per_answer(self):
        body = json.dumps({"to": "84912345678", "text": "Ma OTP 123456"}).encode()
        req = (b"POST /v1/sms HTTP/1.1\r\nHost: x\r\ncontent-TYPE: application/json\r\n"
               b"CONTENT-LENGTH: %d\r\n\r\n" % len(body)) + body
        # Two requests on one connection (HTTP/1.1 keeps it), then one that closes it.
        last = (b"GET /v1/sms/last?to=84912345678 HTTP/1.1\r\nHost: x\r\n"
                b"Connection: close\r\n\r\n")
        answers = self._exchange(req + req + last, read_all=True)
        self.assertEqual(answers.count(b"HTTP/1.1 202 "), 2, answers)
        self.assertEqual(answers.count(b"HTTP/1.1 200 "), 1, answers)
        self.assertIn(b'"text": "Ma OTP 123456"', answers)
        # HTTP/1.0 closes after the answer unless asked otherwise.
        ans = self._exchange(b"GET /v1/sms HTTP/1.0\r\n\r\n", read_all=True)
        self.assertTrue(ans.startswith(b"HTTP/1.1 200 "), ans)

    def test_malformed_requests_get_400_or_431(self):
        self.assertIn(b" 400 ", self._exchange(b"GET /v1/sms HTTP/2.0\r\n\r\n", True)[:20])
        self.assertIn(b" 400 ", self._exchange(b"GET /v1/sms\r\n\r\n", True)[:20])
        self.assertIn(b" 400 ",
                      self._exchange(b"GET /v1/sms HTTP/1.1\r\nno colon\r\n\r\n", True)[:20])
        self.assertIn(b" 400 ",
                      self._exchange(b"GET /v1/sms HTTP/1.1\r\n folded: x\r\n\r\n", True)[:20])
        many = b"".join(b"X-%d: y\r\n" % i for i in range(simulators.MAX_HEADERS + 1))
        self.assertIn(b" 431 ",
                      self._exchange(b"GET /v1/sms HTTP/1.1\r\n" + many + b"\r\n", True)[:20])
        # A POST without Content-Length is refused with the simulators' own error.
        status = self._exchange(b"POST /v1/sms HTTP/1.1\r\nHost: x\r\n\r\n", True)
        self.assertIn(b" 400 ", status[:20])
        self.assertIn(b"Content-Length required", status)

    # ---- seed file

    def test_seed_file_is_valid_and_varied(self):
        people = simulators.load_people(simulators.DEFAULT_PEOPLE)
        self.assertGreaterEqual(len(people), 12)
        carriers = {simulators.carrier_of(ph) for p in people for ph in p["phones"]}
        self.assertTrue({"VIETTEL", "VINAPHONE", "MOBIFONE"} <= carriers)
        self.assertGreaterEqual(len({p["cccd"][:3] for p in people}), 8)
        phones = [ph for p in people for ph in p["phones"]]
        self.assertEqual(len(phones), len(set(phones)), "a phone listed twice")

    def test_cccd_validation(self):
        import datetime
        d = datetime.date(1999, 3, 15)
        self.assertIsNone(simulators.cccd_problem("001099012345", d, "male"))
        self.assertIn("date_of_birth", simulators.cccd_problem("001098012345", d, "male"))
        self.assertIn("gender", simulators.cccd_problem("001099012345", d, "female"))
        self.assertIsNotNone(simulators.cccd_problem("097099012345"))  # province > 096
        self.assertIsNotNone(simulators.cccd_problem("00109901234"))
        self.assertIsNone(simulators.cccd_problem("001305006789", datetime.date(2005, 1, 1),
                                                  "female"))

    # ---- telco

    def test_verify_match(self):
        status, r = self.verify()
        self.assertEqual(status, 200)
        self.assertEqual(r, {"request_id": "req-1", "msisdn": "84912345678",
                             "carrier": "VINAPHONE", "subscriber_found": True, "match": True,
                             "mismatches": []})

    def test_verify_carriers(self):
        self.assertEqual(self.verify(msisdn="84987654321")[1]["carrier"], "VIETTEL")
        self.assertEqual(self.verify(msisdn="84901234567")[1]["carrier"], "MOBIFONE")
        self.assertEqual(self.verify(msisdn="84592345678")[1]["carrier"], "GMOBILE")

    def test_verify_name_case_and_normalisation(self):
        # Upper case, decomposed (NFD) input and extra spaces still match.
        import unicodedata
        name = unicodedata.normalize("NFD", "  NGUYỄN   VĂN AN ")
        status, r = self.verify(full_name=name)
        self.assertEqual((status, r["match"]), (200, True))

    def test_verify_by_cmnd(self):
        self.assertTrue(self.verify(id_number="012345678")[1]["match"])

    def test_verify_mismatches(self):
        _, r = self.verify(id_number="079187004321", full_name="Nguyễn Văn Ân",
                           date_of_birth="1999-03-16")
        self.assertTrue(r["subscriber_found"])
        self.assertFalse(r["match"])
        self.assertEqual(r["mismatches"], ["id_number", "full_name", "date_of_birth"])
        # A diacritic difference is a different name.
        _, r = self.verify(full_name="Nguyen Van An")
        self.assertEqual(r["mismatches"], ["full_name"])

    def test_verify_other_persons_phone(self):
        # 0987654321 belongs to Trần Thị Bích Ngọc, not to Nguyễn Văn An.
        _, r = self.verify(msisdn="84987654321")
        self.assertTrue(r["subscriber_found"])
        self.assertFalse(r["match"])
        self.assertIn("id_number", r["mismatches"])

    def test_verify_unknown_subscriber(self):
        status, r = self.verify(msisdn="84911111111")
        self.assertEqual(status, 200)
        self.assertFalse(r["subscriber_found"])
        self.assertFalse(r["match"])

    def test_verify_malformed(self):
        for bad in ({"msisdn": "0912345678"}, {"msisdn": "8491234567"}, {"id_number": "12345"},
                    {"date_of_birth": "15/03/1999"}, {"date_of_birth": "1999-02-30"},
                    {"request_id": ""}, {"full_name": 5}):
            status, r = self.verify(**bad)
            self.assertEqual(status, 400, bad)
            self.assertIn("error", r)
        status, _ = call(self.telco + "/v1/subscribers/verify", "POST", raw=b"{not json")
        self.assertEqual(status, 400)
        status, _ = call(self.telco + "/v1/subscribers/verify", "POST", raw=b"[1]")
        self.assertEqual(status, 400)
        self.assertEqual(call(self.telco + "/v1/subscribers/verify")[0], 405)
        self.assertEqual(call(self.telco + "/v1/nope")[0], 404)

    # ---- admin people

    def test_newcomer_registers_themselves(self):
        status, r = call(self.telco + "/admin/people", "POST", NEWCOMER)
        self.assertEqual(status, 201)
        self.assertEqual(r["person"]["phones"], ["0971234567"])
        _, r = self.verify(msisdn="84971234567", id_number="024197001234",
                           full_name="Lương Thị Hoa", date_of_birth="1997-04-01")
        self.assertTrue(r["match"])
        self.assertEqual(r["carrier"], "VIETTEL")
        # Shared by every simulator: the population database knows them too.
        status, c = call(self.pop + "/v1/citizens/024197001234")
        self.assertEqual((status, c["full_name"]), (200, "Lương Thị Hoa"))
        # Replacing returns 200.
        self.assertEqual(call(self.sms + "/admin/people", "POST", NEWCOMER)[0], 200)
        people = call(self.pop + "/admin/people")[1]["people"]
        self.assertEqual(sum(p["cccd"] == "024197001234" for p in people), 1)
        # Reset with people=true restores the seed.
        call(self.telco + "/admin/reset", "POST", {"people": True})
        self.assertEqual(call(self.pop + "/v1/citizens/024197001234")[0], 404)

    def test_phone_moves_to_new_owner(self):
        p = dict(NEWCOMER, phones=["0912345678"])
        call(self.telco + "/admin/people", "POST", p)
        _, r = self.verify()
        self.assertFalse(r["match"])  # the number now belongs to the newcomer
        people = {x["cccd"]: x for x in call(self.telco + "/admin/people")[1]["people"]}
        self.assertEqual(people["001099012345"]["phones"], [])

    def test_admin_people_rejects_bad_person(self):
        for bad in (dict(NEWCOMER, cccd="024198001234"),  # year digits vs date of birth
                    dict(NEWCOMER, gender="male"),  # gender digit 1 = female
                    dict(NEWCOMER, phones=["12345"]),
                    dict(NEWCOMER, bhxh_code="123"),
                    dict(NEWCOMER, nickname="x"),
                    {k: v for k, v in NEWCOMER.items() if k != "full_name"}):
            self.assertEqual(call(self.telco + "/admin/people", "POST", bad)[0], 400, bad)

    # ---- population

    def test_citizen_lookup(self):
        status, c = call(self.pop + "/v1/citizens/079187004321")
        self.assertEqual(status, 200)
        self.assertEqual(c["full_name"], "Trần Thị Bích Ngọc")
        self.assertEqual(c["date_of_birth"], "1987-11-02")
        self.assertEqual(c["gender"], "female")
        self.assertNotIn("phones", c)
        self.assertEqual(call(self.pop + "/v1/citizens/001099999999")[0], 404)
        self.assertEqual(call(self.pop + "/v1/citizens/12ab")[0], 400)

    # ---- sms

    def send_sms(self, to, text, message_id=None):
        body = {"to": to, "text": text, "sender": "DVCQG"}
        if message_id is not None:
            body["message_id"] = message_id
        return call(self.sms + "/v1/sms", "POST", body)

    def test_sms_flow(self):
        self.assertEqual(self.send_sms("84987654321", "Ma xac thuc: 111111", "a")[0], 202)
        status, r = self.send_sms("84987654321", "DVCQG: ma OTP 2024 cua ban la 482913, het han "
                                  "sau 5 phut. Ref 1234567", "b")
        self.assertEqual((status, r["message_id"]), (202, "b"))
        self.send_sms("84912345678", "Ma 999999", "c")
        _, msgs = call(self.sms + "/v1/sms?to=0987654321")
        self.assertEqual([m["message_id"] for m in msgs["messages"]], ["b", "a"])
        self.assertEqual(call(self.sms + "/v1/sms/last?to=84987654321")[1]["message_id"], "b")
        # First 6-digit run, not the 4-digit year nor the 7-digit reference.
        self.assertEqual(call(self.sms + "/v1/otp/last?to=0987654321")[1]["otp"], "482913")
        self.assertEqual(len(call(self.sms + "/v1/sms")[1]["messages"]), 3)

    def test_sms_idempotent(self):
        self.send_sms("84987654321", "Ma 123456", "same")
        status, r = self.send_sms("84987654321", "Ma 123456", "same")
        self.assertEqual(status, 202)
        self.assertTrue(r["duplicate"])
        self.assertEqual(len(call(self.sms + "/v1/sms?to=84987654321")[1]["messages"]), 1)
        # Without a message_id one is generated.
        status, r = self.send_sms("84987654321", "Ma 654321")
        self.assertEqual(status, 202)
        self.assertTrue(r["message_id"])

    def test_sms_errors(self):
        self.assertEqual(self.send_sms("0987654321", "x")[0], 400)
        self.assertEqual(self.send_sms("84987654321", "")[0], 400)
        self.assertEqual(call(self.sms + "/v1/sms/last?to=84900000000")[0], 404)
        self.assertEqual(call(self.sms + "/v1/otp/last")[0], 400)
        self.send_sms("84987654321", "Xin chao, khong co ma", "n")
        self.assertEqual(call(self.sms + "/v1/otp/last?to=84987654321")[0], 404)

    def test_reset_clears_sms(self):
        self.send_sms("84987654321", "Ma 123456")
        call(self.sms + "/admin/reset", "POST")
        self.assertEqual(call(self.sms + "/v1/sms")[1]["messages"], [])

    # ---- faults

    def set_fault(self, base, **f):
        status, r = call(base + "/admin/faults", "POST", f)
        self.assertEqual(status, 200)
        return r

    def test_fault_error_counts_down(self):
        self.set_fault(self.telco, mode="error", count=2)
        self.assertEqual(self.verify()[0], 503)
        self.assertEqual(self.verify()[0], 503)
        self.assertEqual(self.verify()[0], 200)
        self.assertEqual(call(self.telco + "/admin/faults")[1]["mode"], "none")

    def test_fault_is_per_simulator_and_until_reset(self):
        self.set_fault(self.pop, mode="error", count=-1)
        for _ in range(3):
            self.assertEqual(call(self.pop + "/v1/citizens/079187004321")[0], 503)
        self.assertEqual(self.verify()[0], 200)  # telco unaffected
        call(self.pop + "/admin/reset", "POST")
        self.assertEqual(call(self.pop + "/v1/citizens/079187004321")[0], 200)

    def test_fault_drop(self):
        self.set_fault(self.telco, mode="drop", count=1)
        with self.assertRaises((http.client.HTTPException, ConnectionError, urllib.error.URLError)):
            self.verify()
        self.assertEqual(self.verify()[0], 200)

    def test_fault_timeout(self):
        self.set_fault(self.telco, mode="timeout", latency_ms=1500, count=1)
        start = time.monotonic()
        with self.assertRaises((socket.timeout, urllib.error.URLError, TimeoutError)):
            call(self.telco + "/v1/subscribers/verify", "POST", VALID_VERIFY, timeout=0.3)
        self.assertLess(time.monotonic() - start, 1.2)
        self.assertEqual(self.verify()[0], 200)

    def test_fault_latency(self):
        self.set_fault(self.sms, mode="none", latency_ms=300, count=1)
        start = time.monotonic()
        self.assertEqual(self.send_sms("84987654321", "Ma 123456")[0], 202)
        self.assertGreaterEqual(time.monotonic() - start, 0.29)

    def test_faults_spare_test_endpoints(self):
        self.send_sms("84987654321", "Ma 123456", "x")
        self.set_fault(self.sms, mode="error", count=-1)
        self.assertEqual(self.send_sms("84987654321", "Ma 222222")[0], 503)
        self.assertEqual(call(self.sms + "/v1/otp/last?to=84987654321")[1]["otp"], "123456")

    def test_fault_validation(self):
        for bad in ({"mode": "explode"}, {"latency_ms": -1}, {"count": -2}, {"latency_ms": "5"}):
            self.assertEqual(call(self.telco + "/admin/faults", "POST", bad)[0], 400, bad)


# ==============================================================================================
# MSSP (ETSI TS 102 204) and SmartCA simulators, against a tiny test PKI made with openssl.

MSS = "{http://uri.etsi.org/TS102204/v1.1.2#}"
SIMX = "{urn:dvc:sim:mssp:v1}"
SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
PKCS1 = "http://uri.etsi.org/TS102204/v1.1.2#PKCS1"
ALICE_PHONE, BOB_PHONE = "84981234567", "84911234567"


def openssl(*args, data=None):
    r = subprocess.run(["openssl", *args], input=data, capture_output=True, timeout=60)
    if r.returncode != 0:
        raise RuntimeError("openssl %s: %s" % (args[0], r.stderr.decode(errors="replace")))
    return r.stdout


def make_test_pki(d):
    """Root -> intermediate "sim-ca" -> leaves alice, bob, bob-old (RSA-2048, own keys).
    Writes d/manifest.json in the tools/pki format (Contract A) and returns its path."""
    os.makedirs(os.path.join(d, "certs"))
    p = lambda *x: os.path.join(d, *x)  # noqa: E731
    with open(p("ca.ext"), "w") as f:
        f.write("basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n")
    with open(p("leaf.ext"), "w") as f:
        f.write("basicConstraints=critical,CA:FALSE\n"
                "keyUsage=critical,digitalSignature,nonRepudiation\n")
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", p("root.key"), "-out",
            p("root.pem"), "-days", "30", "-subj", "/CN=Sim Test Root", "-addext",
            "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign")
    openssl("req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", p("ca.key"), "-out",
            p("ca.csr"), "-subj", "/CN=Sim Test CA")
    openssl("x509", "-req", "-in", p("ca.csr"), "-CA", p("root.pem"), "-CAkey", p("root.key"),
            "-set_serial", "2", "-days", "30", "-extfile", p("ca.ext"), "-out", p("ca.pem"))
    subjects = {"alice": "/CN=Nguyễn Thị Alice/UID=CCCD:079187004321/C=VN",
                "bob": "/CN=Trần Văn Bob/UID=CCCD:001099012345/C=VN",
                "bob-old": "/CN=Trần Văn Bob/UID=CCCD:001099012345/C=VN"}
    for i, (name, subj) in enumerate(subjects.items()):
        key, csr, pem = (p("certs", name + ext) for ext in (".key", ".csr", ".pem"))
        openssl("req", "-new", "-newkey", "rsa:2048", "-nodes", "-utf8", "-keyout", key,
                "-out", csr, "-subj", subj)
        openssl("x509", "-req", "-in", csr, "-CA", p("ca.pem"), "-CAkey", p("ca.key"),
                "-set_serial", str(0x1001 + i), "-days", "30", "-extfile", p("leaf.ext"),
                "-out", pem)
        with open(p("certs", name + ".chain.pem"), "w") as out:
            for src in (pem, p("ca.pem")):
                with open(src) as f:
                    out.write(f.read())

    def entry(name, relative=False, **extra):
        base = "certs" if relative else p("certs")
        e = {"cert": os.path.join(base, name + ".pem"), "key": os.path.join(base, name + ".key"),
             "chain": os.path.join(base, name + ".chain.pem"), "issuer": "sim-ca",
             "kind": "person", "expect": "ok"}
        e.update(extra)
        return e

    manifest = {
        "trust_dir": p("trust"),
        "cas": {"sim-ca": {"cert": p("ca.pem"), "issuer": None, "ocsp_url": None,
                           "crl_url": None}},
        "certs": {
            "alice-sim": entry("alice", phone=ALICE_PHONE),
            "bob-sim": entry("bob", relative=True, phone=BOB_PHONE),  # paths relative to DIR
            "alice-smartca": entry("alice", smartca_user_id="sca-alice"),
            "bob-smartca": entry("bob", smartca_user_id="sca-bob"),
            "bob-old-smartca": entry("bob-old", smartca_user_id="sca-bob"),
            "alice-usb": entry("alice", token="DVC Test Token 1"),  # neither: ignored
        }}
    with open(p("manifest.json"), "w", encoding="utf-8") as f:
        json.dump(manifest, f, ensure_ascii=False)
    return p("manifest.json")


def pem_der(path):
    return openssl("x509", "-in", path, "-outform", "DER")


def verify_pkcs1(cert_der, digest_info, signature):
    """True when `signature` is the PKCS#1 v1.5 signature of `digest_info` by cert's key."""
    with tempfile.TemporaryDirectory() as d:
        pub = os.path.join(d, "pub.pem")
        with open(pub, "wb") as f:
            f.write(openssl("x509", "-inform", "DER", "-pubkey", "-noout", data=cert_der))
        di, sig = os.path.join(d, "di.der"), os.path.join(d, "sig.bin")
        with open(di, "wb") as f:
            f.write(digest_info)
        with open(sig, "wb") as f:
            f.write(signature)
        r = subprocess.run(["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", pub, "-in", di,
                            "-sigfile", sig], capture_output=True, timeout=30)
        return r.returncode == 0


def verify_sha256_rsa(cert_der, data, signature):
    """True when `signature` is an ordinary RSA/SHA-256 signature of `data` (openssl dgst)."""
    with tempfile.TemporaryDirectory() as d:
        pub, sig, msg = (os.path.join(d, n) for n in ("pub.pem", "sig", "msg"))
        with open(pub, "wb") as f:
            f.write(openssl("x509", "-inform", "DER", "-pubkey", "-noout", data=cert_der))
        with open(sig, "wb") as f:
            f.write(signature)
        with open(msg, "wb") as f:
            f.write(data)
        r = subprocess.run(["openssl", "dgst", "-sha256", "-verify", pub, "-signature", sig, msg],
                           capture_output=True, timeout=30)
        return r.returncode == 0


def digest_info(data):
    return bytes.fromhex("3031300d060960864801650304020105000420") + hashlib.sha256(data).digest()


def mss_signature_req(msisdn=ALICE_PHONE, dtbs=None, mode="synch", timeout="60", ap_id="dvc-ap",
                      ap_pwd="dvc-ap-secret", display="Mã xác nhận: 4821", fmt=PKCS1,
                      omit=(), soap=SOAP12, ap_trans_id="AP1", dtbs_b64=None):
    if dtbs_b64 is None:
        dtbs_b64 = base64.b64encode(dtbs if dtbs is not None else digest_info(b"hello")).decode()
    parts = {
        "AP_Info": '<mss:AP_Info AP_ID="%s" AP_PWD="%s" AP_TransID="%s" '
                   'Instant="2026-01-02T03:04:05Z"/>' % (ap_id, ap_pwd, ap_trans_id),
        "MSSP_Info": "<mss:MSSP_Info><mss:MSSP_ID><mss:URI>http://mssp.test</mss:URI>"
                     "</mss:MSSP_ID></mss:MSSP_Info>",
        "MSISDN": "<mss:MobileUser><mss:MSISDN>%s</mss:MSISDN></mss:MobileUser>" % msisdn,
        "DataToBeSigned": '<mss:DataToBeSigned MimeType="application/octet-stream" '
                          'Encoding="base64">%s</mss:DataToBeSigned>' % dtbs_b64,
        "DataToBeDisplayed": '<mss:DataToBeDisplayed MimeType="text/plain" Encoding="UTF-8">'
                             "%s</mss:DataToBeDisplayed>" % display,
        "SignatureProfile": "<mss:SignatureProfile><mss:mssURI>http://dvc/profile/login"
                            "</mss:mssURI></mss:SignatureProfile>",
        "MSS_Format": "<mss:MSS_Format><mss:mssURI>%s</mss:mssURI></mss:MSS_Format>" % fmt,
    }
    attrs = {"MajorVersion": "1", "MinorVersion": "1", "MessagingMode": mode, "TimeOut": timeout}
    a = "".join(' %s="%s"' % (k, v) for k, v in attrs.items() if k not in omit and v is not None)
    inner = "".join(v for k, v in parts.items() if k not in omit)
    return ('<?xml version="1.0" encoding="UTF-8"?><env:Envelope xmlns:env="%s" '
            'xmlns:mss="http://uri.etsi.org/TS102204/v1.1.2#"><env:Body><mss:MSS_Signature>'
            "<mss:MSS_SignatureReq%s>%s</mss:MSS_SignatureReq></mss:MSS_Signature></env:Body>"
            "</env:Envelope>" % (soap, a, inner)).encode("utf-8")


def mss_status_req(trans_id, ap_pwd="dvc-ap-secret", soap=SOAP12):
    return ('<env:Envelope xmlns:env="%s" xmlns:mss="http://uri.etsi.org/TS102204/v1.1.2#">'
            "<env:Body><mss:MSS_StatusQuery><mss:MSS_StatusReq MajorVersion=\"1\" "
            'MinorVersion="1" MSSP_TransID="%s"><mss:AP_Info AP_ID="dvc-ap" AP_PWD="%s" '
            'AP_TransID="AP2" Instant="2026-01-02T03:04:05.123+07:00"/><mss:MSSP_Info>'
            "<mss:MSSP_ID><mss:URI>http://mssp.test</mss:URI></mss:MSSP_ID></mss:MSSP_Info>"
            "</mss:MSS_StatusReq></mss:MSS_StatusQuery></env:Body></env:Envelope>"
            % (soap, trans_id, ap_pwd)).encode()


def find(root, name):
    """First element with local name `name` anywhere under root."""
    for e in root.iter():
        if isinstance(e.tag, str) and e.tag.rsplit("}", 1)[-1] == name:
            return e
    return None


class SoapResult:
    def __init__(self, http_status, content_type, raw):
        self.http_status, self.content_type, self.raw = http_status, content_type, raw
        self.root = ET.fromstring(raw)
        self.code = int(find(self.root, "StatusCode").get("Value"))
        self.fault = find(self.root, "Fault")


class SignerSimTestBase(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.manifest = make_test_pki(cls.tmp.name)
        certs = os.path.join(cls.tmp.name, "certs")
        cls.der = {n: pem_der(os.path.join(certs, n + ".pem")) for n in ("alice", "bob", "bob-old")}
        cls.ca_der = pem_der(os.path.join(cls.tmp.name, "ca.pem"))
        pki = simulators.load_pki_manifest(cls.manifest)
        cls.sims = simulators.Simulators(ports={n: 0 for n in simulators.NAMES}, pki=pki).start()
        cls.mssp = cls.sims.url("mssp")
        cls.sca = cls.sims.url("smartca")

    @classmethod
    def tearDownClass(cls):
        cls.sims.stop()
        cls.tmp.cleanup()

    def setUp(self):
        for u in (self.mssp, self.sca):
            self.assertEqual(call(u + "/admin/reset", "POST")[0], 200)


class MsspTest(SignerSimTestBase):
    def soap(self, body, content_type="application/soap+xml; charset=utf-8", timeout=10):
        req = urllib.request.Request(self.mssp + "/soap", data=body, method="POST")
        req.add_header("Content-Type", content_type)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                return SoapResult(resp.status, resp.headers["Content-Type"], resp.read())
        except urllib.error.HTTPError as e:
            return SoapResult(e.code, e.headers["Content-Type"], e.read())

    def behave(self, msisdn=ALICE_PHONE, **b):
        status, r = call(self.mssp + "/admin/mssp/behaviour", "POST", dict(b, msisdn=msisdn))
        self.assertEqual(status, 200, r)
        return r

    def poll(self, trans_id, deadline_s=5):
        end = time.monotonic() + deadline_s
        while True:
            r = self.soap(mss_status_req(trans_id))
            if r.code != 504 or time.monotonic() > end:
                return r
            time.sleep(0.05)

    def assertFault(self, r, code, name):
        self.assertEqual(r.http_status, 500)
        self.assertIsNotNone(r.fault, r.raw)
        self.assertEqual(r.code, code, r.raw)
        self.assertEqual(find(r.fault, "StatusMessage").text, name)
        sub = find(find(r.fault, "Subcode"), "Value").text
        self.assertEqual(sub, "mss:_%d" % code)
        self.assertEqual(find(r.fault, "Text").text, name)
        self.assertTrue(find(r.fault, "Explanation").text)

    # ---- happy paths

    def test_synch_signature_verifies(self):
        data = b"login challenge 123"
        start = time.monotonic()
        r = self.soap(mss_signature_req(dtbs=digest_info(data)))
        self.assertGreaterEqual(time.monotonic() - start, 0.28)  # default 300 ms to approve
        self.assertEqual(r.http_status, 200)
        self.assertTrue(r.content_type.startswith("application/soap+xml"))
        self.assertIsNone(r.fault)
        self.assertEqual(r.root.tag, "{%s}Envelope" % SOAP12)
        resp = r.root.find("{%s}Body/%sMSS_SignatureResponse/%sMSS_SignatureResp"
                           % (SOAP12, MSS, MSS))
        self.assertIsNotNone(resp, r.raw)
        self.assertTrue(resp.get("MSSP_TransID"))
        self.assertEqual(resp.find(MSS + "AP_Info").get("AP_TransID"), "AP1")
        self.assertEqual(resp.find(MSS + "AP_Info").get("AP_PWD"), "")  # never echoed
        self.assertEqual(resp.find("%sMobileUser/%sMSISDN" % (MSS, MSS)).text, ALICE_PHONE)
        status = resp.find(MSS + "Status")
        self.assertEqual(status.find(MSS + "StatusCode").get("Value"), "500")
        self.assertEqual(status.find(MSS + "StatusMessage").text, "SIGNATURE")
        sig = base64.b64decode(resp.find("%sMSS_Signature/%sBase64Signature" % (MSS, MSS)).text)
        chain = [base64.b64decode(e.text) for e in status.findall(
            "%sStatusDetail/%sSignerCertificate/%sX509Certificate" % (MSS, SIMX, SIMX))]
        self.assertEqual(chain, [self.der["alice"], self.ca_der])  # leaf first, no root
        self.assertTrue(verify_pkcs1(self.der["alice"], digest_info(data), sig))
        self.assertTrue(verify_sha256_rsa(self.der["alice"], data, sig))
        self.assertFalse(verify_pkcs1(self.der["bob"], digest_info(data), sig))

    def test_soap11(self):
        r = self.soap(mss_signature_req(msisdn=BOB_PHONE, soap=SOAP11),
                      content_type="text/xml; charset=utf-8")
        self.assertEqual((r.http_status, r.code), (200, 500))
        self.assertTrue(r.content_type.startswith("text/xml"))
        self.assertEqual(r.root.tag, "{%s}Envelope" % SOAP11)
        sig = base64.b64decode(find(r.root, "Base64Signature").text)
        self.assertTrue(verify_pkcs1(self.der["bob"], digest_info(b"hello"), sig))
        # SOAP 1.1 faults: faultcode/faultstring, the status in detail.
        r = self.soap(mss_signature_req(ap_pwd="nope", soap=SOAP11), "text/xml")
        self.assertEqual((r.http_status, r.code), (500, 104))
        self.assertEqual(find(r.fault, "faultcode").text, "env:Client")
        self.assertEqual(find(r.fault, "faultstring").text, "UNAUTHORIZED_ACCESS")

    def test_async_polling(self):
        self.behave(outcome="approve", delay_ms=1200)
        start = time.monotonic()
        r = self.soap(mss_signature_req(mode="asynchClientServer"))
        self.assertLess(time.monotonic() - start, 1.0)  # answered at once
        self.assertEqual((r.http_status, r.code), (200, 100))
        self.assertEqual(find(r.root, "StatusMessage").text, "REQUEST_OK")
        self.assertIsNone(find(r.root, "MSS_Signature"))
        tid = find(r.root, "MSS_SignatureResp").get("MSSP_TransID")
        r = self.soap(mss_status_req(tid))
        self.assertEqual((r.http_status, r.code), (200, 504))
        self.assertEqual(find(r.root, "StatusMessage").text, "OUTSTANDING_TRANSACTION")
        self.assertIsNotNone(r.root.find("{%s}Body/%sMSS_StatusQueryResponse/%sMSS_StatusResp"
                                         % (SOAP12, MSS, MSS)))
        self.assertIsNone(find(r.root, "Base64Signature"))
        r = self.poll(tid)
        self.assertGreaterEqual(time.monotonic() - start, 1.15)
        self.assertEqual((r.http_status, r.code), (200, 500))
        self.assertEqual(find(r.root, "MSISDN").text, ALICE_PHONE)
        sig = base64.b64decode(find(r.root, "Base64Signature").text)
        self.assertTrue(verify_pkcs1(self.der["alice"], digest_info(b"hello"), sig))
        self.assertEqual(len(find(r.root, "SignerCertificate")), 2)
        # Querying a finished transaction again gives the same outcome.
        self.assertEqual(self.soap(mss_status_req(tid)).code, 500)

    # ---- scripted outcomes

    def test_every_failure_outcome_async_and_synch(self):
        cases = [("cancel", 401, "USER_CANCEL"), ("timeout", 208, "EXPIRED_TRANSACTION"),
                 ("pin_blocked", 402, "PIN_NR_BLOCKED"), ("no_cert", 422, "NO_CERT_FOUND"),
                 ("unreachable", 209, "OTA_ERROR")]
        for outcome, code, name in cases:
            with self.subTest(outcome=outcome):
                self.behave(outcome=outcome, delay_ms=100, count=2)
                r = self.soap(mss_signature_req(mode="asynchClientServer"))
                self.assertEqual(r.code, 100)
                tid = find(r.root, "MSS_SignatureResp").get("MSSP_TransID")
                self.assertFault(self.poll(tid), code, name)
                self.assertFault(self.soap(mss_signature_req()), code, name)
                self.assertEqual(find(self.soap(mss_signature_req()).root, "StatusCode")
                                 .get("Value"), "500")  # count used up: default approve

    def test_bad_signature(self):
        self.behave(outcome="bad_signature", delay_ms=0)
        r = self.soap(mss_signature_req())
        self.assertEqual((r.http_status, r.code), (200, 500))
        sig = base64.b64decode(find(r.root, "Base64Signature").text)
        self.assertEqual(len(sig), 256)  # a real RSA-2048 signature ...
        self.assertFalse(verify_pkcs1(self.der["alice"], digest_info(b"hello"), sig))  # ... of
        self.assertFalse(verify_sha256_rsa(self.der["alice"], b"hello", sig))  # something else

    def test_user_slower_than_timeout_expires(self):
        self.behave(outcome="approve", delay_ms=5000)
        start = time.monotonic()
        self.assertFault(self.soap(mss_signature_req(timeout="1")), 208, "EXPIRED_TRANSACTION")
        self.assertLess(time.monotonic() - start, 3)
        self.assertGreaterEqual(time.monotonic() - start, 0.95)

    def test_behaviour_admin(self):
        r = self.behave(outcome="cancel", delay_ms=10, count=1)
        self.assertEqual(r["behaviour"], {"msisdn": ALICE_PHONE, "outcome": "cancel",
                                          "delay_ms": 10, "count": 1})
        self.behave(msisdn="+" + BOB_PHONE, outcome="pin_blocked")
        _, r = call(self.mssp + "/admin/mssp/behaviour")
        self.assertEqual(r["default"], {"outcome": "approve", "delay_ms": 300})
        self.assertEqual([(b["msisdn"], b["outcome"], b["count"]) for b in r["behaviours"]],
                         [(BOB_PHONE, "pin_blocked", -1), (ALICE_PHONE, "cancel", 1)])
        self.assertEqual(self.soap(mss_signature_req()).code, 401)
        _, r = call(self.mssp + "/admin/mssp/behaviour")
        self.assertEqual([b["msisdn"] for b in r["behaviours"]], [BOB_PHONE])  # count consumed
        # Until reset: every transaction.
        self.assertEqual(self.soap(mss_signature_req(msisdn=BOB_PHONE)).code, 402)
        self.assertEqual(self.soap(mss_signature_req(msisdn=BOB_PHONE)).code, 402)
        _, r = call(self.mssp + "/admin/mssp/behaviour?msisdn=" + BOB_PHONE, "DELETE")
        self.assertEqual(r["behaviours"], [])
        self.behave(outcome="cancel", delay_ms=0)
        self.assertEqual(call(self.mssp + "/admin/mssp/behaviour", "DELETE")[0], 200)
        self.assertEqual(self.soap(mss_signature_req()).code, 500)
        for bad in ({"outcome": "explode"}, {"outcome": "cancel", "delay_ms": -1},
                    {"outcome": "cancel", "count": -2}, {"outcome": "cancel", "msisdn": "0981"},
                    {"outcome": "cancel", "extra": 1}, {"outcome": "cancel", "delay_ms": "5"}):
            body = dict({"msisdn": ALICE_PHONE}, **bad)
            self.assertEqual(call(self.mssp + "/admin/mssp/behaviour", "POST", body)[0], 400, bad)

    def test_transactions_show_displayed_text(self):
        self.soap(mss_signature_req(display="DVC: mã 7319", ap_trans_id="T-A"))
        self.soap(mss_signature_req(msisdn=BOB_PHONE, display="DVC: mã 1111"))
        self.behave(outcome="approve", delay_ms=5000)
        r = self.soap(mss_signature_req(mode="asynchClientServer", ap_trans_id="T-B",
                                        display="DVC: mã 2468"))
        tid = find(r.root, "MSS_SignatureResp").get("MSSP_TransID")
        _, r = call(self.mssp + "/admin/mssp/transactions?msisdn=" + ALICE_PHONE)
        txns = r["transactions"]
        self.assertEqual([t["data_to_be_displayed"] for t in txns],
                         ["DVC: mã 2468", "DVC: mã 7319"])  # newest first, alice only
        self.assertEqual((txns[0]["mssp_trans_id"], txns[0]["status_code"],
                          txns[0]["ap_trans_id"], txns[0]["messaging_mode"]),
                         (tid, 504, "T-B", "asynchClientServer"))
        self.assertEqual((txns[1]["status_code"], txns[1]["certificate"]), (500, "alice-sim"))
        self.assertEqual(txns[1]["hash"], hashlib.sha256(b"hello").hexdigest())
        self.assertEqual(len(call(self.mssp + "/admin/mssp/transactions")[1]["transactions"]), 3)
        _, r = call(self.mssp + "/admin/mssp/users")
        self.assertEqual([(u["msisdn"], u["name"]) for u in r["users"]],
                         [(BOB_PHONE, "bob-sim"), (ALICE_PHONE, "alice-sim")])
        call(self.mssp + "/admin/reset", "POST")
        self.assertEqual(call(self.mssp + "/admin/mssp/transactions")[1]["transactions"], [])

    # ---- errors

    def test_bad_ap_credentials(self):
        self.assertFault(self.soap(mss_signature_req(ap_pwd="wrong")), 104, "UNAUTHORIZED_ACCESS")
        self.assertFault(self.soap(mss_signature_req(ap_id="other-ap")), 104,
                         "UNAUTHORIZED_ACCESS")
        self.assertFault(self.soap(mss_status_req("mssp-x", ap_pwd="wrong")), 104,
                         "UNAUTHORIZED_ACCESS")
        r = self.soap(mss_signature_req(ap_pwd="wrong"))
        self.assertEqual(find(find(r.fault, "Code"), "Value").text, "env:Sender")

    def test_missing_params(self):
        for omit in ("AP_Info", "MSSP_Info", "MSISDN", "DataToBeSigned", "MSS_Format",
                     "MessagingMode", "MajorVersion"):
            with self.subTest(omit=omit):
                self.assertFault(self.soap(mss_signature_req(omit=(omit,))), 102, "MISSING_PARAM")
        body = mss_status_req("x").replace(b' MSSP_TransID="x"', b"")
        self.assertFault(self.soap(body), 102, "MISSING_PARAM")
        # Optional: DataToBeDisplayed, SignatureProfile, TimeOut.
        r = self.soap(mss_signature_req(omit=("DataToBeDisplayed", "SignatureProfile",
                                              "TimeOut")))
        self.assertEqual(r.code, 500)

    def test_wrong_params(self):
        sha1_di = bytes.fromhex("3021300906052b0e03021a05000414") + hashlib.sha1(b"x").digest()
        cases = {"PKCS#7 format": dict(fmt="http://uri.etsi.org/TS102204/v1.1.2#PKCS7"),
                 "SHA-1 DigestInfo": dict(dtbs=sha1_di),
                 "bare hash": dict(dtbs=hashlib.sha256(b"x").digest()),
                 "DigestInfo + junk": dict(dtbs=digest_info(b"x") + b"\0"),
                 "not base64": dict(dtbs_b64="@@not base64@@"),
                 "server-server mode": dict(mode="asynchServerServer"),
                 "bad mode": dict(mode="sync"),
                 "bad timeout": dict(timeout="abc"), "zero timeout": dict(timeout="0"),
                 "msisdn format": dict(msisdn="0981234567")}
        for what, kw in cases.items():
            with self.subTest(what):
                self.assertFault(self.soap(mss_signature_req(**kw)), 101, "WRONG_PARAM")
        bad_instant = mss_signature_req().replace(b"2026-01-02T03:04:05Z", b"yesterday")
        self.assertFault(self.soap(bad_instant), 101, "WRONG_PARAM")

    def test_unknown_client(self):
        self.assertFault(self.soap(mss_signature_req(msisdn="84900000001")), 105,
                         "UNKNOWN_CLIENT")
        # MSISDN with a leading + is the same subscriber.
        self.assertEqual(self.soap(mss_signature_req(msisdn="+" + ALICE_PHONE)).code, 500)

    def test_unknown_transaction(self):
        self.assertFault(self.soap(mss_status_req("mssp-nonexistent")), 101, "WRONG_PARAM")

    def test_malformed_xml(self):
        bodies = {"not XML": b"<env:Envelope><unclosed",
                  "not an envelope": b"<hello/>",
                  "no body": b'<e:Envelope xmlns:e="%s"/>' % SOAP12.encode(),
                  "foreign operation": b'<e:Envelope xmlns:e="%s"><e:Body><x:Op xmlns:x="urn:x"/>'
                                       b"</e:Body></e:Envelope>" % SOAP12.encode(),
                  "unsupported operation": mss_status_req("x").replace(b"MSS_StatusQuery",
                                                                        b"MSS_ProfileQuery"),
                  "DTD": b'<!DOCTYPE x [<!ENTITY a "b">]>' + mss_signature_req()[38:],
                  "empty": b""}
        for what, body in bodies.items():
            with self.subTest(what):
                r = self.soap(body)
                self.assertFault(r, 101, "WRONG_PARAM")
                self.assertEqual(r.root.tag, "{%s}Envelope" % SOAP12)
        r = self.soap(b"<oops", content_type="text/xml")  # SOAP 1.1 caller gets a 1.1 fault
        self.assertEqual((r.root.tag, r.code), ("{%s}Envelope" % SOAP11, 101))
        self.assertEqual(call(self.mssp + "/soap")[0], 405)

    def test_faults_apply_to_mssp(self):
        self.assertEqual(call(self.mssp + "/admin/faults", "POST",
                              {"mode": "error", "count": 1})[0], 200)
        req = urllib.request.Request(self.mssp + "/soap", data=mss_signature_req(),
                                     method="POST")
        with self.assertRaises(urllib.error.HTTPError) as cm:
            urllib.request.urlopen(req, timeout=5)
        self.assertEqual(cm.exception.code, 503)  # the generic {"error": ...} of every simulator
        cm.exception.close()
        self.assertEqual(self.soap(mss_signature_req()).code, 500)

    def test_shutdown_releases_synch_request(self):
        sims = simulators.Simulators(ports={n: 0 for n in simulators.NAMES},
                                     pki=simulators.load_pki_manifest(self.manifest)).start()
        call(sims.url("mssp") + "/admin/mssp/behaviour", "POST",
             {"msisdn": ALICE_PHONE, "outcome": "approve", "delay_ms": 30000})
        errors = []

        def client():
            req = urllib.request.Request(sims.url("mssp") + "/soap", data=mss_signature_req(),
                                         method="POST")
            try:
                urllib.request.urlopen(req, timeout=10).read()
            except Exception as e:  # noqa: BLE001 - any failure is the expected outcome
                errors.append(e)
        t = threading.Thread(target=client)
        t.start()
        time.sleep(0.3)
        start = time.monotonic()
        sims.stop()
        t.join(5)
        self.assertLess(time.monotonic() - start, 3)
        self.assertFalse(t.is_alive())
        self.assertEqual(len(errors), 1)


    def test_process_flags(self):
        args = [sys.executable, os.path.join(HERE, "simulators.py"), "--pki_manifest",
                self.manifest, "--mssp_ap_id=ap-2", "--mssp_ap_password=pw-2",
                "--mssp_default_delay_ms=0", "--smartca_sp_id=sp-2", "--smartca_sp_password=pw-3",
                "--smartca_default_delay_ms", "0"]
        args += ["--%s_port=0" % n for n in simulators.NAMES]
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.addCleanup(lambda: proc.poll() is None and proc.kill())
        lines = []
        while not lines or lines[-1] != "SIM_READY=1":
            line = proc.stdout.readline()
            if not line:
                self.fail("simulators exited early: %s" % proc.stderr.read())
            lines.append(line.strip())
        urls = dict(x.split("=", 1) for x in lines)
        body = mss_signature_req(ap_id="ap-2", ap_pwd="pw-2")
        req = urllib.request.Request(urls["SIM_MSSP_URL"] + "/soap", data=body, method="POST")
        with urllib.request.urlopen(req, timeout=5) as resp:
            self.assertEqual(find(ET.fromstring(resp.read()), "StatusCode").get("Value"), "500")
        self.assertEqual(call(urls["SIM_MSSP_URL"] + "/admin/mssp/behaviour")[1]["default"],
                         {"outcome": "approve", "delay_ms": 0})
        self.assertEqual(call(urls["SIM_SMARTCA_URL"] + "/admin/smartca/behaviour")[1]
                         ["default"], {"outcome": "approve", "delay_ms": 0})
        req = urllib.request.Request(urls["SIM_MSSP_URL"] + "/soap", data=mss_signature_req(),
                                     method="POST")
        with self.assertRaises(urllib.error.HTTPError) as cm:
            urllib.request.urlopen(req, timeout=5)
        self.assertEqual(find(ET.fromstring(cm.exception.read()), "StatusCode").get("Value"),
                         "104")
        cm.exception.close()
        status, r = call(urls["SIM_SMARTCA_URL"] + "/v1/credentials/get_certificate", "POST",
                         {"sp_id": "sp-2", "sp_password": "pw-3", "user_id": "sca-bob",
                          "transaction_id": "t"})
        self.assertEqual((status, len(r["data"]["user_certificates"])), (200, 2))
        proc.send_signal(signal.SIGTERM)
        self.assertEqual(proc.wait(timeout=5), 0)
        self.assertIn("2 MSSP users, 2 SmartCA users", proc.stderr.read())
        proc.stdout.close()
        proc.stderr.close()

    def test_process_bad_manifest_fails(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "m.json")
            with open(path, "w") as f:
                json.dump({"certs": {"x": {"phone": ALICE_PHONE, "cert": "/nonexistent.pem",
                                           "key": "/nonexistent.key"}}}, f)
            r = subprocess.run([sys.executable, os.path.join(HERE, "simulators.py"),
                                "--pki_manifest", path] +
                               ["--%s_port=0" % n for n in simulators.NAMES],
                               capture_output=True, text=True, timeout=10)
            self.assertEqual(r.returncode, 2)
            self.assertIn("certs.x", r.stderr)


class SmartCaTest(SignerSimTestBase):
    CREDS = {"sp_id": "dvc-sp", "sp_password": "dvc-sp-secret"}

    def post(self, path, **body):
        return call(self.sca + path, "POST", dict(self.CREDS, **body))

    def behave(self, user_id="sca-alice", **b):
        status, r = call(self.sca + "/admin/smartca/behaviour", "POST", dict(b, user_id=user_id))
        self.assertEqual(status, 200, r)

    def sign(self, user_id="sca-alice", docs=(b"doc one", b"doc two"), **extra):
        files = [{"data_to_be_signed": hashlib.sha256(d).hexdigest(), "doc_id": "d%d" % i,
                  "file_type": "pdf", "sign_type": "hash"} for i, d in enumerate(docs)]
        body = {"user_id": user_id, "transaction_id": "sp-tx-1",
                "transaction_desc": "Đăng nhập Cổng DVC", "serial_number": None,
                "time_stamp": "20260102030405", "sign_files": files}
        body.update(extra)
        if body["serial_number"] is None:
            del body["serial_number"]
        return self.post("/v1/signatures/sign", **body)

    def poll(self, tran_id, deadline_s=5):
        end = time.monotonic() + deadline_s
        while True:
            status, r = call(self.sca + "/v1/signatures/sign/%s/status" % tran_id)
            if status != 200 or r["data"]["status"] != 4000 or time.monotonic() > end:
                return status, r
            time.sleep(0.05)

    def test_get_certificate(self):
        status, r = self.post("/v1/credentials/get_certificate", user_id="sca-alice",
                              transaction_id="t1")
        self.assertEqual((status, r["status_code"], r["message"]), (200, 200, "success"))
        [c] = r["data"]["user_certificates"]
        self.assertEqual(base64.b64decode(c["cert_data"]), self.der["alice"])
        self.assertEqual([base64.b64decode(x) for x in c["chain_data"]], [self.ca_der])
        self.assertEqual(c["serial_number"], "1001")
        self.assertIn("Nguyễn Thị Alice", c["cert_subject"])
        self.assertIn("CCCD:079187004321", c["cert_subject"])
        self.assertRegex(c["cert_valid_from"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        self.assertLess(c["cert_valid_from"], c["cert_valid_to"])
        self.assertTrue(c["cert_id"])

    def test_get_certificate_several_and_by_serial(self):
        _, r = self.post("/v1/credentials/get_certificate", user_id="sca-bob",
                         transaction_id="t1")
        certs = r["data"]["user_certificates"]
        self.assertEqual(sorted(c["serial_number"] for c in certs), ["1002", "1003"])
        self.assertEqual(len({c["cert_id"] for c in certs}), 2)
        _, r = self.post("/v1/credentials/get_certificate", user_id="sca-bob",
                         transaction_id="t1", serial_number="1003")
        [c] = r["data"]["user_certificates"]
        self.assertEqual(base64.b64decode(c["cert_data"]), self.der["bob-old"])
        _, r = self.post("/v1/credentials/get_certificate", user_id="sca-bob",
                         transaction_id="t1", serial_number="ffff")
        self.assertEqual(r["data"]["user_certificates"], [])

    def test_sign_and_poll(self):
        self.behave(outcome="approve", delay_ms=1000)
        start = time.monotonic()
        status, r = self.sign()
        self.assertEqual((status, r["status_code"], r["message"]),
                         (200, 200, "sig_wait_for_user_confirm"))
        tran_id, tran_code = r["data"]["transaction_id"], r["data"]["tran_code"]
        self.assertRegex(tran_code, r"^[A-Z0-9]{6}$")
        status, r = call(self.sca + "/v1/signatures/sign/%s/status" % tran_id)
        self.assertEqual((status, r["data"]["status"], r["data"]["transaction_id"]),
                         (200, 4000, tran_id))
        self.assertNotIn("signatures", r["data"])
        status, r = self.poll(tran_id)
        self.assertGreaterEqual(time.monotonic() - start, 0.98)
        self.assertEqual((status, r["message"], r["data"]["status"]), (200, "success", 1))
        sigs = {s["doc_id"]: base64.b64decode(s["signature_value"])
                for s in r["data"]["signatures"]}
        self.assertEqual(set(sigs), {"d0", "d1"})
        self.assertTrue(verify_pkcs1(self.der["alice"], digest_info(b"doc one"), sigs["d0"]))
        self.assertTrue(verify_sha256_rsa(self.der["alice"], b"doc two", sigs["d1"]))
        self.assertFalse(verify_pkcs1(self.der["alice"], digest_info(b"doc one"), sigs["d1"]))
        # POST works too (with the SP's credentials).
        status, r = self.post("/v1/signatures/sign/%s/status" % tran_id)
        self.assertEqual((status, r["data"]["status"]), (200, 1))
        status, r = call(self.sca + "/v1/signatures/sign/%s/status" % tran_id, "POST",
                         {"sp_id": "dvc-sp", "sp_password": "x"})
        self.assertEqual((status, r["status_code"]), (401, 401))
        _, r = call(self.sca + "/admin/smartca/transactions?user_id=sca-alice")
        [t] = r["transactions"]
        self.assertEqual((t["transaction_id"], t["tran_code"], t["transaction_desc"], t["status"],
                          t["sp_transaction_id"]),
                         (tran_id, tran_code, "Đăng nhập Cổng DVC", 1, "sp-tx-1"))

    def test_sign_with_chosen_certificate(self):
        self.behave(user_id="sca-bob", outcome="approve", delay_ms=0)
        _, r = self.sign(user_id="sca-bob", docs=[b"x"], serial_number="1003")
        _, r = self.poll(r["data"]["transaction_id"])
        sig = base64.b64decode(r["data"]["signatures"][0]["signature_value"])
        self.assertTrue(verify_pkcs1(self.der["bob-old"], digest_info(b"x"), sig))
        self.assertFalse(verify_pkcs1(self.der["bob"], digest_info(b"x"), sig))
        status, r = self.sign(user_id="sca-bob", serial_number="9999")
        self.assertEqual((status, r["status_code"]), (404, 404))

    def test_failure_outcomes(self):
        for outcome, st, msg in (("reject", 4002, "sig_rejected_by_user"),
                                 ("expire", 4001, "transaction_expired"),
                                 ("fail", 4004, "sig_failed")):
            with self.subTest(outcome=outcome):
                self.behave(outcome=outcome, delay_ms=50, count=1)
                _, r = self.sign()
                status, r = self.poll(r["data"]["transaction_id"])
                self.assertEqual((status, r["data"]["status"], r["message"]), (200, st, msg))
                self.assertNotIn("signatures", r["data"])
                _, r = self.sign()  # count used up: default approve
                self.assertEqual(self.poll(r["data"]["transaction_id"])[1]["data"]["status"], 1)

    def test_bad_signature(self):
        self.behave(outcome="bad_signature", delay_ms=0)
        _, r = self.sign(docs=[b"doc"])
        _, r = self.poll(r["data"]["transaction_id"])
        self.assertEqual(r["data"]["status"], 1)
        sig = base64.b64decode(r["data"]["signatures"][0]["signature_value"])
        self.assertFalse(verify_pkcs1(self.der["alice"], digest_info(b"doc"), sig))

    def test_errors(self):
        status, r = call(self.sca + "/v1/signatures/sign", "POST",
                         {"sp_id": "dvc-sp", "sp_password": "wrong", "user_id": "sca-alice"})
        self.assertEqual((status, r["status_code"], r["message"]),
                         (401, 401, "invalid_sp_credentials"))
        status, r = call(self.sca + "/v1/credentials/get_certificate", "POST",
                         {"user_id": "sca-alice", "transaction_id": "t"})
        self.assertEqual((status, r["status_code"]), (401, 401))
        status, r = self.post("/v1/credentials/get_certificate", user_id="nobody",
                              transaction_id="t")
        self.assertEqual((status, r["status_code"], r["message"]), (404, 404, "user_not_found"))
        self.assertEqual(self.sign(user_id="nobody")[1]["status_code"], 404)
        status, r = call(self.sca + "/v1/signatures/sign", "POST", raw=b"{nope")
        self.assertEqual((status, r["status_code"]), (400, 400))
        good = {"data_to_be_signed": "ab" * 32, "doc_id": "d", "sign_type": "hash"}
        for what, files in {"no files": [], "short hash": [dict(good, data_to_be_signed="ab")],
                            "not hex": [dict(good, data_to_be_signed="zz" * 32)],
                            "file sign": [dict(good, sign_type="file")],
                            "no doc_id": [dict(good, doc_id="")],
                            "duplicate doc_id": [good, good], "not a list": "x"}.items():
            with self.subTest(what):
                status, r = self.sign(sign_files=files)
                self.assertEqual((status, r["status_code"]), (400, 400))
        status, r = self.sign(transaction_id="")
        self.assertEqual(status, 400)
        status, r = call(self.sca + "/v1/signatures/sign/nonexistent/status")
        self.assertEqual((status, r["status_code"], r["message"]),
                         (404, 404, "transaction_not_found"))
        self.assertEqual(call(self.sca + "/v1/signatures/sign")[0], 405)

    def test_behaviour_admin_validation(self):
        for bad in ({"user_id": "sca-alice", "outcome": "cancel"},  # an MSSP outcome
                    {"outcome": "reject"}, {"user_id": "sca-alice", "outcome": "reject",
                                            "delay_ms": -5}):
            self.assertEqual(call(self.sca + "/admin/smartca/behaviour", "POST", bad)[0], 400)
        self.behave(outcome="reject")
        _, r = call(self.sca + "/admin/smartca/behaviour")
        self.assertEqual(r["behaviours"], [{"user_id": "sca-alice", "outcome": "reject",
                                            "delay_ms": None, "count": -1}])
        call(self.sca + "/admin/reset", "POST")
        self.assertEqual(call(self.sca + "/admin/smartca/behaviour")[1]["behaviours"], [])
        _, r = call(self.sca + "/admin/smartca/users")
        self.assertEqual(sorted((u["user_id"], u["serial_number"]) for u in r["users"]),
                         [("sca-alice", "1001"), ("sca-bob", "1002"), ("sca-bob", "1003")])


class NoManifestTest(unittest.TestCase):
    def test_no_users_without_manifest(self):
        sims = simulators.Simulators(ports={n: 0 for n in simulators.NAMES}).start()
        self.addCleanup(sims.stop)
        req = urllib.request.Request(sims.url("mssp") + "/soap", data=mss_signature_req(),
                                     method="POST")
        with self.assertRaises(urllib.error.HTTPError) as cm:
            urllib.request.urlopen(req, timeout=5)
        self.assertEqual(find(ET.fromstring(cm.exception.read()), "StatusCode").get("Value"),
                         "105")
        status, r = call(sims.url("smartca") + "/v1/credentials/get_certificate", "POST",
                         {"sp_id": "dvc-sp", "sp_password": "dvc-sp-secret",
                          "user_id": "sca-alice", "transaction_id": "t"})
        self.assertEqual(status, 404)

    def test_bad_manifest(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "m.json")
            for content in ({"certs": {"x": {"phone": ALICE_PHONE, "cert": "/nonexistent.pem",
                                             "key": "/nonexistent.key"}}},
                            {"certs": {"x": {"phone": ALICE_PHONE}}}, {"no": "certs"}):
                with open(path, "w") as f:
                    json.dump(content, f)
                with self.assertRaises((ValueError, OSError)):
                    simulators.load_pki_manifest(path)


class ProcessTest(unittest.TestCase):
    def run_sims(self, *extra):
        # Underscore spelling for one flag, as tools/lib.sh passes them.
        args = [sys.executable, os.path.join(HERE, "simulators.py"), "--telco_port=0",
                "--population-port", "0", "--sms-port", "0", "--mssp_port=0", "--smartca-port",
                "0", *extra]
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.addCleanup(lambda: proc.poll() is None and proc.kill())
        urls = {}
        while True:
            line = proc.stdout.readline()
            if not line:
                self.fail("simulators exited early: %s" % proc.stderr.read())
            k, v = line.strip().split("=", 1)
            if k == "SIM_READY":
                return proc, urls
            urls[k] = v

    def test_subprocess_ports_and_sigterm(self):
        with tempfile.TemporaryDirectory() as d:
            port_file = os.path.join(d, "ports")
            proc, urls = self.run_sims("--port-file", port_file)
            self.assertEqual(list(urls), ["SIM_TELCO_URL", "SIM_POPULATION_URL", "SIM_SMS_URL",
                                          "SIM_MSSP_URL", "SIM_SMARTCA_URL"])  # READY last
            with open(port_file) as f:
                ports = dict(line.strip().split("=") for line in f)
            self.assertEqual(urls["SIM_SMS_URL"], "http://127.0.0.1:%s" % ports["sms"])
            self.assertEqual(call(urls["SIM_POPULATION_URL"] + "/v1/citizens/001099012345")[0],
                             200)
            # A request hanging in a timeout fault must not delay shutdown.
            call(urls["SIM_TELCO_URL"] + "/admin/faults", "POST", {"mode": "timeout"})
            s = socket.create_connection(("127.0.0.1", int(ports["telco"])))
            body = json.dumps(VALID_VERIFY).encode()
            s.sendall(b"POST /v1/subscribers/verify HTTP/1.1\r\nHost: x\r\nContent-Length: %d"
                      b"\r\n\r\n%s" % (len(body), body))
            time.sleep(0.2)
            start = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            self.assertEqual(proc.wait(timeout=5), 0)
            self.assertLess(time.monotonic() - start, 3)
            s.close()
            proc.stdout.close()
            proc.stderr.close()

    def test_sigint_and_people_flag(self):
        with tempfile.TemporaryDirectory() as d:
            people = os.path.join(d, "people.json")
            with open(people, "w", encoding="utf-8") as f:
                json.dump([NEWCOMER], f, ensure_ascii=False)
            proc, urls = self.run_sims("--people", people)
            status, r = call(urls["SIM_TELCO_URL"] + "/admin/people")
            self.assertEqual([p["cccd"] for p in r["people"]], ["024197001234"])
            proc.send_signal(signal.SIGINT)
            self.assertEqual(proc.wait(timeout=5), 0)
            proc.stdout.close()
            proc.stderr.close()

    def test_bad_people_file_fails(self):
        with tempfile.TemporaryDirectory() as d:
            people = os.path.join(d, "people.json")
            with open(people, "w") as f:
                json.dump([dict(NEWCOMER, cccd="1")], f)
            r = subprocess.run([sys.executable, os.path.join(HERE, "simulators.py"), "--people",
                                people], capture_output=True, text=True, timeout=10)
            self.assertEqual(r.returncode, 2)
            self.assertIn("person #0", r.stderr)


if __name__ == "__main__":
    unittest.main()
