"""Cause 1, fixed: the same three programs as cause1_fire_and_forget.py, each
keeping the handles of the tasks it starts and ending them before its loop
goes away.  Under the tool this prints nothing but the program's own output.

  1. asyncio.run(): the background sends run in an asyncio.TaskGroup
     (3.11+), which waits for them; on 3.8-3.10 the handles are kept in a
     set and gathered before main() returns.
  2. a loop run by hand: the heartbeat's handle is kept, cancelled and
     awaited (cancel + gather) before run_until_complete returns.
  3. the consumer's handle is kept by the code that started it, which stops
     it with a sentinel and awaits it; nothing is left for the collector.

    build/asyncleak run -- /usr/bin/python3 examples/cause1_fixed.py
"""
import asyncio
import gc
import sys


# ---- 1. keep the handles: TaskGroup (3.11+), or a set + gather ---------------

async def send_metrics(batch):
    await asyncio.sleep(0.05)
    print("metrics sent:", batch)


async def handle_request(n, spawn):
    await asyncio.sleep(0.01)
    spawn(send_metrics([n]))
    return n


async def service():
    if sys.version_info >= (3, 11):
        async with asyncio.TaskGroup() as tg:         # waits for every task it started
            results = [await handle_request(n, tg.create_task) for n in range(2)]
    else:
        background = set()

        def spawn(coro):
            task = asyncio.create_task(coro)
            background.add(task)                      # a strong reference...
            task.add_done_callback(background.discard)
        results = [await handle_request(n, spawn) for n in range(2)]
        await asyncio.gather(*background)             # ...and a join before returning
    print("handled", results)


# ---- 2. a loop run by hand: cancel + gather before the loop closes -----------

async def heartbeat():
    while True:
        await asyncio.sleep(1)


async def worker_main():
    beat = asyncio.create_task(heartbeat())
    try:
        await asyncio.sleep(0.05)
        print("worker done")
    finally:
        beat.cancel()
        await asyncio.gather(beat, return_exceptions=True)


def run_worker():
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(worker_main())
    finally:
        loop.close()


# ---- 3. the consumer is owned and stopped by whoever started it --------------

STOP = object()


async def consume(queue):
    while True:
        item = await queue.get()
        if item is STOP:
            return
        print("got", item)


async def pipeline():
    queue = asyncio.Queue()
    consumer = asyncio.create_task(consume(queue))   # handle kept
    await queue.put("job-1")
    await asyncio.sleep(0.01)
    gc.collect()                                      # nothing pending is garbage now
    await queue.put(STOP)
    await consumer                                    # joined before the loop goes away
    print("pipeline done")


if __name__ == "__main__":
    asyncio.run(service())
    run_worker()
    asyncio.run(pipeline())
