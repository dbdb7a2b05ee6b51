"""Cause 3, fixed: the same price service and clients as
cause3_unclosed_session.py, each session closed by whoever opened it.
Under the tool this prints nothing but the program's own output.

  1. the per-call helper opens its session with `async with`, which closes
     it (and its connector) on every way out of the block, exceptions and
     cancellation included.  (A real program would rather share one
     session; see 2.)
  2. the long-lived client is an async context manager too, and main()
     holds it in `async with`, so its close() runs at shutdown, before the
     loop goes away, even when main() fails.

    build/asyncleak run -- /usr/bin/python3 examples/cause3_fixed.py
"""
import asyncio

import aiohttp
from aiohttp import web


# ---- the service the clients talk to ----------------------------------------

async def price(request):
    return web.json_response({"item": request.match_info["item"], "price": 42})


async def start_service():
    app = web.Application()
    app.router.add_get("/price/{item}", price)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, "http://127.0.0.1:%d" % runner.addresses[0][1]


# ---- 1. a session per call, closed by `async with` ----------------------------

async def fetch_price(base, item):
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{base}/price/{item}") as resp:
            return (await resp.json())["price"]


# ---- 2. a client object closed in shutdown ------------------------------------

class PriceClient:
    def __init__(self, base):
        self.base = base
        self.session = aiohttp.ClientSession()

    async def price(self, item):
        async with self.session.get(f"{self.base}/price/{item}") as resp:
            return (await resp.json())["price"]

    async def close(self):
        await self.session.close()

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        await self.close()


async def main():
    runner, base = await start_service()
    try:
        print("apple:", await fetch_price(base, "apple"))
        async with PriceClient(base) as client:   # close() runs on the way out
            print("pear:", await client.price("pear"))
    finally:
        await runner.cleanup()                     # the server too: closed in shutdown


if __name__ == "__main__":
    asyncio.run(main())
