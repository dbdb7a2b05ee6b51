"""A flood of tasks destroyed pending by the cycle collector, round after
round, while other tasks stay pending: every one is a destroyed_pending_task
finding (the report keeps them all, JSON and text), with its own origin;
an inner task awaited by an outer one (both garbage) names the outer in
awaited_by, and tasks spawned by the live "spawner" task name it in
created_by.  argv[1]: rounds (default 5), argv[2]: pairs per round (20)."""
import asyncio
import gc
import sys

ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 else 5
PAIRS = int(sys.argv[2]) if len(sys.argv) > 2 else 20


async def forever():
    await asyncio.Event().wait()


async def outer_waits(inner):
    await inner


async def spawner(go, done):
    while True:
        await go.wait()
        go.clear()
        batch = []
        for i in range(PAIRS):
            inner = asyncio.ensure_future(forever())                   # ORIGIN:inner
            batch.append(asyncio.ensure_future(outer_waits(inner)))   # ORIGIN:outer
        await asyncio.sleep(0)
        del batch, inner
        done.set()


async def main():
    keep = [asyncio.ensure_future(forever()) for _ in range(200)]     # ORIGIN:keep
    go, done = asyncio.Event(), asyncio.Event()
    worker = asyncio.ensure_future(spawner(go, done))       # ORIGIN:spawner
    for _ in range(ROUNDS):
        go.set()
        await done.wait()
        done.clear()
        gc.collect()
    worker.cancel()
    for t in keep:
        t.cancel()
    await asyncio.gather(worker, *keep, return_exceptions=True)
    print("flooded")


loop = asyncio.new_event_loop()
loop.set_exception_handler(lambda loop, context: None)
loop.run_until_complete(main())
loop.close()
