"""Cause 2, the forms of swallowed cancellation seen in the field, one per
argv[1].  For the forms in FORMS, main() creates the task (# ORIGIN:spawn),
lets it start, cancels it once (# ORIGIN:cancel) and lets it run a little
more: every form catches the CancelledError and goes on, either still looping
on a new future when the loop closes, or returning normally.  Expected: one
swallowed_cancel for the task named "swallow-FORM", nothing else.

Forms where asyncio's machinery does the cancelling:
  taskgroup        (3.11+) one child fails, the group cancels its sibling
                   (TaskGroup._abort), which swallows and returns
  wait_for_inner   wait_for() times out and cancels the task it wraps around
                   the coroutine inner_swallows (# ORIGIN:spawn_wait_for,
                   the task has a default name), which swallows (3.8-3.11;
                   3.12+ wraps no task: the coroutine runs in main's task)
  timeout_inner    (3.11+) asyncio.timeout() expires while the task awaits
                   another task (# ORIGIN:spawn_timeout); the cancel reaches
                   that task, which swallows

argv[2] (default "keep"):
  keep     the task is kept in KEEP; the loop is closed at the end
  nokeep   not kept: a task that finished normally is garbage-collected
           before the loop closes (when="gc")
  noclose  kept, and the loop is never closed (reported at exit)
  uvloop   kept, on a uvloop loop (uvloop.new_event_loop()), closed at the end

Prints "FORM: pending" or "FORM: done RESULT" after the cancel, then "end".
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


# return inside finally: the return replaces the CancelledError being raised.
async def save_finally_return():
    try:
        await asyncio.sleep(10)
    finally:
        return "saved in finally"  # noqa: B012


FORMS = {
    "continue": poll_continue,
    "pass_return": fetch_pass_return,
    "bare_except": consume_bare_except,
    "base_exception": job_base_exception,
    "suppress": flush_suppress,
    "retry": request_retry,
    "finally_return": save_finally_return,
}


# TaskGroup (3.11+): the group cancels the sibling of a failing child; the
# sibling swallows and returns.
async def sibling_swallows():
    try:
        await asyncio.sleep(10)
    except asyncio.CancelledError:
        return "ignored the group"
    return "complete"


async def failing_child():
    await asyncio.sleep(0.02)
    raise ValueError("child failed")


async def main_taskgroup(keep):
    try:
        async with asyncio.TaskGroup() as tg:
            task = tg.create_task(sibling_swallows(), name="swallow-taskgroup")  # ORIGIN:spawn_taskgroup
            if keep:
                KEEP.append(task)
            tg.create_task(failing_child(), name="failing")
    except ExceptionGroup as eg:  # noqa: F821 (3.11+)
        print("taskgroup: ExceptionGroup", [type(e).__name__ for e in eg.exceptions], flush=True)
    print(f"taskgroup: done {task.result()}", flush=True)


# wait_for() timing out on a coroutine that swallows the cancellation.
async def inner_swallows():
    try:
        await asyncio.sleep(10)
    except asyncio.CancelledError:
        pass
    return "partial"


async def main_wait_for_inner(keep):
    try:
        result = await asyncio.wait_for(inner_swallows(), 0.05)  # ORIGIN:spawn_wait_for
    except asyncio.TimeoutError:
        result = "TimeoutError"
    await asyncio.sleep(0.05)
    print(f"wait_for_inner: done {result}", flush=True)


# asyncio.timeout() (3.11+) expiring while the task awaits another task.
async def main_timeout_inner(keep):
    task = asyncio.create_task(inner_swallows(), name="swallow-timeout_inner")  # ORIGIN:spawn_timeout
    if keep:
        KEEP.append(task)
    try:
        async with asyncio.timeout(0.05):
            result = await task
    except TimeoutError:
        result = "TimeoutError"
    await asyncio.sleep(0.05)
    print(f"timeout_inner: done {result}", flush=True)


SPECIAL = {
    "taskgroup": main_taskgroup,
    "wait_for_inner": main_wait_for_inner,
    "timeout_inner": main_timeout_inner,
}


async def main(form, keep):
    if form in SPECIAL:
        return await SPECIAL[form](keep)
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


FORM = sys.argv[1]
MODE = sys.argv[2] if len(sys.argv) > 2 else "keep"
KEEP_IT = MODE != "nokeep"
if MODE == "uvloop":
    import uvloop
    loop = uvloop.new_event_loop()
else:
    loop = asyncio.new_event_loop()
loop.run_until_complete(main(FORM, keep=KEEP_IT))  # ORIGIN:run
if MODE != "noclose":
    loop.close()
print("end")
