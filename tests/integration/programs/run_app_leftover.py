"""aiohttp.web.run_app() with a background task started in on_startup.
argv[1]: 'leak' (the task is never stopped: run_app's shutdown cancels it)
or 'clean' (on_cleanup cancels and awaits it, as aiohttp's docs show).
The app stops itself with SIGTERM, which run_app handles (GracefulExit)."""
import asyncio
import contextlib
import os
import signal
import sys

from aiohttp import web


async def refresh_forever():
    while True:
        await asyncio.sleep(3600)


async def on_startup(app):
    app["refresh"] = asyncio.get_running_loop().create_task(refresh_forever())  # ORIGIN:refresh
    asyncio.get_running_loop().call_later(0.3, os.kill, os.getpid(), signal.SIGTERM)


async def on_cleanup(app):
    app["refresh"].cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await app["refresh"]


app = web.Application()
app.on_startup.append(on_startup)
if sys.argv[1] == "clean":
    app.on_cleanup.append(on_cleanup)
web.run_app(app, host="127.0.0.1", port=0, print=None)
print("stopped", flush=True)
