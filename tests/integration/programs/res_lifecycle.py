"""How the tool sees resources freed, with the classes of res_lifecyclelib.
argv[1] picks the scenario:

  slotted   Slotted objects (no weak reference support): one freed by
            reference counting (gc), one in a reference cycle freed by the
            collector (gc), one of a subclass (gc), one closed (nothing), one
            kept open until asyncio.run() closes the loop (loop_close).
  chatty    Chatty objects, whose __del__ reports through the exception
            handler: one freed by reference counting, one in a cycle (both
            gc, both carrying the message), one closed (nothing).

Prints "done" and exits 0; asyncio's default handler prints the messages of
Chatty on stderr, as without the tool.
"""
import asyncio
import gc
import sys

import res_lifecyclelib as lib

KEEP = []


async def slotted():
    a = lib.Slotted()  # ORIGIN:slotted_refcount
    del a
    b = lib.Slotted()  # ORIGIN:slotted_cycle
    b.cycle = b
    del b
    gc.collect()
    c = lib.SlottedChild()  # ORIGIN:slotted_child
    del c
    d = lib.Slotted()
    d.close()
    del d
    KEEP.append(lib.Slotted())  # ORIGIN:slotted_kept


async def chatty():
    a = lib.Chatty()  # ORIGIN:chatty_refcount
    del a
    b = lib.Chatty()  # ORIGIN:chatty_cycle
    b.cycle = b
    del b
    gc.collect()
    c = lib.Chatty()
    c.close()
    del c
    gc.collect()


if __name__ == "__main__":
    asyncio.run({"slotted": slotted, "chatty": chatty}[sys.argv[1]]())
    print("done")
