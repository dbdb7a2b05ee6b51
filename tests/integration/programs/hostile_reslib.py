"""A resource kind for hostile_repr.py (resources= file line
"hostile_reslib:Conn open=__init__ close=close"): the tool must describe a
Conn without running its __repr__, __str__ or _loop property (they call
__main__.hostile(), which prints CALLED and blocks once armed)."""
import sys


def _hostile(what, block=True):
    sys.modules["__main__"].hostile(what, block)


class Conn:
    def __init__(self):
        self.open = True

    def close(self):
        self.open = False

    @property
    def _loop(self):
        _hostile("resource._loop", block=False)
        return None

    def __repr__(self):
        _hostile("resource.__repr__")
        return "<Conn>"

    def __str__(self):
        _hostile("resource.__str__", block=False)
        return "Conn"
