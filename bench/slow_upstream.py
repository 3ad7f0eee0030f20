#!/usr/bin/python3
"""An upstream that answers each borrow after a delay (bench/floor --scale).

asyncio: ten thousand answers waiting need no thread each. It serves the
same canned Binance answers as bench/floor_nginx.conf (shapes from the
project's fake), over TLS, with a transaction id unique per answer.
"""
import argparse
import asyncio
import itertools
import ssl
import time

from aiohttp import web


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--port-file", required=True)
    parser.add_argument("--delay-ms", type=int, default=1000)
    args = parser.parse_args()
    tran_ids = itertools.count(100000000001)
    in_flight = {"now": 0, "peak": 0}

    async def borrow(request):
        await request.read()
        in_flight["now"] += 1
        in_flight["peak"] = max(in_flight["peak"], in_flight["now"])
        await asyncio.sleep(args.delay_ms / 1000)
        in_flight["now"] -= 1
        return web.Response(
            text=f'{{"transactionId":{next(tran_ids)},"amount":1.5,'
                 f'"status":"success"}}', content_type="application/json")

    async def server_time(_):
        return web.json_response({"serverTime": int(time.time() * 1000)})

    async def records(_):
        return web.json_response({"rows": [], "total": 0})

    async def peak(_):
        return web.json_response(in_flight)

    app = web.Application()
    app.router.add_post("/sapi/v1/margin/loan-group/borrow", borrow)
    app.router.add_get("/api/v3/time", server_time)
    app.router.add_get("/sapi/v1/margin/loan-group/borrow-repay", records)
    app.router.add_get("/peak", peak)
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(args.cert, args.key)

    async def serve():
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=tls,
                           backlog=4096)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        with open(args.port_file, "w") as f:
            f.write(f"{port}\n")
        await asyncio.Event().wait()

    asyncio.run(serve())


if __name__ == "__main__":
    main()
