"""asyncio is imported lazily inside a function, long after start-up."""
import sys

KEEP = []


def work():
    import asyncio

    async def forever():
        await asyncio.sleep(3600)

    async def main():
        KEEP.append(asyncio.ensure_future(forever()))  # ORIGIN:lazy
        await asyncio.sleep(0)

    asyncio.run(main())


print("asyncio before:", "asyncio" in sys.modules)
work()
print("done")
