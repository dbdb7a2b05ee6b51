"""A target that spends much of its time inside the C library's allocator:
objects over 512 bytes are malloc'd and freed by libc, not by pymalloc.
`asyncleak attach` stops it wherever it is; calling setenv and dlopen from
inside malloc would corrupt the heap ("malloc(): ...", SIGABRT).

    attach_malloc_loop.py TRIGGER_FILE

Prints "ready", allocates in a loop until TRIGGER_FILE exists, prints
"done" and exits 0."""
import asyncio
import os
import sys

TRIGGER = sys.argv[1]


async def main():
    print("ready", flush=True)
    n = 0
    while not os.path.exists(TRIGGER):
        for _ in range(100):
            blobs = [bytes(2000 + i) for i in range(40)]
            table = {i: bytearray(700) for i in range(20)}
            n += len(blobs) + len(table)
        await asyncio.sleep(0)
    print("done", flush=True)


asyncio.run(main())
