"""A target whose main thread runs C code that keeps values in ymm16-ymm19
(attach_vector_spin.c, built into a shared library by the test), the
registers glibc's AVX-512 memcpy/memset/strlen also use.  `asyncleak attach`
stops the thread wherever it is; a call made by gdb from there must give
back every register as it was.

    attach_vector_spin.py LIBRARY TRIGGER_FILE

Imports asyncio (so the attach has something to hook), prints "ready",
spins in the C loop (the GIL released: ctypes.CDLL) until TRIGGER_FILE
exists, prints "corrupted registers: N" and exits 0."""
import asyncio  # noqa: F401 - imported for the attach to hook
import ctypes
import os
import sys
import threading
import time

LIBRARY, TRIGGER = sys.argv[1], sys.argv[2]

spin = ctypes.CDLL(LIBRARY).spin
spin.argtypes = [ctypes.POINTER(ctypes.c_int)]
spin.restype = ctypes.c_long
stop = ctypes.c_int(0)


def watch_trigger():
    while not os.path.exists(TRIGGER):
        time.sleep(0.02)
    stop.value = 1


threading.Thread(target=watch_trigger, daemon=True).start()
print("ready", flush=True)
print("corrupted registers:", spin(ctypes.byref(stop)), flush=True)
