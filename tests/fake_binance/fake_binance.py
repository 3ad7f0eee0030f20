#!/usr/bin/python3
"""A faithful fake of the Binance institutional-loan endpoints loan-gateway uses.

There is no SAPI testnet, so this is both the gateway's test target and a
sandbox users run. It verifies requests the way Binance does (API-key header,
HMAC/RSA/Ed25519 signatures checked with the public key by Python's
`cryptography`, independent of the gateway's OpenSSL signer; percent-encoding
of every signed byte; timestamp/recvWindow; each parameter once; asset and
amount precision), keeps per-risk-unit credit limits (so -27009 happens for
the real reason), a ledger of executed borrows, and the UID weight per minute.
It also serves repay (per-risk-unit liabilities; repaid = min(liability,
requested, available)), max-borrowable and ltv-details, with the IP weight of
those GETs. What each figure and text rests on, and what is assumed where
Binance's documentation is silent: docs/binance-institutional-loan.md.
Faults are injected through the control API under /fake/ (see README.md).

Runs on asyncio: thousands of slow responses need no thread each.
"""

import argparse
import asyncio
import base64
import datetime
import decimal
import hashlib
import hmac
import ipaddress
import json
import os
import random
import re
import socket
import ssl
import struct
import sys
import time
import urllib.parse

from aiohttp import web
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.x509.oid import NameOID

BORROW_PATH = "/sapi/v1/margin/loan-group/borrow"
REPAY_PATH = "/sapi/v1/margin/loan-group/repay"
RECORDS_PATH = "/sapi/v1/margin/loan-group/borrow-repay"
MAX_BORROWABLE_PATH = "/sapi/v1/margin/loan-group/max-borrowable"
LTV_DETAILS_PATH = "/sapi/v1/margin/loan-group/ltv-details"
TIME_PATH = "/api/v3/time"
BORROW_WEIGHT = 3000
REPAY_WEIGHT = 3000           # 3000(UID): the Risk Unit Repay page.
MAX_BORROWABLE_WEIGHT = 100   # 100(IP): the Max Borrowable page.
# ltv-details: Binance's page says 200(IP) in one version and 3000(IP) in
# another; the default is the larger (--ltv-details-weight sets it).
LTV_DETAILS_WEIGHT = 3000
REPAY_FROM = ("MARGIN", "SPOT")  # repayFrom: optional, MARGIN by default.
EIGHT_PLACES = decimal.Decimal("0.00000001")
# The documented fields of one ltv-details entry: /fake/config may set any of
# them for a risk unit; the fake derives those it models.
LTV_DETAILS_FIELDS = (
    "groupId", "parentEmail", "creditEmail", "updateTime", "ltv", "totalNetEquity",
    "totalMaintenanceMargin", "totalLiability", "parentAccountFrozenAmount",
    "maxTransferOutAmount", "maxAllowedBorrowLimit", "liabilities", "collateralAccounts")
UNRESERVED = "-_.~"
AMOUNT_RE = re.compile(r"^[0-9]+(\.[0-9]+)?$")
HTML_403 = ("<!DOCTYPE html><html><head><title>403 Forbidden</title></head>"
            "<body><h1>403 ERROR</h1><p>The request could not be satisfied. "
            "Request blocked.</p></body></html>")


class BinanceError(Exception):
    def __init__(self, http_status, code, msg, headers=None):
        super().__init__(msg)
        self.http_status, self.code, self.msg = http_status, code, msg
        self.headers = headers or {}


def error_response(http_status, code, msg, headers=None):
    return web.json_response({"code": code, "msg": msg}, status=http_status,
                             headers=headers or {})


def plain(value):
    """A Decimal as plain decimal text: no exponent, no trailing zeros."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def json_text(value):
    """JSON in which a Decimal is a number with its exact text, never a float
    (Binance's examples type some amounts as JSON numbers)."""
    if isinstance(value, decimal.Decimal):
        return plain(value)
    if isinstance(value, dict):
        return "{" + ",".join(json.dumps(str(k)) + ":" + json_text(v)
                              for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(json_text(v) for v in value) + "]"
    return json.dumps(value)


class KeyStore:
    """API keys and how to verify their signatures (public keys only)."""

    def __init__(self):
        self.keys = {}

    def add(self, spec):
        kind, api_key, path = spec.split(":", 2)
        with open(path, "rb") as f:
            material = f.read()
        if kind == "hmac":
            self.keys[api_key] = ("hmac", material.strip())
        elif kind in ("rsa", "ed25519"):
            public = serialization.load_pem_public_key(material)
            expected = rsa.RSAPublicKey if kind == "rsa" else ed25519.Ed25519PublicKey
            if not isinstance(public, expected):
                raise SystemExit(f"--key {kind}: {path} is not a {kind} public key")
            self.keys[api_key] = (kind, public)
        else:
            raise SystemExit(f"unknown key kind {kind}")

    def verify(self, api_key, payload, signature):
        kind, key = self.keys[api_key]
        if kind == "hmac":
            expected = hmac.new(key, payload, hashlib.sha256).hexdigest()
            return hmac.compare_digest(expected, signature)
        try:
            raw = base64.b64decode(signature, validate=True)
            if kind == "rsa":
                key.verify(raw, payload, padding.PKCS1v15(), hashes.SHA256())
            else:
                key.verify(raw, payload)
            return True
        except (InvalidSignature, ValueError):
            return False


class Fake:
    def __init__(self, args):
        self.args = args
        self.keys = KeyStore()
        for spec in args.key:
            self.keys.add(spec)
        self.skew_ms = args.skew_ms
        self.success_style = args.success_style
        self.initial_units = parse_risk_units(args.risk_unit)
        self.reset()

    def reset(self):
        self.units = {g: dict(limits) for g, limits in self.initial_units.items()}
        self.ledger = []
        self.signatures = []
        self.faults = []
        # "borrow" counts complete borrow requests (body read); "borrow_started"
        # also those cut off before their body arrived.
        self.received = {"borrow": 0, "borrow_started": 0, "time": 0, "records": 0,
                         "repay": 0, "repay_started": 0, "max_borrowable": 0,
                         "ltv_details": 0}
        self.rejections = []
        # Borrows and repays being processed per risk unit, and how many
        # arrived while another of the same risk unit was: what Binance calls
        # a previous transaction pending. The fake does not answer them
        # differently (Binance's text for it is not in its docs we have); it
        # counts them, and a test asserts the count (one operation per risk
        # unit at a time, across gateway replicas).
        self.in_flight_by_group = {}
        self.overlapping_operations = 0
        # Verified signed requests per API key: a key rotation's progress.
        self.requests_by_key = {}
        self.next_tran_id = self.args.first_tran_id
        # (kind, endpoint) -> (minute, used weight). Binance counts each SAPI
        # endpoint on its own: 180000 UID or 12000 IP weight a minute each.
        self.weight_windows = {}
        # Outstanding principal per risk unit and asset: an executed borrow adds
        # to it, an executed repay takes from it.
        self.liabilities = {g: {} for g in self.units}
        self.repays = []  # the ledger of executed repays
        # What the credit account holds to repay with, per (group, asset), when
        # /fake/config sets it; unset, it is the outstanding liability itself.
        self.available = {}
        self.ltv_overrides = {}  # group -> documented ltv-details fields
        self.updated_ms = {}     # group -> time of its last borrow or repay
        self.started_ms = self.now_ms()

    def now_ms(self):
        return int(time.time() * 1000) + self.skew_ms

    # ---- faults -------------------------------------------------------------
    def add_fault(self, fault):
        # One request by default; with a probability and no count, until reset.
        if "count" not in fault and "probability" not in fault:
            fault["count"] = 1
        self.faults.append(fault)

    def take_fault(self, endpoint):
        for fault in self.faults:
            if fault.get("endpoint", "borrow") != endpoint:
                continue
            probability = fault.get("probability")
            if probability is not None and random.random() >= probability:
                continue
            if "count" in fault:
                fault["count"] -= 1
                if fault["count"] <= 0:
                    self.faults.remove(fault)
            return fault
        return None

    # ---- verification like Binance --------------------------------------------
    def use_weight(self, weight, endpoint="borrow"):
        """UID weight of one endpoint (each has its own 180000 a minute)."""
        minute = int(time.time() // 60)
        start, used = self.weight_windows.get(("uid", endpoint), (0, 0))
        if start != minute:
            used = 0
        if used + weight > self.args.uid_weight_limit:
            self.weight_windows[("uid", endpoint)] = (minute, used)
            retry = 60 - int(time.time()) % 60
            raise BinanceError(429, -1003, "Too many requests; current limit of UID is "
                               f"{self.args.uid_weight_limit} request weight per 1 MINUTE.",
                               {"Retry-After": str(retry),
                                "X-SAPI-USED-UID-WEIGHT-1M": str(used)})
        self.weight_windows[("uid", endpoint)] = (minute, used + weight)
        return used + weight

    def use_ip_weight(self, weight, endpoint):
        """IP weight of one endpoint (each has its own 12000 a minute), reported
        in X-SAPI-USED-IP-WEIGHT-1M; over it, 429 -1003 with Retry-After."""
        minute = int(time.time() // 60)
        start, used = self.weight_windows.get(("ip", endpoint), (0, 0))
        if start != minute:
            used = 0
        if used + weight > self.args.ip_weight_limit:
            self.weight_windows[("ip", endpoint)] = (minute, used)
            retry = 60 - int(time.time()) % 60
            # -1003's documented text (error-code reference); how Binance fills
            # in its two values is not documented.
            raise BinanceError(429, -1003, "Too much request weight used; current limit "
                               f"is {self.args.ip_weight_limit} request weight per 1 MINUTE. "
                               "Please use WebSocket Streams for live updates to avoid "
                               "polling the API.",
                               {"Retry-After": str(retry),
                                "X-SAPI-USED-IP-WEIGHT-1M": str(used)})
        self.weight_windows[("ip", endpoint)] = (minute, used + weight)
        return used + weight

    def weights_now(self):
        """Weight used this minute, per kind and endpoint."""
        minute = int(time.time() // 60)
        out = {"uid": {}, "ip": {}}
        for (kind, endpoint), (start, used) in self.weight_windows.items():
            out[kind][endpoint] = used if start == minute else 0
        return out

    def verify_signed(self, request, raw_query, raw_body):
        api_key = request.headers.get("X-MBX-APIKEY")
        if not api_key:
            raise BinanceError(401, -2014, "API-key format invalid.")
        if api_key not in self.keys.keys:
            raise BinanceError(401, -2015, "Invalid API-key, IP, or permissions for action.")
        total = raw_query + raw_body  # Binance concatenates them, no separator.
        marker = "&signature="
        if total.count("signature=") != 1 or marker not in total:
            raise BinanceError(400, -1102, "Mandatory parameter 'signature' was not sent, "
                               "was empty/null, or malformed.")
        signed, signature = total.rsplit(marker, 1)
        if "&" in signature or "=" in signature:
            raise BinanceError(400, -1022, "Signature for this request is not valid.")
        params = {}
        for pair in signed.split("&"):
            name, sep, value = pair.partition("=")
            for part in (name, value):
                if urllib.parse.quote(urllib.parse.unquote(part), safe=UNRESERVED) != part:
                    # Not the canonical percent-encoding: Binance's own encoding of
                    # the payload then differs from the signed bytes.
                    raise BinanceError(400, -1022, "Signature for this request is not valid.")
            name = urllib.parse.unquote(name)
            if not sep or not name:
                raise BinanceError(400, -1100, "Illegal characters found in a parameter.")
            if name in params:
                raise BinanceError(400, -1101, "Duplicate values for a parameter detected.")
            params[name] = urllib.parse.unquote(value)
        signature = urllib.parse.unquote(signature)
        if not self.keys.verify(api_key, signed.encode(), signature):
            raise BinanceError(400, -1022, "Signature for this request is not valid.")
        self.signatures.append(signature)
        self.requests_by_key[api_key] = self.requests_by_key.get(api_key, 0) + 1
        self.check_time(params)
        return params

    def check_time(self, params):
        try:
            timestamp = int(params["timestamp"])
        except (KeyError, ValueError):
            raise BinanceError(400, -1102, "Mandatory parameter 'timestamp' was not sent, "
                               "was empty/null, or malformed.")
        recv_window = int(params.get("recvWindow", "5000"))
        if recv_window > 60000 or recv_window <= 0:
            raise BinanceError(400, -1131, "recvWindow must be less than 60000")
        server = self.now_ms()
        if not (timestamp < server + 1000 and server - timestamp <= recv_window):
            raise BinanceError(400, -1021, "Timestamp for this request is outside of the "
                               "recvWindow.")

    def check_borrow_params(self, params):
        for name in ("groupId", "assetName", "amount"):
            if not params.get(name):
                raise BinanceError(400, -1102, f"Mandatory parameter '{name}' was not sent, "
                                   "was empty/null, or malformed.")
        unknown = set(params) - {"groupId", "assetName", "amount", "recvWindow", "timestamp"}
        if unknown:
            raise BinanceError(400, -1104, "Not all sent parameters were read; read 5 "
                               f"parameter(s) but was sent {len(params)}.")
        try:
            group = int(params["groupId"])
        except ValueError:
            raise BinanceError(400, -1100, "Illegal characters found in parameter 'groupId'.")
        asset = params["assetName"]
        if asset not in ("USDT", "USDC"):
            raise BinanceError(400, -27017, "The asset is not supported.")
        amount_text = params["amount"]
        if not AMOUNT_RE.match(amount_text):
            raise BinanceError(400, -1100, "Illegal characters found in parameter 'amount'.")
        amount = decimal.Decimal(amount_text)
        if amount.as_tuple().exponent < -8:
            raise BinanceError(400, -1111, "Precision is over the maximum defined for this "
                               "asset.")
        if amount <= 0:
            raise BinanceError(400, -1100, "Illegal characters found in parameter 'amount'.")
        if group not in self.units:
            raise BinanceError(400, -27001, "The risk unit does not exist.")
        return group, asset, amount_text, amount

    def check_repay_params(self, params):
        """Repay takes borrow's parameters plus an optional repayFrom."""
        params = dict(params)
        repay_from = params.pop("repayFrom", "MARGIN")
        if repay_from not in REPAY_FROM:
            raise BinanceError(400, -1100, "Illegal characters found in parameter "
                               "'repayFrom'.")
        return self.check_borrow_params(params) + (repay_from,)

    def check_query_params(self, params, required, optional):
        for name in required:
            if not params.get(name):
                raise BinanceError(400, -1102, f"Mandatory parameter '{name}' was not sent, "
                                   "was empty/null, or malformed.")
        allowed = set(required) | set(optional) | {"recvWindow", "timestamp"}
        if set(params) - allowed:
            raise BinanceError(400, -1104, f"Not all sent parameters were read; read "
                               f"{len(set(params) & allowed)} parameter(s) but was sent "
                               f"{len(params)}.")
        group = None
        if params.get("groupId"):
            try:
                group = int(params["groupId"])
            except ValueError:
                raise BinanceError(400, -1100, "Illegal characters found in parameter "
                                   "'groupId'.")
        return group

    def check_max_borrowable_params(self, params):
        group = self.check_query_params(params, ["assetName"], ["groupId"])
        # Documented: case-insensitive, normalized to upper-case; a non-borrowable
        # asset is "an error" (which one is not said: the borrow's -27017 here).
        asset = params["assetName"].upper()
        if asset not in ("USDT", "USDC"):
            raise BinanceError(400, -27017, "The asset is not supported.")
        return group, asset

    def check_ltv_details_params(self, params):
        return self.check_query_params(params, [], ["groupId"])

    # ---- execution --------------------------------------------------------------
    def liability_of(self, group):
        return self.liabilities.setdefault(group, {})

    def execute_borrow(self, group, asset, amount_text, amount, fault, signed_ms):
        limits = self.units[group]
        available = limits.get(asset, decimal.Decimal(0))
        if amount > available:
            # Binance's documented -27009 text (error-code reference), verbatim.
            raise BinanceError(400, -27009, "The requested borrow amount exceeds the maximum "
                               f"allowed limit. Maximum borrowable for asset {asset} is "
                               f"{available}, but request {amount_text}.")
        limits[asset] = available - amount
        liability = self.liability_of(group)
        liability[asset] = liability.get(asset, decimal.Decimal(0)) + amount
        self.updated_ms[group] = self.now_ms()
        tran_id = str(fault["tran_id"]) if fault and "tran_id" in fault else str(
            self.next_tran_id)
        self.next_tran_id += 1
        # `signed_timestamp` is the fake's own bookkeeping (the request's
        # signed `timestamp`), shown by /fake/state only, never by the records
        # endpoint: tests use it to prove which attempt a record belongs to.
        entry = {"tran_id": tran_id, "group_id": group, "asset": asset,
                 "amount": amount_text, "timestamp": self.now_ms(), "status": "CONFIRM",
                 "signed_timestamp": signed_ms}
        self.ledger.append(entry)
        return entry

    def execute_repay(self, group, asset, amount_text, amount, repay_from, fault,
                      signed_ms):
        """Repays min(outstanding liability, requested, available). Binance
        documents "min(available amount in account, input repay amount)"; the
        fake's account holds what was borrowed and not yet repaid unless
        /fake/config sets `available` (an assumption: the docs say no more)."""
        liability = self.liability_of(group)
        owed = liability.get(asset, decimal.Decimal(0))
        if owed <= 0:
            # Documented -27011 text (error-code reference), verbatim.
            raise BinanceError(400, -27011, "No liability found in the risk unit with "
                               f"GroupID {group}.")
        funds = self.available.get((group, asset), owed)
        if funds <= 0:
            # Documented -27015 text (error-code reference), verbatim. Assumed:
            # nothing to repay with is an error, not a repay of 0.
            raise BinanceError(400, -27015, "Insufficient balance in balance for asset "
                               f"{asset}.")
        repaid = min(owed, amount, funds)
        liability[asset] = owed - repaid
        if (group, asset) in self.available:
            self.available[(group, asset)] = funds - repaid
        # Assumed: repaid principal is borrowable again (the fake's limit is the
        # credit line less what is outstanding).
        limits = self.units[group]
        limits[asset] = decimal.Decimal(plain(limits.get(asset, decimal.Decimal(0)) + repaid))
        self.updated_ms[group] = self.now_ms()
        tran_id = str(fault["tran_id"]) if fault and "tran_id" in fault else str(
            self.next_tran_id)
        self.next_tran_id += 1
        # `amount` is what was asked, `repaid` what was repaid; the fake
        # accrues no interest, so all of it is principal.
        entry = {"tran_id": tran_id, "group_id": group, "asset": asset,
                 "amount": amount_text, "repaid": plain(repaid),
                 "principal": plain(repaid), "interest": "0",
                 "repay_from": repay_from, "type": "NORMAL_REPAY",
                 "timestamp": self.now_ms(), "status": "CONFIRM",
                 "signed_timestamp": signed_ms}
        self.repays.append(entry)
        return entry

    def repay_body(self, entry, style):
        tran_id, amount = entry["tran_id"], entry["repaid"]
        if style == "strings":
            return json.dumps({"transactionId": tran_id, "amount": amount,
                               "repayFrom": entry["repay_from"]})
        # The documented example: numbers (valid JSON; repayFrom since its
        # 2026 revision).
        return (f'{{"transactionId":{tran_id},"amount":{amount},'
                f'"repayFrom":"{entry["repay_from"]}"}}')

    def max_borrowable(self, group, asset):
        """What a borrow may take now: the same remaining limit the -27009 check
        uses, to 8 places (rounded down: never more than a borrow may take).
        None (JSON null) when the caller has no matching risk unit."""
        if group is None and len(self.units) == 1:
            group = next(iter(self.units))  # the credit account's own unit
        if group not in self.units:
            return None
        left = self.units[group].get(asset, decimal.Decimal(0))
        return format(left.quantize(EIGHT_PLACES, rounding=decimal.ROUND_DOWN), "f")

    def ltv_details(self, group):
        """Entries for one risk unit (or all), derived from the fake's state:
        liabilities from executed borrows less repays (no interest accrues);
        maxAllowedBorrowLimit = the unit's credit line (what is left to borrow
        plus what is outstanding); no collateral is modelled, so
        totalNetEquity defaults to that line and totalMaintenanceMargin to 0;
        ltv = totalLiability / (totalNetEquity - totalMaintenanceMargin), the
        relation the documented example's figures satisfy. /fake/config
        `ltv_details` sets any documented field of a unit."""
        groups = sorted(self.units) if group is None else (
            [group] if group in self.units else [])
        entries = []
        for g in groups:
            owed = self.liability_of(g)
            limits = self.units[g]
            assets = sorted(set(limits) | set(owed))
            outstanding = {a: owed.get(a, decimal.Decimal(0)) for a in assets}
            line = sum((limits.get(a, decimal.Decimal(0)) + outstanding[a]
                        for a in assets), decimal.Decimal(0))
            total = sum(outstanding.values(), decimal.Decimal(0))
            override = self.ltv_overrides.get(g, {})
            equity = decimal.Decimal(str(override.get("totalNetEquity", line)))
            margin = decimal.Decimal(str(override.get("totalMaintenanceMargin", 0)))
            if total > 0 and equity - margin > 0:
                ltv = (total / (equity - margin)).quantize(
                    EIGHT_PLACES, rounding=decimal.ROUND_HALF_UP)
            else:
                ltv = decimal.Decimal(0)
            entry = {
                "groupId": g,
                "updateTime": self.updated_ms.get(g, self.started_ms),
                "ltv": plain(ltv),
                "totalNetEquity": plain(equity),
                "totalMaintenanceMargin": plain(margin),
                "totalLiability": plain(total),
                "maxAllowedBorrowLimit": plain(line),
                "liabilities": [{"assetName": a, "principal": plain(outstanding[a]),
                                 "interest": "0"}
                                for a in assets if outstanding[a] > 0],
            }
            entry.update(override)
            entries.append(entry)
        return entries

    def success_body(self, entry, style):
        tran_id, amount = entry["tran_id"], entry["amount"]
        if style == "strings":
            return json.dumps({"transactionId": tran_id, "amount": amount,
                               "status": "success"})
        if style == "numbers":
            return f'{{"transactionId":{tran_id},"amount":{amount},"status":"success"}}'
        # The shape Binance documents: numbers, and an unquoted status.
        return f'{{"transactionId":{tran_id},"amount":{amount},"status":success}}'


def make_credentials(directory, owner=None):
    """A fresh Ed25519 credit-account key and API key for sandbox use:
    writes api_key, private_key (PKCS#8 PEM) and public_key.pem; returns the
    --key spec for them."""
    os.makedirs(directory, exist_ok=True)
    key = ed25519.Ed25519PrivateKey.generate()
    api_key = "sandbox-" + base64.b32encode(os.urandom(20)).decode().rstrip("=").lower()
    files = {
        "api_key": api_key.encode(),
        "private_key": key.private_bytes(serialization.Encoding.PEM,
                                         serialization.PrivateFormat.PKCS8,
                                         serialization.NoEncryption()),
        "public_key.pem": key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo),
    }
    for name, data in files.items():
        path = os.path.join(directory, name)
        with open(path, "wb") as f:
            f.write(data)
        if name == "public_key.pem":
            os.chmod(path, 0o644)
            continue
        # The gateway refuses key files open to other users: owner only, handed
        # to the gateway's user (uid:gid) when it runs in another container.
        os.chmod(path, 0o400)
        if owner:
            uid, gid = (int(x) for x in owner.split(":"))
            os.chown(path, uid, gid)
    return f"ed25519:{api_key}:{os.path.join(directory, 'public_key.pem')}"


def parse_risk_units(specs):
    """'1001:USDT=50000,USDC=20000' -> {1001: {'USDT': Decimal, ...}}"""
    units = {}
    for spec in specs:
        group, _, limits = spec.partition(":")
        units[int(group)] = {asset: decimal.Decimal(value) for asset, value in
                             (item.split("=") for item in limits.split(",") if item)}
    return units


def abort_connection(request):
    """Resets the TCP connection (RST, no response)."""
    transport = request.transport
    if transport is None:
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
    transport.abort()


def fault_response(fault):
    headers = dict(fault.get("headers", {}))
    status = fault.get("status", 500)
    if fault.get("html"):
        return web.Response(status=status, text=HTML_403, content_type="text/html",
                            headers=headers)
    if "body" in fault:
        return web.Response(status=status, text=fault["body"],
                            content_type=fault.get("content_type", "application/json"),
                            headers=headers)
    if "code" in fault:
        return web.json_response({"code": fault["code"],
                                  "msg": fault.get("msg", "injected fault")},
                                 status=status, headers=headers)
    return web.Response(status=status, text="", headers=headers)


def make_app(fake):
    routes = web.RouteTableDef()

    @routes.get(TIME_PATH)
    async def server_time(request):
        fake.received["time"] += 1
        fault = fake.take_fault("time")
        if fault:
            if fault.get("delay_ms"):
                await asyncio.sleep(fault["delay_ms"] / 1000)
            if fault.get("reset"):
                abort_connection(request)
                return web.Response()
            return fault_response(fault)
        return web.json_response({"serverTime": fake.now_ms()})

    # One signed endpoint: how it is weighed, checked, executed and answered.
    # Every one goes through process_signed, borrow's pipeline, so each fault
    # (status/code/body/html, delay_ms, answer_delay_ms, reset, execute,
    # headers, success_style, tran_id) works the same on all of them.
    class Route:
        def __init__(self, weigh, check, execute, render):
            self.weigh, self.check = weigh, check
            self.execute, self.render = execute, render

    borrow_route = Route(
        weigh=lambda: {"X-SAPI-USED-UID-WEIGHT-1M": str(fake.use_weight(BORROW_WEIGHT))},
        check=fake.check_borrow_params,
        execute=lambda parsed, fault, params: fake.execute_borrow(
            *parsed, fault, int(params["timestamp"])),
        render=fake.success_body)
    repay_route = Route(
        weigh=lambda: {"X-SAPI-USED-UID-WEIGHT-1M": str(
            fake.use_weight(REPAY_WEIGHT, "repay"))},
        check=fake.check_repay_params,
        execute=lambda parsed, fault, params: fake.execute_repay(
            *parsed, fault, int(params["timestamp"])),
        render=fake.repay_body)
    max_borrowable_route = Route(
        weigh=lambda: {"X-SAPI-USED-IP-WEIGHT-1M": str(
            fake.use_ip_weight(MAX_BORROWABLE_WEIGHT, "max_borrowable"))},
        check=fake.check_max_borrowable_params,
        execute=lambda parsed, fault, params: fake.max_borrowable(*parsed),
        render=lambda value, style: json.dumps({"maxBorrowableAmount": value}))
    ltv_details_route = Route(
        weigh=lambda: {"X-SAPI-USED-IP-WEIGHT-1M": str(
            fake.use_ip_weight(fake.args.ltv_details_weight, "ltv_details"))},
        check=fake.check_ltv_details_params,
        execute=lambda group, fault, params: fake.ltv_details(group),
        render=lambda entries, style: json_text(entries))

    def signed_handler(endpoint, route, has_body):
        async def handler(request):
            if has_body:
                fake.received[endpoint + "_started"] += 1
            fault = fake.take_fault(endpoint)
            if fault and fault.get("reset") == "before_read":
                abort_connection(request)
                return web.Response()
            raw_body = (await request.read()).decode("latin-1") if has_body else ""
            fake.received[endpoint] += 1
            # Like Binance, finish processing a request once it has arrived, even
            # if the client hangs up meanwhile (aiohttp cancels the handler then).
            return await asyncio.shield(process_signed(request, raw_body, fault, route))
        return handler

    async def process_signed(request, raw_body, fault, route):
        group = None
        if route in (borrow_route, repay_route):
            fields = dict(urllib.parse.parse_qsl(
                request.query_string + "&" + raw_body))
            group = fields.get("groupId")
        if group is None:
            return await process_signed_request(request, raw_body, fault, route,
                                                lambda: None)
        if fake.in_flight_by_group.get(group, 0) > 0:
            fake.overlapping_operations += 1
        fake.in_flight_by_group[group] = fake.in_flight_by_group.get(group, 0) + 1
        released = []

        def executed():  # Pending until executed or refused, not answered.
            if not released:
                released.append(True)
                fake.in_flight_by_group[group] -= 1
        try:
            return await process_signed_request(request, raw_body, fault, route,
                                                executed)
        finally:
            executed()

    async def process_signed_request(request, raw_body, fault, route, executed):
        if fault and fault.get("delay_ms"):
            await asyncio.sleep(fault["delay_ms"] / 1000)
        try:
            params = fake.verify_signed(request, request.query_string, raw_body)
            weight_header = route.weigh()
            parsed = route.check(params)
            injected = fault and ("status" in fault or "body" in fault or fault.get("html"))
            executes = not fault or fault.get("execute", not (fault.get("reset") or injected))
            entry = route.execute(parsed, fault, params) if executes else None
            executed()
            if fault and fault.get("answer_delay_ms"):
                # Binance slow to answer: executed (or refused) already.
                await asyncio.sleep(fault["answer_delay_ms"] / 1000)
            if fault and fault.get("reset"):
                abort_connection(request)
                return web.Response()
            if injected:
                response = fault_response(fault)
                for name, value in weight_header.items():
                    response.headers.setdefault(name, value)
                return response
            style = (fault or {}).get("success_style", fake.success_style)
            headers = {**weight_header, **(fault or {}).get("headers", {})}
            return web.Response(text=route.render(entry, style),
                                content_type="application/json", headers=headers)
        except BinanceError as e:
            fake.rejections.append({"code": e.code, "msg": e.msg})
            return error_response(e.http_status, e.code, e.msg, e.headers)

    routes.post(BORROW_PATH)(signed_handler("borrow", borrow_route, True))
    routes.post(REPAY_PATH)(signed_handler("repay", repay_route, True))
    routes.get(MAX_BORROWABLE_PATH)(
        signed_handler("max_borrowable", max_borrowable_route, False))
    routes.get(LTV_DETAILS_PATH)(signed_handler("ltv_details", ltv_details_route, False))

    @routes.get(RECORDS_PATH)
    async def records(request):
        fake.received["records"] += 1
        fault = fake.take_fault("records")
        if fault:
            return fault_response(fault)
        try:
            params = fake.verify_signed(request, request.query_string, "")
        except BinanceError as e:
            return error_response(e.http_status, e.code, e.msg, e.headers)
        if params.get("type") == "REPAY":
            return repay_records(params)
        rows = [row for row in fake.ledger
                if params.get("type", "BORROW") == "BORROW"
                and ("groupId" not in params or str(row["group_id"]) == params["groupId"])
                and ("asset" not in params or row["asset"] == params["asset"])
                and int(params.get("startTime", 0)) <= row["timestamp"]
                and row["timestamp"] <= int(params.get("endTime", 2**62))]
        size = int(params.get("size", 10))
        current = int(params.get("current", 1))
        page = rows[(current - 1) * size: current * size]
        return web.json_response({
            "rows": [{"tranId": int(r["tran_id"]), "assetName": r["asset"],
                      "amount": r["amount"], "status": r["status"], "type": "BORROW",
                      "timestamp": r["timestamp"]} for r in page],
            "total": len(rows)})

    def repay_records(params):
        """type=REPAY: rows shaped as the documented REPAY example (amount,
        principal and interest as JSON numbers; type NORMAL_REPAY), filtered and
        paged as the BORROW rows are."""
        rows = [row for row in fake.repays
                if ("groupId" not in params or str(row["group_id"]) == params["groupId"])
                and ("asset" not in params or row["asset"] == params["asset"])
                and int(params.get("startTime", 0)) <= row["timestamp"]
                and row["timestamp"] <= int(params.get("endTime", 2**62))]
        size = int(params.get("size", 10))
        current = int(params.get("current", 1))
        page = rows[(current - 1) * size: current * size]
        return web.Response(text=json_text({
            "rows": [{"tranId": int(r["tran_id"]), "assetName": r["asset"],
                      "amount": decimal.Decimal(r["repaid"]),
                      "principal": decimal.Decimal(r["principal"]),
                      "interest": decimal.Decimal(r["interest"]),
                      "status": r["status"], "type": r["type"],
                      "timestamp": r["timestamp"]} for r in page],
            "total": len(rows)}), content_type="application/json")

    # ---- control API (not Binance) --------------------------------------------
    @routes.get("/fake/state")
    async def state(request):
        return web.json_response({
            "borrows": fake.ledger, "received": fake.received,
            "signatures": fake.signatures, "rejections": fake.rejections,
            "requests_by_key": fake.requests_by_key,
            "overlapping_operations": fake.overlapping_operations,
            "faults_pending": fake.faults, "skew_ms": fake.skew_ms,
            "repays": fake.repays,
            "liabilities": {str(g): {a: plain(v) for a, v in owed.items()}
                            for g, owed in fake.liabilities.items()},
            "available": {f"{g}:{a}": plain(v) for (g, a), v in fake.available.items()},
            "weights": fake.weights_now(),
            "limits": {str(g): {a: str(v) for a, v in lim.items()}
                       for g, lim in fake.units.items()}})

    @routes.post("/fake/faults")
    async def add_fault(request):
        fault = await request.json()
        fake.add_fault(fault)
        return web.json_response({"pending": len(fake.faults)})

    @routes.post("/fake/reset")
    async def reset(request):
        fake.reset()
        return web.json_response({"ok": True})

    @routes.post("/fake/config")
    async def config(request):
        body = await request.json()
        if "skew_ms" in body:
            fake.skew_ms = int(body["skew_ms"])
        if "success_style" in body:
            fake.success_style = body["success_style"]
        for spec in body.get("risk_units", []):
            fake.units.update(parse_risk_units([spec]))
        for spec in body.get("available", []):
            for group, funds in parse_risk_units([spec]).items():
                for asset, value in funds.items():
                    fake.available[(group, asset)] = value
        for group, fields in body.get("ltv_details", {}).items():
            unknown = set(fields) - set(LTV_DETAILS_FIELDS)
            if unknown:
                return web.json_response(
                    {"error": f"not documented ltv-details fields: {sorted(unknown)}"},
                    status=400)
            for name in ("totalNetEquity", "totalMaintenanceMargin"):
                if name in fields and not AMOUNT_RE.match(str(fields[name])):
                    return web.json_response({"error": f"{name} is not a decimal"},
                                             status=400)
            fake.ltv_overrides.setdefault(int(group), {}).update(fields)
        return web.json_response({"ok": True})

    app = web.Application()
    app.add_routes(routes)
    return app


def make_tls(directory, extra_hosts=()):
    """A CA and a server certificate for loopback (and extra_hosts), made now;
    writes ca.pem."""
    os.makedirs(directory, exist_ok=True)
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "fake-binance test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - datetime.timedelta(minutes=5))
          .not_valid_after(now + datetime.timedelta(days=30))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False,
                                       False), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
            .issuer_name(ca_name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([
                x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                x509.IPAddress(ipaddress.ip_address("::1"))] +
                [x509.DNSName(h) for h in extra_hosts]), critical=False)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    ca_path = os.path.join(directory, "ca.pem")
    cert_path = os.path.join(directory, "server.pem")
    key_path = os.path.join(directory, "server.key")
    with open(ca_path, "wb") as f:
        f.write(ca.public_bytes(serialization.Encoding.PEM))
    with open(cert_path, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(key_path, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM,
                                  serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_path, key_path)
    return context, ca_path


def write_port_file(path, port):
    if path:
        with open(path + ".tmp", "w") as f:
            f.write(f"{port}\n")
        os.replace(path + ".tmp", path)


async def serve(args):
    fake = Fake(args)
    ssl_context, ca_path = (None, None) if args.plain_http else make_tls(
        args.tls_dir, args.tls_host)
    runner = web.AppRunner(make_app(fake), access_log=None, handle_signals=True,
                           keepalive_timeout=args.keepalive_timeout_ms / 1000)
    await runner.setup()
    port = args.port
    if args.listen_after_ms:
        # Binance not reachable yet (a pod whose egress is not ready): the port
        # is known and refuses connections until the delay has passed.
        if port == 0:
            import socket
            with socket.socket() as probe:
                probe.bind((args.host, 0))
                port = probe.getsockname()[1]
        write_port_file(args.port_file, port)
        await asyncio.sleep(args.listen_after_ms / 1000)
    site = web.TCPSite(runner, args.host, port, ssl_context=ssl_context,
                       backlog=4096)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    if not args.listen_after_ms:
        write_port_file(args.port_file, port)
    scheme = "http" if args.plain_http else "https"
    print(json.dumps({"event": "listening", "url": f"{scheme}://{args.host}:{port}",
                      "ca_file": ca_path}), flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in ("SIGTERM", "SIGINT"):
        import signal
        loop.add_signal_handler(getattr(signal, sig), stop.set)
    await stop.wait()
    await runner.cleanup()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--port-file", help="write the bound port here")
    parser.add_argument("--keepalive-timeout-ms", type=int, default=75000,
                        help="close a kept-alive connection idle this long (a load "
                             "balancer's idle timeout)")
    parser.add_argument("--listen-after-ms", type=int, default=0,
                        help="write the port file at once but accept connections only "
                             "after this delay (an upstream not reachable yet)")
    parser.add_argument("--tls-dir", default="fake-binance-tls",
                        help="where the CA made at start-up (ca.pem) is written")
    parser.add_argument("--plain-http", action="store_true",
                        help="serve plain HTTP instead of HTTPS (explicit opt-in)")
    parser.add_argument("--key", action="append", default=[],
                        help="KIND:API_KEY:FILE, KIND hmac (FILE: secret) or rsa|ed25519 "
                             "(FILE: public key PEM); repeatable")
    parser.add_argument("--tls-host", action="append", default=[],
                        help="extra DNS name for the server certificate; repeatable")
    parser.add_argument("--make-credentials", metavar="DIR",
                        help="make a fresh Ed25519 key + API key in DIR (sandbox) and accept it")
    parser.add_argument("--credentials-owner", metavar="UID:GID",
                        help="give the made key files (mode 0400) to this user: the "
                             "gateway's, when it runs in another container")
    parser.add_argument("--risk-unit", action="append",
                        help="GROUP:ASSET=MAX[,ASSET=MAX] credit limits; repeatable "
                             "(default 1001:USDT=50000,USDC=50000)")
    parser.add_argument("--skew-ms", type=int, default=0,
                        help="the fake's clock minus the real one")
    parser.add_argument("--success-style", default="documented",
                        choices=["documented", "numbers", "strings"],
                        help="shape of the borrow success body")
    parser.add_argument("--first-tran-id", type=int, default=12317283617)
    parser.add_argument("--uid-weight-limit", type=int, default=180000,
                        help="UID weight a minute, per endpoint (borrow, repay)")
    parser.add_argument("--ip-weight-limit", type=int, default=12000,
                        help="IP weight a minute, per endpoint (max-borrowable, "
                             "ltv-details)")
    parser.add_argument("--ltv-details-weight", type=int, default=LTV_DETAILS_WEIGHT,
                        help="IP weight of one ltv-details request (Binance's page "
                             "has said 200 and 3000)")
    args = parser.parse_args()
    if not args.risk_unit:
        args.risk_unit = ["1001:USDT=50000,USDC=50000"]
    if args.make_credentials:
        args.key.append(make_credentials(args.make_credentials, args.credentials_owner))
    if not args.key:
        parser.error("at least one --key (or --make-credentials) is needed")
    asyncio.run(serve(args))


if __name__ == "__main__":
    main()
