"""Tests of the provider simulators. Run: cd tools/sim && python3 -m unittest -v"""

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request

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


class ProcessTest(unittest.TestCase):
    def run_sims(self, *extra):
        # Underscore spelling for one flag, as tools/lib.sh passes them.
        args = [sys.executable, os.path.join(HERE, "simulators.py"), "--telco_port=0",
                "--population-port", "0", "--sms-port", "0", *extra]
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
            self.assertEqual(set(urls), {"SIM_TELCO_URL", "SIM_POPULATION_URL", "SIM_SMS_URL"})
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
