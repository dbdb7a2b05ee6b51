"""test_core.py - the preload in real CPython processes, on every interpreter.

What a user checks in a report: the finding's kind and when, the task's name
and coroutine, and the origin's last frame (the program line that created the
task, found through its "# ORIGIN:name" marker comment), with stacks outermost
first and no asyncio-internal frame last.  Every report is also run through
the shared contract checker (conftest.run_cmd).

Programs live in programs/; each one documents what it leaves behind.
"""
import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from conftest import (ASYNCLEAK, LIB, assert_no_tool_output, assert_origin, assert_suspended_in,
                      assert_task, assert_text_mentions, check_contract, clean_env, fmt_frames,
                      frames_of, is_asyncio_internal, marker_line, need_module, need_system,
                      need_version, preload_env, program_path, run_cmd, run_plain, run_program, run_source,
                      same_file, short_name)

TASK_N = re.compile(r"Task-\d+")


def only(items, what="finding"):
    assert len(items) == 1, f"expected exactly one {what}, got {len(items)}: {json.dumps(items, indent=1)}"
    return items[0]


def assert_all_stacks_ordered(report):
    """No origin anywhere in the report ends in an asyncio-internal frame."""
    def walk(obj, path):
        if isinstance(obj, dict):
            for k, v in obj.items():
                if k == "origin" and isinstance(v, dict):
                    fr = frames_of(v)
                    assert not fr or not is_asyncio_internal(fr[-1]["file"]), (
                        f"{path}.origin ends in asyncio:\n{fmt_frames(fr)}")
                walk(v, f"{path}.{k}")
        elif isinstance(obj, list):
            for i, v in enumerate(obj):
                walk(v, f"{path}[{i}]")
    walk(report, "$")


# ---- every spawn path ---------------------------------------------------------------

# path -> (minimum version or None, expected tasks: [(name, coro, marker)], extra findings)
SPAWN_PATHS = {
    "loop_create_task": (None, [("leak-loop_create_task", "forever", "loop_create_task")], 0),
    "create_task": (None, [("leak-create_task", "forever", "create_task")], 0),
    "ensure_future": (None, [(TASK_N, "forever", "ensure_future")], 0),
    "gather": (None, [(TASK_N, "forever", "gather"), (TASK_N, "forever2", "gather")], 0),
    "taskgroup": ((3, 11), [("leak-taskgroup", "forever", "taskgroup"),
                            ("group-owner", "group_user", "taskgroup_owner")], 0),
    "task_direct": (None, [("leak-task_direct", "forever", "task_direct")], 0),
    "eager": ((3, 12), [("leak-eager", "forever", "eager")], 0),
    "custom_factory": (None, [("leak-custom_factory", "forever", "custom_factory")], 0),
    "subclass_plain": (None, [("leak-subclass_plain", "forever", "subclass_plain")], 0),
    "subclass_super": (None, [("leak-subclass_super", "forever", "subclass_super")], 0),
    "uvloop": (None, [("leak-uvloop", "forever", "uvloop")], 0),
}
FEATURE = {"taskgroup": "asyncio.TaskGroup", "eager": "asyncio.eager_task_factory"}


@pytest.mark.parametrize("path", list(SPAWN_PATHS))
def test_spawn_path(interp, tmp_path, path):
    minimum, expected, _ = SPAWN_PATHS[path]
    if minimum:
        need_version(interp, minimum, FEATURE[path])
    if path == "uvloop":
        need_system(interp, "uvloop")
        need_module(interp, "uvloop")
    prog = program_path("spawn.py")
    run = run_program(interp, tmp_path, "spawn.py", path)
    assert run.returncode == 0, run.describe()
    assert f"{path} EXACT" in run.stdout.splitlines(), run.describe()
    if path == "eager":
        # The task ran eagerly up to its first await and stayed pending.
        assert "eager started True" in run.stdout.splitlines(), run.describe()
    assert run.report is not None, run.describe()
    assert run.report["python"].startswith(f"{interp.version[0]}.{interp.version[1]}."), run.report["python"]
    findings = run.findings()
    assert len(findings) == len(expected), f"expected {len(expected)} findings\n{run.describe()}"
    for (name, coro, marker) in expected:
        hits = [f for f in findings if short_name(f["task"]["coro"]) == coro
                and (name.fullmatch(f["task"]["name"]) if isinstance(name, re.Pattern)
                     else f["task"]["name"] == name)]
        f = only(hits, f"finding for {name} ({coro})")
        assert_task(f, "orphaned_task", "runner_shutdown")
        assert f["task"]["state"] == "pending", f
        line = marker_line(prog, marker)
        if path == "custom_factory" and marker == "custom_factory":
            # The program's create_task line or the factory's Task(...) line.
            frames = assert_origin(f, prog, {line, marker_line(prog, "factory_line")})
            assert any(fr["line"] == line and same_file(fr["file"], prog) for fr in frames), fmt_frames(frames)
        elif path == "subclass_super":
            # The construction line, or super().__init__ inside the subclass below it.
            frames = assert_origin(f, prog, {line, marker_line(prog, "subclass_super_call")})
            assert any(fr["line"] == line and same_file(fr["file"], prog) for fr in frames), fmt_frames(frames)
        else:
            assert_origin(f, prog, line)
        assert_suspended_in(f, coro)
        assert not f.get("spawned_during_shutdown"), f
        assert_text_mentions(run, "orphaned_task", prog, line)
    assert_all_stacks_ordered(run.report)


# ---- findings --------------------------------------------------------------------------

def test_pending_task_at_loop_close(interp, tmp_path):
    prog = program_path("loop_close.py")
    run = run_program(interp, tmp_path, "loop_close.py")
    assert run.returncode == 0 and run.stdout == "closed\n", run.describe()
    f = only(run.findings())
    assert_task(f, "pending_task", "loop_close", "left-at-close", "poll_forever")
    assert_origin(f, prog, marker_line(prog, "pending"))
    frames = assert_suspended_in(f, "poll_forever")
    assert short_name(frames[-1]["function"]) == "sleep", fmt_frames(frames)   # innermost last
    assert_text_mentions(run, "pending_task", prog, marker_line(prog, "pending"))


def test_uvloop_pending_task_at_loop_close(interp, tmp_path):
    need_system(interp, "uvloop")
    need_module(interp, "uvloop")
    prog = program_path("uvloop_close.py")
    run = run_program(interp, tmp_path, "uvloop_close.py")
    assert run.returncode == 0 and run.stdout == "closed uvloop\n", run.describe()
    f = only(run.findings())
    assert_task(f, "pending_task", "loop_close", "uv-left", "poll_forever")
    assert_origin(f, prog, marker_line(prog, "uv_pending"))
    assert_suspended_in(f, "poll_forever")


def test_orphaned_task_at_runner_shutdown(interp, tmp_path):
    prog = program_path("orphaned.py")
    run = run_program(interp, tmp_path, "orphaned.py")
    assert run.returncode == 0 and run.stdout == "finished\n", run.describe()
    f = only(run.findings())
    assert_task(f, "orphaned_task", "runner_shutdown", "fire-and-forget", "worker")
    frames = assert_origin(f, prog, marker_line(prog, "fire"))
    # Outermost first: the program's own frames read <module>, main, start_workers.
    mine = [(short_name(fr["function"]), fr["line"]) for fr in frames if same_file(fr["file"], prog)]
    assert mine == [("<module>", marker_line(prog, "run")), ("main", marker_line(prog, "main_call")),
                    ("start_workers", marker_line(prog, "fire"))], fmt_frames(frames)
    assert frames[0]["function"] == "<module>", fmt_frames(frames)
    assert_suspended_in(f, "worker")
    assert "created_by" in f, f
    assert run.report["argv"] == [str(prog)], run.report["argv"]
    assert_text_mentions(run, "orphaned_task", prog, marker_line(prog, "fire"))
    assert re.search(r"^==%d== SUMMARY: asyncleak: 1 finding \(1 orphaned_task\)$" % run.pid,
                     run.stderr, re.M), run.describe()


def test_destroyed_pending_task_at_gc(interp, tmp_path):
    prog = program_path("gc_destroyed.py")
    run = run_program(interp, tmp_path, "gc_destroyed.py")
    assert run.returncode == 0 and run.stdout == "collected\n", run.describe()
    assert "Task was destroyed but it is pending!" in run.stderr, run.describe()
    f = only(run.findings())
    assert_task(f, "destroyed_pending_task", "gc", "doomed", "wait_on")
    assert_origin(f, prog, marker_line(prog, "doomed"))
    assert f.get("asyncio_message") == "Task was destroyed but it is pending!", f
    assert_text_mentions(run, "destroyed_pending_task", prog, marker_line(prog, "doomed"))


def test_flood_of_tasks_destroyed_at_gc(interp, tmp_path):
    """Round after round of collections, each destroying tasks that await
    each other: every task is one finding (JSON and text), with its origin,
    awaited_by / awaiting between the pair and created_by naming the live
    task that spawned them (the collection shares one snapshot of the live
    tasks; the JSON is rewritten at most once a second, and at exit)."""
    prog = program_path("gc_flood.py")
    rounds, pairs = 6, 25
    run = run_program(interp, tmp_path, "gc_flood.py", str(rounds), str(pairs))
    assert run.returncode == 0 and run.stdout == "flooded\n", run.describe()
    found = run.findings()
    assert [f["kind"] for f in found] == ["destroyed_pending_task"] * (2 * rounds * pairs), run.describe()
    by_id = {f["task"]["id"]: f for f in found}
    inners = [f for f in found if f["task"]["coro"] == "forever"]
    assert len(inners) == rounds * pairs, run.describe()
    for inner in inners:
        assert_origin(inner, prog, marker_line(prog, "inner"), outer=None)
        (waiter,) = inner["awaited_by"]
        outer = by_id[waiter["id"]]
        assert outer["task"]["coro"] == "outer_waits", outer
        assert_origin(outer, prog, marker_line(prog, "outer"), outer=None)
        assert [t["id"] for t in outer["awaiting"]] == [inner["task"]["id"]], outer
        for f in (inner, outer):
            assert f["created_by"]["coro"] == "spawner", f
    assert len(re.findall(r"asyncleak: destroyed_pending_task: ", run.stderr)) == 2 * rounds * pairs, run.describe()


def test_unretrieved_exception_at_gc(interp, tmp_path):
    prog = program_path("gc_exception.py")
    run = run_program(interp, tmp_path, "gc_exception.py")
    assert run.returncode == 0 and run.stdout == "collected\n", run.describe()
    assert "Task exception was never retrieved" in run.stderr, run.describe()
    assert "ValueError: boom-42" in run.stderr, run.describe()
    f = only(run.findings())
    assert_task(f, "unretrieved_exception", "gc", "failing", "fail")
    assert f.get("exception") == {"type": "ValueError", "message": "boom-42"}, f
    assert_origin(f, prog, marker_line(prog, "failing"))
    assert_text_mentions(run, "unretrieved_exception", prog, marker_line(prog, "failing"))


def test_pending_task_at_exit_for_loop_never_closed(interp, tmp_path):
    prog = program_path("exit_pending.py")
    run = run_program(interp, tmp_path, "exit_pending.py")
    assert run.returncode == 0 and run.stdout == "exiting without closing the loop\n", run.describe()
    f = only(run.findings())
    assert_task(f, "pending_task", "exit", TASK_N, "poll_forever")
    assert_origin(f, prog, marker_line(prog, "never_closed"))
    assert_suspended_in(f, "poll_forever")


@pytest.mark.parametrize("where", ["finally", "callback"])
def test_task_spawned_during_shutdown(interp, tmp_path, where):
    prog = program_path("shutdown_spawn.py")
    run = run_program(interp, tmp_path, "shutdown_spawn.py", where)
    assert run.returncode == 0 and run.stdout == "done\n", run.describe()
    worker = run.finding_for("worker")
    assert_task(worker, "orphaned_task", "runner_shutdown", "worker", "worker")
    assert_origin(worker, prog, marker_line(prog, "worker"))
    assert not worker.get("spawned_during_shutdown"), worker
    late = run.finding_for("late")
    assert_task(late, "pending_task", "loop_close", "late", "cleanup")
    assert late.get("spawned_during_shutdown") is True, late
    assert_origin(late, prog, marker_line(prog, f"late_{where}"))
    assert len(run.findings()) == 2, run.describe()
    assert "created during shutdown" in run.stderr, run.describe()


def test_loop_in_second_thread(interp, tmp_path):
    prog = program_path("thread_loop.py")
    run = run_program(interp, tmp_path, "thread_loop.py")
    assert run.returncode == 0 and run.stdout == "joined\n", run.describe()
    f = only(run.findings())
    assert_task(f, "orphaned_task", "runner_shutdown", "thread-leak", "forever")
    assert_origin(f, prog, marker_line(prog, "thread_leak"), outer="thread_main")


def test_fork_child_writes_its_own_report(interp, tmp_path):
    prog = program_path("fork_child.py")
    run = run_program(interp, tmp_path, "fork_child.py")
    assert run.returncode == 0, run.describe()
    m = re.fullmatch(r"CHILD (\d+) 0\n", run.stdout)
    assert m, run.describe()
    child_pid = int(m.group(1))
    assert set(run.reports) == {run.pid, child_pid}, f"reports of pids {sorted(run.reports)}\n{run.describe()}"
    parent, child = run.reports[run.pid], run.reports[child_pid]
    assert parent["pid"] == run.pid and child["pid"] == child_pid
    pf = only(run.findings(report=parent), "finding in the parent's report")
    cf = only(run.findings(report=child), "finding in the child's report")
    assert_task(pf, "orphaned_task", "runner_shutdown", "parent-leak", "forever")
    assert_task(cf, "orphaned_task", "runner_shutdown", "child-leak", "forever")
    assert_origin(pf, prog, marker_line(prog, "parent_leak"))
    assert_origin(cf, prog, marker_line(prog, "child_leak"), outer="child")
    assert re.search(r"^==%d== asyncleak: orphaned_task: task 'child-leak'" % child_pid, run.stderr, re.M), \
        run.describe()
    assert re.search(r"^==%d== asyncleak: orphaned_task: task 'parent-leak'" % run.pid, run.stderr, re.M), \
        run.describe()


def test_python_dash_m_package(interp, tmp_path):
    pkg = tmp_path / "leakpkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    main = pkg / "__main__.py"
    main.write_text(
        "import asyncio\n"
        "KEEP = []\n"
        "async def forever():\n"
        "    await asyncio.sleep(3600)\n"
        "async def main():\n"
        "    KEEP.append(asyncio.create_task(forever(), name='pkg-leak'))  # ORIGIN:pkg\n"
        "    await asyncio.sleep(0)\n"
        "asyncio.run(main())\n"
        "print('pkg done')\n")
    run = run_cmd([interp.exe, "-m", "leakpkg"], tmp_path, cwd=tmp_path)
    assert run.returncode == 0 and run.stdout == "pkg done\n", run.describe()
    f = only(run.findings())
    assert_task(f, "orphaned_task", "runner_shutdown", "pkg-leak", "forever")
    assert_origin(f, main, marker_line(main, "pkg"), cwd=tmp_path)


def test_asyncio_imported_lazily(interp, tmp_path):
    prog = program_path("lazy_import.py")
    run = run_program(interp, tmp_path, "lazy_import.py")
    assert run.returncode == 0, run.describe()
    assert run.stdout == "asyncio before: False\ndone\n", run.describe()
    f = only(run.findings())
    assert_task(f, "orphaned_task", "runner_shutdown", TASK_N, "forever")
    assert_origin(f, prog, marker_line(prog, "lazy"))


# ---- clean programs ------------------------------------------------------------------

@pytest.mark.parametrize("name", ["clean_shutdown.py", "clean_await_all.py"])
def test_clean_program_is_silent(interp, tmp_path, name):
    run = run_program(interp, tmp_path, name)
    base = run_plain([interp.exe, program_path(name)])
    assert run.returncode == 0 == base.returncode, run.describe()
    assert run.stdout == base.stdout, run.describe()
    assert run.stderr == base.stderr == "", run.describe()
    assert_no_tool_output(run)
    if run.report is not None:
        assert run.report["findings"] == [], run.describe()
        assert run.report.get("summary", {}) == {} or all(v == 0 for v in run.report["summary"].values())


# ---- exit status ----------------------------------------------------------------------

def test_exit_status_kept_with_findings(interp, tmp_path):
    run = run_program(interp, tmp_path, "exit_status.py", "leak", "3")
    assert run.returncode == 3, run.describe()
    assert run.stdout == "bye\n"
    f = only(run.findings())
    assert_task(f, "orphaned_task", "runner_shutdown", "leak-exit", "forever")
    assert_origin(f, program_path("exit_status.py"), marker_line(program_path("exit_status.py"), "exit_leak"))


@pytest.mark.parametrize("mode,expected", [("leak", 9), ("clean", 0)])
def test_exitcode_option(interp, tmp_path, mode, expected):
    run = run_program(interp, tmp_path, "exit_status.py", mode, "0", options=["exitcode=9"])
    assert run.returncode == expected, run.describe()
    assert run.stdout == "bye\n", run.describe()
    assert len(run.findings()) == (1 if mode == "leak" else 0), run.describe()
    if mode == "clean":
        assert_no_tool_output(run)


# ---- options ----------------------------------------------------------------------------

@pytest.mark.parametrize("item,names", [
    ("no_such_option=1", ["no_such_option"]),
    ("exitcode=abc", ["exitcode", "abc"]),
    ("stack_depth=0", ["stack_depth", "0"]),
    ("native=maybe", ["native", "maybe"]),
])
def test_bad_option_one_line_program_untouched(interp, tmp_path, item, names):
    prog = program_path("hello_async.py")
    base = run_plain([interp.exe, prog, "4"])
    run = run_program(interp, tmp_path, "hello_async.py", "4", options=[item])
    assert (run.returncode, run.stdout) == (base.returncode, base.stdout) == (4, "hello 42\n"), run.describe()
    lines = run.stderr.splitlines()
    assert len(lines) == 1, f"expected one line about {item!r}\n{run.describe()}"
    assert "asyncleak" in lines[0], lines[0]
    for n in names:
        assert f"'{n}'" in lines[0] or n in lines[0], f"{n!r} not named in {lines[0]!r}"
    assert run.findings() == [], run.describe()


# ---- processes that are not Python, and Python without asyncio ---------------------------

@pytest.mark.parametrize("argv", [["bash", "-c", "echo ok; echo err >&2; exit 5"], ["/bin/true"],
                                  ["/bin/sh", "-c", "printf 'a\\nb\\n' | cat"]],
                         ids=["bash", "true", "sh-pipe"])
@pytest.mark.parametrize("bind_now", [False, True], ids=["lazy", "bind_now"])
def test_non_python_process_untouched(tmp_path, argv, bind_now):
    extra = {"LD_BIND_NOW": "1"} if bind_now else {}
    base = subprocess.run(argv, env=clean_env(**extra), capture_output=True, text=True, timeout=30)
    env = preload_env(tmp_path, options=["exitcode=9", "no_such_option=1"], **extra)
    run = run_cmd(argv, tmp_path, env=env)
    assert (run.returncode, run.stdout, run.stderr) == (base.returncode, base.stdout, base.stderr), run.describe()
    assert "asyncleak" not in run.stderr
    assert run.reports == {}, run.describe()


def test_python_with_bind_now(interp, tmp_path):
    """LD_BIND_NOW=1 resolves every symbol at load: the preload must still work in Python."""
    src = ("import asyncio\n"
           "KEEP = []\n"
           "async def forever():\n"
           "    await asyncio.sleep(3600)\n"
           "async def main():\n"
           "    KEEP.append(asyncio.create_task(forever(), name='bound'))  # ORIGIN:bound\n"
           "    await asyncio.sleep(0)\n"
           "asyncio.run(main())\n"
           "print('ok')\n")
    run = run_source(interp, tmp_path, src, env=preload_env(tmp_path, LD_BIND_NOW="1"))
    assert run.returncode == 0 and run.stdout == "ok\n", run.describe()
    f = only(run.findings())
    assert_task(f, "orphaned_task", "runner_shutdown", "bound", "forever")
    assert_origin(f, tmp_path / "prog.py", marker_line(tmp_path / "prog.py", "bound"))


def test_python_without_asyncio_imports_nothing(interp, tmp_path):
    run = run_program(interp, tmp_path, "no_asyncio.py")
    assert run.returncode == 0, run.describe()
    assert json.loads(run.stdout) == {"_asyncio": False, "asyncio": False, "uvloop": False}, run.describe()
    assert run.stderr == "", run.describe()
    assert run.reports == {}, run.describe()


# ---- the launcher ------------------------------------------------------------------------

@pytest.mark.parametrize("json_opt", [True, False], ids=["json", "default-dir"])
def test_asyncleak_run(interp, tmp_path, json_opt):
    if not ASYNCLEAK.exists():
        pytest.fail(f"{ASYNCLEAK} is not built")
    prog = program_path("exit_status.py")
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    args = ["run", "--json", f"{tmp_path}/al.%p.json"] if json_opt else ["run"]
    env = clean_env(TMPDIR=str(tmpdir), ASYNCLEAK_LIBRARY=None)
    run = run_cmd([ASYNCLEAK, *args, "--", interp.exe, prog, "leak", "3"], tmp_path, env=env)
    assert run.returncode == 3, run.describe()
    assert run.stdout == "bye\n", run.describe()
    assert "asyncleak: orphaned_task: task 'leak-exit'" in run.stderr, run.describe()
    assert re.search(r"^==asyncleak== SUMMARY: 1 finding in 1 process \(1 orphaned_task\)$", run.stderr, re.M), \
        run.describe()
    assert re.search(rf"^==asyncleak==   pid \d+ \({re.escape(str(prog))} leak 3\): 1 finding \(1 orphaned_task\)$",
                     run.stderr, re.M), run.describe()
    m = re.search(r"^==asyncleak== JSON report: (\S+)$", run.stderr, re.M)
    assert m, run.describe()
    path = Path(m.group(1))
    assert path.is_file(), run.describe()
    if json_opt:
        assert path.parent == tmp_path and re.fullmatch(r"al\.\d+\.json", path.name), path
    else:
        assert tmpdir in path.parents, path
    check_contract([path], run)
    doc = json.loads(path.read_text())
    f = only(doc["findings"])
    assert_task(f, "orphaned_task", "runner_shutdown", "leak-exit", "forever")
    assert_origin(f, prog, marker_line(prog, "exit_leak"))


def test_contract_checker_present():
    """The shared contract must be beside the repository; its absence fails, never skips."""
    from conftest import CHECKER, contract_ready
    assert contract_ready() == "", contract_ready()
    assert os.access(CHECKER, os.R_OK)
    assert LIB.exists(), f"{LIB} is not built"
