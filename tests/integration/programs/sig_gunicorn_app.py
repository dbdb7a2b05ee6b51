"""An aiohttp application for gunicorn's aiohttp worker
(gunicorn --worker-class aiohttp.GunicornWebWorker sig_gunicorn_app:app).
Each request starts an audit task that is never awaited and waits forever
(ORIGIN:gunicorn_leak); the response is "ok <worker pid>"."""
import asyncio
import os

from aiohttp import web

LEAKED = set()


async def audit(path):
    await asyncio.Event().wait()


async def handle(request):
    LEAKED.add(asyncio.create_task(audit(request.path)))  # ORIGIN:gunicorn_leak
    return web.Response(text=f"ok {os.getpid()}")


app = web.Application()
app.router.add_get("/{tail:.*}", handle)
