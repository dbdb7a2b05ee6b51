"""memory, live tasks: RSS per task with n tasks alive and pending at once
(each started and suspended on one shared future)."""
import asyncio
import gc

from _common import args, emit, status_kb

a = args(n=100000)


async def waiter(fut):
    await fut


async def main(n):
    fut = asyncio.get_running_loop().create_future()
    tasks = [None] * n                      # preallocated: not counted per task
    gc.collect()
    rss0 = status_kb("VmRSS")
    for i in range(n):
        tasks[i] = asyncio.ensure_future(waiter(fut))
    await asyncio.sleep(0)                  # every task runs up to `await fut`
    gc.collect()
    rss1 = status_kb("VmRSS")
    fut.set_result(None)
    await asyncio.gather(*tasks)
    return rss0, rss1


rss0, rss1 = asyncio.run(main(a["n"]))
emit(n=a["n"], rss_before_kb=rss0, rss_live_kb=rss1,
     bytes_per_task=(rss1 - rss0) * 1024.0 / a["n"])
