"""report time: close a loop that still has n pending tasks (each started and
suspended on a future nobody resolves); times loop.close() inside the process
(wall and CPU time: CPU time is what load on a shared machine distorts least).
The process then leaves with os._exit(0): letting 100k pending tasks be
destroyed at interpreter exit costs minutes in CPython itself (one "Task was
destroyed but it is pending!" log record each), with or without the preload;
the report written at loop close is already complete on disk by then."""
import asyncio
import os
import time

from _common import args, emit

a = args(n=100000)


async def waiter(fut):
    await fut


async def spawn(loop, n):
    fut = loop.create_future()
    tasks = [loop.create_task(waiter(fut)) for _ in range(n)]
    await asyncio.sleep(0)
    return fut, tasks


loop = asyncio.new_event_loop()
asyncio.set_event_loop(loop)
fut, tasks = loop.run_until_complete(spawn(loop, a["n"]))
t0, c0 = time.perf_counter(), time.process_time()
loop.close()
seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
emit(n=a["n"], seconds=seconds, cpu_seconds=cpu)
os._exit(0)
