"""A bounded load client for sig_server.py, run in its own process without
the tool: argv = streams|aiohttp PORT COUNT RATE.  Sends COUNT requests to
127.0.0.1:PORT one after the other, RATE per second at most, each with a
5 s timeout, then prints "sent COUNT" (exit 0; 1 if a request failed)."""
import asyncio
import sys
import time

KIND, PORT, COUNT, RATE = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])


async def one_streams(i):
    reader, writer = await asyncio.open_connection("127.0.0.1", PORT)
    writer.write(b"GET /%d\n" % i)
    await writer.drain()
    reply = await reader.readline()
    writer.close()
    await writer.wait_closed()
    assert reply == b"ok\n", reply


async def main():
    session = None
    if KIND == "aiohttp":
        import aiohttp
        session = aiohttp.ClientSession()
    start = time.monotonic()
    try:
        for i in range(COUNT):
            delay = start + i / RATE - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            if session is None:
                await asyncio.wait_for(one_streams(i), 5)
            else:
                async def get():
                    async with session.get(f"http://127.0.0.1:{PORT}/req/{i}") as resp:
                        assert await resp.text() == "ok"
                await asyncio.wait_for(get(), 5)
    finally:
        if session is not None:
            await session.close()
    print("sent", COUNT, flush=True)


if __name__ == "__main__":
    asyncio.run(main())
