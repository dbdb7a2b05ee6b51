"""Cause 2, fixed: the three programs of cause2_swallowed_cancel.py with the
cancellation honoured.

  1. the report query cleans up and re-raises; the dashboard bounds it with
     a timeout (asyncio.wait_for) instead of cancelling it by hand.
  2. the poller survives errors (except Exception), not cancellation; its
     owner cancels it and gathers it.
  3. the uploader retries on Exception only, so CancelledError goes through;
     service() awaits its upload before returning, so asyncio.run() has
     nothing left to cancel.

Under the tool it prints only its own output, on CPython 3.8 to 3.13:
    build/asyncleak run -- /usr/bin/python3 examples/cause2_fixed.py
"""
import asyncio


# ---- 1. clean up, then re-raise; bound the wait with a timeout ---------------

async def fetch_report():
    try:
        await asyncio.sleep(10)               # a slow query
    except asyncio.CancelledError:
        await asyncio.sleep(0)                # release the connection, ...
        raise                                 # ...and let the cancellation through
    return "full report"


async def dashboard():
    try:
        result = await asyncio.wait_for(fetch_report(), timeout=0.05)
    except asyncio.TimeoutError:
        result = None                         # the caller knows it got nothing
    print("dashboard got:", repr(result))


# ---- 2. survive errors, not cancellation -------------------------------------

class Poller:
    def __init__(self):
        self.polls = 0

    async def run(self):
        while True:
            try:
                await asyncio.sleep(0.02)     # poll something
                self.polls += 1
            except Exception as e:            # CancelledError is not an Exception (3.8+)
                print("poll failed:", e)


async def monitor():
    poller = Poller()
    task = asyncio.create_task(poller.run())
    await asyncio.sleep(0.03)
    task.cancel()                             # stop polling
    await asyncio.gather(task, return_exceptions=True)
    print("poller stopped after", poller.polls, "polls, cancelled:", task.cancelled())


# ---- 3. retry on Exception only; await the work before returning -------------

async def upload(batch):
    await asyncio.sleep(0.2)                  # the network call


async def uploader(batch):
    for attempt in range(1, 4):
        try:
            await upload(batch)
            print("uploaded", batch, "on attempt", attempt)
            return
        except Exception as e:                # CancelledError goes through
            print(f"upload attempt {attempt} failed ({type(e).__name__}), retrying")
            await asyncio.sleep(0.1)


async def service():
    upload_task = asyncio.create_task(uploader(["a", "b"]))
    await asyncio.sleep(0.1)
    await upload_task                         # finish the work before returning
    print("service done")


def run_by_hand(coro):
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(coro)
    finally:
        loop.close()


run_by_hand(dashboard())
run_by_hand(monitor())
asyncio.run(service())
