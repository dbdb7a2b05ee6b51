"""Cause 5 (wrong shutdown order): tasks spawned *during* asyncio.run()'s shutdown.

When main() returns, asyncio.run() collects the tasks still running, cancels
them and waits for them.  Code that runs because of that cancellation -- a
`finally:` block, a done callback -- can start new tasks.  asyncio.run()
has already collected its list: nobody cancels or awaits the newcomers, and
they are still pending when the loop closes.

  - the uploader's `finally:` starts a task to flush its buffer;
  - a done callback on the uploader starts a task to notify a monitor.

main() itself also forgets the uploader (cause 1), which is what puts it in
the runner's hands.  Under the tool, the two late tasks are reported as
pending at loop close and marked "created during shutdown".

    build/asyncleak run -- /usr/bin/python3 examples/shutdown_spawned.py
The fixed version is shutdown_spawned_fixed.py.
"""
import asyncio

BUFFER = []


async def flush(items):
    await asyncio.sleep(0.2)                     # pretend to write them somewhere
    print("flushed", len(items), "items")        # never printed


async def notify_monitor(name):
    await asyncio.sleep(0.2)
    print("monitor told that", name, "stopped")  # never printed


async def uploader():
    try:
        while True:
            BUFFER.append("record")
            await asyncio.sleep(0.01)
    finally:
        # Runs when asyncio.run() cancels the uploader: too late to start work.
        asyncio.get_running_loop().create_task(flush(list(BUFFER)))


def on_uploader_done(task):
    task.get_loop().create_task(notify_monitor(task.get_name()))


async def main():
    up = asyncio.create_task(uploader(), name="uploader")
    up.add_done_callback(on_uploader_done)
    await asyncio.sleep(0.05)
    print("main done")                           # returns with the uploader running


asyncio.run(main())
