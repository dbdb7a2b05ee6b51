"""User-defined resource kinds, added with ASYNCLEAK_OPTIONS resources=FILE
(the test writes the file).  Two places a class can live:

  Channel          defined here, in the program itself (module __main__)
  res_userlib.Pool a class of a module the program imports (and its nested
                   class Pool.Lease, a dotted qualname)

argv[1] picks the scenario:

  main_leak     a Channel opened and never closed (kept: loop_close)
  main_closed   a Channel opened and closed: no finding
  lib_leak      a Pool never closed (kept: loop_close) and a Lease never
                released, dropped while the loop runs (gc)
  lib_closed    a Pool closed with shutdown(), another with terminate(), a
                Lease released: no finding
  lib_reopen    a Pool closed, then opened again with reopen() (a second open
                method) and left open: reported at reopen()'s line

Every scenario prints "channel/pool ready" lines and "done"; it exits with
argv[2] (default 0).
"""
import asyncio
import gc
import sys

import res_userlib

KEEP = []


class Channel:
    def __init__(self, name):
        self.name = name
        self._loop = None

    def connect(self):
        self._loop = asyncio.get_running_loop()
        print("channel ready:", self.name)
        return self

    def disconnect(self):
        self._loop = None


async def main_leak():
    KEEP.append(Channel("a").connect())  # ORIGIN:channel


async def main_closed():
    ch = Channel("b").connect()
    ch.disconnect()


async def lib_leak():
    pool = res_userlib.Pool(4)  # ORIGIN:pool
    print("pool ready:", pool.size)
    KEEP.append(pool)
    res_userlib.Pool.Lease(pool)  # ORIGIN:lease
    gc.collect()


async def lib_closed():
    a = res_userlib.Pool(1)
    b = res_userlib.Pool(2)
    lease = res_userlib.Pool.Lease(a)
    print("pool ready:", a.size, b.size)
    lease.release()
    a.shutdown()
    b.terminate()


async def lib_reopen():
    pool = res_userlib.Pool(3)
    print("pool ready:", pool.size)
    pool.shutdown()
    KEEP.append(pool.reopen())  # ORIGIN:reopen


SCENARIOS = {f.__name__: f for f in (main_leak, main_closed, lib_leak, lib_closed, lib_reopen)}


async def main(scenario):
    await SCENARIOS[scenario]()
    await asyncio.sleep(0)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
    print("done")
    sys.exit(int(sys.argv[2]) if len(sys.argv) > 2 else 0)
