"""A small worker service for the signal tests: it starts work that stays in
flight, prints "READY <pid>", then waits for a line on stdin ("quit"), stops
its work cleanly and prints "final: ..." (exit status 0).  Until then a
signal finds the work in flight.  argv[1] picks what is in flight:

  tasks     two pending tasks: a poller (ORIGIN:poller) and a writer that
            waits on a queue (ORIGIN:writer)
  session   the same plus an open aiohttp.ClientSession (ORIGIN:session);
            Debian's python3 only (the interpreter with aiohttp)
  idle      nothing: asyncio.run() has finished, the program waits on stdin
            in plain (synchronous) code
  gil       the tasks, then the main thread prints "HOLDING THE GIL" and
            blocks in read(2) on a pipe nobody writes to, through
            ctypes.PyDLL: the GIL stays held, so nothing else can take it
            (the tool's 5 s fallback)

Every line of output is flushed at once.
"""
import asyncio
import os
import sys

MODE = sys.argv[1]


def say(*args):
    print(*args, flush=True)


async def poll_forever():
    while True:
        await asyncio.sleep(3600)


async def write_batches(queue):
    while True:
        batch = await queue.get()
        say("wrote", batch)


def hold_gil_forever():
    import ctypes
    r, _w = os.pipe()
    libc = ctypes.PyDLL(None)         # PyDLL: the call keeps the GIL
    libc.read.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t]
    buf = ctypes.create_string_buffer(1)
    say("HOLDING THE GIL")
    libc.read(r, buf, 1)              # SA_RESTART: restarted after the tool's handler


async def wait_for_line():
    loop = asyncio.get_running_loop()
    got = loop.create_future()
    fd = sys.stdin.fileno()

    def readable():
        line = sys.stdin.readline()
        if not got.done():
            got.set_result(line.strip() or "EOF")
    loop.add_reader(fd, readable)
    try:
        return await got
    finally:
        loop.remove_reader(fd)


async def main():
    queue = asyncio.Queue()
    poller = asyncio.create_task(poll_forever(), name="poller")  # ORIGIN:poller
    writer = asyncio.create_task(write_batches(queue), name="writer")  # ORIGIN:writer
    session = None
    if MODE == "session":
        import aiohttp
        session = aiohttp.ClientSession()  # ORIGIN:session
    await asyncio.sleep(0.01)
    say("READY", os.getpid())
    if MODE == "gil":
        hold_gil_forever()
    line = await wait_for_line()
    for t in (poller, writer):
        t.cancel()
    await asyncio.gather(poller, writer, return_exceptions=True)
    if session is not None:
        await session.close()
    say("final:", line, "stopped cleanly")


if __name__ == "__main__":
    if MODE == "idle":
        asyncio.run(asyncio.sleep(0))
        say("READY", os.getpid())
        line = sys.stdin.readline().strip() or "EOF"
        say("final:", line, "stopped cleanly")
    else:
        asyncio.run(main())
