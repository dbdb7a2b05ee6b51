"""A small server on 127.0.0.1 (port 0) for the load tests.  argv[1] is the
server, argv[2] the handler:

  streams   asyncio.start_server, one line in, "ok" out (every interpreter)
  aiohttp   aiohttp.web (Debian's python3 only)

  leak      the handler starts an audit task per request and never awaits
            it: the task waits forever (ORIGIN:leak_streams / ORIGIN:leak_aiohttp)
  clean     the handler awaits its audit task, which finishes at once

It prints "PORT <port>" when it listens and serves until a line arrives on
stdin; then it stops the server, prints "served N" and exits 0.
"""
import asyncio
import sys

SERVER, HANDLER = sys.argv[1], sys.argv[2]
LEAKED = set()           # keeps the leaked tasks alive (no gc finding)
SERVED = [0]


async def audit(what, forever):
    if forever:
        await asyncio.Event().wait()
    await asyncio.sleep(0)


async def handle_streams(reader, writer):
    line = await reader.readline()
    SERVED[0] += 1
    if HANDLER == "leak":
        LEAKED.add(asyncio.create_task(audit(line, True)))  # ORIGIN:leak_streams
    else:
        await asyncio.create_task(audit(line, False))
    writer.write(b"ok\n")
    await writer.drain()
    writer.close()
    await writer.wait_closed()


async def handle_http(request):
    from aiohttp import web
    SERVED[0] += 1
    if HANDLER == "leak":
        LEAKED.add(asyncio.create_task(audit(request.path, True)))  # ORIGIN:leak_aiohttp
    else:
        await asyncio.create_task(audit(request.path, False))
    return web.Response(text="ok")


async def wait_for_line():
    loop = asyncio.get_running_loop()
    got = loop.create_future()
    fd = sys.stdin.fileno()
    loop.add_reader(fd, lambda: got.done() or got.set_result(sys.stdin.readline()))
    try:
        await got
    finally:
        loop.remove_reader(fd)


async def main():
    if SERVER == "streams":
        server = await asyncio.start_server(handle_streams, "127.0.0.1", 0)
        print("PORT", server.sockets[0].getsockname()[1], flush=True)
        await wait_for_line()
        server.close()
        await server.wait_closed()
    else:
        from aiohttp import web
        app = web.Application()
        app.router.add_get("/{tail:.*}", handle_http)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        print("PORT", runner.addresses[0][1], flush=True)
        await wait_for_line()
        await runner.cleanup()
    print("served", SERVED[0], flush=True)


if __name__ == "__main__":
    asyncio.run(main())
