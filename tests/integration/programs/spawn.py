"""Leaves tasks behind through one spawn path (argv[1]); asyncio.run() finds
them still running when main() returns (orphaned_task at runner_shutdown).

Prints "<path> EXACT" when the task is an exact instance of the class it was
created as, "<path> NOT-EXACT <type>" otherwise.
"""
import asyncio
import sys

KEEP = []   # strong references: the tasks are orphaned, not garbage-collected


async def forever():
    await asyncio.sleep(3600)


async def forever2():
    await asyncio.sleep(3600)


class PlainTask(asyncio.Task):
    pass


class InitTask(asyncio.Task):
    def __init__(self, coro, **kwargs):
        super().__init__(coro, **kwargs)  # ORIGIN:subclass_super_call
        self.tag = "init-task"


def factory(loop, coro, **kwargs):
    return asyncio.Task(coro, loop=loop, **kwargs)  # ORIGIN:factory_line


async def group_user():
    async with asyncio.TaskGroup() as tg:
        tg.create_task(forever(), name="leak-taskgroup")  # ORIGIN:taskgroup
        await asyncio.sleep(3600)


async def main(path):
    loop = asyncio.get_running_loop()
    expected = asyncio.Task
    if path == "loop_create_task":
        t = loop.create_task(forever(), name="leak-loop_create_task")  # ORIGIN:loop_create_task
    elif path == "create_task":
        t = asyncio.create_task(forever(), name="leak-create_task")  # ORIGIN:create_task
    elif path == "ensure_future":
        t = asyncio.ensure_future(forever())  # ORIGIN:ensure_future
    elif path == "gather":
        t = asyncio.gather(forever(), forever2())  # ORIGIN:gather
        expected = None
    elif path == "taskgroup":
        t = asyncio.create_task(group_user(), name="group-owner")  # ORIGIN:taskgroup_owner
    elif path == "task_direct":
        t = asyncio.Task(forever(), name="leak-task_direct")  # ORIGIN:task_direct
    elif path == "eager":
        loop.set_task_factory(asyncio.eager_task_factory)
        t = asyncio.create_task(forever(), name="leak-eager")  # ORIGIN:eager
        print("eager started", not t.done())
    elif path == "custom_factory":
        loop.set_task_factory(factory)
        t = loop.create_task(forever(), name="leak-custom_factory")  # ORIGIN:custom_factory
    elif path == "subclass_plain":
        t = PlainTask(forever(), name="leak-subclass_plain")  # ORIGIN:subclass_plain
        expected = PlainTask
    elif path == "subclass_super":
        t = InitTask(forever(), name="leak-subclass_super")  # ORIGIN:subclass_super
        expected = InitTask
    elif path == "uvloop":
        import uvloop
        assert isinstance(loop, uvloop.Loop), type(loop)
        t = asyncio.create_task(forever(), name="leak-uvloop")  # ORIGIN:uvloop
    else:
        raise SystemExit(f"unknown spawn path {path}")
    KEEP.append(t)
    for _ in range(3):
        await asyncio.sleep(0)
    if expected is None or type(t) is expected:
        print(path, "EXACT")
    else:
        print(path, "NOT-EXACT", type(t))


if __name__ == "__main__":
    if sys.argv[1] == "uvloop":
        import uvloop
        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    asyncio.run(main(sys.argv[1]))
    print("done")
