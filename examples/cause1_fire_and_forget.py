"""Cause 1: fire-and-forget tasks.  create_task() whose handle is dropped.

Three small programs in one file, each on its own event loop, each showing
one way the forgotten task ends:

  1. asyncio.run(): main() returns while the task still runs; the runner
     cancels it silently.                        -> orphaned_task
  2. a loop run by hand (run_until_complete + close): the task is still
     pending when the loop closes.               -> pending_task
  3. the task waits on a queue nobody else references; the event loop
     holds tasks only weakly, so the garbage collector destroys it mid-run.
                                                 -> destroyed_pending_task

Run it under the tool:
    build/asyncleak run -- /usr/bin/python3 examples/cause1_fire_and_forget.py
The fixed version is cause1_fixed.py.
"""
import asyncio
import gc


# ---- 1. asyncio.run() cuts a fire-and-forget task short ---------------------

async def send_metrics(batch):
    await asyncio.sleep(0.5)          # pretend to POST the batch somewhere
    print("metrics sent:", batch)     # never printed: the task is cut short


async def handle_request(n):
    await asyncio.sleep(0.01)
    asyncio.create_task(send_metrics([n]))    # handle dropped: nobody awaits it
    return n


async def service():
    results = [await handle_request(n) for n in range(2)]
    print("handled", results)


# ---- 2. a loop run by hand: still pending when loop.close() runs -------------

async def heartbeat():
    while True:
        await asyncio.sleep(1)


async def worker_main():
    asyncio.create_task(heartbeat())          # started, never stopped
    await asyncio.sleep(0.05)
    print("worker done")


def run_worker():
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(worker_main())
    finally:
        loop.close()


# ---- 3. a pending task garbage-collected mid-run -----------------------------

async def consume(queue):
    while True:
        item = await queue.get()      # waits on a future only this task knows
        print("got", item)


def start_consumer():
    queue = asyncio.Queue()
    asyncio.create_task(consume(queue))       # neither task nor queue is kept


async def pipeline():
    start_consumer()
    await asyncio.sleep(0.01)         # the consumer is now waiting on queue.get()
    gc.collect()                      # happens on its own in a real program, at any time
    await asyncio.sleep(0.01)
    print("pipeline done (the consumer is gone)")


if __name__ == "__main__":
    asyncio.run(service())
    run_worker()
    asyncio.run(pipeline())
