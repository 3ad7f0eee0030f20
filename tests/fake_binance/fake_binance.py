#!/usr/bin/python3
"""A faithful fake of the Binance institutional-loan endpoints loan-gateway uses.

There is no SAPI testnet, so this is both the gateway's test target and a
sandbox users run. It verifies requests the way Binance does (API-key header,
HMAC/RSA/Ed25519 signatures checked with the public key by Python's
`cryptography`, independent of the gateway's OpenSSL signer; percent-encoding
of every signed byte; timestamp/recvWindow; each parameter once; asset and
amount precision), keeps per-risk-unit credit limits (so -27009 happens for
the real reason), a ledger of executed borrows, and the UID weight per minute.
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
RECORDS_PATH = "/sapi/v1/margin/loan-group/borrow-repay"
TIME_PATH = "/api/v3/time"
BORROW_WEIGHT = 3000
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
        self.received = {"borrow": 0, "borrow_started": 0, "time": 0, "records": 0}
        self.rejections = []
        self.next_tran_id = self.args.first_tran_id
        self.weight_window = (0, 0)  # (minute, used weight)

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
    def use_weight(self, weight):
        minute = int(time.time() // 60)
        start, used = self.weight_window
        if start != minute:
            used = 0
        if used + weight > self.args.uid_weight_limit:
            self.weight_window = (minute, used)
            retry = 60 - int(time.time()) % 60
            raise BinanceError(429, -1003, "Too many requests; current limit of UID is "
                               f"{self.args.uid_weight_limit} request weight per 1 MINUTE.",
                               {"Retry-After": str(retry),
                                "X-SAPI-USED-UID-WEIGHT-1M": str(used)})
        self.weight_window = (minute, used + weight)
        return used + weight

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

    # ---- execution --------------------------------------------------------------
    def execute_borrow(self, group, asset, amount_text, amount, fault, signed_ms):
        limits = self.units[group]
        available = limits.get(asset, decimal.Decimal(0))
        if amount > available:
            # Binance's documented -27009 text (error-code reference), verbatim.
            raise BinanceError(400, -27009, "The requested borrow amount exceeds the maximum "
                               f"allowed limit. Maximum borrowable for asset {asset} is "
                               f"{available}, but request {amount_text}.")
        limits[asset] = available - amount
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

    @routes.post(BORROW_PATH)
    async def borrow(request):
        fake.received["borrow_started"] += 1
        fault = fake.take_fault("borrow")
        if fault and fault.get("reset") == "before_read":
            abort_connection(request)
            return web.Response()
        raw_body = (await request.read()).decode("latin-1")
        fake.received["borrow"] += 1
        # Like Binance, finish processing a request once it has arrived, even
        # if the client hangs up meanwhile (aiohttp cancels the handler then).
        return await asyncio.shield(process_borrow(request, raw_body, fault))

    async def process_borrow(request, raw_body, fault):
        if fault and fault.get("delay_ms"):
            await asyncio.sleep(fault["delay_ms"] / 1000)
        try:
            params = fake.verify_signed(request, request.query_string, raw_body)
            weight = fake.use_weight(BORROW_WEIGHT)
            weight_header = {"X-SAPI-USED-UID-WEIGHT-1M": str(weight)}
            group, asset, amount_text, amount = fake.check_borrow_params(params)
            injected = fault and ("status" in fault or "body" in fault or fault.get("html"))
            executes = not fault or fault.get("execute", not (fault.get("reset") or injected))
            entry = fake.execute_borrow(group, asset, amount_text, amount, fault,
                                        int(params["timestamp"])) if executes else None
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
            return web.Response(text=fake.success_body(entry, style),
                                content_type="application/json", headers=headers)
        except BinanceError as e:
            fake.rejections.append({"code": e.code, "msg": e.msg})
            return error_response(e.http_status, e.code, e.msg, e.headers)

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

    # ---- control API (not Binance) --------------------------------------------
    @routes.get("/fake/state")
    async def state(request):
        return web.json_response({
            "borrows": fake.ledger, "received": fake.received,
            "signatures": fake.signatures, "rejections": fake.rejections,
            "faults_pending": fake.faults, "skew_ms": fake.skew_ms,
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
    parser.add_argument("--uid-weight-limit", type=int, default=180000)
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
