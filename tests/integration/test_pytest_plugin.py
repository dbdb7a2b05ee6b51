"""test_pytest_plugin.py - the in-process API (module asyncleak) and the pytest
plugin (asyncleak.pytest).

The API: under the preload, `import asyncleak` gives the library's module
(mark, findings_since, check, snapshot, report_text, ...) on every
interpreter; without it, PYTHONPATH=ROOT/python gives the disabled
pure-Python shim.

The plugin: sample_suite/ (leaking and clean tests, copied to the test's own
tmp dir) runs in a subprocess, `python3 -m pytest -p asyncleak.pytest`, with
the preload and PYTHONPATH=ROOT/python.  A small recorder plugin (written
next to the copy) logs every report and warning the run's main process sees,
so the checks below know EXACTLY which tests fail, in which phase, and why:
the failure text must name the kind and the test line that created the
leaked object (its "# ORIGIN:name" marker).  pytest, pytest-asyncio and
aiohttp exist only for Debian's python3; other interpreters SKIP with a
message saying so.
"""
import json
import os
import re
import shutil
from pathlib import Path

import pytest

from conftest import (ASYNCLEAK, LIB, ROOT, assert_origin, clean_env, marker_line, need_module,
                      preload_env, run_cmd, run_source)

PYDIR = ROOT / "python"
SHIM = PYDIR / "asyncleak" / "__init__.py"
PLUGIN = PYDIR / "asyncleak" / "pytest.py"
SAMPLE = Path(__file__).resolve().parent / "sample_suite"
SUITE_TIMEOUT = 180
DISABLED_HEADER = "asyncleak: preload not active, leak checks disabled"

# The tests of sample_suite that must fail (their teardown report), with the
# kinds they leak and the "# ORIGIN:" marker of the line that created what
# leaked.  Every other test must pass.
EXPECTED = {
    "sample_plain.py::test_fire_and_forget": ({"orphaned_task": 1}, "sample_plain.py", "fire"),
    "sample_plain.py::test_destroyed_by_gc": ({"destroyed_pending_task": 1}, "sample_plain.py", "gc"),
    "sample_plain.py::test_allow_other_kind_still_fails": ({"orphaned_task": 1}, "sample_plain.py", "helper"),
    "sample_asyncio.py::test_pending_at_loop_close": ({"pending_task": 1}, "sample_asyncio.py", "pending"),
    "sample_asyncio.py::test_unclosed_aiohttp_session": ({"unclosed_resource": 2}, "sample_asyncio.py", "session"),
    "sample_asyncio.py::test_unclosed_stream_writer": ({"unclosed_resource": 1}, "sample_asyncio.py", "writer"),
}
EXPECTED_AUTO = dict(EXPECTED, **{
    "auto_mode.py::test_auto_pending_unmarked": ({"pending_task": 1}, "auto_mode.py", "auto"),
})
CLEAN = {
    "sample_plain.py::test_sync_clean", "sample_plain.py::test_clean_cancel_gather",
    "sample_plain.py::test_clean_taskgroup", "sample_plain.py::test_allowed_kind",
    "sample_plain.py::test_allowed_by_origin", "sample_asyncio.py::test_async_clean",
    "sample_asyncio.py::test_async_clean_taskgroup", "sample_asyncio.py::test_allowed_pending_at_loop_close",
}
CLEAN_AUTO = CLEAN | {"auto_mode.py::test_auto_clean_with_fixture"}

RECORDER = '''
"""Records what the run's main process sees (reports, warnings) as JSON lines."""
import json
import os


def _out(obj):
    with open(os.environ["ALRECORD_OUT"], "a") as f:
        f.write(json.dumps(obj) + "\\n")


def _main(config):
    return not hasattr(config, "workerinput")        # not a pytest-xdist worker


def pytest_configure(config):
    global _config
    _config = config


def pytest_runtest_logreport(report):
    if _main(_config):
        _out({"report": report.nodeid, "when": report.when, "outcome": report.outcome,
              "text": report.longreprtext, "sections": [list(s) for s in report.sections],
              "asyncleak": getattr(report, "asyncleak", None)})


def pytest_warning_recorded(warning_message, when, nodeid, location):
    if _main(_config):
        _out({"warning": str(warning_message.message), "nodeid": nodeid,
              "category": warning_message.category.__name__})
'''


# ---- running the sample suite -------------------------------------------------

class SuiteRun:
    def __init__(self, run, suite: Path, record: Path):
        self.run = run
        self.suite = suite
        self.returncode, self.stdout, self.stderr = run.returncode, run.stdout, run.stderr
        lines = record.read_text().splitlines() if record.exists() else []
        events = [json.loads(line) for line in lines]
        self.reports = [e for e in events if "report" in e]
        self.warnings = [e for e in events if "warning" in e]

    def describe(self):
        return self.run.describe()

    def nodeids(self):
        return {r["report"] for r in self.reports}

    def report(self, nodeid, when):
        hits = [r for r in self.reports if r["report"] == nodeid and r["when"] == when]
        assert len(hits) == 1, f"{len(hits)} {when} reports for {nodeid}\n{self.describe()}"
        return hits[0]

    def failing(self):
        return {r["report"] for r in self.reports if r["outcome"] == "failed"}

    def summary_lines(self):
        """The lines of the plugin's session summary: [(nodeid, total, kinds text)]."""
        m = re.search(r"^=+ asyncleak: (\d+) tests? leaked (\d+) findings? =+\n((?:[^=\n].*\n)*)",
                      self.stdout, re.M)
        if not m:
            return None
        out = []
        for line in m.group(3).splitlines():
            lm = re.fullmatch(r"(\S+): (\d+) \((.*)\)", line)
            assert lm, f"unexpected summary line {line!r}\n{self.describe()}"
            out.append((lm.group(1), int(lm.group(2)), lm.group(3)))
        assert len(out) == int(m.group(1)), self.describe()
        assert sum(n for _, n, _ in out) == int(m.group(2)), self.describe()
        return out


def need_pytest(interp, *modules):
    if not interp.can_import("pytest"):
        pytest.skip(f"pytest is not installed for {interp} (only Debian's python3 has it)")
    for mod in modules:
        need_module(interp, mod)


def run_suite(interp, tmp_path, *args, preload=True, pythonpath=True, env_extra=None,
              plugin_arg=True, argv=None) -> SuiteRun:
    suite = tmp_path / "sample_suite"
    if not suite.exists():
        shutil.copytree(SAMPLE, suite, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    rec_dir = tmp_path / "recorder"
    rec_dir.mkdir(exist_ok=True)
    (rec_dir / "alrecord.py").write_text(RECORDER)
    record = tmp_path / "record.jsonl"
    if record.exists():
        record.unlink()
    paths = [str(rec_dir)] + ([str(PYDIR)] if pythonpath else [])
    extra = dict(PYTHONPATH=os.pathsep.join(paths), ALRECORD_OUT=str(record), COLUMNS="300",
                 **(env_extra or {}))
    env = preload_env(tmp_path, **extra) if preload else clean_env(**extra)
    if argv is None:
        argv = [interp.exe, "-m", "pytest"]
    argv = list(argv) + (["-p", "asyncleak.pytest"] if plugin_arg else []) + [
        "-p", "alrecord", "-p", "no:cacheprovider", "-rA", "--color=no", "sample_suite", *args]
    run = run_cmd(argv, tmp_path, env=env, cwd=tmp_path, timeout=SUITE_TIMEOUT)
    return SuiteRun(run, suite, record)


def assert_fail_mode(sr: SuiteRun, expected, clean):
    """Exactly the expected tests fail, at teardown, naming kind and origin line."""
    assert sr.nodeids() == set(expected) | clean, (
        f"unexpected tests: {sorted(sr.nodeids() ^ (set(expected) | clean))}\n{sr.describe()}")
    assert sr.failing() == set(expected), (
        f"failing {sorted(sr.failing())}, expected {sorted(expected)}\n{sr.describe()}")
    for nodeid, (kinds, fname, marker) in expected.items():
        for when in ("setup", "call"):
            assert sr.report(nodeid, when)["outcome"] == "passed", f"{nodeid} {when}\n{sr.describe()}"
        rep = sr.report(nodeid, "teardown")
        path = sr.suite / fname
        line = marker_line(path, marker)
        text = rep["text"]
        if re.match(r"\[gw\d+\] ", text):         # xdist names the worker first
            text = text.split("\n", 1)[1]
        assert text.startswith("asyncleak: leaked "), f"{nodeid}:\n{text}"
        for kind, n in kinds.items():
            assert f"{n} {kind}" in text.splitlines()[0], f"{nodeid}:\n{text}"
            assert len(re.findall(rf"asyncleak: {kind}: ", text)) == n, f"{nodeid}:\n{text}"
        assert f'File "{path}", line {line}, in ' in text, (
            f"{nodeid}: the failure should name {path}:{line}\n{text}")
        assert rep["asyncleak"] and rep["asyncleak"]["kinds"] == kinds, f"{nodeid}: {rep['asyncleak']}"
        assert rep["asyncleak"]["mode"] == "fail"
        # -r summaries show the one-line message
        assert re.search(rf"^ERROR \S*{re.escape(nodeid)} - asyncleak: leaked", sr.stdout, re.M), (
            f"no ERROR line with a message for {nodeid}\n{sr.describe()}")
    for nodeid in clean:
        for r in (r for r in sr.reports if r["report"] == nodeid):
            assert r["outcome"] in ("passed", "skipped"), f"{nodeid} {r['when']}: {r}\n{sr.describe()}"
            assert r["asyncleak"] is None, f"{nodeid}: {r['asyncleak']}"
            assert not any(s[0] == "asyncleak" for s in r["sections"]), r


def assert_summary(sr: SuiteRun, expected):
    lines = sr.summary_lines()
    assert lines is not None, f"no asyncleak summary\n{sr.describe()}"
    listed = {}
    for where, total, kinds_text in lines:
        nodeid = where.split("sample_suite/", 1)[-1]
        listed[nodeid] = (total, kinds_text)
    assert set(listed) == set(expected), f"summary lists {sorted(listed)}\n{sr.describe()}"
    totals = [t for _, t, _ in lines]
    assert totals == sorted(totals, reverse=True), f"summary not biggest first: {lines}"
    for nodeid, (kinds, _, _) in expected.items():
        total, kinds_text = listed[nodeid]
        assert total == sum(kinds.values()), (nodeid, total)
        for kind, n in kinds.items():
            assert f"{n} {kind}" in kinds_text, (nodeid, kinds_text)


# ---- the plugin -----------------------------------------------------------------

@pytest.mark.parametrize("asyncio_mode", ["strict", "auto"])
def test_plugin_fail_mode(interp, tmp_path, asyncio_mode):
    need_pytest(interp, "pytest_asyncio", "aiohttp")
    # auto_mode.py (unmarked async tests and fixtures) is only named in auto mode
    extra = ["-o", "python_files=sample_*.py auto_mode.py"] if asyncio_mode == "auto" else []
    sr = run_suite(interp, tmp_path, "-o", f"asyncio_mode={asyncio_mode}", *extra)
    expected = EXPECTED_AUTO if asyncio_mode == "auto" else EXPECTED
    clean = CLEAN_AUTO if asyncio_mode == "auto" else CLEAN
    assert sr.returncode == 1, sr.describe()
    assert "asyncleak: checking each test for leaked asyncio tasks and resources (mode fail)" in sr.stdout
    assert_fail_mode(sr, expected, clean)
    assert_summary(sr, expected)
    assert not [w for w in sr.warnings if w["category"] == "AsyncleakWarning"], sr.describe()
    # the call phase of a leaking test stays passed: "N passed, M errors"
    assert re.search(rf"\b{len(expected) + len(clean)} passed, {len(expected)} errors\b", sr.stdout), sr.describe()


def test_plugin_origin_is_the_test_line(interp, tmp_path):
    """The JSON report of the run holds the same findings, origin ending at the test's line."""
    need_pytest(interp, "pytest_asyncio", "aiohttp")
    sr = run_suite(interp, tmp_path)
    rep = sr.run.report
    assert rep is not None, sr.describe()
    fire = [f for f in rep["findings"] if f["kind"] == "orphaned_task"
            and f["origin"]["frames"][-1]["file"].endswith("sample_plain.py")
            and f["origin"]["frames"][-1]["line"] == marker_line(sr.suite / "sample_plain.py", "fire")]
    assert len(fire) == 1, sr.describe()
    assert_origin(fire[0], sr.suite / "sample_plain.py", marker_line(sr.suite / "sample_plain.py", "fire"),
                  outer="test_fire_and_forget")


def test_plugin_warn_mode(interp, tmp_path):
    need_pytest(interp, "pytest_asyncio", "aiohttp")
    sr = run_suite(interp, tmp_path, "--asyncleak=warn")
    assert sr.returncode == 0, sr.describe()
    assert sr.failing() == set(), sr.describe()
    assert sr.nodeids() == set(EXPECTED) | CLEAN, sr.describe()
    warned = {}
    for w in sr.warnings:
        if w["category"] == "AsyncleakWarning":
            warned.setdefault(w["nodeid"].split("sample_suite/", 1)[-1], []).append(w["warning"])
    assert set(warned) == set(EXPECTED), f"warned for {sorted(warned)}\n{sr.describe()}"
    for nodeid, (kinds, fname, marker) in EXPECTED.items():
        path = sr.suite / fname
        line = marker_line(path, marker)
        (msg,) = warned[nodeid]
        assert msg.startswith("asyncleak: leaked "), msg
        assert f'File "{path}", line {line}, in ' in msg, msg
        rep = sr.report(nodeid, "teardown")
        sections = [s for s in rep["sections"] if s[0] == "asyncleak"]
        assert len(sections) == 1 and f'File "{path}", line {line}, in ' in sections[0][1], rep
        assert rep["asyncleak"]["kinds"] == kinds and rep["asyncleak"]["mode"] == "warn", rep
    assert "AsyncleakWarning: asyncleak: leaked" in sr.stdout, sr.describe()
    assert_summary(sr, EXPECTED)


def test_plugin_ini_option(interp, tmp_path):
    """The ini option sets the mode; the command line overrides it."""
    need_pytest(interp, "pytest_asyncio", "aiohttp")
    sr = run_suite(interp, tmp_path, "-o", "asyncleak=warn")
    assert sr.returncode == 0 and sr.failing() == set(), sr.describe()
    assert "(mode warn)" in sr.stdout, sr.describe()
    sr = run_suite(interp, tmp_path, "-o", "asyncleak=warn", "--asyncleak=fail")
    assert sr.failing() == set(EXPECTED), sr.describe()
    sr = run_suite(interp, tmp_path, "-o", "asyncleak=bogus")
    assert sr.returncode == 4 and "asyncleak" in sr.stderr and "bogus" in sr.stderr, sr.describe()


def test_plugin_off_mode(interp, tmp_path):
    need_pytest(interp, "pytest_asyncio", "aiohttp")
    sr = run_suite(interp, tmp_path, "--asyncleak=off")
    assert sr.returncode == 0, sr.describe()
    assert sr.failing() == set() and sr.nodeids() == set(EXPECTED) | CLEAN, sr.describe()
    assert all(r["asyncleak"] is None and not any(s[0] == "asyncleak" for s in r["sections"])
               for r in sr.reports), sr.describe()
    assert not [w for w in sr.warnings if w["category"] == "AsyncleakWarning"], sr.describe()
    assert sr.summary_lines() is None, sr.describe()
    assert "asyncleak: leak checks off" in sr.stdout, sr.describe()
    # The preload itself still reports (stderr, JSON): the plugin only stays out.
    assert sr.run.report and sr.run.report["findings"], sr.describe()


def test_plugin_xdist(interp, tmp_path):
    """Each worker checks its own tests; the controller gets the same failing
    set, and its summary lists every leaking test."""
    need_pytest(interp, "pytest_asyncio", "aiohttp", "xdist")
    sr = run_suite(interp, tmp_path, "-n", "2")
    assert sr.returncode == 1, sr.describe()
    assert_fail_mode(sr, EXPECTED, CLEAN)
    assert_summary(sr, EXPECTED)
    workers = [pid for pid, rep in sr.run.reports.items() if pid != sr.run.pid and rep["findings"]]
    assert len(workers) == 2, f"expected findings in both workers' reports\n{sr.describe()}"


def test_plugin_without_preload(interp, tmp_path):
    """The shim: one header line, nothing else; every test passes."""
    need_pytest(interp, "pytest_asyncio", "aiohttp")
    sr = run_suite(interp, tmp_path, preload=False)
    assert sr.returncode == 0, sr.describe()
    assert sr.stdout.count(DISABLED_HEADER) == 1, sr.describe()
    assert sr.failing() == set() and sr.nodeids() == set(EXPECTED) | CLEAN, sr.describe()
    assert all(r["asyncleak"] is None for r in sr.reports), sr.describe()
    assert sr.summary_lines() is None and "asyncleak:" not in sr.stdout.replace(DISABLED_HEADER, ""), sr.describe()
    assert "asyncleak" not in sr.stderr, sr.describe()
    assert sr.run.reports == {}, sr.describe()


def test_plugin_found_through_preload_package_path(interp, tmp_path):
    """Under the preload, asyncleak.pytest loads from ROOT/python/asyncleak
    through the module's __path__ alone (no PYTHONPATH), also when named by
    PYTEST_PLUGINS instead of -p."""
    need_pytest(interp, "pytest_asyncio", "aiohttp")
    sr = run_suite(interp, tmp_path, pythonpath=False, plugin_arg=False,
                   env_extra={"PYTEST_PLUGINS": "asyncleak.pytest"})
    assert sr.returncode == 1, sr.describe()
    assert_fail_mode(sr, EXPECTED, CLEAN)


def test_asyncleak_run_enables_plugin(interp, tmp_path):
    """`asyncleak run -- pytest ...` turns the plugin on by itself (PYTEST_PLUGINS,
    PYTHONPATH): the same failing set as with -p asyncleak.pytest."""
    need_pytest(interp, "pytest_asyncio", "aiohttp")
    if not ASYNCLEAK.exists():
        pytest.fail(f"{ASYNCLEAK} is not built: run `make` in {ROOT}")
    sr = run_suite(interp, tmp_path, preload=False, pythonpath=False, plugin_arg=False,
                   argv=[ASYNCLEAK, "run", "--json", f"{tmp_path}/al.%p.json", "--",
                         interp.exe, "-m", "pytest"])
    assert sr.returncode == 1, sr.describe()
    assert_fail_mode(sr, EXPECTED, CLEAN)
    assert_summary(sr, EXPECTED)


# ---- the in-process API -----------------------------------------------------------

API_PROG = r'''
import asyncio
import json
import sys
import asyncleak

out = {"enabled": asyncleak.enabled(), "file": getattr(asyncleak, "__file__", None),
       "shim": hasattr(asyncleak, "DISABLED_REASON"), "path": list(getattr(asyncleak, "__path__", []))}

async def forever():
    await asyncio.sleep(3600)

async def main():
    asyncio.ensure_future(forever())  # ORIGIN:api
    await asyncio.sleep(0)
    out["snapshot_in_run"] = asyncleak.snapshot()

m0 = asyncleak.mark()
out["empty_since"] = asyncleak.findings_since(m0)
out["check_clean"] = repr(asyncleak.check())
asyncio.run(main())
out["since"] = asyncleak.findings_since(m0)
out["text"] = asyncleak.report_text(m0)
out["all_count"] = len(asyncleak.findings())
try:
    asyncleak.check(m0)
    out["check_mark"] = None
except AssertionError as e:
    out["check_mark"] = str(e)
m1 = asyncleak.mark()
out["marks"] = [m0, m1]
out["check_after_mark"] = repr(asyncleak.check())
out["snapshot_after"] = asyncleak.snapshot()

loop = asyncio.new_event_loop()
task = loop.create_task(forever())  # ORIGIN:loop
loop.run_until_complete(asyncio.sleep(0))
m2 = asyncleak.mark()
try:
    asyncleak.check(loop=loop)
    out["check_loop"] = None
except AssertionError as e:
    out["check_loop"] = str(e)
out["loop_since"] = asyncleak.findings_since(m2)
task.cancel()
loop.run_until_complete(asyncio.gather(task, return_exceptions=True))
loop.close()
try:
    asyncleak.findings_since(-1)
    out["negative"] = "accepted"
except ValueError:
    out["negative"] = "ValueError"
print(json.dumps(out))
'''


def test_api_under_preload(interp, tmp_path):
    run = run_source(interp, tmp_path, API_PROG, env=preload_env(tmp_path))
    assert run.returncode == 0, run.describe()
    out = json.loads(run.stdout.strip().splitlines()[-1])
    prog = tmp_path / "prog.py"
    api_line, loop_line = marker_line(prog, "api"), marker_line(prog, "loop")

    assert out["enabled"] is True and out["shim"] is False, out
    assert out["file"] == "<asyncleak preload>", out
    assert [os.path.realpath(p) for p in out["path"]] == [os.path.realpath(PLUGIN.parent)], out
    assert out["empty_since"] == [] and out["check_clean"] == "None", out

    tasks = out["snapshot_in_run"]["tasks"]
    mine = [t for t in tasks if t["task"]["coro"].endswith("forever")]
    assert len(mine) == 1, tasks
    assert_origin(mine[0], prog, api_line)
    assert out["snapshot_in_run"]["resources"] == []

    (orphan,) = out["since"]
    assert orphan["kind"] == "orphaned_task" and orphan["when"] == "runner_shutdown", orphan
    assert_origin(orphan, prog, api_line)
    assert "asyncleak: orphaned_task: " in out["text"], out["text"]
    assert f'File "{prog}", line {api_line}, in main' in out["text"], out["text"]
    assert out["all_count"] >= 1
    assert out["check_mark"] and out["check_mark"].startswith("asyncleak: 1 finding"), out
    assert f'File "{prog}", line {api_line}, in main' in out["check_mark"], out
    assert out["marks"][1] == out["marks"][0] + 1, out
    assert out["check_after_mark"] == "None", out
    assert out["snapshot_after"] == {"tasks": [], "resources": []}, out

    assert out["check_loop"] and "pending_task" in out["check_loop"], out
    assert f'File "{prog}", line {loop_line}, in <module>' in out["check_loop"], out
    (pending,) = out["loop_since"]
    assert pending["kind"] == "pending_task", pending
    assert_origin(pending, prog, loop_line, outer=None)
    assert out["negative"] == "ValueError", out


SHIM_PROG = r'''
import json
import warnings
import asyncleak

out = {"file": asyncleak.__file__, "enabled": asyncleak.enabled(), "findings": asyncleak.findings(),
       "mark": asyncleak.mark(), "since": asyncleak.findings_since(0),
       "snapshot": asyncleak.snapshot(), "text": asyncleak.report_text(0),
       "reason": asyncleak.DISABLED_REASON}
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    out["check"] = repr(asyncleak.check())
    out["check2"] = repr(asyncleak.check(0, loop=None))
out["warnings"] = [(w.category.__name__, str(w.message), w.filename) for w in caught]
try:
    asyncleak.findings_since(-1)
    out["negative"] = "accepted"
except ValueError:
    out["negative"] = "ValueError"
print(json.dumps(out))
'''


def test_shim_without_preload(interp, tmp_path):
    run = run_source(interp, tmp_path, SHIM_PROG, env=clean_env(PYTHONPATH=str(PYDIR)))
    assert run.returncode == 0, run.describe()
    assert run.stderr == "", run.describe()
    out = json.loads(run.stdout)
    assert os.path.realpath(out["file"]) == os.path.realpath(SHIM), out
    assert out["enabled"] is False and out["findings"] == [] and out["mark"] == 0, out
    assert out["since"] == [] and out["text"] == "", out
    assert out["snapshot"] == {"tasks": [], "resources": []}, out
    assert out["reason"] == ("asyncleak preload is not active: run under `asyncleak run` or "
                             "LD_PRELOAD=.../libasyncleak.so"), out
    assert out["check"] == "None" and out["check2"] == "None", out
    assert len(out["warnings"]) == 1, out          # once, even with "always"
    cat, msg, filename = out["warnings"][0]
    assert cat == "RuntimeWarning" and out["reason"] in msg, out
    assert os.path.realpath(filename) == os.path.realpath(tmp_path / "prog.py"), out
    assert out["negative"] == "ValueError", out


def test_plugin_imports_without_preload_as_shim_submodule(interp, tmp_path):
    """asyncleak.pytest imports beside the shim (both cases use the same file)."""
    need_pytest(interp)
    src = ("import asyncleak, asyncleak.pytest as p, json\n"
           "print(json.dumps([asyncleak.enabled(), p.__file__, p.DISABLED_HEADER]))\n")
    for env in (clean_env(PYTHONPATH=str(PYDIR)), preload_env(tmp_path, PYTHONPATH=str(PYDIR))):
        run = run_source(interp, tmp_path, src, env=env)
        assert run.returncode == 0, run.describe()
        enabled, pfile, header = json.loads(run.stdout)
        assert enabled is ("LD_PRELOAD" in env), run.describe()
        assert os.path.realpath(pfile) == os.path.realpath(PLUGIN), run.describe()
        assert header == DISABLED_HEADER


def test_installed_layout_finds_plugin(interp, tmp_path):
    """`make install` puts python/asyncleak in lib/asyncleak/python/asyncleak,
    beside the library: the preload's module finds its submodules there."""
    libdir = tmp_path / "prefix" / "lib" / "asyncleak"
    pkg = libdir / "python" / "asyncleak"
    pkg.mkdir(parents=True)
    shutil.copy2(LIB, libdir / "libasyncleak.so")
    for f in PYDIR.joinpath("asyncleak").glob("*.py"):
        shutil.copy2(f, pkg / f.name)
    src = ("import asyncleak, json\n"
           "out = {'path': list(asyncleak.__path__), 'enabled': asyncleak.enabled()}\n"
           "try:\n"
           "    import pytest\n"
           "except ImportError:\n"
           "    pass\n"
           "else:\n"
           "    import asyncleak.pytest\n"
           "    out['plugin'] = asyncleak.pytest.__file__\n"
           "print(json.dumps(out))\n")
    env = preload_env(tmp_path)
    env["LD_PRELOAD"] = str(libdir / "libasyncleak.so")
    run = run_source(interp, tmp_path, src, env=env)
    assert run.returncode == 0, run.describe()
    out = json.loads(run.stdout)
    assert out["enabled"] is True, out
    assert [os.path.realpath(p) for p in out["path"]] == [os.path.realpath(pkg)], out
    if interp.can_import("pytest"):
        assert os.path.realpath(out["plugin"]) == os.path.realpath(pkg / "pytest.py"), out
