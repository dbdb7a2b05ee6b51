"""Probe: what a program can see of the preload's method wrappers.

Run it without and with the preload and compare (wrapper_identity.sh does).
test_asyncio passes either way; these are differences it does not look at.
"""
import asyncio
import atexit
import copy
import pickle
import weakref
from asyncio import base_events, runners, streams

loop = asyncio.new_event_loop()
checks = [
    ("type(BaseEventLoop.call_exception_handler)", lambda: type(base_events.BaseEventLoop.call_exception_handler).__name__),
    ("type(Task.cancel)", lambda: type(asyncio.Task.cancel).__name__),
    ("type(StreamWriter.close)", lambda: type(streams.StreamWriter.close).__name__),
    ("weakref.WeakMethod(loop.call_exception_handler)", lambda: type(weakref.WeakMethod(loop.call_exception_handler)).__name__),
    ("weakref.ref(base_events.Server.close)", lambda: type(weakref.ref(base_events.Server.close)).__name__),
    ("copy.copy(BaseEventLoop.close)", lambda: copy.copy(base_events.BaseEventLoop.close) is base_events.BaseEventLoop.close),
    ("copy.deepcopy({'cb': StreamWriter.close})", lambda: type(copy.deepcopy({"cb": streams.StreamWriter.close})).__name__),
    ("pickle.dumps(runners._cancel_all_tasks)", lambda: pickle.loads(pickle.dumps(runners._cancel_all_tasks)) is runners._cancel_all_tasks),
    ("atexit._ncallbacks()", lambda: atexit._ncallbacks()),
]
for label, fn in checks:
    try:
        result = repr(fn())
    except Exception as e:
        result = "%s: %s" % (type(e).__name__, e)
    print("%-50s %s" % (label, result))
loop.close()
