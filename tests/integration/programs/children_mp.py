"""A parent and a multiprocessing child, each with an event loop and a leaked
task, for test_children.py.

    children_mp.py METHOD [EXIT] [LEAKS]

METHOD is the start method: fork, forkserver or spawn.  The parent runs
asyncio.run(); inside it, with its own task 'parent-leak' (ORIGIN:parent)
still pending and its loop running, it starts the child and waits for it.
The child runs a loop of its own (new_event_loop, run_until_complete,
close) that leaves the task 'child-leak' (ORIGIN:child) pending when the
loop closes.  LEAKS says who leaks: "both" (default), "child" (the parent
cancels and awaits its task before starting the child) or "none" (the
child's task is awaited too).  The child ends by EXIT:

  return   the target returns (fork/forkserver children then end with
           os._exit inside multiprocessing, spawn children with sys.exit)
  _exit    os._exit(0) right after loop.close(): no atexit, no Py_AtExit

The parent prints "parent PID", then "child PID exitcode N", and exits 0.
"""
import asyncio
import multiprocessing
import os
import sys

KEEP = []


async def forever():
    await asyncio.sleep(3600)


async def child_main(leaks):
    task = asyncio.create_task(forever(), name="child-leak")  # ORIGIN:child
    KEEP.append(task)
    await asyncio.sleep(0.01)
    if leaks == "none":
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def child(how, leaks):
    loop = asyncio.new_event_loop()
    loop.run_until_complete(child_main(leaks))
    loop.close()
    if how == "_exit":
        os._exit(0)


async def parent_main(method, how, leaks):
    leak = asyncio.create_task(forever(), name="parent-leak")  # ORIGIN:parent
    await asyncio.sleep(0.01)
    if leaks != "both":
        leak.cancel()
        await asyncio.gather(leak, return_exceptions=True)
    ctx = multiprocessing.get_context(method)
    p = ctx.Process(target=child, args=(how, leaks))
    p.start()
    p.join(60)          # blocks the loop: the parent's task stays pending meanwhile
    print("child", p.pid, "exitcode", p.exitcode, flush=True)
    if p.exitcode is None:
        p.kill()
        p.join()


if __name__ == "__main__":
    print("parent", os.getpid(), flush=True)
    args = sys.argv[1:] + ["return", "both"][len(sys.argv) - 2:]
    asyncio.run(parent_main(*args[:3]))
