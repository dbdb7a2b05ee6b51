"""Cause 2, the correct forms: cancellation that is delivered and honoured, or
turned into another outcome on purpose.  One form per argv[1], run with
asyncio.run(); each prints "FORM ok ..." and leaves nothing behind.
Expected: no swallowed_cancel, no finding at all.

Forms that need a newer Python (asyncio.timeout, TaskGroup, uncancel: 3.11)
or a library (async_timeout) are skipped by the test before running.
"""
import asyncio
import sys

KEEP = []


async def slow():
    await asyncio.sleep(10)


# asyncio.timeout (3.11+) expiring: the timeout cancels the task running the
# block and turns the CancelledError into TimeoutError, which the task handles.
async def use_timeout():
    try:
        async with asyncio.timeout(0.05):
            await slow()
    except TimeoutError:
        pass
    await asyncio.sleep(0.01)          # and goes on: not a swallowed cancel
    return "timed out"


# asyncio.wait_for expiring: the inner task is cancelled and re-raises.
async def use_wait_for():
    try:
        await asyncio.wait_for(slow(), 0.05)
    except asyncio.TimeoutError:
        pass
    await asyncio.sleep(0.01)
    return "timed out"


# TaskGroup: one child fails, the group cancels its siblings, which clean up and
# re-raise; the parent gets the ExceptionGroup.
async def sibling():
    try:
        await asyncio.sleep(10)
    except asyncio.CancelledError:
        await asyncio.sleep(0.01)      # cleanup with an await
        raise


async def failing_child():
    await asyncio.sleep(0.02)
    raise ValueError("child failed")


async def use_taskgroup_siblings():
    try:
        async with asyncio.TaskGroup() as tg:
            tg.create_task(sibling(), name="sibling-1")
            tg.create_task(sibling(), name="sibling-2")
            tg.create_task(failing_child(), name="failing")
    except ExceptionGroup as eg:  # noqa: F821 (3.11+)
        assert [type(e) for e in eg.exceptions] == [ValueError], eg.exceptions
    await asyncio.sleep(0.01)
    return "group failed cleanly"


# TaskGroup cancelling its PARENT task: the body is still running when a child
# fails; the group cancels the parent, and __aexit__ turns that into an
# ExceptionGroup the parent catches, then goes on.
async def group_parent():
    try:
        async with asyncio.TaskGroup() as tg:
            tg.create_task(failing_child(), name="failing")
            await asyncio.sleep(10)    # cancelled by the group
    except ExceptionGroup:  # noqa: F821 (3.11+)
        pass
    await asyncio.sleep(0.01)
    return "parent carried on"


async def use_taskgroup_parent():
    t = asyncio.create_task(group_parent(), name="group-parent")
    return await t


# shield: the caller is cancelled and re-raises, the shielded work completes.
async def critical():
    await asyncio.sleep(0.05)
    return "saved"


async def caller(inner):
    return await asyncio.shield(inner)


async def use_shield():
    inner = asyncio.create_task(critical(), name="critical")
    outer = asyncio.create_task(caller(inner), name="caller")
    await asyncio.sleep(0.01)
    outer.cancel()
    try:
        await outer
    except asyncio.CancelledError:
        pass
    assert outer.cancelled()
    return await inner


# uncancel() (3.11+): the task deliberately suppresses the cancellation and says so.
async def deliberately_ignores():
    try:
        await asyncio.sleep(10)
    except asyncio.CancelledError:
        asyncio.current_task().uncancel()
    await asyncio.sleep(0.01)
    return "ignored on purpose"


async def use_uncancel():
    t = asyncio.create_task(deliberately_ignores(), name="uncancels")
    await asyncio.sleep(0.01)
    t.cancel()
    return await t


# Cleanup in except CancelledError, with an await, then raise.
async def cleans_up():
    try:
        await asyncio.sleep(10)
    except asyncio.CancelledError:
        await asyncio.sleep(0.05)      # flush, close, ...
        raise


async def use_cleanup_reraise():
    t = asyncio.create_task(cleans_up(), name="cleans-up")
    await asyncio.sleep(0.01)
    t.cancel()
    try:
        await t
    except asyncio.CancelledError:
        pass
    return "cancelled" if t.cancelled() else "NOT CANCELLED"


# except Exception does not catch CancelledError (3.8+).
async def catches_exception():
    try:
        await asyncio.sleep(10)
    except Exception:
        return "wrongly caught"


async def use_except_exception():
    t = asyncio.create_task(catches_exception(), name="except-exception")
    await asyncio.sleep(0.01)
    t.cancel()
    try:
        await t
    except asyncio.CancelledError:
        pass
    return "cancelled" if t.cancelled() else "NOT CANCELLED"


# Cancelling a task that awaits another task: the cancel reaches the inner
# task too (a nested cancel() call); both clean up and re-raise.
async def inner_cleans_up():
    try:
        await asyncio.sleep(10)
    except asyncio.CancelledError:
        await asyncio.sleep(0.02)
        raise


async def outer_awaits_inner():
    inner = asyncio.create_task(inner_cleans_up(), name="inner")
    try:
        await inner
    finally:
        await asyncio.sleep(0.01)


async def use_cancel_nested():
    outer = asyncio.create_task(outer_awaits_inner(), name="outer")
    await asyncio.sleep(0.01)
    outer.cancel()
    try:
        await outer
    except asyncio.CancelledError:
        pass
    return "cancelled" if outer.cancelled() else "NOT CANCELLED"


# Cancel every worker, then gather them.
async def worker(i):
    try:
        await asyncio.sleep(10)
    finally:
        await asyncio.sleep(0)


async def use_cancel_gather():
    tasks = [asyncio.create_task(worker(i), name=f"worker-{i}") for i in range(5)]
    await asyncio.sleep(0.01)
    for t in tasks:
        t.cancel()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert all(isinstance(r, asyncio.CancelledError) for r in results), results
    return f"{len(results)} cancelled"


# aiohttp-style async_timeout expiring (the library cancels the task itself).
async def use_async_timeout():
    import async_timeout
    try:
        async with async_timeout.timeout(0.05):
            await slow()
    except asyncio.TimeoutError:
        pass
    await asyncio.sleep(0.01)
    return "timed out"


async def use_async_timeout_in_task():
    t = asyncio.create_task(use_async_timeout(), name="async-timeout-user")
    return await t


FORMS = {
    "timeout": use_timeout,
    "wait_for": use_wait_for,
    "taskgroup_siblings": use_taskgroup_siblings,
    "taskgroup_parent": use_taskgroup_parent,
    "shield": use_shield,
    "uncancel": use_uncancel,
    "cleanup_reraise": use_cleanup_reraise,
    "except_exception": use_except_exception,
    "cancel_nested": use_cancel_nested,
    "cancel_gather": use_cancel_gather,
    "async_timeout": use_async_timeout_in_task,
}


async def main(form):
    result = await FORMS[form]()
    print(form, "ok", result, flush=True)


asyncio.run(main(sys.argv[1]))
