"""A loop that is never closed, with a task still pending at exit:
pending_task at exit."""
import asyncio

KEEP = []


async def poll_forever():
    await asyncio.sleep(3600)


async def main():
    KEEP.append(asyncio.ensure_future(poll_forever()))  # ORIGIN:never_closed
    await asyncio.sleep(0)


loop = asyncio.new_event_loop()
asyncio.set_event_loop(loop)
loop.run_until_complete(main())
print("exiting without closing the loop")
