"""A uvloop service started WITHOUT the preload, for `asyncleak attach`.

    attach_uvloop.py TRIGGER_FILE

uvloop is imported and its loop running before the attach, so the tool must
hook uvloop.Loop.close when it attaches.  One task is started before the
attach, one after it ("# ORIGIN:uv_after"); the loop is closed with both
still pending (pending_task at loop_close).  Exit status 4.
"""
import asyncio
import os
import sys

import uvloop

TRIGGER = sys.argv[1]
KEEP = []


async def poll_forever():
    await asyncio.sleep(3600)


async def main():
    loop = asyncio.get_running_loop()
    KEEP.append(loop.create_task(poll_forever(), name="uv-before"))
    await asyncio.sleep(0)
    print("ready", flush=True)
    while not os.path.exists(TRIGGER):
        await asyncio.sleep(0.02)
    KEEP.append(loop.create_task(poll_forever(), name="uv-after"))  # ORIGIN:uv_after
    await asyncio.sleep(0)


loop = uvloop.new_event_loop()
loop.run_until_complete(main())
loop.close()
print("closed", type(loop).__module__, flush=True)
sys.exit(4)
