"""argv: leak|clean STATUS.  Leaks one task (orphaned_task) or none, prints
"bye", then exits with sys.exit(STATUS)."""
import asyncio
import sys

KEEP = []


async def forever():
    await asyncio.sleep(3600)


async def main(leak):
    if leak:
        KEEP.append(asyncio.create_task(forever(), name="leak-exit"))  # ORIGIN:exit_leak
    await asyncio.sleep(0)


asyncio.run(main(sys.argv[1] == "leak"))
print("bye")
sys.exit(int(sys.argv[2]))
