"""Cause 5: wrong shutdown order.  A connection closed while a task still
uses it.

A metrics shipper: a collector server on 127.0.0.1 (a free port, so the
example needs no network), one connection to it, and a `shipper` task that
sends the queued metric lines over that connection.  At shutdown main()
closes the connection first and only then stops the shipper: the lines still
in the queue are lost, and nothing says so.
                                    -> closed_while_in_use, naming the shipper
                                       task, where it was created and where it
                                       was waiting when the connection closed

Runs on CPython 3.8 to 3.13:
    build/asyncleak run -- python3 examples/cause5_closed_while_in_use.py
The fixed version is cause5_closed_fixed.py.
"""
import asyncio

LINES = ["requests=120", "errors=3", "latency_ms=41"]


# ---- the collector the shipper talks to ---------------------------------------

class Collector:
    def __init__(self):
        self.lines = []
        self.done = asyncio.Event()

    async def handle(self, reader, writer):
        while True:
            line = await reader.readline()
            if not line:
                break
            self.lines.append(line.decode().strip())
        writer.close()
        self.done.set()


# ---- the program --------------------------------------------------------------

async def shipper(queue, writer):
    while True:
        line = await queue.get()
        writer.write(line.encode() + b"\n")
        await writer.drain()
        queue.task_done()


async def main():
    collector = Collector()
    server = await asyncio.start_server(collector.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)     # the connection

    queue = asyncio.Queue()
    ship = asyncio.create_task(shipper(queue, writer), name="shipper")
    await asyncio.sleep(0.01)           # the service runs; the shipper waits for lines
    for line in LINES:                  # the last metrics, recorded on the way out
        queue.put_nowait(line)

    # Shutdown, in the wrong order: the connection first...
    writer.close()                      # while the shipper still has lines to send
    await writer.wait_closed()
    # ...then the task that was still sending over it.
    ship.cancel()
    await asyncio.gather(ship, return_exceptions=True)

    await asyncio.wait_for(collector.done.wait(), 5)
    server.close()
    await server.wait_closed()
    print(f"collector got {len(collector.lines)} of {len(LINES)} lines")


asyncio.run(main())
