"""gc burst: n tasks destroyed pending by the cycle collector ("Task was
destroyed but it is pending!"), 100 per collection, while `live` other tasks
stay pending.  Each destroyed task is a finding under the preload: this row
measures what a flood of them costs (the JSON rewritten per finding and a
snapshot of every live task per finding made it quadratic before).  The
loop's exception handler is a no-op so CPython's own logging of each message
does not drown the difference.  Timed inside the process."""
import asyncio
import gc
import time

from _common import args, emit

a = args(n=2000, live=20000)


async def forever():
    await asyncio.Event().wait()


async def main(n, live):
    keep = [asyncio.ensure_future(forever()) for _ in range(live)]
    await asyncio.sleep(0)
    t0 = time.perf_counter()
    for _ in range(max(1, n // 100)):
        batch = [asyncio.ensure_future(forever()) for _ in range(100)]
        await asyncio.sleep(0)
        del batch
        gc.collect()
    seconds = time.perf_counter() - t0
    for t in keep:
        t.cancel()
    await asyncio.gather(*keep, return_exceptions=True)
    return seconds


loop = asyncio.new_event_loop()
loop.set_exception_handler(lambda loop, context: None)
seconds = loop.run_until_complete(main(a["n"], a["live"]))
loop.close()
emit(seconds=seconds, n=a["n"], per_task_us=seconds / a["n"] * 1e6)
