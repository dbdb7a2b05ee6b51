"""Cause 2, the forms of swallowed cancellation seen in the field, one per
argv[1].  main() creates the task (# ORIGIN:spawn), lets it start, cancels it
once (# ORIGIN:cancel) and lets it run a little more: every form catches the
CancelledError and goes on, either still looping on a new future when the
loop closes, or returning normally.  Expected: one swallowed_cancel for the
task named "swallow-FORM", nothing else.

argv[2] == "nokeep": the task is not kept in KEEP, so a task that finished
normally is garbage-collected before the loop closes (when="gc").

Prints "FORM: pending" or "FORM: done RESULT" after the cancel, then "closed".
"""
import asyncio
import contextlib
import sys

KEEP = []


# except asyncio.CancelledError: continue, in a polling loop: still pending.
async def poll_continue():
    while True:
        try:
            await asyncio.sleep(0.01)
        except asyncio.CancelledError:
            continue


# except CancelledError: pass, then return: finishes normally.
async def fetch_pass_return():
    try:
        await asyncio.sleep(10)
    except asyncio.CancelledError:
        pass
    return "partial"


# bare except: in a consumer loop: still pending, on a new future.
async def consume_bare_except():
    queue = asyncio.Queue()
    while True:
        try:
            await queue.get()
        except:  # noqa: E722
            print("consumer: error ignored", flush=True)
            await asyncio.sleep(0)


# except BaseException, logged, then return: finishes normally.
async def job_base_exception():
    try:
        await asyncio.sleep(10)
    except BaseException as e:
        print("job failed:", type(e).__name__, flush=True)
        return None
    return "complete"


# contextlib.suppress(asyncio.CancelledError), then more work: finishes normally.
async def flush_suppress():
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.sleep(10)
    await asyncio.sleep(0.01)
    return "flushed"


# A retry loop that catches everything, backs off and tries again: still pending.
async def request_retry():
    for attempt in range(1000):
        try:
            await asyncio.sleep(10)    # the "request"
            return "ok"
        except BaseException:
            await asyncio.sleep(0.01)  # back off
            continue
    return "gave up"


FORMS = {
    "continue": poll_continue,
    "pass_return": fetch_pass_return,
    "bare_except": consume_bare_except,
    "base_exception": job_base_exception,
    "suppress": flush_suppress,
    "retry": request_retry,
}


async def main(form, keep):
    task = asyncio.create_task(FORMS[form](), name=f"swallow-{form}")  # ORIGIN:spawn
    if keep:
        KEEP.append(task)
    await asyncio.sleep(0.05)
    task.cancel()  # ORIGIN:cancel
    await asyncio.sleep(0.1)            # the task goes on running
    if task.done():
        print(f"{form}: done {task.result()}", flush=True)
    else:
        print(f"{form}: pending", flush=True)


loop = asyncio.new_event_loop()
loop.run_until_complete(main(sys.argv[1], keep=sys.argv[2:] != ["nokeep"]))
loop.close()
print("closed")
