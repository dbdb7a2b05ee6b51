"""aiohttp server for the wrk rows: each request's handler spawns `tasks`
tasks with create_task and awaits them (each yields to the loop once).
make_app() is the application (aiohttp_inproc.py serves it too).

Listens on 127.0.0.1 (port 0 unless given), prints {"port": N} on stdout
once listening, serves until SIGTERM or SIGINT, then shuts down cleanly
(runner.cleanup) and prints {"cpu_s": S}, its CPU time.
loop=uvloop runs it on uvloop (exits with status 3 when uvloop is missing).
"""
import asyncio
import json
import signal
import sys
import time

from aiohttp import web

from _common import args


async def work(i):
    await asyncio.sleep(0)
    return i


def make_app(tasks):
    async def handler(request):
        spawned = [asyncio.create_task(work(i)) for i in range(tasks)]
        total = 0
        for t in spawned:
            total += await t
        return web.Response(text="ok %d\n" % total)

    app = web.Application()
    app.router.add_get("/", handler)
    return app


async def main(a):
    loop = asyncio.get_running_loop()
    stop = loop.create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set_result, None)
    runner = web.AppRunner(make_app(a["tasks"]), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", a["port"], backlog=1024)
    await site.start()
    port = runner.addresses[0][1]
    print(json.dumps({"port": port}), flush=True)
    await stop
    await runner.cleanup()


if __name__ == "__main__":
    a = args(port=0, tasks=2, loop="asyncio")
    if a["loop"] == "uvloop":
        try:
            import uvloop
        except ImportError:
            sys.exit(3)
        uvloop.install()
    asyncio.run(main(a))
    print(json.dumps({"cpu_s": time.process_time()}), flush=True)
