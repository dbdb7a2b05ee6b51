"""Resource classes for res_lifecycle.py, named in a resources= spec
(res_lifecyclelib:Slotted close=close, res_lifecyclelib:Chatty close=close):

  Slotted  __slots__ without __weakref__, no __del__: takes no weak
           reference, like asyncpg's Pool; its loop lives in a slot.
  Chatty   has a __del__ that, when still open, tells the loop's exception
           handler "Unclosed chatty client" with the object under "client",
           as aiohttp and redis-py do.
"""
import asyncio


class Slotted:
    __slots__ = ("_loop", "cycle")

    def __init__(self):
        self._loop = asyncio.get_running_loop()
        self.cycle = None

    def close(self):
        pass


class SlottedChild(Slotted):
    __slots__ = ()


class Chatty:
    def __init__(self):
        self._loop = asyncio.get_running_loop()
        self.closed = False
        self.cycle = None

    def close(self):
        self.closed = True

    def __del__(self):
        if not self.closed:
            self._loop.call_exception_handler({"message": "Unclosed chatty client", "client": self})
