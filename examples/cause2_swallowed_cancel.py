"""Cause 2: swallowed cancellation.  A task catches CancelledError and goes on.

Three small programs in one file, each on its own event loop, each with one
of the forms seen in the field:

  1. a report query that catches CancelledError, passes, and returns a
     partial result: the caller that cancelled it gets a value instead of
     CancelledError.                                  -> swallowed_cancel
  2. a poller that "must never die": except CancelledError: continue.
     Its owner's cancel() is ignored; it stops only when its own loop
     condition says so.                               -> swallowed_cancel
  3. asyncio.run() and an uploader whose retry loop catches everything
     (except BaseException): the runner's cancel at shutdown becomes one
     more retry, and asyncio.run() waits for the whole upload.
                                                      -> orphaned_task,
                                                         swallowed_cancel,
                                                         and shutdown_hang
                                                         with watchdog=0.5

Run it under the tool:
    build/asyncleak run -- /usr/bin/python3 examples/cause2_swallowed_cancel.py
    build/asyncleak run --option watchdog=0.5 -- /usr/bin/python3 examples/cause2_swallowed_cancel.py
The fixed version is cause2_fixed.py.
"""
import asyncio


# ---- 1. except CancelledError: pass, then return ----------------------------

async def fetch_report():
    try:
        await asyncio.sleep(10)               # a slow query
    except asyncio.CancelledError:
        pass                                  # "nothing to clean up here"
    return "partial report"


async def dashboard():
    query = asyncio.create_task(fetch_report())
    await asyncio.sleep(0.05)
    query.cancel()                            # the user navigated away
    result = await query                      # no CancelledError: a result
    print("dashboard got:", repr(result), "(cancelled:", query.cancelled(), end=")\n")


# ---- 2. except CancelledError: continue, in a polling loop -------------------

class Poller:
    def __init__(self):
        self.polls = 0

    async def run(self):
        while self.polls < 5:
            try:
                await asyncio.sleep(0.02)     # poll something
                self.polls += 1
            except asyncio.CancelledError:
                continue                      # "the poller must never die"


async def monitor():
    poller = Poller()
    task = asyncio.create_task(poller.run())
    await asyncio.sleep(0.03)
    task.cancel()                             # stop polling: ignored
    await task
    print("poller stopped after", poller.polls, "polls, cancelled:", task.cancelled())


# ---- 3. asyncio.run() and a retry loop that catches everything ---------------

async def upload(batch):
    await asyncio.sleep(1.0)                  # the network call


async def uploader(batch):
    for attempt in range(1, 4):
        try:
            await upload(batch)
            print("uploaded", batch, "on attempt", attempt)
            return
        except BaseException as e:            # retry on *any* error...
            print(f"upload attempt {attempt} failed ({type(e).__name__}), retrying")
            await asyncio.sleep(0.1)          # ...back off, and go again
            continue


async def service():
    asyncio.create_task(uploader(["a", "b"]))
    await asyncio.sleep(0.1)
    print("service done")                     # asyncio.run() now cancels the uploader


def run_by_hand(coro):
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(coro)
    finally:
        loop.close()


run_by_hand(dashboard())
run_by_hand(monitor())
asyncio.run(service())
