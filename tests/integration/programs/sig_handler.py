"""A program that handles SIGTERM itself, with work in flight (ORIGIN:worker).
argv[1] picks how the handler is installed, always after asyncio is
imported (so after the tool installed its own) unless the mode says "before":

  loop           loop.add_signal_handler(SIGTERM, stop.set); on SIGTERM it
                 prints "got SIGTERM", cancels its worker, prints "stopped"
                 and exits with status 3
  signal         signal.signal(SIGTERM, handler): the same, the handler wakes
                 the loop with call_soon_threadsafe
  signal_before  signal.signal(SIGTERM, handler) *before* asyncio is imported
  c_sigaction    libc sigaction(SIGTERM) through ctypes, with libc's _exit as
                 the handler: the process exits with status 15 (the signal
                 number _exit receives), printing nothing more
  c_signal       the same through libc signal()
  c_before       libc signal() with _exit *before* asyncio is imported

It prints "READY <pid>" once the handler is in place.
"""
import os
import signal
import sys

MODE = sys.argv[1]


def say(*args):
    print(*args, flush=True)


def libc_exit_handler():
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    return libc, ctypes.cast(libc._exit, ctypes.c_void_p).value


def c_signal():
    import ctypes
    libc, fn = libc_exit_handler()
    libc.signal.restype = ctypes.c_void_p
    libc.signal.argtypes = [ctypes.c_int, ctypes.c_void_p]
    if libc.signal(signal.SIGTERM, fn) == ctypes.c_void_p(-1).value:
        raise OSError(ctypes.get_errno(), "signal() failed")


def c_sigaction():
    import ctypes

    class SigAction(ctypes.Structure):          # glibc's struct sigaction on Linux
        _fields_ = [("sa_handler", ctypes.c_void_p),
                    ("sa_mask", ctypes.c_ulong * (1024 // (8 * ctypes.sizeof(ctypes.c_ulong)))),
                    ("sa_flags", ctypes.c_int),
                    ("sa_restorer", ctypes.c_void_p)]
    libc, fn = libc_exit_handler()
    act = SigAction()
    act.sa_handler = fn
    libc.sigaction.argtypes = [ctypes.c_int, ctypes.POINTER(SigAction), ctypes.POINTER(SigAction)]
    if libc.sigaction(signal.SIGTERM, ctypes.byref(act), None) != 0:
        raise OSError(ctypes.get_errno(), "sigaction() failed")


STOP = []


def on_sigterm(signum, frame):
    STOP[0].call_soon_threadsafe(STOP[1].set)


if MODE == "signal_before":
    signal.signal(signal.SIGTERM, on_sigterm)
elif MODE == "c_before":
    c_signal()

import asyncio  # noqa: E402  (after the "before" handlers, on purpose)


async def work():
    while True:
        await asyncio.sleep(3600)


async def main():
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    STOP[:] = [loop, stop]
    worker = asyncio.create_task(work(), name="worker")  # ORIGIN:worker
    if MODE == "loop":
        loop.add_signal_handler(signal.SIGTERM, stop.set)
    elif MODE == "signal":
        signal.signal(signal.SIGTERM, on_sigterm)
    elif MODE == "c_sigaction":
        c_sigaction()
    elif MODE == "c_signal":
        c_signal()
    await asyncio.sleep(0.01)
    say("READY", os.getpid())
    await stop.wait()
    say("got SIGTERM")
    worker.cancel()
    await asyncio.gather(worker, return_exceptions=True)
    say("stopped")


if __name__ == "__main__":
    asyncio.run(main())
    sys.exit(3)
