"""A small asyncio service started WITHOUT the preload, for `asyncleak attach`.

    attach_service.py TRIGGER_FILE

1. Before the attach: starts two long-lived tasks (a poller and a worker
   suspended two coroutines deep) and an asyncio server it never closes,
   then prints "ready" (flushed) and polls for TRIGGER_FILE.
2. The test attaches while the loop idles, then creates TRIGGER_FILE.
3. After the attach: two fire-and-forget tasks (create_task and
   ensure_future), each on a "# ORIGIN:" marker line.
4. main() returns: asyncio.run() cancels every leftover task and closes the
   loop with the server still open.

stdout and the exit status (3) do not depend on whether anyone attached.
After the trigger it writes TRIGGER_FILE.environ: the value of
ASYNCLEAK_OPTIONS in its C environment (None: the attach unset it again).
"""
import asyncio
import ctypes
import os
import sys

TRIGGER = sys.argv[1]
KEEP = []


def c_getenv(name):
    """getenv() of the C library: what setenv() in the process changed
    (os.environ is a copy made at start-up)."""
    getenv = ctypes.CDLL(None).getenv
    getenv.restype = ctypes.c_char_p
    return getenv(name.encode())


async def wait_forever():
    await asyncio.Event().wait()


async def old_worker():
    await wait_forever()


async def old_poller():
    while True:
        await asyncio.sleep(3600)


async def new_leak():
    await asyncio.sleep(3600)


async def on_client(reader, writer):
    writer.close()


async def main():
    loop = asyncio.get_running_loop()
    KEEP.append(loop.create_task(old_poller(), name="old-poller"))  # ORIGIN:old_poller
    KEEP.append(loop.create_task(old_worker(), name="old-worker"))  # ORIGIN:old_worker
    server = await asyncio.start_server(on_client, "127.0.0.1", 0)  # ORIGIN:old_server
    KEEP.append(server)
    await asyncio.sleep(0)
    print("ready", flush=True)
    while not os.path.exists(TRIGGER):
        await asyncio.sleep(0.02)
    print("triggered", flush=True)
    with open(TRIGGER + ".environ", "w") as f:
        f.write(repr(c_getenv("ASYNCLEAK_OPTIONS")))
    KEEP.append(asyncio.create_task(new_leak(), name="new-create"))  # ORIGIN:after_create
    KEEP.append(asyncio.ensure_future(new_leak()))  # ORIGIN:after_ensure
    KEEP[-1].set_name("new-ensure")
    await asyncio.sleep(0.05)
    print("leaving main with", len(asyncio.all_tasks()) - 1, "tasks", flush=True)
    return 3


status = asyncio.run(main())
print("asyncio.run returned", status, flush=True)
sys.exit(status)
