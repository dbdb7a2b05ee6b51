"""Cause 4, fixed: SIGTERM and SIGINT stop the worker cleanly.

  - loop.add_signal_handler() turns SIGTERM/SIGINT into a stop event (the
    handler only sets the event: no work in a signal handler);
  - the producer checks the event and, when it is set, sends a sentinel
    (None) after its last job;
  - the writer drains the queue up to the sentinel and writes the last,
    partial batch;
  - both run in an asyncio.TaskGroup, so main() returns only when both are
    done, and an error in one cancels the other.

On SIGTERM it prints "stopping", writes what it has, prints "stopped" and
exits with status 0: no task is left in flight, and the tool reports
nothing.  Needs CPython 3.11+ (asyncio.TaskGroup).

    LD_PRELOAD=$PWD/build/libasyncleak.so ASYNCLEAK_OPTIONS=json_path=/tmp/al.%p.json \\
        /usr/bin/python3 examples/cause4_fixed.py & pid=$!
    sleep 1; kill -TERM $pid; wait $pid; echo "exit status $?"
"""
import asyncio
import os
import signal


async def produce(queue, stop):
    n = 0
    while not stop.is_set():
        n += 1
        await queue.put(f"job-{n}")
        try:
            await asyncio.wait_for(stop.wait(), 0.07)
        except asyncio.TimeoutError:
            pass
    await queue.put(None)           # no more jobs


async def write_results(queue):
    batch = []
    while (job := await queue.get()) is not None:
        batch.append(job)
        if len(batch) == 5:
            print("wrote", ", ".join(batch), flush=True)
            batch = []
    if batch:
        print("wrote", ", ".join(batch), "(last batch)", flush=True)


async def main():
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: (print("stopping", flush=True), stop.set()))
    queue = asyncio.Queue()
    print(f"worker started (pid {os.getpid()})", flush=True)
    async with asyncio.TaskGroup() as tg:
        tg.create_task(produce(queue, stop))
        tg.create_task(write_results(queue))
    print("stopped", flush=True)


if __name__ == "__main__":
    asyncio.run(main())
