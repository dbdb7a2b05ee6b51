"""8 threads (argv[2], default 8), each running its own asyncio.run() loop
that spawns and cancels tasks as fast as it can for argv[1] seconds.  Each
loop also leaves work behind so that every report point fires concurrently:
an orphaned task, and one task that swallows its cancellation for 1 s so that
asyncio.run()'s shutdown outlives watchdog=0.5 (shutdown_hang).

Prints "thread N: S spawned, C cancelled" per thread and "done" at the end.
"""
import asyncio
import sys
import threading
import time


async def short():
    await asyncio.sleep(0)


async def forever():
    await asyncio.sleep(3600)


async def stubborn():
    try:
        await asyncio.sleep(3600)
    except asyncio.CancelledError:
        await asyncio.sleep(1.0)      # swallowed: the runner waits for us


async def churn(n, deadline, stats):
    spawned = cancelled = 0
    keep = [asyncio.create_task(forever(), name=f"orphan-{n}"),  # ORIGIN:orphan
            asyncio.create_task(stubborn(), name=f"stubborn-{n}")]
    while time.monotonic() < deadline:
        batch = [asyncio.create_task(forever() if i % 2 else short()) for i in range(50)]  # ORIGIN:churn
        spawned += len(batch)
        await asyncio.sleep(0)
        for t in batch:
            if t.cancel():
                cancelled += 1
        await asyncio.gather(*batch, return_exceptions=True)
    stats[n] = (spawned, cancelled)
    return keep


def worker(n, deadline, stats, errors):
    try:
        asyncio.run(churn(n, deadline, stats))
    except BaseException as e:        # reported by the main thread
        errors.append((n, repr(e)))


def main():
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 10.0
    nthreads = int(sys.argv[2]) if len(sys.argv) > 2 else 8
    deadline = time.monotonic() + seconds
    stats, errors = {}, []
    threads = [threading.Thread(target=worker, args=(n, deadline, stats, errors)) for n in range(nthreads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for n in sorted(stats):
        print(f"thread {n}: {stats[n][0]} spawned, {stats[n][1]} cancelled")
    if errors or len(stats) != nthreads:
        print("errors:", errors)
        sys.exit(1)
    print("done", flush=True)


if __name__ == "__main__":
    main()
