"""asyncio in a subinterpreter (_xxsubinterpreters 3.8-3.12, _interpreters
3.13): the subinterpreter leaves a task pending at its own loop close
("sub-leak"), the main interpreter one of its own ("main-leak").  The tool
must stay out of the subinterpreter (nothing reported about sub-leak, no
crash) and still track the main interpreter.

argv[1] says when the subinterpreter runs: "before" the main interpreter
imports asyncio, "during" its loop's life, or "after" its loop closed; with
"open" it runs during the main loop's life, leaves its own loop open and is
never destroyed: the process exits with it alive (the exit report point).
"""
import sys

try:
    import _interpreters as interpreters
except ImportError:
    import _xxsubinterpreters as interpreters

SUB = r'''
import asyncio
async def sub_forever():
    await asyncio.sleep(3600)
async def sub_main():
    global keep
    keep = asyncio.ensure_future(sub_forever())
    keep.set_name("sub-leak")
    await asyncio.sleep(0)
loop = asyncio.new_event_loop()
loop.set_exception_handler(lambda loop, context: None)
loop.run_until_complete(sub_main())
if CLOSE:
    loop.close()
print("sub done", flush=True)
'''


def run_sub(close=True):
    iid = interpreters.create()
    err = interpreters.run_string(iid, f"CLOSE = {close}\n" + SUB)
    if err is not None:
        print("sub error", err, flush=True)
    if close:
        interpreters.destroy(iid)


def main(when):
    if when == "before":
        run_sub()
    import asyncio

    async def forever():
        await asyncio.sleep(3600)

    async def amain():
        global keep
        keep = asyncio.ensure_future(forever())  # ORIGIN:main
        keep.set_name("main-leak")
        await asyncio.sleep(0)

    loop = asyncio.new_event_loop()
    loop.set_exception_handler(lambda loop, context: None)
    loop.run_until_complete(amain())
    if when == "during":
        run_sub()
    elif when == "open":
        run_sub(close=False)
    loop.close()
    if when == "after":
        run_sub()
    print("main done", flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
