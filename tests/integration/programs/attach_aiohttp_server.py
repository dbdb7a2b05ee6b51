"""An aiohttp server with a leaking handler, started WITHOUT the preload,
for `asyncleak attach` under load (Debian's python3: the one with aiohttp).

    attach_aiohttp_server.py PORT_FILE TRIGGER_FILE

Listens on 127.0.0.1 (an ephemeral port, written to PORT_FILE), and every
request to /n/<i> starts a fire-and-forget task that is never awaited
("# ORIGIN:handler_leak") and answers "ok <i>".  When TRIGGER_FILE exists it
cleans up the runner and returns from main(): asyncio.run() cancels the
leaked tasks.  It prints how many requests it answered; exit status 0 (7
if a handler failed).
"""
import asyncio
import os
import sys

from aiohttp import web

PORT_FILE, TRIGGER = sys.argv[1], sys.argv[2]
answered = 0
failed = 0


async def audit_later(i):
    await asyncio.sleep(3600)
    print("audited", i)


async def handle(request):
    global answered, failed
    try:
        i = int(request.match_info["i"])
        asyncio.get_running_loop().create_task(audit_later(i))  # ORIGIN:handler_leak
    except Exception:
        failed += 1
        raise
    answered += 1
    return web.Response(text=f"ok {i}")


async def main():
    app = web.Application()
    app.router.add_get("/n/{i}", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    with open(PORT_FILE + ".tmp", "w") as f:
        f.write(str(port))
    os.rename(PORT_FILE + ".tmp", PORT_FILE)
    print("serving", flush=True)
    while not os.path.exists(TRIGGER):
        await asyncio.sleep(0.02)
    await runner.cleanup()
    print("answered", answered, "requests", flush=True)
    return 7 if failed else 0


sys.exit(asyncio.run(main()))
