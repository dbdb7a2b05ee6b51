"""A manual loop (new_event_loop / run_until_complete / close) closed while a
task it ran is still pending: pending_task at loop_close."""
import asyncio

KEEP = []


async def poll_forever():
    await asyncio.sleep(3600)


async def main():
    loop = asyncio.get_running_loop()
    KEEP.append(loop.create_task(poll_forever(), name="left-at-close"))  # ORIGIN:pending
    await asyncio.sleep(0)


loop = asyncio.new_event_loop()
loop.run_until_complete(main())
loop.close()
print("closed")
