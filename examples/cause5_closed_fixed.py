"""Cause 5, fixed: shut down in order.  Stop the work that uses a
connection, let it finish, and only then close the connection.

The same metrics shipper as cause5_closed_while_in_use.py, with the shutdown
order the field guide gives: stop intake, let the queue drain
(queue.join()), stop the shipper (cancel + gather), then close the
connection, then the server.  Every line arrives; no finding.

    build/asyncleak run -- python3 examples/cause5_closed_fixed.py
"""
import asyncio

LINES = ["requests=120", "errors=3", "latency_ms=41"]


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
    reader, writer = await asyncio.open_connection("127.0.0.1", port)

    queue = asyncio.Queue()
    ship = asyncio.create_task(shipper(queue, writer), name="shipper")
    await asyncio.sleep(0.01)           # the service runs; the shipper waits for lines
    for line in LINES:                  # the last metrics, recorded on the way out
        queue.put_nowait(line)

    # Shutdown, in order: let the shipper send what is queued...
    await queue.join()
    # ...stop it...
    ship.cancel()
    await asyncio.gather(ship, return_exceptions=True)
    # ...and only then close the connection it used.
    writer.close()
    await writer.wait_closed()

    await asyncio.wait_for(collector.done.wait(), 5)
    server.close()
    await server.wait_closed()
    print(f"collector got {len(collector.lines)} of {len(LINES)} lines")


asyncio.run(main())
