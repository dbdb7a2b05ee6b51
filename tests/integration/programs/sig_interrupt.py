"""Ctrl-C (SIGINT) while an event loop runs with work in flight, for the
SIGINT tests of test_signals.py.  It prints "READY <pid>" (flushed) once the
loop runs with the task 'poller' (ORIGIN:poller) pending, then waits for
SIGINT.  argv[1] picks how the loop is run and what happens to the
KeyboardInterrupt:

  run             asyncio.run(main()); the KeyboardInterrupt ends the program
                  (traceback, death by SIGINT)
  run_caught      the same inside try/except KeyboardInterrupt: prints
                  "caught KeyboardInterrupt", exits 0
  forever         loop.run_forever() in try/finally: loop.close()
  forever_caught  loop.run_forever() in try/except KeyboardInterrupt, then
                  (outside the except) a new task 'late' (ORIGIN:late) and a
                  short run before loop.close(): 'late' did not exist when
                  SIGINT arrived; exits 0
  forever_open    loop.run_forever(), the loop never closed
  until           loop.run_until_complete(main_task) in try/finally: close
  uvloop          as forever, on a uvloop loop (ORIGIN:poller_uvloop)
  taskgroup       asyncio.run() with the poller in a TaskGroup (3.11+):
                  asyncio.run() cancels the main task on SIGINT and the
                  TaskGroup cancels and awaits the poller, so nothing is left
"""
import asyncio
import os
import sys

MODE = sys.argv[1]


def say(*args):
    print(*args, flush=True)


async def poll_forever():
    while True:
        await asyncio.sleep(3600)


async def main():
    asyncio.create_task(poll_forever(), name="poller")  # ORIGIN:poller
    await asyncio.sleep(0.01)
    say("READY", os.getpid())
    await asyncio.sleep(3600)


async def main_taskgroup():
    async with asyncio.TaskGroup() as tg:
        tg.create_task(poll_forever(), name="poller")
        await asyncio.sleep(0.01)
        say("READY", os.getpid())
        await asyncio.sleep(3600)


def loop_with_poller():
    loop = asyncio.new_event_loop()
    loop.create_task(poll_forever(), name="poller")  # ORIGIN:poller_loop
    loop.call_later(0.01, say, "READY", os.getpid())
    return loop


if MODE == "run":
    asyncio.run(main())
elif MODE == "run_caught":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        say("caught KeyboardInterrupt")
elif MODE == "forever":
    loop = loop_with_poller()
    try:
        loop.run_forever()
    finally:
        loop.close()
elif MODE == "forever_caught":
    loop = loop_with_poller()
    try:
        loop.run_forever()
    except KeyboardInterrupt:
        say("caught KeyboardInterrupt")
    loop.create_task(poll_forever(), name="late")  # ORIGIN:late
    loop.run_until_complete(asyncio.sleep(0.01))
    loop.close()
elif MODE == "forever_open":
    loop = loop_with_poller()
    loop.run_forever()
elif MODE == "until":
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(main())
    finally:
        loop.close()
elif MODE == "uvloop":
    import uvloop
    loop = uvloop.new_event_loop()
    loop.create_task(poll_forever(), name="poller")  # ORIGIN:poller_uvloop
    loop.call_later(0.01, say, "READY", os.getpid())
    try:
        loop.run_forever()
    finally:
        loop.close()
elif MODE == "taskgroup":
    asyncio.run(main_taskgroup())
else:
    sys.exit(f"unknown mode {MODE}")
