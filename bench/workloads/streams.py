"""stream churn: open, use and close n asyncio stream connections on
127.0.0.1, server and clients in this process, timed inside the process.

Each connection: the client opens it (asyncio.open_connection), writes a
line, reads the echo and closes; the server's handler reads the line, echoes
it and closes its side.  Both StreamWriters are tracked resources under the
preload, so every connection is two closes, each of which runs the
closed_while_in_use check (a scan of the loop's live tasks: its cost grows
with `conc`, the connections in flight at once, and with `idle`, extra tasks
kept pending on the loop for the whole run, as a server's idle keep-alive
connections or background tasks would be).
"""
import asyncio
import time

from _common import args, emit

a = args(n=20000, conc=1, idle=0)


async def handle(reader, writer):
    line = await reader.readline()
    writer.write(line)
    await writer.drain()
    writer.close()
    await writer.wait_closed()


async def client(port, count):
    for _ in range(count):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"ping\n")
        await writer.drain()
        if await reader.readline() != b"ping\n":
            raise SystemExit("streams.py: bad echo")
        writer.close()
        await writer.wait_closed()


async def idler(fut):
    await fut


async def main(n, conc, idle):
    loop = asyncio.get_running_loop()
    server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=max(128, conc * 2))
    port = server.sockets[0].getsockname()[1]
    fut = loop.create_future()
    idlers = [loop.create_task(idler(fut)) for _ in range(idle)]
    await client(port, 10)                  # warm-up: first connect, imports, caches
    per, extra = divmod(n, conc)
    t0 = time.perf_counter()
    await asyncio.gather(*[client(port, per + (1 if i < extra else 0)) for i in range(conc)])
    seconds = time.perf_counter() - t0
    fut.set_result(None)
    await asyncio.gather(*idlers)
    server.close()
    await server.wait_closed()
    return seconds


seconds = asyncio.run(main(a["n"], a["conc"], a["idle"]))
emit(seconds=seconds, n=a["n"], per_task_us=seconds / a["n"] * 1e6, conn_per_s=a["n"] / seconds)
