"""Exceptions the program raises while one of the tool's hooks is on the
stack.  Each case ends with an uncaught exception: the traceback on stderr
and the exit status must be exactly those of a run without the tool.

argv[1]:
  task_init_type     asyncio.Task(42): TypeError from the wrapped Task.__init__
  task_init_kwarg    asyncio.Task(coro, bogus=1): TypeError (unexpected keyword)
  task_init_loop     asyncio.Task(coro, loop=object()) outside a loop
  subclass_init      a Task subclass whose __init__ raises after super().__init__
  close_running      loop.close() inside the running loop: RuntimeError
  cancel_raises      a Task subclass whose cancel() raises, cancelled by the
                     program: ValueError out of asyncio.run()
  runner_cancel      the same task left for asyncio.run()'s cancel-all step
                     (a wrapped asyncio function) to cancel
  handler_raises     the loop's exception handler raises while asyncio
                     reports a destroyed pending task (the wrapped
                     call_exception_handler)
Before raising, each case prints a line on stdout.
"""
import asyncio
import gc
import sys


async def forever():
    await asyncio.sleep(3600)


class CancelRaises(asyncio.Task):
    def cancel(self, *args, **kwargs):
        super().cancel(*args, **kwargs)
        raise ValueError("cancel refused by the program")


class InitRaises(asyncio.Task):
    def __init__(self, coro, **kwargs):
        super().__init__(coro, **kwargs)
        raise LookupError("init refused by the program")


def task_init_type():
    asyncio.Task(42)


def task_init_kwarg():
    coro = forever()
    try:
        asyncio.Task(coro, bogus=1)
    finally:
        coro.close()


def task_init_loop():
    coro = forever()
    try:
        asyncio.Task(coro, loop=object())
    finally:
        coro.close()


async def subclass_init():
    InitRaises(forever())


async def close_running():
    asyncio.get_running_loop().close()


async def cancel_raises():
    t = CancelRaises(forever(), loop=asyncio.get_running_loop())
    await asyncio.sleep(0)
    t.cancel()


async def runner_cancel():
    global KEEP
    KEEP = CancelRaises(forever(), loop=asyncio.get_running_loop())
    await asyncio.sleep(0)


def handler_raises():
    def handler(loop, context):
        raise KeyError("handler refused by the program")
    loop = asyncio.new_event_loop()
    loop.set_exception_handler(handler)
    t = loop.create_task(forever())
    loop.run_until_complete(asyncio.sleep(0))
    loop.close()
    del t
    gc.collect()          # "Task was destroyed but it is pending!" -> handler raises
    raise SystemExit("after handler: " + str(sys.exc_info()[0]))


CASES = {
    "task_init_type": task_init_type,
    "task_init_kwarg": task_init_kwarg,
    "task_init_loop": task_init_loop,
    "subclass_init": subclass_init,
    "close_running": close_running,
    "cancel_raises": cancel_raises,
    "runner_cancel": runner_cancel,
    "handler_raises": handler_raises,
}


if __name__ == "__main__":
    case = sys.argv[1]
    print("case", case, flush=True)
    fn = CASES[case]
    if asyncio.iscoroutinefunction(fn):
        asyncio.run(fn())
    else:
        fn()
    print("not reached", flush=True)
