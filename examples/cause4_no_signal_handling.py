"""Cause 4: no signal handling.  A job worker killed by SIGTERM loses its work.

The worker takes jobs from a queue and writes the results in batches of 5.
It installs no signal handler, so a SIGTERM (what `docker stop`, systemd and
Kubernetes send first) kills it with the default action: no `finally:`
runs, the half-filled batch is never written, and nothing is printed: the
process is simply gone (exit status 143 in a shell, -15 for subprocess).

Run it under the tool and stop it with SIGTERM after a second:

    LD_PRELOAD=$PWD/build/libasyncleak.so ASYNCLEAK_OPTIONS=json_path=/tmp/al.%p.json \\
        /usr/bin/python3 examples/cause4_no_signal_handling.py & pid=$!
    sleep 1; kill -TERM $pid; wait $pid; echo "exit status $?"

The report has one signal_exit finding listing the tasks that were in
flight, each with the line that created it and the line it was waiting on.
The fixed version is cause4_fixed.py.  Runs on CPython 3.8 to 3.13.
"""
import asyncio
import os


async def produce(queue):
    n = 0
    while True:
        n += 1
        await queue.put(f"job-{n}")
        await asyncio.sleep(0.07)


async def write_results(queue):
    batch = []
    while True:
        batch.append(await queue.get())
        if len(batch) == 5:
            print("wrote", ", ".join(batch), flush=True)
            batch = []              # on SIGTERM, what is here is lost


async def main():
    queue = asyncio.Queue()
    producer = asyncio.create_task(produce(queue))
    writer = asyncio.create_task(write_results(queue))
    print(f"worker started (pid {os.getpid()})", flush=True)
    await asyncio.gather(producer, writer)      # runs until killed


if __name__ == "__main__":
    asyncio.run(main())
