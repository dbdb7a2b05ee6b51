"""The shutdown template: workers under a TaskGroup (3.11+) or create_task +
cancel + gather (older), a stop event set by SIGINT/SIGTERM handlers
(loop.add_signal_handler); the program sends itself SIGTERM.  No finding."""
import asyncio
import os
import signal
import sys


async def worker(n, stop, seen):
    while not stop.is_set():
        seen.add(n)
        await asyncio.sleep(0.005)


async def idle():
    await asyncio.sleep(3600)


async def main():
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    seen = set()
    loop.call_later(0.05, os.kill, os.getpid(), signal.SIGTERM)
    if sys.version_info >= (3, 11):
        async with asyncio.TaskGroup() as tg:
            for n in range(3):
                tg.create_task(worker(n, stop, seen), name=f"worker-{n}")
            sleeper = tg.create_task(idle(), name="idle")
            await stop.wait()
            sleeper.cancel()
    else:
        tasks = [asyncio.create_task(worker(n, stop, seen), name=f"worker-{n}") for n in range(3)]
        tasks.append(asyncio.create_task(idle(), name="idle"))
        await stop.wait()
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.remove_signal_handler(sig)
    print("stopped cleanly; workers seen:", sorted(seen))


asyncio.run(main())
