"""Forks after asyncio has run, for test_children.py: by then the tool's
signal thread and watchdog thread are running, and os.fork() on 3.12+ warns
(DeprecationWarning) when the process has threads.

    children_fork.py [wait]

asyncio.run() once; then os.fork() (the child _exits at once), then a
multiprocessing child with the "fork" and then the "forkserver" start
method; prints "os.fork 0", "fork EXITCODE", "forkserver EXITCODE", then
"forked".  With "wait": then asyncio.run(main()) with the task 'after-fork'
(ORIGIN:after_fork) pending, prints "READY <pid>" and waits forever (for a
signal).
"""
import asyncio
import multiprocessing
import os
import sys


def noop():
    pass


async def forever():
    await asyncio.sleep(3600)


async def main():
    asyncio.create_task(forever(), name="after-fork")  # ORIGIN:after_fork
    await asyncio.sleep(0.01)
    print("READY", os.getpid(), flush=True)
    await forever()


if __name__ == "__main__":
    asyncio.run(asyncio.sleep(0))
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    print("os.fork", os.waitpid(pid, 0)[1], flush=True)
    for method in ("fork", "forkserver"):
        p = multiprocessing.get_context(method).Process(target=noop)
        p.start()
        p.join(60)
        print(method, p.exitcode, flush=True)
    print("forked", flush=True)
    if sys.argv[1:] == ["wait"]:
        asyncio.run(main())
