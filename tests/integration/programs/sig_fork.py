"""A multiprocessing child (start method 'fork') stopped with p.terminate()
(SIGTERM).  The parent has run asyncio before forking (the tool is active and
its SIGTERM handler installed).  argv[1] picks the child:

  async   the child runs asyncio.run() with a pending task (ORIGIN:child)
  sync    the child never touches asyncio again: it sleeps in time.sleep()

The parent prints "child PID exitcode N" once the child is gone (join with
a 20 s timeout: "exitcode None" means the child hung), then exits 0.
"""
import asyncio
import multiprocessing
import sys
import time


async def forever():
    await asyncio.sleep(3600)


async def child_main(q):
    t = asyncio.create_task(forever(), name="child-task")  # ORIGIN:child
    await asyncio.sleep(0.01)
    q.put("up")
    await t


def child_async(q):
    asyncio.run(child_main(q))


def child_sync(q):
    q.put("up")
    time.sleep(3600)


async def parent_main():
    await asyncio.sleep(0)


if __name__ == "__main__":
    asyncio.run(parent_main())
    ctx = multiprocessing.get_context("fork")
    q = ctx.Queue()
    p = ctx.Process(target=child_async if sys.argv[1] == "async" else child_sync, args=(q,))
    p.start()
    q.get(timeout=20)
    p.terminate()
    p.join(20)
    print("child", p.pid, "exitcode", p.exitcode, flush=True)
    if p.exitcode is None:
        p.kill()
        p.join()
