"""asyncio subprocess transports (asyncio.base_subprocess.BaseSubprocessTransport,
on Unix _UnixSubprocessTransport) around a real child: this same interpreter
running a one-line script.  argv[1] picks the scenario:

  communicate   asyncio.create_subprocess_exec + communicate(): asyncio's
                stream protocol closes the transport once the child has exited
                and its pipes are drained: no finding.
  wait          create_subprocess_exec with no pipes, then wait(): no finding.
  closed        loop.subprocess_exec with a protocol of ours; the program
                closes the transport after the child exited: no finding.
  kept          loop.subprocess_exec; the transport is kept referenced and
                never closed: open when asyncio.run() closes the loop
                (loop_close).
  dropped       loop.subprocess_exec; after the child exited the transport is
                dropped unclosed and collected while the loop runs (gc).
                Before 3.12 asyncio's child watcher is a thread whose frame
                and Thread object keep a reference to the transport until the
                thread ends, which can be after connection_lost has run (a
                race seen under load): the program joins that thread first.

Every scenario prints "child said: hello" ("hello" from the child itself for
wait) and "done", and exits 0.
"""
import asyncio
import gc
import subprocess
import sys
import threading

CHILD = [sys.executable, "-c", "print('hello')"]


class Collect(asyncio.SubprocessProtocol):
    """Gathers the child's stdout; `exited` resolves when the process has
    exited and its pipes are closed (connection_lost)."""

    def __init__(self):
        self.out = b""
        self.exited = asyncio.get_running_loop().create_future()

    def pipe_data_received(self, fd, data):
        self.out += data

    def connection_lost(self, exc):
        if not self.exited.done():
            self.exited.set_result(None)


async def communicate():
    proc = await asyncio.create_subprocess_exec(*CHILD, stdout=subprocess.PIPE)
    out, _ = await proc.communicate()
    print("child said:", out.decode().strip())


async def wait():
    proc = await asyncio.create_subprocess_exec(*CHILD)
    await proc.wait()


async def run_protocol(marker):
    loop = asyncio.get_running_loop()
    if marker == "kept":
        transport, proto = await loop.subprocess_exec(Collect, *CHILD, stdin=None, stderr=None)  # ORIGIN:kept
    else:
        transport, proto = await loop.subprocess_exec(Collect, *CHILD, stdin=None, stderr=None)  # ORIGIN:dropped
    await proto.exited
    print("child said:", proto.out.decode().strip())
    return transport


async def closed():
    transport = await run_protocol("closed")
    transport.close()


KEEP = []


async def kept():
    KEEP.append(await run_protocol("kept"))


def join_child_watcher_threads():
    """ThreadedChildWatcher names its threads "waitpid-N" (3.8) or
    "asyncio-waitpid-N"; the pidfd watcher (3.12+ default) has none."""
    for thread in threading.enumerate():
        if "waitpid-" in thread.name:
            thread.join()


async def dropped():
    await run_protocol("dropped")
    join_child_watcher_threads()
    gc.collect()
    await asyncio.sleep(0)


SCENARIOS = {"communicate": communicate, "wait": wait, "closed": closed, "kept": kept,
             "dropped": dropped}


if __name__ == "__main__":
    asyncio.run(SCENARIOS[sys.argv[1]]())
    print("done")
