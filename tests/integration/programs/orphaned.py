"""asyncio.run() with a fire-and-forget task started two calls deep:
orphaned_task at runner_shutdown, origin <module> -> main -> start_workers."""
import asyncio

KEEP = []


async def worker():
    await asyncio.sleep(3600)


def start_workers():
    KEEP.append(asyncio.create_task(worker(), name="fire-and-forget"))  # ORIGIN:fire


async def main():
    start_workers()  # ORIGIN:main_call
    await asyncio.sleep(0)


asyncio.run(main())  # ORIGIN:run
print("finished")
