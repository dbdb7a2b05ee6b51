"""cancel-heavy: n timeouts firing one after the other, timed inside the
process.  Every one cancels a task (Task.cancel is wrapped under the preload,
and each cancelled task is followed until it finishes).

mode=wait_for  await asyncio.wait_for(asyncio.sleep(1), 0): on 3.8-3.11 a task
               spawned for the sleep and cancelled; on 3.12+ wait_for is
               asyncio.timeout, which cancels the current task
mode=timeout   async with asyncio.timeout(0): await asyncio.sleep(1)  (3.11+)
mode=task      t = create_task(sleep(1)); await sleep(0); t.cancel(); await t
               (the program's own cancellation: a request that counts)
"""
import asyncio
import sys
import time

from _common import args, emit

a = args(n=100000, mode="wait_for")


async def main(n, mode):
    sleep = asyncio.sleep
    t0 = time.perf_counter()
    if mode == "wait_for":
        for _ in range(n):
            try:
                await asyncio.wait_for(sleep(1), 0)
            except asyncio.TimeoutError:
                pass
    elif mode == "timeout":
        for _ in range(n):
            try:
                async with asyncio.timeout(0):
                    await sleep(1)
            except TimeoutError:
                pass
    elif mode == "task":
        for _ in range(n):
            t = asyncio.ensure_future(sleep(1))
            await sleep(0)
            t.cancel()
            try:
                await t
            except asyncio.CancelledError:
                pass
    else:
        raise SystemExit("cancel.py: mode must be wait_for, timeout or task")
    return time.perf_counter() - t0


if a["mode"] == "timeout" and sys.version_info < (3, 11):
    raise SystemExit("cancel.py: mode=timeout needs Python 3.11+ (asyncio.timeout)")
seconds = asyncio.run(main(a["n"], a["mode"]))
emit(seconds=seconds, n=a["n"], per_task_us=seconds / a["n"] * 1e6)
