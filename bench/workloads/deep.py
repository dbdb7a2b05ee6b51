"""deep stacks: create and await n trivial tasks from `depth` coroutine frames
down (each frame awaits the next), timed inside the deepest frame."""
import asyncio
import time

from _common import args, emit

a = args(n=100000, depth=40)


async def noop():
    pass


async def dive(depth, n):
    if depth > 1:
        return await dive(depth - 1, n)
    t0 = time.perf_counter()
    for _ in range(n):
        await asyncio.create_task(noop())
    return time.perf_counter() - t0


seconds = asyncio.run(dive(a["depth"], a["n"]))
emit(seconds=seconds, n=a["n"], per_task_us=seconds / a["n"] * 1e6)
