"""memory, finished tasks: spawn and finish n tasks, all from one line, and
report the RSS after a warm-up of `warm` tasks and after all n."""
import asyncio
import gc

from _common import args, emit, status_kb

a = args(n=1000000, warm=10000)


async def noop():
    pass


async def main(n, warm):
    rss0 = None
    for i in range(n):
        if i == warm:
            gc.collect()
            rss0 = status_kb("VmRSS")
        await asyncio.create_task(noop())      # the one line
    gc.collect()
    return rss0, status_kb("VmRSS"), status_kb("VmHWM")


rss0, rss1, hwm = asyncio.run(main(a["n"], a["warm"]))
emit(n=a["n"], rss_warm_kb=rss0, rss_end_kb=rss1, hwm_kb=hwm,
     rss_end_mb=rss1 / 1024.0, growth_mb=(rss1 - rss0) / 1024.0)
