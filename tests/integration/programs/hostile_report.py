"""A small leaky program for the report-path tests: one task still pending
when its loop closes (ORIGIN:leak), output on stdout and stderr of its own,
exit status 3.  Whatever happens to the tool's report files, this output and
this status must not change."""
import asyncio
import sys


async def forever():
    await asyncio.sleep(3600)


async def main():
    global t
    t = asyncio.ensure_future(forever())  # ORIGIN:leak
    await asyncio.sleep(0)
    print("program stdout line")
    print("program stderr line", file=sys.stderr)


loop = asyncio.new_event_loop()
loop.run_until_complete(main())
loop.set_exception_handler(lambda loop, context: None)
loop.close()
print("program done")
sys.exit(3)
