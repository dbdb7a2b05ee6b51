"""Objects that fight back when described: every finding below is about an
object whose own Python methods raise or block (time.sleep(100)) when asked
to describe it.  The tool must describe them from C state only: no hang, no
exception escaping into the program, and the program's output unchanged.

argv[1] picks the case:
  task_subclass  a Task subclass whose get_name raises, get_coro and
                 __repr__ block, __str__ raises
  coro_object    a Coroutine-ABC object (not a builtin coroutine) whose
                 __repr__ blocks and __str__ raises, run by a plain Task
  coro_metaclass the same, its class's metaclass blocks on any attribute
                 lookup of __qualname__/__name__/__module__ after start-up
  exception      a task fails with an exception whose __str__/__repr__
                 block and whose args raise; nobody retrieves it (gc finding)
  resource       a resource kind (hostile_reslib.Conn, resources= file)
                 whose __repr__ blocks and whose _loop property raises

Every case prints "CALLED <what>" when one of the hostile methods ran and
"done" at the end; the program never calls them itself.  The loop gets a
no-op exception handler so asyncio's own logging (which would call repr())
does not run program code either.
"""
import asyncio
import collections.abc
import gc
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hostile_reslib  # noqa: E402  (a resource kind: see that file)

ARMED = False          # hostile methods misbehave only after set-up


def hostile(what, block=True):
    if ARMED:
        print("CALLED", what, flush=True)
        if block:
            time.sleep(100)
        raise RuntimeError(f"hostile {what}")


class BadTask(asyncio.Task):
    def get_name(self):
        hostile("get_name", block=False)
        return super().get_name()

    def get_coro(self):
        hostile("get_coro")
        return super().get_coro()

    def __repr__(self):
        hostile("Task.__repr__")
        return "<BadTask>"

    def __str__(self):
        hostile("Task.__str__", block=False)
        return "BadTask"


class BlockingMeta(type):
    def __getattribute__(cls, name):
        if name in ("__qualname__", "__name__", "__module__", "__repr__"):
            hostile(f"metaclass.__getattribute__({name})")
        return super().__getattribute__(name)


class AwaitForever(collections.abc.Coroutine):
    """A coroutine implemented in Python: Task accepts it (Coroutine ABC)."""

    def __init__(self, fut):
        self.fut = fut

    def send(self, value):
        if self.fut.done():
            raise StopIteration(value)
        self.fut._asyncio_future_blocking = True
        return self.fut      # yield the future: the task waits on it

    def throw(self, typ, val=None, tb=None):
        raise typ if val is None else val

    def close(self):
        pass

    def __await__(self):
        return self

    def __iter__(self):
        return self

    def __next__(self):
        return self.send(None)

    def __repr__(self):
        hostile("coro.__repr__")
        return "<AwaitForever>"

    def __str__(self):
        hostile("coro.__str__", block=False)
        return "AwaitForever"


class MetaAwaitForever(AwaitForever, metaclass=type("M", (BlockingMeta, type(collections.abc.Coroutine)), {})):
    pass


class BadError(Exception):
    def __str__(self):
        hostile("exception.__str__")
        return "bad"

    def __repr__(self):
        hostile("exception.__repr__")
        return "BadError()"

    @property
    def args(self):
        hostile("exception.args", block=False)
        return ("bad",)


async def forever():
    await asyncio.sleep(3600)


async def fail():
    raise BadError()


KEEP = []


async def main(case):
    global ARMED
    loop = asyncio.get_running_loop()
    fut = loop.create_future()
    ARMED = True
    if case == "task_subclass":
        KEEP.append(BadTask(forever(), name="bad-task"))  # ORIGIN:task_subclass
    elif case == "coro_object":
        KEEP.append(asyncio.ensure_future(AwaitForever(fut)))  # ORIGIN:coro_object
    elif case == "coro_metaclass":
        KEEP.append(loop.create_task(MetaAwaitForever(fut)))  # ORIGIN:coro_metaclass
    elif case == "exception":
        KEEP.append(asyncio.ensure_future(fail()))  # ORIGIN:exception
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        KEEP.clear()       # failed, never retrieved, collected: gc finding
        gc.collect()
    elif case == "resource":
        KEEP.append(hostile_reslib.Conn())  # ORIGIN:resource
    else:
        raise SystemExit(f"unknown case {case}")
    await asyncio.sleep(0)
    await asyncio.sleep(0)


def run(case):
    loop = asyncio.new_event_loop()
    loop.set_exception_handler(lambda loop, context: None)
    loop.run_until_complete(main(case))
    loop.close()
    print("closed", flush=True)
    gc.collect()
    if case == "resource":
        KEEP.clear()       # the resource dies unclosed: reported at gc
        gc.collect()
    print("done", flush=True)
    # At exit nothing hostile may run either: the tasks in KEEP are still
    # pending and the exception handler is a no-op.


if __name__ == "__main__":
    run(sys.argv[1])
