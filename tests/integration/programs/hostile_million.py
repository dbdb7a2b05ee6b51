"""argv[1] tasks (default 1,000,000) started and still pending, all created
on one line (ORIGIN:million), when the loop closes; then a normal exit.
Prints the program's own timings."""
import asyncio
import sys
import time


async def wait_forever(fut):
    await fut


def main(n):
    t0 = time.monotonic()
    loop = asyncio.new_event_loop()
    loop.set_exception_handler(lambda loop, context: None)
    fut = loop.create_future()
    tasks = [loop.create_task(wait_forever(fut)) for _ in range(n)]  # ORIGIN:million
    loop.run_until_complete(asyncio.sleep(0))     # every task runs to its await
    t1 = time.monotonic()
    loop.close()
    t2 = time.monotonic()
    for t in tasks:
        t._log_destroy_pending = False            # no "Task was destroyed" x 1M at exit
    print(f"spawned {n} tasks in {t1 - t0:.2f} s, loop.close() took {t2 - t1:.2f} s", flush=True)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
