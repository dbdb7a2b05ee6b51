"""asyncleak.pytest - a pytest plugin that fails tests leaking asyncio work.

    LD_PRELOAD=/path/to/libasyncleak.so python3 -m pytest -p asyncleak.pytest
    asyncleak run -- pytest            (enables the plugin by itself)

Under the asyncleak preload, every test is checked: the plugin takes a mark
of the findings before the test's setup and, once its teardown is over (the
loop of a pytest-asyncio test closed, cyclic garbage collected), the findings
made since then -- pending tasks at loop close, tasks orphaned by
asyncio.run(), tasks destroyed pending, unclosed sessions, ... -- belong to
that test, minus the ones its ``asyncleak_allow`` markers allow.

Options (command line, or the ini option of the same name):

  --asyncleak=fail   (default) the test's teardown report fails with the
                     text report of its leaks (the call result stays as it was)
  --asyncleak=warn   the leaks become an "asyncleak" report section and a
                     pytest warning (AsyncleakWarning); the test passes
  --asyncleak=off    nothing is checked

  ini asyncleak_gc = true|false   (default true) run gc.collect() once a
                     test's teardown is over, so tasks and sessions that only
                     garbage holds are reported for the test that dropped them

Marker:

  @pytest.mark.asyncleak_allow(kind=None, match=None)
      allows the findings of the given kind (a string or a list of strings)
      and/or whose text rendering, or one of whose origin frames written
      "file:line function", matches the regular expression ``match``
      (re.search).  Several markers add up; a marker without arguments
      allows everything.

The session summary lists the leaking tests, biggest first, with counts per
kind; under pytest-xdist each worker checks its own tests and the counts
travel to the controller with the reports.

Without the preload (``import asyncleak`` then gives the disabled pure-Python
shim), the plugin prints one header line saying so and does nothing else.
"""
import gc
import json
import re

import pytest

import asyncleak as _api

MODES = ("fail", "warn", "off")
DISABLED_HEADER = "asyncleak: preload not active, leak checks disabled"
MARKER = "asyncleak_allow"
_REPORT_ATTR = "asyncleak"          # on teardown reports: {"total", "kinds", "mode", "allowed"}
_END_OF_FINDING = re.compile(r"^==[^=\s]*==$")


class AsyncleakWarning(pytest.PytestWarning):
    """A test leaked asyncio tasks or resources (--asyncleak=warn)."""

    __module__ = "asyncleak.pytest"


class _State:
    def __init__(self, mode, active, collect):
        self.mode = mode
        self.active = active
        self.collect = collect

    @property
    def checking(self):
        return self.active and self.mode != "off"


def _preload_active():
    try:
        return bool(_api.enabled())
    except Exception:
        return False


def pytest_addoption(parser):
    group = parser.getgroup("asyncleak", "asyncleak: leaked asyncio tasks and resources")
    group.addoption(
        "--asyncleak", action="store", dest="asyncleak", default=None, choices=MODES,
        help="what a test that leaks asyncio tasks or resources does: fail (default: its "
             "teardown fails with the report), warn (a warning and a report section) or off")
    parser.addini("asyncleak", default="fail",
                  help="asyncleak mode: fail, warn or off (--asyncleak overrides it)")
    parser.addini("asyncleak_gc", type="bool", default=True,
                  help="asyncleak: collect garbage after each test's teardown so leaks that "
                       "only garbage holds are reported for that test (default true)")


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        MARKER + "(kind=None, match=None): asyncleak allows the findings of this test of the "
        "given kind(s) and/or whose text or origin frame ('file:line function') matches the "
        "regular expression match")
    mode = config.getoption("asyncleak", None) or (config.getini("asyncleak") or "fail").strip()
    if mode not in MODES:
        raise pytest.UsageError("asyncleak: ini option asyncleak = %r: expected one of %s"
                                % (mode, ", ".join(MODES)))
    config._asyncleak = _State(mode, _preload_active(), bool(config.getini("asyncleak_gc")))


def _state(config):
    return getattr(config, "_asyncleak", None)


def pytest_report_header(config):
    st = _state(config)
    if st is None:
        return None
    if not st.active:
        return DISABLED_HEADER
    if st.mode == "off":
        return "asyncleak: leak checks off (--asyncleak=off)"
    return "asyncleak: checking each test for leaked asyncio tasks and resources (mode %s)" % st.mode


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    st = _state(item.config)
    if st is None or not st.checking:
        return
    # Also makes asyncleak.check() without a mark, inside the test, check
    # since the start of the test.
    item._asyncleak_mark = _api.mark()
    item._asyncleak_allows = []
    # A malformed marker makes this test's setup fail, not the session.
    item._asyncleak_allows = [_Allow(m) for m in item.iter_markers(name=MARKER)]


# ---- allowing findings --------------------------------------------------------

def _stacks(finding):
    """Every origin in a finding: its own and those of the tasks/resources it lists."""
    out = []
    if isinstance(finding.get("origin"), dict):
        out.append(finding["origin"])
    for key in ("tasks", "resources"):
        for entry in finding.get(key) or ():
            if isinstance(entry, dict) and isinstance(entry.get("origin"), dict):
                out.append(entry["origin"])
    return out


def _frame_strings(finding):
    for stack in _stacks(finding):
        for fr in stack.get("frames") or ():
            yield "%s:%s %s" % (fr.get("file"), fr.get("line"), fr.get("function"))


class _Allow:
    def __init__(self, mark):
        kind = mark.kwargs.get("kind", mark.args[0] if len(mark.args) > 0 else None)
        match = mark.kwargs.get("match", mark.args[1] if len(mark.args) > 1 else None)
        unknown = set(mark.kwargs) - {"kind", "match"}
        if unknown or len(mark.args) > 2:
            raise TypeError("%s(kind=None, match=None): unexpected arguments %s"
                                    % (MARKER, sorted(unknown) or mark.args[2:]))
        if isinstance(kind, str):
            kind = (kind,)
        self.kinds = None if kind is None else frozenset(kind)
        try:
            self.match = None if match is None else re.compile(match)
        except re.error as e:
            raise ValueError("%s(match=%r): bad regular expression: %s" % (MARKER, match, e))

    def allows(self, finding, text):
        if self.kinds is not None and finding.get("kind") not in self.kinds:
            return False
        if self.match is None:
            return True
        if self.match.search(text):
            return True
        return any(self.match.search(s) for s in _frame_strings(finding))


def _split_rendering(text, count):
    """The text report cut into one block per finding (each ends with a
    line '==asyncleak=='), or None when it does not cut into count blocks."""
    blocks, cur = [], []
    for line in text.splitlines(True):
        cur.append(line)
        if _END_OF_FINDING.match(line.rstrip("\n")):
            blocks.append("".join(cur))
            cur = []
    if len(blocks) < count:
        return None
    return blocks[:count]     # findings made after findings_since() come last


def _count_kinds(findings):
    kinds = {}
    for f in findings:
        k = f.get("kind", "?")
        kinds[k] = kinds.get(k, 0) + 1
    return kinds


def _describe(kinds):
    return ", ".join("%d %s" % (n, k) for k, n in sorted(kinds.items(), key=lambda kv: (-kv[1], kv[0])))


def _leak_text(leaks, kinds, allowed):
    """'asyncleak: leaked 2 unclosed_resource, 1 pending_task', then the text
    report of each finding."""
    head = "asyncleak: leaked " + _describe(kinds)
    if allowed:
        head += " (and %d allowed by %s)" % (allowed, MARKER)
    return head + "\n" + "".join(text for _, text in leaks)


def _longrepr(item, text):
    """A failure representation whose one-line message is the first line of
    text (shown by -r summaries), serializable for pytest-xdist."""
    try:
        pytest.fail(text, pytrace=False)
    except pytest.fail.Exception:
        excinfo = pytest.ExceptionInfo.from_current()
    try:
        longrepr = item._repr_failure_py(excinfo, style="value")
    except Exception:
        return text
    # The "value" style has no crash location, so -r summaries would show no
    # message: give it one, in the chain too (that is what xdist transfers).
    try:
        from _pytest._code.code import ReprFileLocation
        path, lineno = item.location[0], (item.location[1] or 0) + 1
        crash = ReprFileLocation(path=str(path), lineno=lineno, message=text.split("\n", 1)[0])
        chain = getattr(longrepr, "chain", None)
        if chain:
            tb, _, descr = chain[-1]
            chain[-1] = (tb, crash, descr)
        longrepr.reprcrash = crash
    except Exception:
        pass
    return longrepr


def _check_item(item, rep, st, mark, allows):
    if st.collect:
        gc.collect()
    found = _api.findings_since(mark)
    if not found:
        return
    blocks = _split_rendering(_api.report_text(mark), len(found))
    leaks, allowed = [], 0
    for i, f in enumerate(found):
        text = blocks[i] if blocks is not None else json.dumps(f, indent=1) + "\n"
        if any(a.allows(f, text) for a in allows):
            allowed += 1
        else:
            leaks.append((f, text))
    if not leaks:
        return
    kinds = _count_kinds(f for f, _ in leaks)
    setattr(rep, _REPORT_ATTR, {"total": len(leaks), "kinds": kinds, "mode": st.mode,
                                "allowed": allowed})
    text = _leak_text(leaks, kinds, allowed)
    if st.mode == "fail":
        if rep.failed:
            # The teardown failed by itself: keep its error, add the leaks.
            rep.sections.append(("asyncleak", text))
        else:
            rep.outcome = "failed"
            rep.longrepr = _longrepr(item, text)
    else:
        rep.sections.append(("asyncleak", text))
        try:
            item.warn(AsyncleakWarning(text))
        except Warning:
            # Warnings are errors here (-W error, filterwarnings): fail instead.
            if not rep.failed:
                rep.outcome = "failed"
                rep.longrepr = _longrepr(item, text)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    if call.when != "teardown":
        return
    st = _state(item.config)
    mark = getattr(item, "_asyncleak_mark", None)
    if st is None or not st.checking or mark is None:
        return
    allows = getattr(item, "_asyncleak_allows", [])
    del item._asyncleak_mark
    try:
        _check_item(item, outcome.get_result(), st, mark, allows)
    except Exception as e:  # never break the session
        rep = outcome.get_result()
        rep.sections.append(("asyncleak", "asyncleak: could not check this test: %s: %s"
                                          % (type(e).__name__, e)))


# ---- the session summary ------------------------------------------------------

def pytest_terminal_summary(terminalreporter, exitstatus, config):
    st = _state(config)
    if st is None or not st.active or st.mode == "off":
        return
    leaking = {}
    for reports in terminalreporter.stats.values():
        for rep in reports:
            info = getattr(rep, _REPORT_ATTR, None)
            if getattr(rep, "when", None) != "teardown" or not isinstance(info, dict):
                continue
            leaking[rep.nodeid] = info
    if not leaking:
        return
    total = sum(i.get("total", 0) for i in leaking.values())
    tr = terminalreporter
    tr.write_sep("=", "asyncleak: %d test%s leaked %d finding%s" % (
        len(leaking), "" if len(leaking) == 1 else "s", total, "" if total == 1 else "s"),
        red=st.mode == "fail", yellow=st.mode != "fail")
    for nodeid, info in sorted(leaking.items(), key=lambda kv: (-kv[1].get("total", 0), kv[0])):
        try:
            where = config.cwd_relative_nodeid(nodeid)
        except Exception:
            where = nodeid
        tr.write_line("%s: %d (%s)" % (where, info.get("total", 0), _describe(info.get("kinds") or {})))
