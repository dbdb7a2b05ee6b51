"""Tasks spawned during asyncio.run()'s shutdown, after the runner collected
the tasks to cancel: in a `finally:` of a cancelled task (argv[1] ==
"finally") or in a done callback (argv[1] == "callback").  They are still
pending when the loop closes: pending_task at loop_close, spawned_during_shutdown."""
import asyncio
import sys

KEEP = []


async def cleanup():
    await asyncio.sleep(3600)


async def worker():
    try:
        await asyncio.sleep(3600)
    finally:
        if sys.argv[1] == "finally":
            KEEP.append(asyncio.get_running_loop().create_task(cleanup(), name="late"))  # ORIGIN:late_finally


def on_done(task):
    KEEP.append(task.get_loop().create_task(cleanup(), name="late"))  # ORIGIN:late_callback


async def main():
    w = asyncio.create_task(worker(), name="worker")  # ORIGIN:worker
    if sys.argv[1] == "callback":
        w.add_done_callback(on_done)
    KEEP.append(w)
    await asyncio.sleep(0)


asyncio.run(main())
print("done")
