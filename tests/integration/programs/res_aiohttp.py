"""aiohttp client sessions and connectors against a real aiohttp.web server
on 127.0.0.1 (port 0), in the same process.  argv[1] picks the scenario:

  gc            a ClientSession used for one request and dropped unclosed:
                freed while the loop runs (gc); aiohttp still says "Unclosed
                client session" / "Unclosed connector"; its connector (created
                inside ClientSession()) has the same origin line.
  cycle         the same, but the session sits in a reference cycle, so the
                cycle collector frees it (gc, asyncio's message still printed).
  loop_close    a manual loop (new_event_loop / run_until_complete / close);
                the session is kept referenced, so it is still open when the
                loop closes (loop_close).
  async_with    `async with ClientSession()`: closed, no finding.
  close         `await session.close()`: closed, no finding.
  connector     a user-created TCPConnector passed to a session; neither closed:
                the session at its line, the connector at its own line.
  connector_owned      the session (connector_owner=True) closes the
                       user's connector: no finding.
  connector_not_owned  connector_owner=False: the session is closed, the
                       connector never is: only the connector is reported.

Every scenario prints "body: hello" and "done" and exits 0.
"""
import asyncio
import gc
import sys

import aiohttp
from aiohttp import web


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


async def fetch(session, url):
    async with session.get(url) as resp:
        print("body:", await resp.text())


# ---- scenarios ----------------------------------------------------------------

async def leak_gc(url):
    session = aiohttp.ClientSession()  # ORIGIN:gc
    await fetch(session, url)


class Api:
    def __init__(self):
        self.session = aiohttp.ClientSession()  # ORIGIN:cycle
        self.me = self                  # a reference cycle: only the collector frees it


async def leak_cycle(url):
    api = Api()
    await fetch(api.session, url)


async def with_block(url):
    async with aiohttp.ClientSession() as session:
        await fetch(session, url)


async def close_call(url):
    session = aiohttp.ClientSession()
    try:
        await fetch(session, url)
    finally:
        await session.close()


KEEP = []


async def user_connector(url):
    conn = aiohttp.TCPConnector(limit=4)  # ORIGIN:connector
    session = aiohttp.ClientSession(connector=conn)  # ORIGIN:connector_session
    KEEP.append(session)
    await fetch(session, url)


async def user_connector_owned(url):
    conn = aiohttp.TCPConnector(limit=4)
    async with aiohttp.ClientSession(connector=conn) as session:
        await fetch(session, url)


async def user_connector_not_owned(url):
    conn = aiohttp.TCPConnector(limit=4)  # ORIGIN:not_owned
    KEEP.append(conn)
    async with aiohttp.ClientSession(connector=conn, connector_owner=False) as session:
        await fetch(session, url)


SCENARIOS = {
    "gc": leak_gc,
    "cycle": leak_cycle,
    "async_with": with_block,
    "close": close_call,
    "connector": user_connector,
    "connector_owned": user_connector_owned,
    "connector_not_owned": user_connector_not_owned,
}


async def main(scenario):
    runner, url = await start_server()
    try:
        await SCENARIOS[scenario](url)
        gc.collect()
        await asyncio.sleep(0)
    finally:
        await runner.cleanup()


# ---- a manual loop closed while a session is still open -----------------------

async def open_session(url):
    session = aiohttp.ClientSession()  # ORIGIN:loop_close
    await fetch(session, url)
    return session


def manual_loop():
    loop = asyncio.new_event_loop()
    runner, url = loop.run_until_complete(start_server())
    session = loop.run_until_complete(open_session(url))
    KEEP.append(session)            # still referenced when the loop closes
    loop.run_until_complete(runner.cleanup())
    loop.close()


if __name__ == "__main__":
    if sys.argv[1] == "loop_close":
        manual_loop()
    else:
        asyncio.run(main(sys.argv[1]))
    print("done")
