"""A task waiting on a future nobody else references is dropped and collected
while pending: destroyed_pending_task at gc (asyncio still says "Task was
destroyed but it is pending!")."""
import asyncio
import gc


async def wait_on(fut):
    await fut


async def main():
    loop = asyncio.get_running_loop()
    t = loop.create_task(wait_on(loop.create_future()), name="doomed")  # ORIGIN:doomed
    await asyncio.sleep(0)
    del t
    gc.collect()
    await asyncio.sleep(0)
    print("collected")


asyncio.run(main())
