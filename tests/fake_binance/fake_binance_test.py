#!/usr/bin/python3
"""Tests of the Binance fake's repay, max-borrowable, ltv-details and REPAY
records (and that borrow still answers as before). The fake runs as a
subprocess over plain HTTP on loopback; requests are signed here with
HMAC-SHA256 over the exact bytes sent, independently of the gateway.

Run: /usr/bin/python3 tests/fake_binance/fake_binance_test.py
"""

import decimal
import hashlib
import hmac
import http.client
import json
import os
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse

FAKE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fake_binance.py")
API_KEY = "fake-binance-test-key"
SECRET = b"NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
BORROW = "/sapi/v1/margin/loan-group/borrow"
REPAY = "/sapi/v1/margin/loan-group/repay"
RECORDS = "/sapi/v1/margin/loan-group/borrow-repay"
MAX_BORROWABLE = "/sapi/v1/margin/loan-group/max-borrowable"
LTV_DETAILS = "/sapi/v1/margin/loan-group/ltv-details"


def encode(params):
    return "&".join(f"{urllib.parse.quote(k, safe='-_.~')}="
                    f"{urllib.parse.quote(str(v), safe='-_.~')}" for k, v in params)


class Answer:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    def json(self):
        # Amounts keep their exact text: never a float.
        return json.loads(self.body, parse_float=decimal.Decimal)


class FakeProcess:
    """The fake as a subprocess, with a signing client."""

    def __init__(self, *extra_args):
        self.dir = tempfile.TemporaryDirectory(prefix="fake-binance-test-")
        secret_file = os.path.join(self.dir.name, "secret")
        with open(secret_file, "wb") as f:
            f.write(SECRET)
        port_file = os.path.join(self.dir.name, "port")
        self.log = open(os.path.join(self.dir.name, "fake.log"), "wb")
        self.proc = subprocess.Popen(
            [sys.executable, FAKE, "--plain-http", "--port-file", port_file,
             "--key", f"hmac:{API_KEY}:{secret_file}",
             "--risk-unit", "1001:USDT=50000,USDC=50000",
             "--risk-unit", "1002:USDT=100", *extra_args],
            stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        while not os.path.exists(port_file):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the fake did not start")
            time.sleep(0.05)
        with open(port_file) as f:
            self.port = int(f.read())

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        self.dir.cleanup()

    def raw(self, method, path, body=b"", headers=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            response = conn.getresponse()
            return Answer(response.status, response.headers, response.read().decode())
        finally:
            conn.close()

    def signed(self, method, path, params, in_body=False, secret=SECRET):
        params = list(params) + [("timestamp", int(time.time() * 1000))]
        payload = encode(params)
        signature = hmac.new(secret, payload.encode(), hashlib.sha256).hexdigest()
        signed = f"{payload}&signature={signature}"
        headers = {"X-MBX-APIKEY": API_KEY}
        if in_body:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            return self.raw(method, path, signed.encode(), headers)
        return self.raw(method, f"{path}?{signed}", b"", headers)

    def borrow(self, amount, group=1001, asset="USDT"):
        return self.signed("POST", BORROW, [("groupId", group), ("assetName", asset),
                                            ("amount", amount)])

    def repay(self, amount, group=1001, asset="USDT", extra=(), in_body=False):
        return self.signed("POST", REPAY, [("groupId", group), ("assetName", asset),
                                           ("amount", amount), *extra], in_body)

    def max_borrowable(self, asset="USDT", group=1001):
        params = [("assetName", asset)] + ([("groupId", group)] if group else [])
        return self.signed("GET", MAX_BORROWABLE, params)

    def ltv_details(self, group=1001):
        return self.signed("GET", LTV_DETAILS, [("groupId", group)] if group else [])

    def records(self, kind, group=1001):
        return self.signed("GET", RECORDS, [("groupId", group), ("type", kind)])

    def control(self, path, body=None):
        data = json.dumps(body).encode() if body is not None else b""
        answer = self.raw("POST" if body is not None else "GET", path, data,
                          {"Content-Type": "application/json"})
        return json.loads(answer.body)

    def state(self):
        return self.control("/fake/state")


def inside_one_minute(seconds_needed=10):
    """Weight windows turn over on the minute: wait for a fresh one when the
    current one has less than seconds_needed left, so counts are exact."""
    left = 60 - time.time() % 60
    if left < seconds_needed:
        time.sleep(left + 0.2)


class FakeTestCase(unittest.TestCase):
    extra_args = ()

    @classmethod
    def setUpClass(cls):
        cls.fake = FakeProcess(*cls.extra_args)

    @classmethod
    def tearDownClass(cls):
        cls.fake.stop()

    def setUp(self):
        self.fake.control("/fake/reset", {})

    def assertBinanceError(self, answer, status, code, msg=None):
        self.assertEqual(answer.status, status, answer.body)
        body = answer.json()
        self.assertEqual(body["code"], code, answer.body)
        if msg is not None:
            self.assertEqual(body["msg"], msg)


class RepayTest(FakeTestCase):
    def test_no_liability_is_27011(self):
        answer = self.fake.repay("10")
        # Binance's error-code reference: "No liability found in the risk unit
        # with GroupID {0}."
        self.assertBinanceError(answer, 400, -27011,
                                "No liability found in the risk unit with GroupID 1001.")
        self.assertEqual(self.fake.state()["repays"], [])

    def test_repays_the_smaller_of_liability_and_request(self):
        self.assertEqual(self.fake.borrow("100").status, 200)
        first = self.fake.repay("30.5")
        self.assertEqual(first.status, 200, first.body)
        body = first.json()
        # The documented shape: numbers; repayFrom MARGIN by default.
        self.assertEqual(set(body), {"transactionId", "amount", "repayFrom"})
        self.assertIsInstance(body["transactionId"], int)
        self.assertEqual(body["amount"], decimal.Decimal("30.5"))
        self.assertEqual(body["repayFrom"], "MARGIN")
        second = self.fake.repay("500")
        self.assertEqual(second.status, 200, second.body)
        self.assertEqual(second.json()["amount"], decimal.Decimal("69.5"))
        self.assertBinanceError(self.fake.repay("1"), 400, -27011)

        state = self.fake.state()
        self.assertEqual([(r["amount"], r["repaid"]) for r in state["repays"]],
                         [("30.5", "30.5"), ("500", "69.5")])
        for entry in state["repays"]:
            self.assertEqual(entry["group_id"], 1001)
            self.assertEqual(entry["asset"], "USDT")
            self.assertIsInstance(entry["signed_timestamp"], int)
        self.assertEqual(state["repays"][0]["tran_id"], str(body["transactionId"]))
        self.assertEqual(state["liabilities"]["1001"], {"USDT": "0"})
        # What was repaid can be borrowed again.
        self.assertEqual(state["limits"]["1001"]["USDT"], "50000")
        self.assertEqual(state["received"]["repay"], 3)
        self.assertEqual(state["received"]["repay_started"], 3)

    def test_liability_is_per_asset_and_unit(self):
        self.assertEqual(self.fake.borrow("10", asset="USDC").status, 200)
        self.assertBinanceError(self.fake.repay("10", asset="USDT"), 400, -27011)
        self.assertBinanceError(self.fake.repay("10", group=1002), 400, -27011,
                                "No liability found in the risk unit with GroupID 1002.")
        self.assertEqual(self.fake.repay("10", asset="USDC").status, 200)

    def test_repay_checks_like_borrow(self):
        self.assertEqual(self.fake.borrow("10").status, 200)
        self.assertBinanceError(self.fake.repay("1.123456789"), 400, -1111)
        self.assertBinanceError(self.fake.repay("10", group=4242), 400, -27001)
        self.assertBinanceError(self.fake.repay("10", asset="BTC"), 400, -27017)
        self.assertBinanceError(
            self.fake.signed("POST", REPAY, [("groupId", 1001), ("assetName", "USDT")]),
            400, -1102)
        bad = self.fake.signed("POST", REPAY, [("groupId", 1001), ("assetName", "USDT"),
                                               ("amount", "1")], secret=b"wrong")
        self.assertBinanceError(bad, 400, -1022)
        self.assertEqual(self.fake.state()["repays"], [])

    def test_repay_from_spot_in_a_form_body(self):
        self.assertEqual(self.fake.borrow("10").status, 200)
        answer = self.fake.repay("4", extra=[("repayFrom", "SPOT")], in_body=True)
        self.assertEqual(answer.status, 200, answer.body)
        self.assertEqual(answer.json()["repayFrom"], "SPOT")
        self.assertBinanceError(self.fake.repay("4", extra=[("repayFrom", "FUTURES")]),
                                400, -1100)

    def test_available_funds_cap_the_repay_then_27015(self):
        self.assertEqual(self.fake.borrow("100").status, 200)
        self.fake.control("/fake/config", {"available": ["1001:USDT=10"]})
        answer = self.fake.repay("50")
        self.assertEqual(answer.json()["amount"], decimal.Decimal("10"))
        self.assertBinanceError(self.fake.repay("50"), 400, -27015,
                                "Insufficient balance in balance for asset USDT.")
        state = self.fake.state()
        self.assertEqual(state["liabilities"]["1001"]["USDT"], "90")
        self.assertEqual(state["available"], {"1001:USDT": "0"})

    def test_success_styles(self):
        self.assertEqual(self.fake.borrow("10").status, 200)
        self.fake.control("/fake/faults", {"endpoint": "repay",
                                           "success_style": "strings",
                                           "tran_id": "9007199254740993"})
        answer = self.fake.repay("1.5")
        self.assertEqual(json.loads(answer.body), {"transactionId": "9007199254740993",
                                                   "amount": "1.5",
                                                   "repayFrom": "MARGIN"})


class RecordsTest(FakeTestCase):
    def test_repay_rows(self):
        self.assertEqual(self.fake.borrow("100").status, 200)
        repaid = self.fake.repay("40").json()
        answer = self.fake.records("REPAY")
        self.assertEqual(answer.status, 200, answer.body)
        body = answer.json()
        self.assertEqual(body["total"], 1)
        (row,) = body["rows"]
        # The documented REPAY row: numbers for the amounts, type NORMAL_REPAY,
        # status CONFIRM, create time in ms.
        self.assertEqual(set(row), {"tranId", "assetName", "amount", "principal",
                                    "interest", "status", "type", "timestamp"})
        self.assertEqual(row["tranId"], repaid["transactionId"])
        self.assertEqual(row["assetName"], "USDT")
        self.assertEqual(row["amount"], decimal.Decimal("40"))
        self.assertEqual(row["principal"], decimal.Decimal("40"))
        self.assertEqual(row["interest"], 0)
        self.assertEqual(row["status"], "CONFIRM")
        self.assertEqual(row["type"], "NORMAL_REPAY")
        self.assertEqual(row["timestamp"], self.fake.state()["repays"][0]["timestamp"])
        self.assertIn('"amount":40,', answer.body, "a JSON number, exact")

    def test_borrow_rows_unchanged(self):
        self.assertEqual(self.fake.borrow("100.25").status, 200)
        self.fake.repay("1")
        body = json.loads(self.fake.records("BORROW").body)
        self.assertEqual(body["total"], 1)
        self.assertEqual(body["rows"][0]["type"], "BORROW")
        self.assertEqual(body["rows"][0]["amount"], "100.25")
        self.assertEqual(json.loads(self.fake.records("REPAY", group=1002).body),
                         {"rows": [], "total": 0})


class BorrowUnchangedTest(FakeTestCase):
    def test_borrow_answers_in_the_documented_shape(self):
        inside_one_minute()
        answer = self.fake.borrow("1000.5")
        self.assertEqual(answer.body,
                         '{"transactionId":12317283617,"amount":1000.5,"status":success}')
        self.assertEqual(answer.headers["X-SAPI-USED-UID-WEIGHT-1M"], "3000")
        state = self.fake.state()
        self.assertEqual(set(state["borrows"][0]), {"tran_id", "group_id", "asset", "amount",
                                                    "timestamp", "status",
                                                    "signed_timestamp"})
        self.assertEqual(state["received"]["borrow"], 1)
        self.assertEqual(state["received"]["borrow_started"], 1)
        self.assertEqual(state["limits"]["1001"]["USDT"], "48999.5")


class MaxBorrowableTest(FakeTestCase):
    def amount(self, **kwargs):
        answer = self.fake.max_borrowable(**kwargs)
        self.assertEqual(answer.status, 200, answer.body)
        return json.loads(answer.body)["maxBorrowableAmount"]

    def test_consistent_with_the_next_borrow(self):
        # As the documented example: a decimal string with 8 places.
        self.assertEqual(self.amount(), "50000.00000000")
        self.assertEqual(self.fake.borrow("1000.5").status, 200)
        figure = self.amount()
        self.assertEqual(figure, "48999.50000000")
        above = self.fake.borrow("48999.50000001")
        self.assertBinanceError(above, 400, -27009,
                                "The requested borrow amount exceeds the maximum allowed "
                                "limit. Maximum borrowable for asset USDT is 48999.5, but "
                                "request 48999.50000001.")
        at = self.fake.borrow(figure)
        self.assertEqual(at.status, 200, at.body)
        self.assertEqual(self.amount(), "0.00000000")
        self.assertBinanceError(self.fake.borrow("0.00000001"), 400, -27009)
        # A repay makes room again.
        self.assertEqual(self.fake.repay("25").status, 200)
        self.assertEqual(self.amount(), "25.00000000")
        self.assertEqual(self.fake.borrow("25").status, 200)

    def test_asset_is_case_insensitive_and_per_unit(self):
        self.assertEqual(self.amount(asset="usdc"), "50000.00000000")
        self.assertEqual(self.amount(group=1002), "100.00000000")
        self.assertEqual(self.amount(group=1002, asset="USDC"), "0.00000000")

    def test_no_matching_unit_is_null(self):
        self.assertIsNone(self.amount(group=4242))
        # Without groupId: the caller's own unit; the fake, holding two, has none.
        self.assertIsNone(self.amount(group=None))

    def test_parameter_errors(self):
        self.assertBinanceError(self.fake.max_borrowable(asset="BTC"), 400, -27017)
        self.assertBinanceError(
            self.fake.signed("GET", MAX_BORROWABLE, [("groupId", 1001)]), 400, -1102)
        self.assertBinanceError(
            self.fake.signed("GET", MAX_BORROWABLE, [("assetName", "USDT"),
                                                     ("amount", "1")]), 400, -1104)
        self.assertBinanceError(self.fake.raw("GET", MAX_BORROWABLE + "?assetName=USDT"),
                                401, -2014)


class LtvDetailsTest(FakeTestCase):
    def details(self, group=1001):
        answer = self.fake.ltv_details(group)
        self.assertEqual(answer.status, 200, answer.body)
        return json.loads(answer.body)

    def test_liabilities_after_borrows_and_a_repay(self):
        (entry,) = self.details()
        self.assertEqual(entry["liabilities"], [])
        self.assertEqual(entry["totalLiability"], "0")
        self.assertEqual(self.fake.borrow("1000").status, 200)
        self.assertEqual(self.fake.borrow("500.25", asset="USDC").status, 200)
        self.assertEqual(self.fake.repay("200").status, 200)
        (entry,) = self.details()
        self.assertEqual(entry["groupId"], 1001)
        self.assertIsInstance(entry["updateTime"], int)
        self.assertEqual(entry["liabilities"], [
            {"assetName": "USDC", "principal": "500.25", "interest": "0"},
            {"assetName": "USDT", "principal": "800", "interest": "0"}])
        self.assertEqual(entry["totalLiability"], "1300.25")
        self.assertEqual(entry["maxAllowedBorrowLimit"], "100000")
        self.assertEqual(entry["totalNetEquity"], "100000")
        self.assertEqual(entry["totalMaintenanceMargin"], "0")
        self.assertEqual(entry["ltv"], "0.0130025")
        # Decimals are strings, as Binance's example types them.
        for name in ("ltv", "totalNetEquity", "totalMaintenanceMargin", "totalLiability",
                     "maxAllowedBorrowLimit"):
            self.assertIsInstance(entry[name], str, name)

    def test_units_and_overrides(self):
        self.assertEqual(self.details(group=4242), [])
        self.assertEqual([e["groupId"] for e in self.details(group=None)], [1001, 1002])
        self.fake.control("/fake/config", {"ltv_details": {"1002": {
            "totalNetEquity": "1000", "totalMaintenanceMargin": "500",
            "creditEmail": "credit@example.com"}}})
        self.assertEqual(self.fake.borrow("50", group=1002).status, 200)
        (entry,) = self.details(group=1002)
        self.assertEqual(entry["ltv"], "0.1")
        self.assertEqual(entry["creditEmail"], "credit@example.com")
        rejected = self.fake.raw("POST", "/fake/config", json.dumps(
            {"ltv_details": {"1002": {"collateralValue": "1"}}}).encode())
        self.assertEqual(rejected.status, 400)


class FaultTest(FakeTestCase):
    def test_500_after_executing_a_repay(self):
        self.assertEqual(self.fake.borrow("100").status, 200)
        self.fake.control("/fake/faults", {"endpoint": "repay", "status": 500,
                                           "execute": True})
        answer = self.fake.repay("40")
        self.assertEqual(answer.status, 500)
        self.assertEqual(answer.headers["X-SAPI-USED-UID-WEIGHT-1M"].isdigit(), True)
        state = self.fake.state()
        self.assertEqual(len(state["repays"]), 1)
        self.assertEqual(state["liabilities"]["1001"]["USDT"], "60")

    def test_injected_status_does_not_execute_by_default(self):
        self.assertEqual(self.fake.borrow("100").status, 200)
        self.fake.control("/fake/faults", {"endpoint": "repay", "status": 503,
                                           "code": -1000, "msg": "injected"})
        self.assertBinanceError(self.fake.repay("40"), 503, -1000)
        self.assertEqual(self.fake.state()["repays"], [])

    def test_reset_after_read_with_execute(self):
        self.assertEqual(self.fake.borrow("100").status, 200)
        self.fake.control("/fake/faults", {"endpoint": "repay", "reset": "after_read",
                                           "execute": True})
        with self.assertRaises((ConnectionError, http.client.HTTPException)):
            self.fake.repay("40")
        self.assertEqual(len(self.fake.state()["repays"]), 1)

    def test_reset_before_read(self):
        self.assertEqual(self.fake.borrow("100").status, 200)
        self.fake.control("/fake/faults", {"endpoint": "repay", "reset": "before_read"})
        with self.assertRaises((ConnectionError, http.client.HTTPException)):
            self.fake.repay("40")
        state = self.fake.state()
        self.assertEqual(state["repays"], [])
        self.assertEqual(state["received"]["repay_started"], 1)
        self.assertEqual(state["received"]["repay"], 0)

    def test_faults_on_the_gets(self):
        self.fake.control("/fake/faults", {"endpoint": "max_borrowable", "html": True,
                                           "status": 403})
        answer = self.fake.max_borrowable()
        self.assertEqual(answer.status, 403)
        self.assertIn("<html>", answer.body)
        self.fake.control("/fake/faults", {"endpoint": "ltv_details",
                                           "body": "not json", "status": 200})
        self.assertEqual(self.fake.ltv_details().body, "not json")
        self.fake.control("/fake/faults", {"endpoint": "ltv_details",
                                           "answer_delay_ms": 300})
        started = time.monotonic()
        self.assertEqual(self.fake.ltv_details().status, 200)
        self.assertGreaterEqual(time.monotonic() - started, 0.3)
        state = self.fake.state()
        self.assertEqual(state["received"]["max_borrowable"], 1)
        self.assertEqual(state["received"]["ltv_details"], 2)
        self.assertEqual(state["faults_pending"], [])


class WeightTest(FakeTestCase):
    extra_args = ("--uid-weight-limit", "6000", "--ip-weight-limit", "250")

    def test_repay_uid_weight_is_its_own(self):
        inside_one_minute()
        self.assertEqual(self.fake.borrow("10").status, 200)
        self.assertEqual(self.fake.borrow("10").headers["X-SAPI-USED-UID-WEIGHT-1M"],
                         "6000")
        # Each SAPI endpoint has its own UID weight: repay is not held back by
        # the borrows.
        self.assertEqual(self.fake.repay("1").headers["X-SAPI-USED-UID-WEIGHT-1M"], "3000")
        self.assertEqual(self.fake.repay("1").headers["X-SAPI-USED-UID-WEIGHT-1M"], "6000")
        over = self.fake.repay("1")
        self.assertBinanceError(over, 429, -1003)
        self.assertIn("Retry-After", over.headers)
        self.assertEqual(self.fake.state()["weights"]["uid"], {"borrow": 6000,
                                                               "repay": 6000})
        self.assertEqual(len(self.fake.state()["repays"]), 2)

    def test_ip_weight_of_the_gets(self):
        inside_one_minute()
        self.assertEqual(self.fake.max_borrowable().headers["X-SAPI-USED-IP-WEIGHT-1M"],
                         "100")
        self.assertEqual(self.fake.max_borrowable().headers["X-SAPI-USED-IP-WEIGHT-1M"],
                         "200")
        over = self.fake.max_borrowable()
        self.assertBinanceError(over, 429, -1003)
        self.assertEqual(over.headers["X-SAPI-USED-IP-WEIGHT-1M"], "200")
        self.assertIn("Retry-After", over.headers)
        # ltv-details costs 3000 by default: over this fake's 250 at once.
        self.assertBinanceError(self.fake.ltv_details(), 429, -1003)


class LtvWeightTest(FakeTestCase):
    extra_args = ("--ltv-details-weight", "200")

    def test_weight_flag(self):
        inside_one_minute()
        self.assertEqual(self.fake.ltv_details().headers["X-SAPI-USED-IP-WEIGHT-1M"], "200")


if __name__ == "__main__":
    unittest.main(verbosity=2)
