"""aiohttp, server and client in one process (for instruction counts): the
wrk rows' application (aiohttp_server.make_app: `tasks` tasks spawned and
awaited per request) served on 127.0.0.1, and n keep-alive GET requests
sent over `conns` connections by a minimal HTTP/1.1 client on asyncio
streams (so the client's own cost per request stays small), timed inside
the process.
"""
import asyncio
import sys
import time

from aiohttp import web

from _common import args, emit
from aiohttp_server import make_app

a = args(n=5000, tasks=2, conns=4, loop="asyncio")
REQUEST = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


async def client(port, count):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    for _ in range(count):
        writer.write(REQUEST)
        head = await reader.readuntil(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 200"):
            raise SystemExit("aiohttp_inproc.py: %r" % head[:40])
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        await reader.readexactly(length)
    writer.close()
    await writer.wait_closed()


async def main(n, tasks, conns):
    runner = web.AppRunner(make_app(tasks), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    await client(port, 20)                   # warm-up
    per, extra = divmod(n, conns)
    t0 = time.perf_counter()
    await asyncio.gather(*[client(port, per + (1 if i < extra else 0)) for i in range(conns)])
    seconds = time.perf_counter() - t0
    await runner.cleanup()
    return seconds


if a["loop"] == "uvloop":
    try:
        import uvloop
    except ImportError:
        sys.exit("aiohttp_inproc.py: loop=uvloop but uvloop is not installed")
    uvloop.install()
seconds = asyncio.run(main(a["n"], a["tasks"], a["conns"]))
emit(seconds=seconds, n=a["n"], per_task_us=seconds / a["n"] * 1e6, req_per_s=a["n"] / seconds)
