"""Task names with control characters and text that is not UTF-8; the test
also runs a copy of this file under a name that is not UTF-8.  Both tasks
are pending when the loop closes."""
import asyncio

NAMES = ["a\x1b[31mb\n",               # ANSI escape and a newline
         "lone-\udcff-surrogate\u2028x"]  # not encodable as UTF-8; U+2028


async def forever():
    await asyncio.sleep(3600)


async def main():
    global KEEP
    KEEP = [asyncio.ensure_future(forever()) for _ in NAMES]  # ORIGIN:names
    for t, name in zip(KEEP, NAMES):
        t.set_name(name)
    await asyncio.sleep(0)


loop = asyncio.new_event_loop()
loop.run_until_complete(main())
loop.set_exception_handler(lambda loop, context: None)
loop.close()
print("done")
