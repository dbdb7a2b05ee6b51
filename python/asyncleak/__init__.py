"""asyncleak's in-process API, disabled: the preload is not active.

When a program runs under the asyncleak preload (``asyncleak run`` or
``LD_PRELOAD=.../libasyncleak.so``), ``import asyncleak`` gets the module the
preloaded library provides, and this file is never executed.  Without the
preload, this pure-Python shim offers the same functions in a disabled state,
so code and test suites that call them keep working unchanged:

    enabled()            -> False
    findings()           -> []
    mark()               -> 0
    findings_since(mark) -> []
    snapshot()           -> {"tasks": [], "resources": []}
    check(mark=None, loop=None) -> None   (warns once: nothing is checked)
    report_text(mark)    -> ""

DISABLED_REASON says why.  Submodules (``asyncleak.pytest``, the pytest
plugin) live beside this file and are used in both cases.
"""
import warnings

__all__ = ["enabled", "findings", "mark", "findings_since", "snapshot", "check",
           "report_text", "DISABLED_REASON"]

DISABLED_REASON = ("asyncleak preload is not active: run under `asyncleak run` or "
                   "LD_PRELOAD=.../libasyncleak.so")

_warned = False


def _check_mark(mark):
    if not isinstance(mark, int):
        raise TypeError("mark must be an int returned by mark(), not %s" % type(mark).__name__)
    if mark < 0:
        raise ValueError("mark must be a value returned by mark()")


def enabled():
    """False: the asyncleak preload is not active in this process."""
    return False


def findings():
    """Every finding so far: none, the preload is not active."""
    return []


def mark():
    """A position in the findings (always 0 without the preload)."""
    return 0


def findings_since(mark):
    """The findings added since mark: none, the preload is not active."""
    _check_mark(mark)
    return []


def snapshot():
    """Pending tasks and open resources right now: unknown without the preload."""
    return {"tasks": [], "resources": []}


def check(mark=None, loop=None):
    """check(mark=None, loop=None): would raise AssertionError when something
    leaked since mark; without the preload nothing is checked, and the first
    call warns (RuntimeWarning) saying so."""
    global _warned
    if mark is not None:
        _check_mark(mark)
    if not _warned:
        _warned = True
        warnings.warn("asyncleak.check() checks nothing: " + DISABLED_REASON,
                      RuntimeWarning, stacklevel=2)
    return None


def report_text(mark):
    """The text report of the findings since mark: empty without the preload."""
    _check_mark(mark)
    return ""
