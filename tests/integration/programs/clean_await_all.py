"""Spawns tasks every way it can and awaits every one of them, on asyncio.run()
and on a manual loop that is closed.  No finding."""
import asyncio
import sys


async def work(n):
    await asyncio.sleep(0.001)
    return n


async def fail():
    raise ValueError("handled")


async def main():
    loop = asyncio.get_running_loop()
    total = 0
    total += await asyncio.create_task(work(1))
    total += await loop.create_task(work(2))
    total += await asyncio.ensure_future(work(3))
    total += sum(await asyncio.gather(work(4), work(5)))
    total += await asyncio.wait_for(work(6), timeout=5)
    done, pending = await asyncio.wait([asyncio.create_task(work(7))])
    total += sum(t.result() for t in done)
    total += await asyncio.Task(work(8))
    t = asyncio.create_task(fail())
    try:
        await t
    except ValueError:
        total += 9
    s = asyncio.create_task(asyncio.sleep(3600))
    await asyncio.sleep(0)
    s.cancel()
    try:
        await s
    except asyncio.CancelledError:
        total += 10
    if sys.version_info >= (3, 11):
        async with asyncio.TaskGroup() as tg:
            a = tg.create_task(work(11))
        total += a.result()
    else:
        total += 11
    if sys.version_info >= (3, 12):
        loop.set_task_factory(asyncio.eager_task_factory)
        total += await asyncio.create_task(work(12))
        loop.set_task_factory(None)
    else:
        total += 12
    return total


print("run:", asyncio.run(main()))
loop = asyncio.new_event_loop()
try:
    print("manual:", loop.run_until_complete(main()))
finally:
    loop.close()
