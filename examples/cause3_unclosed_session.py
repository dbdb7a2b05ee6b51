"""Cause 3: unclosed sessions.  aiohttp.ClientSession() (and the TCPConnector
it creates) opened without `async with` and never closed.

A small price service: an aiohttp.web server on 127.0.0.1 (a free port, so
the example needs no network) and two clients of it, each leaking its session
a different way:

  1. a helper that opens a session per call and forgets it: the session is
     freed while the loop runs; aiohttp prints "Unclosed client session"
     (and "Unclosed connector"), with no hint of where it came from.
                                                   -> unclosed_resource, gc
  2. a long-lived client object that owns a session and has a close()
     method nobody calls at shutdown: the session is still open when
     asyncio.run() closes the loop.                -> unclosed_resource, loop_close

Run it under the tool (Debian's python3 has aiohttp):
    build/asyncleak run -- /usr/bin/python3 examples/cause3_unclosed_session.py
The fixed version is cause3_fixed.py.
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


# ---- 1. a session per call, never closed --------------------------------------

async def fetch_price(base, item):
    session = aiohttp.ClientSession()              # opened here...
    async with session.get(f"{base}/price/{item}") as resp:
        return (await resp.json())["price"]        # ...and forgotten on return


# ---- 2. a client object whose close() nobody calls ----------------------------

class PriceClient:
    def __init__(self, base):
        self.base = base
        self.session = aiohttp.ClientSession()     # lives as long as the client

    async def price(self, item):
        async with self.session.get(f"{self.base}/price/{item}") as resp:
            return (await resp.json())["price"]

    async def close(self):
        await self.session.close()


clients = []                                       # e.g. a registry of API clients


async def main():
    runner, base = await start_service()
    try:
        print("apple:", await fetch_price(base, "apple"))
        client = PriceClient(base)
        clients.append(client)
        print("pear:", await client.price("pear"))
        # shutdown: the service stops, but client.close() is never awaited
    finally:
        await runner.cleanup()


if __name__ == "__main__":
    asyncio.run(main())
