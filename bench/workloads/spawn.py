"""spawn-heavy: create and await n trivial tasks, timed inside the process.

mode=await   for each task: await asyncio.create_task(noop())
mode=gather  await asyncio.gather(*[noop() ...]) in batches of `batch`
"""
import asyncio
import time

from _common import args, emit

a = args(n=100000, mode="await", batch=1000)


async def noop():
    pass


async def main(n, mode, batch):
    t0 = time.perf_counter()
    if mode == "await":
        for _ in range(n):
            await asyncio.create_task(noop())
    elif mode == "gather":
        for done in range(0, n, batch):
            await asyncio.gather(*[noop() for _ in range(min(batch, n - done))])
    else:
        raise SystemExit("spawn.py: mode must be await or gather")
    return time.perf_counter() - t0


seconds = asyncio.run(main(a["n"], a["mode"], a["batch"]))
emit(seconds=seconds, n=a["n"], per_task_us=seconds / a["n"] * 1e6)
