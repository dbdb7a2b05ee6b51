"""The parent leaks a task under asyncio.run(), then a multiprocessing child
(start method 'fork') runs its own asyncio.run() with its own leak.  Each
process must write its own report.  Prints "CHILD <pid>"."""
import asyncio
import multiprocessing

KEEP = []


async def forever():
    await asyncio.sleep(3600)


async def parent_main():
    KEEP.append(asyncio.create_task(forever(), name="parent-leak"))  # ORIGIN:parent_leak
    await asyncio.sleep(0)


async def child_main():
    KEEP.append(asyncio.create_task(forever(), name="child-leak"))  # ORIGIN:child_leak
    await asyncio.sleep(0)


def child():
    asyncio.run(child_main())


if __name__ == "__main__":
    asyncio.run(parent_main())
    ctx = multiprocessing.get_context("fork")
    p = ctx.Process(target=child)
    p.start()
    p.join()
    print("CHILD", p.pid, p.exitcode)
