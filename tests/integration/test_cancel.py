"""test_cancel.py - cause 2 (swallowed cancellation), cancel origins and the
shutdown watchdog, in real CPython processes on every interpreter.

What a user reads in a report is checked: the finding's kind and when, the
task's name and coroutine, the origin's last frame (the line that created the
task, found through its "# ORIGIN:name" marker comment), the cancel origin
(the line that called cancel(), or the asyncio machinery that did), and for
shutdown_hang the stuck tasks with their origin, cancel origin and where they
wait.  Every report also goes through the shared contract checker, after the
test's own assertions (see contract_after_test).

Programs (programs/cancel_*.py) document what each form leaves behind:
  cancel_swallow.py  the swallowing forms: one swallowed_cancel each
  cancel_correct.py  the correct forms: no finding at all
  cancel_origin.py   a cancelled task still pending at loop close: the cancel
                     origin in its pending_task finding
  cancel_hang.py     asyncio.run()'s cancel-all step waiting: shutdown_hang
and the examples of docs/guide-cause2-swallowed-cancel.md (examples/cause2_*.py).
"""
import json
import re

import pytest

import conftest
from conftest import (assert_origin, assert_suspended_in, assert_task, check_contract, fmt_frames,
                      frames_of, is_asyncio_internal, marker_line, need_module, need_system,
                      need_version, program_path, run_plain, same_file, short_name)

TASK_N = re.compile(r"Task-\d+")

_RUNS = []


@pytest.fixture(autouse=True)
def contract_after_test():
    """Every report is checked against the shared contract after the test's
    own assertions (a contract failure then does not hide what the test
    found; it is reported as an error at teardown)."""
    _RUNS.clear()
    yield
    runs, _RUNS[:] = list(_RUNS), []
    for run in runs:
        if run.paths:
            check_contract(list(run.paths.values()), run)


def run_program(interp, tmp_path, name, *args, **kw):
    run = conftest.run_program(interp, tmp_path, name, *args, check_reports=False, **kw)
    _RUNS.append(run)
    return run


def only(items, what="finding", run=None):
    assert len(items) == 1, (f"expected exactly one {what}, got {len(items)}: {json.dumps(items, indent=1)}"
                             + ("\n" + run.describe() if run is not None and not items else ""))
    return items[0]


def kinds(run):
    return [f["kind"] for f in run.findings()]


def cancel_of(finding) -> dict:
    c = finding.get("cancel")
    assert isinstance(c, dict), f"no 'cancel' in the finding:\n{json.dumps(finding, indent=1)}"
    return c


def assert_cancel_at(finding, path, line, function="main", requested=1):
    """cancel.requested and cancel.origin ending at path:line, in function."""
    c = cancel_of(finding)
    assert c.get("requested") == requested, f"cancel.requested: expected {requested}, got {c}"
    frames = frames_of(c.get("origin"))
    assert frames, c
    last = frames[-1]
    assert same_file(last["file"], path) and last["line"] == line, (
        f"cancel origin should end at {path}:{line}, ends at {last['file']}:{last['line']}\n{fmt_frames(frames)}")
    assert short_name(last["function"]) == function, fmt_frames(frames)
    return frames


def assert_cancel_by_asyncio(finding, module_file, function, path=None, line=None):
    """asyncio's own machinery asked for the cancel: cancel.via names
    asyncio/<module_file>:<function>, and the cancel origin, like every
    origin, ends at the program's line (path:line when given), never in asyncio."""
    c = cancel_of(finding)
    via = c.get("via")
    assert isinstance(via, str) and ":" in via, f"no cancel.via naming asyncio/{module_file}: {c}"
    via_file, via_func = via.rsplit(":", 1)
    assert via_file == f"asyncio/{module_file}" and short_name(via_func) == function, (
        f"cancel.via should be asyncio/{module_file}:{function}, is {via!r}")
    frames = frames_of(c.get("origin"))
    assert frames, c
    assert not is_asyncio_internal(frames[-1]["file"]), f"asyncio frame last in the cancel origin:\n{fmt_frames(frames)}"
    if path is not None:
        last = frames[-1]
        assert same_file(last["file"], path) and (line is None or last["line"] == line), (
            f"cancel origin should end at {path}:{line}, ends at {last['file']}:{last['line']}\n{fmt_frames(frames)}")
    return frames


def assert_text_cancelled_at(run, path, line):
    """The text report shows a 'Cancelled at' section with the cancel() line."""
    assert "Cancelled at" in run.stderr, run.describe()
    section = run.stderr[run.stderr.index("Cancelled at"):]
    assert f'File "{path}", line {line}, in ' in section, run.describe()


# ==== swallowing forms: one swallowed_cancel each ==========================================

# form -> (coroutine, task state at loop close)
SWALLOW_FORMS = {
    "continue": ("poll_continue", "pending"),             # except CancelledError: continue
    "pass_return": ("fetch_pass_return", "finished"),      # except CancelledError: pass; return
    "bare_except": ("consume_bare_except", "pending"),     # bare except:
    "base_exception": ("job_base_exception", "finished"),  # except BaseException
    "suppress": ("flush_suppress", "finished"),            # contextlib.suppress(CancelledError)
    "retry": ("request_retry", "pending"),                 # retry loop catching everything
    "finally_return": ("save_finally_return", "finished"),  # return inside finally
}


def check_swallowed(run, prog, form, when):
    coro, state = SWALLOW_FORMS[form]
    f = only(run.findings(), run=run)
    assert_task(f, "swallowed_cancel", when, f"swallow-{form}", coro)
    assert f["task"]["state"] == state, f
    assert_origin(f, prog, marker_line(prog, "spawn"))
    assert_cancel_at(f, prog, marker_line(prog, "cancel"))
    if state == "pending":
        assert_suspended_in(f, coro)
    return f


@pytest.mark.parametrize("form", list(SWALLOW_FORMS))
def test_swallowed_form(interp, tmp_path, form):
    prog = program_path("cancel_swallow.py")
    run = run_program(interp, tmp_path, "cancel_swallow.py", form)
    assert run.returncode == 0, run.describe()
    out = run.stdout.splitlines()
    assert "end" in out, run.describe()
    state = SWALLOW_FORMS[form][1]
    assert any(l == f"{form}: pending" if state == "pending" else l.startswith(f"{form}: done ")
               for l in out), run.describe()
    check_swallowed(run, prog, form, "loop_close")
    assert f"asyncleak: swallowed_cancel: task 'swallow-{form}'" in run.stderr, run.describe()
    assert f'File "{prog}", line {marker_line(prog, "spawn")}, in main' in run.stderr, run.describe()
    assert_text_cancelled_at(run, prog, marker_line(prog, "cancel"))


@pytest.mark.parametrize("form,mode,when", [
    ("pass_return", "nokeep", "gc"),          # finished normally, then garbage-collected
    ("suppress", "nokeep", "gc"),
    ("continue", "noclose", "exit"),          # still pending, loop never closed
    ("retry", "noclose", "exit"),
    ("base_exception", "noclose", "exit"),    # finished normally, loop never closed
])
def test_swallowed_reported_when(interp, tmp_path, form, mode, when):
    prog = program_path("cancel_swallow.py")
    run = run_program(interp, tmp_path, "cancel_swallow.py", form, mode)
    assert run.returncode == 0 and "end" in run.stdout.splitlines(), run.describe()
    check_swallowed(run, prog, form, when)


@pytest.mark.parametrize("form", ["continue", "pass_return"])
def test_swallowed_on_uvloop_loop(interp, tmp_path, form):
    need_system(interp, "uvloop")
    need_module(interp, "uvloop")
    prog = program_path("cancel_swallow.py")
    run = run_program(interp, tmp_path, "cancel_swallow.py", form, "uvloop")
    assert run.returncode == 0 and "end" in run.stdout.splitlines(), run.describe()
    check_swallowed(run, prog, form, "loop_close")


def test_swallowed_taskgroup_child(interp, tmp_path):
    """A TaskGroup cancelling a child (_abort) is a real request: the child
    that swallows it is reported, cancelled at TaskGroup._abort."""
    need_version(interp, (3, 11), "asyncio.TaskGroup")
    prog = program_path("cancel_swallow.py")
    run = run_program(interp, tmp_path, "cancel_swallow.py", "taskgroup")
    assert run.returncode == 0, run.describe()
    assert "taskgroup: done ignored the group" in run.stdout.splitlines(), run.describe()
    f = only(run.findings(), run=run)
    assert_task(f, "swallowed_cancel", "loop_close", "swallow-taskgroup", "sibling_swallows")
    assert f["task"]["state"] == "finished", f
    assert_origin(f, prog, marker_line(prog, "spawn_taskgroup"))
    # Asked from the failing child's done callback: the program's only frame
    # is the line that runs the loop.
    assert_cancel_by_asyncio(f, "taskgroups.py", "_abort", prog, marker_line(prog, "run"))


@pytest.mark.parametrize("form", ["wait_for_inner", "timeout_inner"])
def test_swallowed_by_task_awaited_under_timeout(interp, tmp_path, form):
    """A timeout expiring while a task awaits another task: the cancellation
    reaches the awaited task as a plain CancelledError (only the awaiting task
    gets a TimeoutError).  When that task swallows it, the timeout silently
    does nothing (wait_for returns "partial" from 3.9 on): swallowed_cancel.
    wait_for_inner: wait_for()'s own inner task (3.8-3.11); timeout_inner:
    `await task` inside asyncio.timeout() (3.11+)."""
    if form == "timeout_inner":
        need_version(interp, (3, 11), "asyncio.timeout")
    if form == "wait_for_inner" and interp.version >= (3, 12):
        # There is no inner task to report: 3.12's wait_for() awaits the
        # coroutine in the caller's task under asyncio.timeout(); a swallow
        # there is the timeout's own request, not counted (see the guide).
        pytest.skip(f"wait_for() on {interp.name} wraps no task around the coroutine: it runs it in the "
                    "caller's task under asyncio.timeout(), whose own requests are not counted")
    prog = program_path("cancel_swallow.py")
    run = run_program(interp, tmp_path, "cancel_swallow.py", form)
    assert run.returncode == 0 and "end" in run.stdout.splitlines(), run.describe()
    hits = [f for f in run.findings() if f["kind"] == "swallowed_cancel"]
    assert hits, (f"{form}: the task running inner_swallows swallowed the timeout's cancellation "
                  f"but no swallowed_cancel was reported\n{run.describe()}")
    f = only(hits, run=run)
    assert_task(f, "swallowed_cancel", f["when"],
                TASK_N if form == "wait_for_inner" else "swallow-timeout_inner", "inner_swallows")
    assert f["when"] in ("loop_close", "gc"), f
    assert_origin(f, prog, marker_line(prog, "spawn_wait_for" if form == "wait_for_inner" else "spawn_timeout"))
    via = cancel_of(f).get("via") or ""
    assert via.startswith("asyncio/"), f"cancel.via should name the asyncio function that asked: {cancel_of(f)}"
    assert_cancel_by_asyncio(f, via.split(":")[0][len("asyncio/"):], short_name(via.rsplit(":", 1)[1]), prog)
    assert len(run.findings()) == 1, run.describe()


# ==== correct forms: no swallowed_cancel, no finding at all ================================

# form -> (minimum version, feature) or None
CORRECT_FORMS = {
    "timeout": ((3, 11), "asyncio.timeout"),
    "wait_for": None,
    "taskgroup_siblings": ((3, 11), "asyncio.TaskGroup"),
    "taskgroup_parent": ((3, 11), "asyncio.TaskGroup"),
    "shield": None,
    "uncancel": ((3, 11), "Task.uncancel"),
    "cleanup_reraise": None,
    "except_exception": None,
    "cancel_nested": None,
    "cancel_gather": None,
    "async_timeout": None,
}
CORRECT_RESULT = {
    "timeout": "timed out", "wait_for": "timed out", "taskgroup_siblings": "group failed cleanly",
    "taskgroup_parent": "parent carried on", "shield": "saved", "uncancel": "ignored on purpose",
    "cleanup_reraise": "cancelled", "except_exception": "cancelled", "cancel_nested": "cancelled", "cancel_gather": "5 cancelled",
    "async_timeout": "timed out",
}


@pytest.mark.parametrize("form", list(CORRECT_FORMS))
def test_correct_form_not_swallowed(interp, tmp_path, form):
    if CORRECT_FORMS[form]:
        need_version(interp, *CORRECT_FORMS[form])
    if form == "async_timeout":
        need_module(interp, "async_timeout")
    run = run_program(interp, tmp_path, "cancel_correct.py", form)
    assert run.returncode == 0, run.describe()
    assert run.stdout == f"{form} ok {CORRECT_RESULT[form]}\n", run.describe()
    swallowed = [f for f in run.findings() if f["kind"] == "swallowed_cancel"]
    assert not swallowed, f"{form} honours its cancellation, yet:\n{run.describe()}"
    assert run.findings() == [], run.describe()
    assert "asyncleak" not in run.stderr, run.describe()


# ==== the cancel origin in other findings ==================================================

@pytest.mark.parametrize("form,marker,requested", [
    ("pending", "cancel", 1),          # started, suspended, cancel(), loop closed
    ("unstarted", "cancel", 1),        # never ran a step, cancel(), loop closed
    ("twice", "cancel_first", 2),      # two requests: counted, the first one's origin
])
def test_cancel_origin_in_pending_task(interp, tmp_path, form, marker, requested):
    prog = program_path("cancel_origin.py")
    run = run_program(interp, tmp_path, "cancel_origin.py", form)
    assert run.returncode == 0 and run.stdout == f"closed {form}\n", run.describe()
    f = only(run.findings(), run=run)
    assert_task(f, "pending_task", "loop_close", "cancelled-not-awaited", "poll_forever")
    frames = assert_origin(f, prog, marker_line(prog, "spawn"))
    assert short_name(frames[-1]["function"]) == "spawn", fmt_frames(frames)
    assert_cancel_at(f, prog, marker_line(prog, marker), function="<module>", requested=requested)
    assert "message" not in cancel_of(f), f
    assert_text_cancelled_at(run, prog, marker_line(prog, marker))


def test_cancel_message_recorded(interp, tmp_path):
    need_version(interp, (3, 9), "Task.cancel(msg=...)")
    prog = program_path("cancel_origin.py")
    run = run_program(interp, tmp_path, "cancel_origin.py", "message")
    assert run.returncode == 0 and run.stdout == "closed message\n", run.describe()
    f = only(run.findings(), run=run)
    assert_task(f, "pending_task", "loop_close", "cancelled-not-awaited", "poll_forever")
    assert_cancel_at(f, prog, marker_line(prog, "cancel_msg"), function="<module>")
    assert cancel_of(f).get("message") == "bye", f


# ==== shutdown_hang and the watchdog =======================================================

HANG = program_path("cancel_hang.py")


def hang_run(interp, tmp_path, form, watchdog):
    options = [] if watchdog is None else [f"watchdog={watchdog}"]
    return run_program(interp, tmp_path, "cancel_hang.py", form, options=options)


def assert_normal_ending(run, interp, form, lines):
    """Exit status 3 and exactly the output of an unpreloaded run."""
    base = run_plain([interp.exe, HANG, form])
    assert base.returncode == 3 and base.stdout.splitlines() == lines, (
        f"baseline run of {form} differs from the expected output:\n{base.stdout}{base.stderr}")
    assert run.returncode == 3, run.describe()
    assert run.stdout == base.stdout, run.describe()


def assert_runner_cancel(obj, run_marker):
    """Cancelled by asyncio.run()'s cancel-all step: cancel.via names
    asyncio/runners.py:_cancel_all_tasks, the cancel origin ends at the
    program's line that ran the runner (run_marker)."""
    assert_cancel_by_asyncio(obj, "runners.py", "_cancel_all_tasks", HANG, marker_line(HANG, run_marker))
    assert cancel_of(obj).get("requested") == 1, obj


def the_hang(run, name, spawn_marker, run_marker, coro, outer="<module>"):
    """The one shutdown_hang finding, and its entry for task name: origin,
    cancel origin (the runner's cancel-all step) and suspended_at."""
    hang = only(run.findings("shutdown_hang"), "shutdown_hang finding", run=run)
    assert hang["when"] == "watchdog", hang
    entries = [t for t in hang.get("tasks", []) if (t.get("task") or {}).get("name") == name]
    entry = only(entries, f"entry for task {name!r} in shutdown_hang.tasks", run=run)
    assert short_name(entry["task"]["coro"]) == coro, entry
    assert entry["task"].get("state") == "pending", entry
    assert_origin(entry, HANG, marker_line(HANG, spawn_marker), outer=outer)
    assert_runner_cancel(entry, run_marker)
    return hang, entry


def the_swallow(run, name, spawn_marker, run_marker, whens, outer="<module>"):
    """The one swallowed_cancel, for task name, cancelled by the runner."""
    sw = only(run.findings("swallowed_cancel"), "swallowed_cancel", run=run)
    assert_task(sw, "swallowed_cancel", sw["when"], name, name)
    assert sw["when"] in whens, sw
    assert_origin(sw, HANG, marker_line(HANG, spawn_marker), outer=outer)
    assert_runner_cancel(sw, run_marker)
    return sw


def assert_text_hang(run, name, run_marker):
    text = run.stderr
    assert "asyncleak: shutdown_hang: asyncio.run() has waited more than 0.5 s" in text, run.describe()
    section = text[text.index("asyncleak: shutdown_hang:"):]
    assert f"Task '{name}'" in section, run.describe()
    assert "Cancelled at" in section, run.describe()
    assert "(requested through asyncio/runners.py:_cancel_all_tasks)" in section, run.describe()
    assert f'File "{HANG}", line {marker_line(HANG, run_marker)}, in ' in section, run.describe()


STUBBORN_OUT = ["loop: asyncio.unix_events", "stubborn: ignoring cancel", "stubborn: done"]


def test_shutdown_hang_swallowing_task(interp, tmp_path):
    """A task swallows the runner's cancel and keeps running 1.5 s, watchdog=0.5:
    shutdown_hang lists it (origin, cancel origin, where it waits), it is
    reported as swallowed_cancel, and the program ends exactly as without the tool."""
    run = hang_run(interp, tmp_path, "swallow", 0.5)
    assert_normal_ending(run, interp, "swallow", STUBBORN_OUT + ["finished swallow"])
    hang, entry = the_hang(run, "stubborn", "spawn", "run_swallow", "stubborn")
    frames = assert_suspended_in(entry, "stubborn")
    assert frames[0]["line"] == marker_line(HANG, "stubborn_wait"), fmt_frames(frames)
    assert "0.5 s for 1 task" in hang.get("message", ""), hang
    the_swallow(run, "stubborn", "spawn", "run_swallow", ("watchdog", "loop_close"))
    assert sorted(kinds(run)) == ["orphaned_task", "shutdown_hang", "swallowed_cancel"], run.describe()
    assert_text_hang(run, "stubborn", "run_swallow")


@pytest.mark.parametrize("watchdog", ["0", None], ids=["watchdog=0", "default"])
def test_no_shutdown_hang_when_watchdog_off_or_longer(interp, tmp_path, watchdog):
    """watchdog=0 turns it off; the default (10 s) is longer than the 1.5 s hang.
    The swallowed cancel is still reported, at loop close."""
    run = hang_run(interp, tmp_path, "swallow", watchdog)
    assert_normal_ending(run, interp, "swallow", STUBBORN_OUT + ["finished swallow"])
    assert "shutdown_hang" not in kinds(run), run.describe()
    sw = the_swallow(run, "stubborn", "spawn", "run_swallow", ("loop_close",))
    assert sw["task"]["state"] == "finished", sw
    assert sorted(kinds(run)) == ["orphaned_task", "swallowed_cancel"], run.describe()


def test_quick_shutdown_never_hangs(interp, tmp_path):
    """Tasks that clean up quickly: no shutdown_hang with watchdog=0.2, also
    not later (two asyncio.run() calls, then the process lives on 0.6 s)."""
    run = hang_run(interp, tmp_path, "quick", 0.2)
    assert_normal_ending(run, interp, "quick", ["finished quick"])
    assert sorted(set(kinds(run))) == ["orphaned_task"], run.describe()
    assert len(run.findings()) == 10, run.describe()


def test_slow_cleanup_that_reraises_is_not_swallowed(interp, tmp_path):
    """A task whose cleanup (an await in except CancelledError) outlasts the
    watchdog and then re-raises: the shutdown did take too long
    (shutdown_hang), but the task honours its cancellation: no swallowed_cancel."""
    run = hang_run(interp, tmp_path, "slow_cleanup", 0.5)
    assert_normal_ending(run, interp, "slow_cleanup", ["slow_cleanup: re-raising", "finished slow_cleanup"])
    the_hang(run, "slow-cleanup", "spawn_slow", "run_slow_cleanup", "slow_cleanup")
    assert "swallowed_cancel" not in kinds(run), (
        "the task re-raised its CancelledError after an await in its cleanup, yet it was reported "
        f"as swallowed\n{run.describe()}")


def test_shutdown_hang_in_thread_loop(interp, tmp_path):
    """asyncio.run() on a second thread while the main thread waits in join()."""
    run = hang_run(interp, tmp_path, "thread", 0.5)
    assert_normal_ending(run, interp, "thread", STUBBORN_OUT + ["finished thread"])
    hang, entry = the_hang(run, "stubborn", "spawn", "run_thread", "stubborn", outer="thread_main")
    assert_suspended_in(entry, "stubborn")
    the_swallow(run, "stubborn", "spawn", "run_thread", ("watchdog", "loop_close"), outer="thread_main")
    assert_text_hang(run, "stubborn", "run_thread")


def test_shutdown_hang_while_spinning_in_python(interp, tmp_path):
    """The task swallows the runner's cancel, then spins 1.5 s without
    awaiting: the watchdog still reports while it spins (the program sees
    shutdown_hang in its own JSON report before the spin ends)."""
    run = hang_run(interp, tmp_path, "spin", 0.5)
    assert run.returncode == 3, run.describe()
    out = run.stdout.splitlines()
    assert len(out) == 3 and out[0] == "spinner: ignoring cancel" and out[-1] == "finished spin", run.describe()
    m = re.fullmatch(r"spinner: seen while spinning after (\d+\.\d+) s", out[1])
    assert m, f"shutdown_hang was not written while the task spun\n{run.describe()}"
    assert 0.4 <= float(m.group(1)) <= 1.4, run.describe()
    hang, entry = the_hang(run, "spinner", "spawn_spin", "run_spin", "spinner")
    if "suspended_at" in entry:      # running, not suspended: where it runs
        assert_suspended_in(entry, "spinner")
    the_swallow(run, "spinner", "spawn_spin", "run_spin", ("watchdog", "loop_close"))


@pytest.mark.parametrize("form", ["uv_policy", "uv_install", "uv_runner", "uv_run"])
def test_shutdown_hang_uvloop(interp, tmp_path, form):
    need_system(interp, "uvloop")
    need_module(interp, "uvloop")
    if form == "uv_runner":
        need_version(interp, (3, 11), "asyncio.Runner(loop_factory=...)")
    if form == "uv_run":
        p = run_plain([interp.exe, "-c", "import uvloop, sys; sys.exit(0 if hasattr(uvloop, 'run') else 1)"])
        if p.returncode != 0:
            pytest.skip(f"uvloop.run() is missing from this uvloop (0.18+) in {interp}")
    run = hang_run(interp, tmp_path, form, 0.5)
    assert_normal_ending(run, interp, form, ["loop: uvloop"] + STUBBORN_OUT[1:] + [f"finished {form}"])
    hang, entry = the_hang(run, "stubborn", "spawn", f"run_{form}", "stubborn")
    assert_suspended_in(entry, "stubborn")
    the_swallow(run, "stubborn", "spawn", f"run_{form}", ("watchdog", "loop_close"))
    assert_text_hang(run, "stubborn", f"run_{form}")


# ==== the guide's examples (docs/guide-cause2-swallowed-cancel.md) =========================

EXAMPLES = conftest.ROOT / "examples"


def run_example(interp, tmp_path, name, options=()):
    prog = EXAMPLES / name
    run = conftest.run_cmd([interp.exe, prog], tmp_path, env=conftest.preload_env(tmp_path, options),
                           check_reports=False)
    _RUNS.append(run)
    base = run_plain([interp.exe, prog])
    assert (run.returncode, run.stdout) == (base.returncode, base.stdout) == (0, base.stdout), run.describe()
    return prog, run


@pytest.mark.parametrize("watchdog", ["0", "0.5"])
def test_example_cause2_swallowed_cancel(interp, tmp_path, watchdog):
    prog, run = run_example(interp, tmp_path, "cause2_swallowed_cancel.py", [f"watchdog={watchdog}"])
    assert run.stdout.splitlines() == [
        "dashboard got: 'partial report' (cancelled: False)",
        "poller stopped after 5 polls, cancelled: False",
        "service done",
        "upload attempt 1 failed (CancelledError), retrying",
        "uploaded ['a', 'b'] on attempt 2"], run.describe()
    expected = ["orphaned_task", "swallowed_cancel", "swallowed_cancel", "swallowed_cancel"]
    if watchdog != "0":
        expected.append("shutdown_hang")
    assert sorted(kinds(run)) == sorted(expected), run.describe()
    by_coro = {short_name(f["task"]["coro"]): f for f in run.findings("swallowed_cancel")}
    assert set(by_coro) == {"fetch_report", "run", "uploader"}, run.describe()
    for coro, function in (("fetch_report", "dashboard"), ("run", "monitor")):
        f = by_coro[coro]
        assert f["task"]["state"] == "finished", f
        c = cancel_of(f)
        assert c.get("requested") == 1 and "via" not in c, c
        last = frames_of(c["origin"])[-1]
        assert same_file(last["file"], prog) and short_name(last["function"]) == function, c
    assert_cancel_by_asyncio(by_coro["uploader"], "runners.py", "_cancel_all_tasks", prog)
    if watchdog != "0":
        hang = only(run.findings("shutdown_hang"), run=run)
        assert [short_name(t["task"]["coro"]) for t in hang["tasks"]] == ["uploader"], hang


def test_example_cause2_fixed_is_silent(interp, tmp_path):
    prog, run = run_example(interp, tmp_path, "cause2_fixed.py", ["watchdog=0.2"])
    assert run.stdout.splitlines() == [
        "dashboard got: None",
        "poller stopped after 1 polls, cancelled: True",
        "uploaded ['a', 'b'] on attempt 1",
        "service done"], run.describe()
    assert run.findings() == [] and run.stderr == "", run.describe()
