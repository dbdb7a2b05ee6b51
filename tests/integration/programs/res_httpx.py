"""httpx.AsyncClient against a real aiohttp.web server on 127.0.0.1 (port 0),
in the same process.  argv[1] picks the scenario:

  gc          a client used for one request and dropped unclosed: freed
              while the loop runs (gc).
  kept        a client kept referenced and never closed: reported at loop
              close or at exit (an AsyncClient has no loop of its own).
  aclose      `await client.aclose()`: closed, no finding.
  async_with  `async with httpx.AsyncClient()`: closed, no finding.

trust_env=False: no proxy from the environment for 127.0.0.1.  Every scenario
prints "status: 200 body: hello" and "done" and exits 0.
"""
import asyncio
import gc
import sys

import httpx
from aiohttp import web

KEEP = []


async def hello(request):
    return web.Response(text="hello")


async def start_server():
    app = web.Application()
    app.router.add_get("/", hello)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return runner, f"http://127.0.0.1:{port}/"


async def fetch(client, url):
    resp = await client.get(url)
    print("status:", resp.status_code, "body:", resp.text)


async def leak(url, scenario):
    client = httpx.AsyncClient(trust_env=False)  # ORIGIN:client
    await fetch(client, url)
    if scenario == "kept":
        KEEP.append(client)


async def with_aclose(url):
    client = httpx.AsyncClient(trust_env=False)
    try:
        await fetch(client, url)
    finally:
        await client.aclose()


async def with_block(url):
    async with httpx.AsyncClient(trust_env=False) as client:
        await fetch(client, url)


async def main(scenario):
    runner, url = await start_server()
    try:
        if scenario in ("gc", "kept"):
            await leak(url, scenario)
        elif scenario == "aclose":
            await with_aclose(url)
        else:
            await with_block(url)
        gc.collect()
        await asyncio.sleep(0)
    finally:
        await runner.cleanup()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
    print("done")
