"""shutdown_spawned.py, fixed: the shutdown work is awaited, not spawned, and
main() stops the uploader itself instead of leaving it to asyncio.run().

  - the uploader's `finally:` awaits flush() directly: the cancellation that
    brought it there has been delivered, so the await runs to completion and
    the uploader ends only once the buffer is written;
  - the monitor is notified by the code that owns the uploader, after
    awaiting it, not by a done callback that starts a task nobody awaits;
  - main() cancels and awaits the uploader before returning, so asyncio.run()
    finds nothing left to cancel.

    build/asyncleak run -- /usr/bin/python3 examples/shutdown_spawned_fixed.py
"""
import asyncio

BUFFER = []


async def flush(items):
    await asyncio.sleep(0.02)
    print("flushed", len(items), "items")


async def notify_monitor(name):
    await asyncio.sleep(0.02)
    print("monitor told that", name, "stopped")


async def uploader():
    try:
        while True:
            BUFFER.append("record")
            await asyncio.sleep(0.01)
    finally:
        await flush(list(BUFFER))                 # awaited: part of the uploader's own end


async def main():
    up = asyncio.create_task(uploader(), name="uploader")
    await asyncio.sleep(0.05)
    up.cancel()
    await asyncio.gather(up, return_exceptions=True)   # waits for the flush too
    await notify_monitor(up.get_name())
    print("main done")


asyncio.run(main())
