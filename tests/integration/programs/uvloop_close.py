"""A uvloop loop closed with a task still pending: pending_task at loop_close."""
import asyncio

import uvloop

KEEP = []


async def poll_forever():
    await asyncio.sleep(3600)


async def main():
    KEEP.append(asyncio.get_running_loop().create_task(poll_forever(), name="uv-left"))  # ORIGIN:uv_pending
    await asyncio.sleep(0)


loop = uvloop.new_event_loop()
loop.run_until_complete(main())
loop.close()
print("closed", type(loop).__module__)
