"""The "perfect shutdown" template (Python 3.11+, aiohttp): asyncleak finds nothing.

The pattern from the field guide:
  - the aiohttp ClientSession's lifetime is an `async with` block, so it is
    closed on every path;
  - the background work runs in an asyncio.TaskGroup, which cancels and
    joins whatever is left when its block ends;
  - SIGINT and SIGTERM set a stop event (loop.add_signal_handler) instead of
    killing the process, so the shutdown path above actually runs;
  - the workers check the stop event and re-raise CancelledError after
    their cleanup.

Shutdown order: stop taking work (stop event), let the workers finish or
cancel them (TaskGroup), join them (TaskGroup), then close the session
(async with), then the rest.

To run without a network, the example starts a stand-in for the remote
service on 127.0.0.1 (an ephemeral port) and polls that.  It stops itself
with SIGTERM after SECONDS (default 1; 0 = run until Ctrl+C or SIGTERM):

    build/asyncleak run -- /usr/bin/python3 examples/shutdown_template.py [SECONDS]
"""
import asyncio
import os
import signal
import sys

if sys.version_info < (3, 11):
    sys.exit("shutdown_template.py needs Python 3.11+ (asyncio.TaskGroup)")

import aiohttp
from aiohttp import web


# ---- the application: copy from here -----------------------------------------

async def poller(stop: asyncio.Event, session: aiohttp.ClientSession, url: str):
    polls = 0
    try:
        while not stop.is_set():
            async with session.get(url) as r:
                await r.read()
            polls += 1
            try:
                # Sleep 0.1 s, or less if stop is set meanwhile.
                await asyncio.wait_for(stop.wait(), timeout=0.1)
            except TimeoutError:
                pass
    except asyncio.CancelledError:
        # cleanup that must happen even when cancelled goes here
        raise
    finally:
        print(f"poller: {polls} polls, stopping")


async def housekeeping(stop: asyncio.Event):
    try:
        while not stop.is_set():
            await asyncio.sleep(0.05)          # e.g. expire caches, flush metrics
    except asyncio.CancelledError:
        raise                                  # never swallow the cancellation


async def serve(url: str):
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()

    def on_signal():
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, on_signal)
        except NotImplementedError:            # Windows
            pass
    try:
        async with aiohttp.ClientSession() as session:
            async with asyncio.TaskGroup() as tg:
                tg.create_task(poller(stop, session, url), name="poller")
                tg.create_task(housekeeping(stop), name="housekeeping")
                await stop.wait()
                # Leaving the TaskGroup block joins the tasks (and cancels
                # them if one fails); the session closes after that.
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
    print("stopped cleanly")

# ---- to here -----------------------------------------------------------------


async def health(request):
    return web.Response(text="ok")


async def main(seconds: float):
    # Stand-in for the remote service, so the example needs no network.
    app = web.Application()
    app.router.add_get("/health", health)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        host, port = runner.addresses[0][:2]
        if seconds > 0:
            asyncio.get_running_loop().call_later(seconds, os.kill, os.getpid(), signal.SIGTERM)
        await serve(f"http://{host}:{port}/health")
    finally:
        await runner.cleanup()


if __name__ == "__main__":
    try:
        asyncio.run(main(float(sys.argv[1]) if len(sys.argv) > 1 else 1.0))
    except KeyboardInterrupt:
        pass
