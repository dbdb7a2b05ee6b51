"""A small service with three leaks, for `make demo`: run it under asyncleak
and every leftover task is named with the line that created it."""
import asyncio


async def heartbeat():
    while True:
        await asyncio.sleep(1)


async def stubborn_worker():
    while True:
        try:
            await asyncio.sleep(1)
        except asyncio.CancelledError:
            continue          # swallows cancellation: shutdown would hang on it


async def handle(request_id):
    await asyncio.sleep(0.01)
    asyncio.create_task(audit_log(request_id))   # fire-and-forget: never awaited


async def audit_log(request_id):
    await asyncio.sleep(5)


async def main():
    asyncio.create_task(heartbeat())             # never cancelled, never awaited
    worker = asyncio.create_task(stubborn_worker())
    await asyncio.gather(*(handle(i) for i in range(3)))
    worker.cancel()
    await asyncio.sleep(0.05)


loop = asyncio.new_event_loop()
loop.run_until_complete(main())
loop.close()
