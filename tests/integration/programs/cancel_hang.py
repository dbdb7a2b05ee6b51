"""shutdown_hang: asyncio.run()'s cancel-all step waiting on a task that does
not finish.  argv[1] picks the scenario; every scenario ends with its normal
output ("finished FORM") and exit status 3.

  swallow      a task swallows the runner's cancel and keeps running ~1.5 s
               (awaiting): shutdown_hang (watchdog=0.5) + swallowed_cancel
  quick        several tasks that clean up quickly when cancelled, two
               asyncio.run() calls, then the process lives on for 0.6 s:
               never a shutdown_hang, even with watchdog=0.2
  slow_cleanup a task whose cleanup takes ~1 s and then re-raises: a real
               shutdown_hang, but the cancellation is honoured
  thread       the swallow scenario in asyncio.run() on a second thread
  spin         the task swallows the cancel, then spins in Python for ~1.5 s
               without awaiting; it watches its own JSON report and prints
               "seen while spinning" when shutdown_hang appears there
  uv_policy    swallow, with uvloop.EventLoopPolicy() and asyncio.run()
  uv_install   swallow, with uvloop.install() and asyncio.run()
  uv_runner    swallow, with asyncio.Runner(loop_factory=uvloop.new_event_loop) (3.11+)
  uv_run       swallow, with uvloop.run() (uvloop 0.18+)
"""
import asyncio
import json
import os
import sys
import threading
import time

KEEP = []
HANG = 1.5


def report_path():
    """This process's JSON report, from ASYNCLEAK_OPTIONS json_path."""
    for item in os.environ.get("ASYNCLEAK_OPTIONS", "").split(":"):
        if item.startswith("json_path="):
            return item[len("json_path="):].replace("%p", str(os.getpid()))
    return None


def report_has(kind):
    path = report_path()
    try:
        with open(path) as fh:
            return any(f.get("kind") == kind for f in json.load(fh)["findings"])
    except (OSError, ValueError, TypeError):
        return False


async def stubborn():
    try:
        await asyncio.sleep(3600)
    except asyncio.CancelledError:
        print("stubborn: ignoring cancel", flush=True)
    await asyncio.sleep(HANG)  # ORIGIN:stubborn_wait
    print("stubborn: done", flush=True)


async def spinner():
    try:
        await asyncio.sleep(3600)
    except asyncio.CancelledError:
        print("spinner: ignoring cancel", flush=True)
    seen = None
    start = time.monotonic()
    n = 0
    while time.monotonic() - start < HANG:  # ORIGIN:spin
        n += 1
        if seen is None and n % 1000 == 0 and report_has("shutdown_hang"):
            seen = time.monotonic() - start
    if seen is not None:
        print(f"spinner: seen while spinning after {seen:.2f} s", flush=True)
    else:
        print("spinner: NOT seen while spinning", flush=True)


async def slow_cleanup():
    try:
        await asyncio.sleep(3600)
    except asyncio.CancelledError:
        await asyncio.sleep(1.0)       # slow but honest cleanup
        print("slow_cleanup: re-raising", flush=True)
        raise


async def quick(i):
    try:
        await asyncio.sleep(3600)
    except asyncio.CancelledError:
        await asyncio.sleep(0.01)
        raise


async def main_swallow():
    print("loop:", type(asyncio.get_running_loop()).__module__, flush=True)
    KEEP.append(asyncio.create_task(stubborn(), name="stubborn"))  # ORIGIN:spawn
    await asyncio.sleep(0.02)


async def main_spin():
    KEEP.append(asyncio.create_task(spinner(), name="spinner"))  # ORIGIN:spawn_spin
    await asyncio.sleep(0.02)


async def main_slow_cleanup():
    KEEP.append(asyncio.create_task(slow_cleanup(), name="slow-cleanup"))  # ORIGIN:spawn_slow
    await asyncio.sleep(0.02)


async def main_quick():
    for i in range(5):
        KEEP.append(asyncio.create_task(quick(i), name=f"quick-{i}"))
    await asyncio.sleep(0.02)


def thread_main():
    asyncio.run(main_swallow())  # ORIGIN:run_thread


form = sys.argv[1]
if form == "swallow":
    asyncio.run(main_swallow())  # ORIGIN:run_swallow
elif form == "spin":
    asyncio.run(main_spin())  # ORIGIN:run_spin
elif form == "slow_cleanup":
    asyncio.run(main_slow_cleanup())  # ORIGIN:run_slow_cleanup
elif form == "quick":
    asyncio.run(main_quick())
    asyncio.run(main_quick())
    time.sleep(0.6)                    # a watchdog must not fire after the phase ended
elif form == "thread":
    th = threading.Thread(target=thread_main, name="loop-thread")
    th.start()
    th.join()
elif form == "uv_policy":
    import uvloop
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    asyncio.run(main_swallow())  # ORIGIN:run_uv_policy
elif form == "uv_install":
    import uvloop
    uvloop.install()
    asyncio.run(main_swallow())  # ORIGIN:run_uv_install
elif form == "uv_runner":
    import uvloop
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:  # ORIGIN:run_uv_runner
        runner.run(main_swallow())
elif form == "uv_run":
    import uvloop
    uvloop.run(main_swallow())  # ORIGIN:run_uv_run
else:
    sys.exit(f"unknown form {form}")
print("finished", form, flush=True)
sys.exit(3)
