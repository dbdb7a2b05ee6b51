"""A small user library imported by res_user.py: a connection-pool-like
class whose open and close methods a resources= spec names
(res_userlib:Pool open=__init__,reopen close=shutdown,terminate)."""
import asyncio


class Pool:
    def __init__(self, size):
        self._loop = asyncio.get_running_loop()
        self.size = size
        self.open = True

    def reopen(self):
        self.open = True
        return self

    def shutdown(self):
        self.open = False

    def terminate(self):
        self.open = False

    class Lease:
        """A nested class (dotted qualname Pool.Lease)."""

        def __init__(self, pool):
            self._loop = pool._loop
            self.pool = pool

        def release(self):
            self.pool = None
