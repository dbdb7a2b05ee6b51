"""Fixed program for the text-format golden test (test_text_golden.py).

Deterministic on purpose: explicit task names, one finding per report point,
run under Debian's python3 only.  Changing it means regenerating
golden/golden_app.txt (ASYNCLEAK_REGEN_GOLDEN=1, see test_text_golden.py).
"""
import asyncio
import gc

KEEP = []


async def poll_forever():
    await asyncio.sleep(3600)


async def fail():
    raise ValueError("golden boom")


async def wait_on(fut):
    await fut


async def cleanup():
    await asyncio.sleep(3600)


async def worker():
    try:
        await asyncio.sleep(3600)
    finally:
        KEEP.append(asyncio.get_running_loop().create_task(cleanup(), name="late-cleanup"))


def start_poller():
    KEEP.append(asyncio.ensure_future(poll_forever()))


async def start():
    start_poller()
    await asyncio.sleep(0)


def manual_loop():
    loop = asyncio.new_event_loop()
    loop.run_until_complete(start())
    loop.close()


async def main():
    loop = asyncio.get_running_loop()
    KEEP.append(asyncio.create_task(worker(), name="worker"))
    failing = loop.create_task(fail(), name="failing")
    await asyncio.sleep(0)
    del failing
    gc.collect()
    doomed = loop.create_task(wait_on(loop.create_future()), name="doomed")
    await asyncio.sleep(0)
    del doomed
    gc.collect()


manual_loop()
asyncio.run(main())
print("golden done")
