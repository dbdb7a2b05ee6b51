"""A loop closed with a task still pending (ORIGIN:leak), then a segfault
through ctypes.string_at(0).  With argv[1] == "faulthandler",
faulthandler.enable() first.  Prints "READY <pid>" just before the crash."""
import asyncio
import ctypes
import faulthandler
import os
import sys

KEEP = []


async def forever():
    await asyncio.sleep(3600)


async def main():
    KEEP.append(asyncio.create_task(forever(), name="leak"))  # ORIGIN:leak
    await asyncio.sleep(0)


if __name__ == "__main__":
    if sys.argv[1:] == ["faulthandler"]:
        faulthandler.enable()
    loop = asyncio.new_event_loop()
    loop.run_until_complete(main())
    loop.close()
    print("READY", os.getpid(), flush=True)
    ctypes.string_at(0)  # ORIGIN:crash
    print("not reached")
