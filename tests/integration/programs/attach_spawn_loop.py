"""Heavy load for `asyncleak attach`: a loop that spawns and finishes tasks
at full speed, started WITHOUT the preload.

    attach_spawn_loop.py TRIGGER_FILE

Prints "ready" (flushed) once the loop is spinning, then keeps creating and
awaiting batches of 50 trivial tasks (create_task + gather, plus a few
ensure_future) until TRIGGER_FILE exists; checks every batch's results.
After the trigger one task is left pending ("# ORIGIN:spawn_leak") and main
returns, so asyncio.run() cancels it.  stdout holds only what does not
depend on timing or on an attach; the exit status is 5.
"""
import asyncio
import os
import sys

TRIGGER = sys.argv[1]
BATCH = 50


async def work(i):
    await asyncio.sleep(0)
    return i * 2


async def linger():
    await asyncio.sleep(3600)


async def main():
    bad = 0
    batches = 0
    announced = False
    while True:
        tasks = [asyncio.ensure_future(work(i)) if i % 10 == 0 else asyncio.create_task(work(i))
                 for i in range(BATCH)]
        results = await asyncio.gather(*tasks)
        if results != [i * 2 for i in range(BATCH)]:
            bad += 1
        batches += 1
        if not announced and batches >= 20:
            print("ready", flush=True)
            announced = True
        if batches % 20 == 0 and os.path.exists(TRIGGER):
            break
    print("bad batches:", bad, flush=True)
    print("pending at the end:", len(asyncio.all_tasks()) - 1, flush=True)
    left = asyncio.create_task(linger())  # ORIGIN:spawn_leak
    await asyncio.sleep(0)
    return 5 if not left.done() else 6


sys.exit(asyncio.run(main()))
