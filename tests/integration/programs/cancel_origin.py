"""The cancel origin shown in findings other than swallowed_cancel.

A task is cancelled by the program, but the loop is closed right after the
cancel() call, before the cancellation could be delivered: the task is still
pending at loop close (pending_task, not swallowed_cancel), and the finding
carries "cancel": {"requested": 1, "origin": <the cancel() line>}.

argv[1]:
  pending      started task (suspended in sleep), cancel(), loop.close()
  message      the same with cancel(msg="bye") (3.9+): cancel.message == "bye"
  unstarted    a task that never ran its first step, cancel(), loop.close()
  twice        cancel() twice before closing: requested == 2, the origin is the first call
"""
import asyncio
import sys

KEEP = []


async def poll_forever():
    while True:
        await asyncio.sleep(3600)


def spawn(loop):
    t = loop.create_task(poll_forever(), name="cancelled-not-awaited")  # ORIGIN:spawn
    KEEP.append(t)
    return t


form = sys.argv[1]
loop = asyncio.new_event_loop()
if form == "unstarted":
    task = spawn(loop)
else:
    task = spawn(loop)
    loop.run_until_complete(asyncio.sleep(0.01))       # the task starts and suspends
if form == "message":
    task.cancel(msg="bye")  # ORIGIN:cancel_msg
elif form == "twice":
    task.cancel()  # ORIGIN:cancel_first
    task.cancel()  # ORIGIN:cancel_second
else:
    task.cancel()  # ORIGIN:cancel
loop.close()                                            # never awaited: still pending
print("closed", form)
