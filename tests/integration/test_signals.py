"""test_signals.py - real signals sent to real processes under the preload.

Every test runs a program of programs/sig_*.py twice when it compares: once
under the tool and once without it (the baseline), and the two must end the
same way (wait status, stdout).  What is checked:

  signal_exit     SIGTERM / SIGHUP (default disposition) to a program with work
                  in flight: the process still dies by that signal, and its
                  report has a signal_exit finding listing each pending task
                  (origin, suspended_at) and open resource; nothing in flight:
                  no finding, same death
  own handlers    loop.add_signal_handler, signal.signal (after or before
                  asyncio's import), C sigaction()/signal() through ctypes:
                  the program's handler runs, no signal_exit; SIGTERM ignored
                  by the parent before exec stays ignored; SIGINT keeps its
                  KeyboardInterrupt and traceback
  SIGINT          Ctrl-C under asyncio.run() (caught or not), run_forever()
                  (closed, caught then closed, never closed, uvloop) and
                  run_until_complete(): the KeyboardInterrupt, traceback,
                  stderr and wait status are as without the tool, and each
                  task that was still running gets "interrupted" and a header
                  saying so (a task made after the KeyboardInterrupt was
                  handled does not); a TaskGroup that shuts down cleanly on
                  3.11+ gives nothing; SIGINT to `asyncleak run`'s process
                  group: death by SIGINT, "interrupted by SIGINT" in the
                  summary
  GIL held        a thread holding the GIL in C: the default death after the
                  tool's 5 s fallback, without a report
  transparency    signal.getsignal() shows no trace of the tool's handlers;
                  PID 1 of a PID namespace (a container without an init)
                  ignores SIGTERM with and without the tool, and the tool
                  must not claim it was terminated
  dumps           dump_signal (default SIGUSR2, SIGUSR1, none): when="dump"
                  findings while the program goes on; `asyncleak dump PID`
  interval=       growing_origin for a server leaking a task per request
                  under a local load (asyncio streams everywhere, aiohttp on
                  Debian's python3), none for a clean server
  crashes         a segfault after a report point: the report is on disk, the
                  status is -11, faulthandler's traceback still prints
  fork            a multiprocessing child terminated with SIGTERM dies by it
  gunicorn        prefork aiohttp workers, one report per worker pid
  asyncleak run   forwards SIGTERM; the child reports and both die by it
  examples        examples/cause4_no_signal_handling.py and cause4_fixed.py, as
                  docs/guide-cause4-signals.md shows them

Programs print "READY <pid>" (flushed) when the state under test is reached;
the tests wait for that line (stdout goes to a file, never a pipe that could
fill up), then signal (SIGINT SETTLE seconds later, so that the
KeyboardInterrupt is raised in the loop's select in both runs).  Every report is checked with the shared contract
checker.  Only 127.0.0.1 is used; every wait is bounded.
"""
import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from conftest import (ASYNCLEAK, LIB, PROGRAMS, ROOT, Run, assert_origin, assert_suspended_in, check_contract, clean_env,
                      marker_line, need_module, need_system, need_version, preload_env, program_path, run_cmd,
                      run_plain, run_program)

STARTUP = 20          # seconds a program may take to reach READY
WAIT = 20             # seconds a signalled program may take to end
SETTLE = 0.3          # seconds between READY and SIGINT (see signal_and_finish)

WAIT_PROG = program_path("sig_wait.py")
HANDLER_PROG = program_path("sig_handler.py")
CRASH_PROG = program_path("sig_crash.py")
FORK_PROG = program_path("sig_fork.py")
SERVER_PROG = program_path("sig_server.py")
CLIENT_PROG = program_path("sig_client.py")
GUNICORN_APP = program_path("sig_gunicorn_app.py")

SIGNAMES = {signal.SIGTERM: "SIGTERM", signal.SIGHUP: "SIGHUP"}


# ---- a program in the background -------------------------------------------------

class Bg:
    """A program started in the background: stdin a pipe, stdout and stderr
    files in its own directory (reports go there too, as al.<pid>.json)."""

    def __init__(self, argv, dirpath: Path, env, cwd=None, preexec_fn=None, new_session=False):
        self.dir = dirpath
        self.dir.mkdir(parents=True, exist_ok=True)
        self.argv = [str(a) for a in argv]
        self.out_path = self.dir / "stdout.txt"
        self.err_path = self.dir / "stderr.txt"
        with open(self.out_path, "w") as out, open(self.err_path, "w") as err:
            self.proc = subprocess.Popen(self.argv, env=env, cwd=cwd, stdin=subprocess.PIPE, stdout=out,
                                         stderr=err, preexec_fn=preexec_fn, start_new_session=new_session)
        self.pid = self.proc.pid
        self.new_session = new_session

    def stdout(self) -> str:
        return self.out_path.read_text(errors="backslashreplace")

    def stderr(self) -> str:
        return self.err_path.read_text(errors="backslashreplace")

    def describe(self) -> str:
        rc = self.proc.poll()
        return (f"command: {self.argv}\npid {self.pid}, return code: {rc}\n--- stdout ---\n{self.stdout()}\n"
                f"--- stderr ---\n{self.stderr()[-20000:]}")

    def wait_for(self, pattern, timeout=STARTUP, stream="stdout", count=1):
        """Waits until stdout (or stderr) matches pattern count times; returns the matches."""
        deadline = time.monotonic() + timeout
        while True:
            text = self.stdout() if stream == "stdout" else self.stderr()
            hits = list(re.finditer(pattern, text, re.M))
            if len(hits) >= count:
                return hits
            if self.proc.poll() is not None:
                text = self.stdout() if stream == "stdout" else self.stderr()
                hits = list(re.finditer(pattern, text, re.M))
                if len(hits) >= count:
                    return hits
                pytest.fail(f"the program ended before printing {pattern!r} on {stream}\n{self.describe()}")
            if time.monotonic() > deadline:
                self.kill_now()
                pytest.fail(f"no {pattern!r} on {stream} within {timeout} s\n{self.describe()}")
            time.sleep(0.02)

    def ready(self):
        self.wait_for(r"^READY \d+$")

    def signal(self, sig):
        os.kill(self.pid, sig)

    def send(self, line: str):
        self.proc.stdin.write((line + "\n").encode())
        self.proc.stdin.flush()

    def alive_after(self, seconds) -> bool:
        try:
            self.proc.wait(seconds)
            return False
        except subprocess.TimeoutExpired:
            return True

    def kill_now(self):
        if self.proc.poll() is None:
            if self.new_session:
                os.killpg(self.pid, signal.SIGKILL)
            else:
                self.proc.kill()
            self.proc.wait()

    def finish(self, timeout=WAIT, reports=True) -> Run:
        """Waits for the end (stdin stays open: EOF would make a program stop on
        its own), collects (and checks) the reports."""
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill_now()
            pytest.fail(f"the program did not end within {timeout} s\n{self.describe()}")
        finally:
            try:
                self.proc.stdin.close()
            except OSError:
                pass
        return collect(self, reports)


def collect(bg: Bg, check=True) -> Run:
    """A conftest Run for a finished Bg, with every al.<pid>.json of its directory."""
    run = Run(bg.proc.returncode, bg.stdout(), bg.stderr(), None, bg.pid, argv=bg.argv)
    files = sorted(bg.dir.glob("al.*.json*"))
    leftovers = [f for f in files if ".tmp." in f.name]
    assert not leftovers, f"temporary report files left behind: {leftovers}\n{run.describe()}"
    for f in files:
        m = re.fullmatch(r"al\.(\d+)\.json", f.name)
        if not m:
            continue
        try:
            doc = json.loads(f.read_text())
        except ValueError as e:
            pytest.fail(f"{f} is not valid JSON: {e}\n{run.describe()}")
        assert doc.get("pid") == int(m.group(1)), f"{f} holds pid {doc.get('pid')}"
        run.reports[int(m.group(1))] = doc
        run.paths[int(m.group(1))] = f
    run.report = run.reports.get(bg.pid)
    if check and run.paths:
        check_contract(list(run.paths.values()), run)
    return run


@pytest.fixture
def start(tmp_path):
    """start(name, argv, tool=True, options=(), log=False, **kw) -> Bg, in tmp_path/name, under the
    preload (json_path there; log=True: log_path there too) or, tool=False, without it.
    Kills what is still running at teardown."""
    started = []

    def _start(name, argv, tool=True, options=(), env=None, log=False, **kw):
        d = tmp_path / name
        d.mkdir(parents=True, exist_ok=True)
        if log:
            options = [*options, f"log_path={d}/al.%p.log"]
        if env is None:
            env = preload_env(d, options) if tool else clean_env()
        bg = Bg(argv, d, env, **kw)
        started.append(bg)
        return bg

    yield _start
    for bg in started:
        bg.kill_now()


def norm(text: str) -> str:
    """Output with pids and addresses replaced, for comparing two runs."""
    text = re.sub(r"\b(READY|child|pid) \d+", r"\1 N", text)
    return re.sub(r"0x[0-9a-f]+", "0xADDR", text)


def tool_lines_removed(stderr: str) -> str:
    return "".join(line for line in stderr.splitlines(True)
                   if not re.match(r"^(==\d+==|asyncleak: )", line))


def assert_same_end(tool: Run, plain: Run):
    """Same wait status and same stdout with and without the tool."""
    assert tool.returncode == plain.returncode, (
        f"wait status differs: {tool.returncode} with the tool, {plain.returncode} without\n"
        f"--- with the tool ---\n{tool.describe()}\n--- without ---\n{plain.describe()}")
    assert norm(tool.stdout) == norm(plain.stdout), (
        f"stdout differs\n--- with the tool ---\n{tool.describe()}\n--- without ---\n{plain.describe()}")


def findings(run: Run, kind=None, report=None):
    return run.findings(kind, report=report)


def only(items, what="finding"):
    assert len(items) == 1, f"expected one {what}, got {len(items)}:\n{json.dumps(items, indent=1)[:6000]}"
    return items[0]


def entry_for(entries, name):
    hits = [e for e in entries if (e.get("task") or {}).get("name") == name]
    assert len(hits) == 1, f"expected one task entry named {name!r}:\n{json.dumps(entries, indent=1)[:6000]}"
    return hits[0]


def signal_and_finish(bg: Bg, sig, timeout=WAIT, settle=0.0) -> Run:
    """Signals once READY; settle seconds later for SIGINT, whose
    KeyboardInterrupt lands wherever the program is: the program must be
    idle in the loop's select, not still running the code after its print,
    for two runs to raise it at the same place."""
    bg.ready()
    time.sleep(settle)
    bg.signal(sig)
    return bg.finish(timeout)


# ---- signal_exit -------------------------------------------------------------------

@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_exit_signal_reports_work_in_flight(interp, start, sig):
    tool = signal_and_finish(start("tool", [interp.exe, WAIT_PROG, "tasks"]), sig)
    plain = signal_and_finish(start("plain", [interp.exe, WAIT_PROG, "tasks"], tool=False), sig)
    assert plain.returncode == -sig, plain.describe()
    assert_same_end(tool, plain)
    assert tool.report is not None, f"no report written\n{tool.describe()}"
    f = only(findings(tool))
    assert f["kind"] == "signal_exit" and f["when"] == "signal", f
    assert f.get("signal") == SIGNAMES[sig], f
    assert f.get("resources") == [], f
    names = sorted(e["task"]["name"] for e in f["tasks"])
    assert names == ["Task-1", "poller", "writer"], names
    poller, writer = entry_for(f["tasks"], "poller"), entry_for(f["tasks"], "writer")
    assert poller["task"]["coro"].endswith("poll_forever") and poller["task"]["state"] == "pending", poller
    assert_origin(poller, WAIT_PROG, marker_line(WAIT_PROG, "poller"))
    assert_origin(writer, WAIT_PROG, marker_line(WAIT_PROG, "writer"))
    assert_suspended_in(poller, "poll_forever")
    assert_suspended_in(writer, "write_batches")
    assert tool.report["summary"] == {"signal_exit": 1}, tool.report["summary"]
    # the text report, on stderr, before the process died
    pid = tool.pid
    assert f"=={pid}== asyncleak: signal_exit: the process was terminated by {SIGNAMES[sig]}" in tool.stderr, \
        tool.describe()
    assert f'File "{WAIT_PROG}", line {marker_line(WAIT_PROG, "poller")}, in main' in tool.stderr, tool.describe()
    assert f"=={pid}== SUMMARY: asyncleak: 1 finding (1 signal_exit)" in tool.stderr, tool.describe()


def test_exit_signal_lists_open_aiohttp_session(interp, start):
    need_system(interp, "aiohttp")
    need_module(interp, "aiohttp")
    tool = signal_and_finish(start("tool", [interp.exe, WAIT_PROG, "session"]), signal.SIGTERM)
    plain = signal_and_finish(start("plain", [interp.exe, WAIT_PROG, "session"], tool=False), signal.SIGTERM)
    assert plain.returncode == -signal.SIGTERM, plain.describe()
    assert_same_end(tool, plain)
    f = only(findings(tool))
    assert f["kind"] == "signal_exit" and f["signal"] == "SIGTERM", f
    assert_origin(entry_for(f["tasks"], "poller"), WAIT_PROG, marker_line(WAIT_PROG, "poller"))
    types = sorted((r.get("resource") or {}).get("type") for r in f["resources"])
    assert "aiohttp.client.ClientSession" in types, json.dumps(f["resources"], indent=1)
    session = [r for r in f["resources"] if r["resource"]["type"] == "aiohttp.client.ClientSession"][0]
    assert_origin(session, WAIT_PROG, marker_line(WAIT_PROG, "session"))
    assert re.search(r"while 3 tasks and [1-9]\d* resources? were in flight", f["message"]), f["message"]


def test_nothing_in_flight_no_finding_same_death(interp, start):
    tool = signal_and_finish(start("tool", [interp.exe, WAIT_PROG, "idle"]), signal.SIGTERM)
    plain = signal_and_finish(start("plain", [interp.exe, WAIT_PROG, "idle"], tool=False), signal.SIGTERM)
    assert plain.returncode == -signal.SIGTERM, plain.describe()
    assert_same_end(tool, plain)
    assert findings(tool) == [], tool.describe()
    assert "asyncleak" not in tool.stderr, tool.describe()


def test_gil_held_in_c_default_death_after_fallback(interp, start):
    """The main thread blocks in read(2) holding the GIL: the tool cannot report;
    after its 5 s fallback the process dies by SIGTERM, with no signal_exit."""
    bg = start("tool", [interp.exe, WAIT_PROG, "gil"])
    bg.wait_for(r"^HOLDING THE GIL$")
    time.sleep(0.2)                     # into read(2)
    t0 = time.monotonic()
    bg.signal(signal.SIGTERM)
    tool = bg.finish(timeout=15)
    took = time.monotonic() - t0
    assert tool.returncode == -signal.SIGTERM, tool.describe()
    assert 4.0 <= took < 15, f"died {took:.1f} s after SIGTERM (the fallback waits 5 s)\n{tool.describe()}"
    assert not findings(tool, "signal_exit"), tool.describe()
    bg = start("plain", [interp.exe, WAIT_PROG, "gil"], tool=False)
    bg.wait_for(r"^HOLDING THE GIL$")
    bg.signal(signal.SIGTERM)
    plain = bg.finish()
    assert_same_end(tool, plain)


# ---- what the program sees, PID 1 -------------------------------------------------------

GETSIGNAL = """import asyncio, signal
print([repr(signal.getsignal(s)) for s in (signal.SIGTERM, signal.SIGHUP, signal.SIGUSR2, signal.SIGINT)])
print(repr(signal.signal(signal.SIGTERM, signal.SIG_DFL)))
"""


def test_python_sees_the_same_dispositions(interp, tmp_path):
    """The tool's handlers are invisible to the program: signal.getsignal() and
    the old handler signal.signal() returns are what they are without the tool."""
    prog = tmp_path / "getsignal.py"
    prog.write_text(GETSIGNAL)
    tool = run_cmd([interp.exe, prog], tmp_path)
    plain = run_plain([interp.exe, prog])
    assert plain.returncode == 0 and "SIG_DFL" in plain.stdout, plain
    assert (tool.returncode, tool.stdout) == (plain.returncode, plain.stdout), tool.describe()


def unshare_pid_ready() -> str:
    try:
        p = subprocess.run(["unshare", "--pid", "--fork", "true"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"unshare is not usable: {e}"
    return "" if p.returncode == 0 else f"unshare --pid --fork fails here: {p.stderr.strip()}"


def test_sigterm_to_pid1_of_a_namespace_is_ignored_like_without_tool(interp, start):
    """As PID 1 of a PID namespace (a container without an init), the kernel
    drops SIGTERM while it has its default action: the program goes on.  The
    tool must not change that, nor report that the process was terminated."""
    why = unshare_pid_ready()
    if why:
        pytest.skip(why)
    runs = {}
    for name, tool in (("tool", True), ("plain", False)):
        bg = start(name, ["unshare", "--pid", "--fork", interp.exe, WAIT_PROG, "tasks"], tool=tool)
        bg.wait_for(r"^READY 1$")
        children = Path(f"/proc/{bg.pid}/task/{bg.pid}/children").read_text().split()
        assert len(children) == 1, children
        os.kill(int(children[0]), signal.SIGTERM)
        alive = bg.alive_after(1.0)
        if alive:
            bg.send("quit")
        runs[name] = bg.finish()
        runs[name].report = runs[name].reports.get(1)
        if name == "plain":
            assert alive, f"SIGTERM ended PID 1 without the tool\n{bg.describe()}"
    tool, plain = runs["tool"], runs["plain"]
    assert_same_end(tool, plain)
    assert not findings(tool, "signal_exit"), (
        "signal_exit reported, but the process was not terminated (it went on and exited normally)\n"
        + tool.describe())


# ---- the program's own dispositions ----------------------------------------------------

HANDLER_MODES = {
    # mode: (exit status, stdout after READY)
    "loop": (3, "got SIGTERM\nstopped\n"),
    "signal": (3, "got SIGTERM\nstopped\n"),
    "signal_before": (3, "got SIGTERM\nstopped\n"),
    "c_sigaction": (15, ""),
    "c_signal": (15, ""),
    "c_before": (15, ""),
}


@pytest.mark.parametrize("mode", list(HANDLER_MODES))
def test_program_handler_untouched(interp, start, mode):
    status, after = HANDLER_MODES[mode]
    tool = signal_and_finish(start("tool", [interp.exe, HANDLER_PROG, mode]), signal.SIGTERM)
    plain = signal_and_finish(start("plain", [interp.exe, HANDLER_PROG, mode], tool=False), signal.SIGTERM)
    assert plain.returncode == status and norm(plain.stdout) == "READY N\n" + after, plain.describe()
    assert_same_end(tool, plain)
    assert not findings(tool, "signal_exit"), tool.describe()
    assert "signal_exit" not in tool.stderr, tool.describe()
    if status == 3:
        # the program stopped its worker itself: nothing to report at all
        assert findings(tool) == [], tool.describe()


def _ignore_sigterm():
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


LAUNCHER = ("import os, signal, sys\n"
            "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
            "os.execv(sys.argv[1], sys.argv[1:])\n")


@pytest.mark.parametrize("how", ["preexec_fn", "launcher"])
def test_sigterm_ignored_by_parent_stays_ignored(interp, start, how):
    def launch(name, tool):
        if how == "preexec_fn":
            return start(name, [interp.exe, WAIT_PROG, "tasks"], tool=tool, preexec_fn=_ignore_sigterm)
        return start(name, [interp.exe, "-c", LAUNCHER, interp.exe, WAIT_PROG, "tasks"], tool=tool)

    runs = {}
    for name, tool in (("tool", True), ("plain", False)):
        bg = launch(name, tool)
        bg.ready()
        bg.signal(signal.SIGTERM)
        assert bg.alive_after(1.0), f"SIGTERM (ignored by the parent) ended the program\n{bg.describe()}"
        bg.send("quit")
        runs[name] = bg.finish()
    tool, plain = runs["tool"], runs["plain"]
    assert plain.returncode == 0 and "final: quit stopped cleanly" in plain.stdout, plain.describe()
    assert_same_end(tool, plain)
    assert findings(tool) == [], tool.describe()


def test_sigint_keyboard_interrupt_unchanged(interp, start):
    """SIGINT keeps Python's own handler: KeyboardInterrupt, the same traceback
    and the same wait status (the text report goes to log_path here so that
    stderr can be compared as it is)."""
    runs = {}
    for name, tool in (("tool", True), ("plain", False)):
        bg = start(name, [interp.exe, WAIT_PROG, "tasks"], tool=tool, log=True)
        runs[name] = signal_and_finish(bg, signal.SIGINT, settle=SETTLE)
    tool, plain = runs["tool"], runs["plain"]
    assert "KeyboardInterrupt" in plain.stderr, plain.describe()
    assert_same_end(tool, plain)
    assert norm(tool.stderr) == norm(plain.stderr), (
        f"stderr differs\n--- with the tool ---\n{tool.describe()}\n--- without ---\n{plain.describe()}")
    assert not findings(tool, "signal_exit"), tool.describe()


# ---- SIGINT: which tasks were still running -------------------------------------------

INTERRUPT_PROG = program_path("sig_interrupt.py")
INTERRUPTED = {"by": "KeyboardInterrupt", "signal": "SIGINT"}
RUNNING_AT_SIGINT = "was still running when SIGINT (KeyboardInterrupt) arrived"

# mode -> (expected exit: "sigint" = death by SIGINT after the traceback, or 0;
#          kind, when and ORIGIN marker of the poller's finding)
INTERRUPT_MODES = {
    "run": ("sigint", "orphaned_task", "runner_shutdown", "poller"),
    "run_caught": (0, "orphaned_task", "runner_shutdown", "poller"),
    "forever": ("sigint", "pending_task", "loop_close", "poller_loop"),
    "forever_caught": (0, "pending_task", "loop_close", "poller_loop"),
    "forever_open": ("sigint", "pending_task", "exit", "poller_loop"),
    "until": ("sigint", "pending_task", "loop_close", "poller"),
    "uvloop": ("sigint", "pending_task", "loop_close", "poller_uvloop"),
}


def interrupt_both(start, interp, mode):
    """The program run with and without the tool, each sent SIGINT once READY
    (the tool's text goes to log_path, so stderr compares as it is)."""
    runs = {}
    for name, tool in (("tool", True), ("plain", False)):
        bg = start(name, [interp.exe, INTERRUPT_PROG, mode], tool=tool, log=True)
        runs[name] = signal_and_finish(bg, signal.SIGINT, settle=SETTLE)
        runs[name].log = "".join(p.read_text() for p in sorted((bg.dir).glob("al.*.log")))
    return runs["tool"], runs["plain"]


@pytest.mark.parametrize("mode", list(INTERRUPT_MODES))
def test_sigint_reports_tasks_still_running(interp, start, mode):
    """Ctrl-C: Python's behaviour is kept (KeyboardInterrupt, traceback, exit
    status, stdout, stderr as without the tool), and each task that was still
    running when SIGINT arrived is reported as such: "interrupted" in the
    JSON, a header saying so in the text, its origin."""
    exit_as, kind, when, marker = INTERRUPT_MODES[mode]
    if mode == "uvloop":
        need_module(interp, "uvloop")
    tool, plain = interrupt_both(start, interp, mode)
    expected = -signal.SIGINT if exit_as == "sigint" else 0
    assert plain.returncode == expected, plain.describe()
    assert_same_end(tool, plain)
    assert norm(tool.stderr) == norm(plain.stderr), (
        f"stderr differs\n--- with the tool ---\n{tool.describe()}\n--- without ---\n{plain.describe()}")
    if exit_as == "sigint":
        assert "KeyboardInterrupt" in tool.stderr, tool.describe()
    assert tool.report is not None, f"no report\n{tool.describe()}"

    f = only(findings_named(tool, "poller"), "finding for the poller")
    assert (f["kind"], f["when"]) == (kind, when), f
    assert f.get("interrupted") == INTERRUPTED, f
    assert RUNNING_AT_SIGINT in f.get("message", ""), f
    assert_origin(f, INTERRUPT_PROG, marker_line(INTERRUPT_PROG, marker), outer=None)
    assert tool.report.get("interrupted") == INTERRUPTED, tool.describe()
    assert re.search(rf"^=={tool.pid}== asyncleak: {kind}: task 'poller' \(coroutine poll_forever\) "
                     rf"{re.escape(RUNNING_AT_SIGINT)}", tool.log, re.M), tool.log
    assert not findings(tool, "signal_exit"), tool.describe()

    # The main task: still pending when SIGINT arrived where nothing cancelled
    # it first (3.8-3.10 asyncio.run, run_until_complete); 3.11+ asyncio.run
    # cancels it itself, and it ends before the runner's cancel step.
    main = findings_named(tool, "Task-1")
    if mode == "until" or (mode.startswith("run") and interp.version < (3, 11)):
        f = only(main, "finding for the main task")
        assert f.get("interrupted") == INTERRUPTED and f["kind"] == kind, f
    else:
        assert not main, tool.describe()

    # A task created after the KeyboardInterrupt was handled is no part of it.
    if mode == "forever_caught":
        f = only(findings_named(tool, "late"), "finding for the late task")
        assert (f["kind"], f["when"]) == ("pending_task", "loop_close"), f
        assert "interrupted" not in f and "message" not in f, f
        assert_origin(f, INTERRUPT_PROG, marker_line(INTERRUPT_PROG, "late"), outer=None)


def findings_named(run, name, report=None):
    return [f for f in findings(run, report=report) if (f.get("task") or {}).get("name") == name]


def test_sigint_taskgroup_clean_shutdown_no_finding(interp, start):
    """asyncio.run() cancels the main task on SIGINT (3.11+); a TaskGroup then
    cancels and awaits its tasks: nothing leaks, nothing is reported."""
    need_version(interp, (3, 11), "asyncio.TaskGroup")
    tool, plain = interrupt_both(start, interp, "taskgroup")
    assert plain.returncode == -signal.SIGINT, plain.describe()
    assert_same_end(tool, plain)
    assert norm(tool.stderr) == norm(plain.stderr), tool.describe()
    assert findings(tool) == [] and tool.log == "", tool.describe()
    assert "interrupted" not in (tool.report or {}), tool.describe()


def test_sigint_to_asyncleak_run_process_group(interp, start, tmp_path):
    """Ctrl-C in a terminal: SIGINT to the whole process group.  asyncleak run
    lets the program handle it, dies by SIGINT like the program, and its
    summary says the process was interrupted."""
    if not ASYNCLEAK.exists():
        pytest.fail(f"{ASYNCLEAK} is not built")
    d = tmp_path / "run"
    bg = start("run", [ASYNCLEAK, "run", "--json", f"{d}/al.%p.json", "--", interp.exe, INTERRUPT_PROG, "run"],
               env=clean_env(ASYNCLEAK_LIBRARY=None), new_session=True)
    child = int(bg.wait_for(r"^READY (\d+)$")[0].group(1))
    time.sleep(SETTLE)
    os.killpg(bg.pid, signal.SIGINT)
    run = bg.finish()
    assert run.returncode == -signal.SIGINT, run.describe()
    assert set(run.reports) == {child}, run.describe()
    f = only(findings_named(run, "poller", report=run.reports[child]))
    assert f.get("interrupted") == INTERRUPTED and f["kind"] == "orphaned_task", f
    n = len(run.reports[child]["findings"])
    assert re.search(rf"^==asyncleak== SUMMARY: {n} findings? in 1 process \(\d+ orphaned_task\)$",
                     run.stderr, re.M), run.describe()
    assert re.search(rf"^==asyncleak==   pid {child} \(.*\): {n} findings? \({n} orphaned_task\), "
                     rf"interrupted by SIGINT$", run.stderr, re.M), run.describe()
    assert "Traceback" in run.stderr and "KeyboardInterrupt" in run.stderr, run.describe()


# ---- dumps ----------------------------------------------------------------------------

def report_of(bg: Bg, name=None) -> Path:
    return bg.dir / (name or f"al.{bg.pid}.json")


def wait_report(bg: Bg, predicate, timeout=10, path=None):
    """Waits until the process's JSON report satisfies predicate(doc); returns doc."""
    path = path or report_of(bg)
    deadline = time.monotonic() + timeout
    doc = None
    while time.monotonic() < deadline:
        if path.exists():
            try:
                doc = json.loads(path.read_text())
            except ValueError as e:        # rewritten atomically: never half a file
                pytest.fail(f"{path} is not valid JSON: {e}")
            if predicate(doc):
                return doc
        if bg.proc.poll() is not None:
            break
        time.sleep(0.05)
    pytest.fail(f"the report never got there; last one:\n{json.dumps(doc, indent=1)[:6000]}\n{bg.describe()}")


def dump_findings(doc, kind="pending_task"):
    return [f for f in doc.get("findings", []) if f.get("kind") == kind and f.get("when") == "dump"]


def by_task(items, name):
    return [f for f in items if (f.get("task") or {}).get("name") == name]


@pytest.mark.parametrize("mode", ["tasks", "session"])
def test_dump_signal_keeps_program_running(interp, start, mode):
    if mode == "session":
        need_system(interp, "aiohttp")
        need_module(interp, "aiohttp")
    bg = start("tool", [interp.exe, WAIT_PROG, mode])
    bg.ready()
    bg.signal(signal.SIGUSR2)
    wait_report(bg, lambda d: len(by_task(dump_findings(d), "writer")) == 1)
    bg.signal(signal.SIGUSR2)
    doc = wait_report(bg, lambda d: len(by_task(dump_findings(d), "writer")) == 2)
    assert bg.alive_after(0.3), f"the program did not survive the dumps\n{bg.describe()}"
    bg.send("quit")
    tool = bg.finish()

    plain_bg = start("plain", [interp.exe, WAIT_PROG, mode], tool=False)
    plain_bg.ready()
    plain_bg.send("quit")
    plain = plain_bg.finish()
    assert plain.returncode == 0 and plain.stdout.endswith("final: quit stopped cleanly\n"), plain.describe()
    assert_same_end(tool, plain)

    dumps = dump_findings(doc)
    for name, marker, coro in (("poller", "poller", "poll_forever"), ("writer", "writer", "write_batches")):
        got = by_task(dumps, name)
        assert len(got) == 2, f"{name}: {len(got)} dump findings\n{json.dumps(dumps, indent=1)[:6000]}"
        for f in got:
            assert f["task"]["state"] == "pending", f
            assert_origin(f, WAIT_PROG, marker_line(WAIT_PROG, marker))
            assert_suspended_in(f, coro)
    if mode == "session":
        sessions = [f for f in dump_findings(doc, "unclosed_resource")
                    if f["resource"]["type"] == "aiohttp.client.ClientSession"]
        assert len(sessions) == 2, json.dumps(doc["findings"], indent=1)[:6000]
        for f in sessions:
            assert_origin(f, WAIT_PROG, marker_line(WAIT_PROG, "session"))
    # at the end: still the dumps, nothing else (the program stopped its work cleanly)
    kinds = {(f["kind"], f["when"]) for f in findings(tool)}
    assert kinds <= {("pending_task", "dump"), ("unclosed_resource", "dump")}, kinds
    assert "(on-demand dump)" in tool.stderr, tool.describe()


def test_dump_signal_none_leaves_sigusr2_alone(interp, start):
    tool = signal_and_finish(start("tool", [interp.exe, WAIT_PROG, "tasks"], options=["dump_signal=none"]),
                             signal.SIGUSR2)
    plain = signal_and_finish(start("plain", [interp.exe, WAIT_PROG, "tasks"], tool=False), signal.SIGUSR2)
    assert plain.returncode == -signal.SIGUSR2, plain.describe()
    assert_same_end(tool, plain)
    assert findings(tool) == [], tool.describe()


def test_dump_signal_sigusr1(interp, start):
    bg = start("tool", [interp.exe, WAIT_PROG, "tasks"], options=["dump_signal=SIGUSR1"])
    bg.ready()
    bg.signal(signal.SIGUSR1)
    doc = wait_report(bg, lambda d: len(by_task(dump_findings(d), "writer")) == 1)
    assert bg.alive_after(0.3), bg.describe()
    assert_origin(by_task(dump_findings(doc), "poller")[0], WAIT_PROG, marker_line(WAIT_PROG, "poller"))
    # SIGUSR2 is not the dump signal now: it keeps its default action
    bg.signal(signal.SIGUSR2)
    tool = bg.finish()
    plain = signal_and_finish(start("plain", [interp.exe, WAIT_PROG, "tasks"], tool=False), signal.SIGUSR2)
    assert plain.returncode == -signal.SIGUSR2, plain.describe()
    assert_same_end(tool, plain)
    assert not findings(tool, "signal_exit"), tool.describe()


# ---- interval=: growing_origin under a local load ---------------------------------------

LOAD_COUNT, LOAD_RATE = 75, 30          # 2.5 s of load; snapshots every 0.2 s


def serve_under_load(interp, start, server, handler) -> Run:
    bg = start(f"{server}-{handler}", [interp.exe, SERVER_PROG, server, handler], options=["interval=0.2"],
               log=True)
    port = bg.wait_for(r"^PORT (\d+)$")[0].group(1)
    client = run_plain([interp.exe, CLIENT_PROG, server, port, LOAD_COUNT, LOAD_RATE], timeout=60)
    assert client.returncode == 0 and client.stdout == f"sent {LOAD_COUNT}\n", (
        f"load client failed: {client.returncode}\n{client.stdout}\n{client.stderr}\n{bg.describe()}")
    bg.send("quit")
    run = bg.finish()
    assert run.returncode == 0 and run.stdout.endswith(f"served {LOAD_COUNT}\n"), run.describe()
    snaps = (run.report or {}).get("snapshots")
    assert isinstance(snaps, list) and len(snaps) >= 5, f"no snapshots\n{run.describe()}"
    times = [s["t_ms"] for s in snaps]
    assert times == sorted(times), times
    return run


def server_kinds():
    return [pytest.param("streams", id="streams"), pytest.param("aiohttp", id="aiohttp")]


def need_server(interp, server):
    if server == "aiohttp":
        need_system(interp, "aiohttp.web server")
        need_module(interp, "aiohttp")


@pytest.mark.parametrize("server", server_kinds())
def test_growing_origin_for_leaking_server(interp, start, server):
    need_server(interp, server)
    run = serve_under_load(interp, start, server, "leak")
    grow = only(findings(run, "growing_origin"), "growing_origin")
    assert grow["when"] == "interval" and grow.get("object") == "task", grow
    line = marker_line(SERVER_PROG, f"leak_{server}")
    assert_origin(grow, SERVER_PROG, line)
    counts = grow.get("counts")
    assert len(counts) == 5 and all(b > a for a, b in zip(counts, counts[1:])) and counts[-1] - counts[0] >= 10, \
        counts
    # the time series: the origin is named in snapshot_origins, and its live count rises to the leak
    origins = run.report["snapshot_origins"]
    keys = [k for k, o in origins.items() if o["origin"] == grow["origin"] and o["object"] == "task"]
    assert len(keys) == 1 and re.fullmatch(r"t\d+", keys[0]), json.dumps(origins, indent=1)[:6000]
    series = [s["live"].get(keys[0], 0) for s in run.report["snapshots"]]
    assert max(series) <= LOAD_COUNT and max(series) >= LOAD_COUNT // 2, series
    assert "asyncleak: growing_origin:" in Path(run.paths[run.pid]).with_suffix(".log").read_text()


@pytest.mark.parametrize("server", server_kinds())
def test_no_growing_origin_for_clean_server(interp, start, server):
    need_server(interp, server)
    run = serve_under_load(interp, start, server, "clean")
    assert findings(run) == [], run.describe()
    for s in run.report["snapshots"]:
        assert all(n <= 5 for n in s["live"].values()), s


# ---- fatal signals ----------------------------------------------------------------------

@pytest.mark.parametrize("fh", [False, True], ids=["plain", "faulthandler"])
def test_segfault_keeps_report_written_before(interp, tmp_path, fh):
    args = ["faulthandler"] if fh else []
    tool = run_program(interp, tmp_path, "sig_crash.py", *args)
    plain = run_plain([interp.exe, CRASH_PROG, *args])
    assert plain.returncode == -signal.SIGSEGV, plain
    assert tool.returncode == plain.returncode, tool.describe()
    assert norm(tool.stdout) == norm(plain.stdout) == "READY N\n", tool.describe()
    f = only(findings(tool))
    assert f["kind"] == "pending_task" and f["when"] == "loop_close" and f["task"]["name"] == "leak", f
    assert_origin(f, CRASH_PROG, marker_line(CRASH_PROG, "leak"))
    crash = f'File "{CRASH_PROG}", line {marker_line(CRASH_PROG, "crash")} in <module>'
    if fh:
        for text in (tool.stderr, plain.stderr):
            assert "Fatal Python error: Segmentation fault" in text and crash in text, tool.describe()
        assert norm(tool_lines_removed(tool.stderr)) == norm(plain.stderr), (
            f"faulthandler's output differs\n--- with ---\n{tool.stderr}\n--- without ---\n{plain.stderr}")
    else:
        assert "Fatal Python error" not in tool.stderr, tool.describe()


# ---- fork ------------------------------------------------------------------------------

@pytest.mark.parametrize("child", ["async", "sync"])
def test_fork_child_terminated_dies_by_sigterm(interp, tmp_path, child):
    tool = run_program(interp, tmp_path, "sig_fork.py", child)
    plain = run_plain([interp.exe, FORK_PROG, child])
    assert plain.returncode == 0 and re.fullmatch(r"child \d+ exitcode -15\n", plain.stdout), plain
    assert tool.returncode == 0, tool.describe()
    m = re.fullmatch(r"child (\d+) exitcode (\S+)\n", tool.stdout)
    assert m, tool.describe()
    assert m.group(2) == "-15", f"the child ended with exitcode {m.group(2)} (None: it hung)\n{tool.describe()}"
    child_pid = int(m.group(1))
    assert findings(tool) == [], tool.describe()
    child_report = tool.reports.get(child_pid)
    if child == "async":
        # the child ran asyncio after the fork: it has its own pipe and thread, and reports
        assert child_report is not None, f"no report from the child {child_pid}\n{tool.describe()}"
        f = only(findings(tool, report=child_report))
        assert f["kind"] == "signal_exit" and f["signal"] == "SIGTERM", f
        assert_origin(entry_for(f["tasks"], "child-task"), FORK_PROG, marker_line(FORK_PROG, "child"))
    else:
        assert child_report is None or findings(tool, report=child_report) == [], tool.describe()


# ---- gunicorn prefork (aiohttp workers) ---------------------------------------------------

@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_gunicorn_workers_write_their_own_reports(interp, start, stop):
    import urllib.request
    need_system(interp, "gunicorn with aiohttp workers")
    need_module(interp, "aiohttp")
    if not interp.can_import("gunicorn"):
        pytest.skip(f"gunicorn is not installed for {interp} (Debian package gunicorn / python3-gunicorn)")
    t0 = time.monotonic()
    bg = start("gunicorn", [interp.exe, "-m", "gunicorn", "--worker-class", "aiohttp.GunicornWebWorker",
                            "--workers", "2", "--bind", "127.0.0.1:0", "--graceful-timeout", "5",
                            "sig_gunicorn_app:app"], log=True, cwd=PROGRAMS, new_session=True)
    port = bg.wait_for(r"Listening at: http://127\.0\.0\.1:(\d+)", stream="stderr")[0].group(1)
    workers = {int(m.group(1)) for m in bg.wait_for(r"Booting worker with pid: (\d+)", stream="stderr", count=2)}
    served_by = set()
    for i in range(30):
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/r{i}", timeout=5) as resp:
            body = resp.read().decode()
        m = re.fullmatch(r"ok (\d+)", body)
        assert m, body
        served_by.add(int(m.group(1)))
    assert served_by <= workers, (served_by, workers)
    bg.signal(stop)
    run = bg.finish(timeout=15)
    assert time.monotonic() - t0 < 20, "gunicorn took too long"
    missing = workers - set(run.reports)
    assert not missing, f"no report from workers {sorted(missing)}; reports of {sorted(run.reports)}\n{run.describe()}"
    line = marker_line(GUNICORN_APP, "gunicorn_leak")
    leaky = {}
    for pid in workers:
        hits = [f for f in findings(run, report=run.reports[pid])
                if f.get("origin") and f["origin"]["frames"][-1]["line"] == line]
        for f in hits:
            assert_origin(f, GUNICORN_APP, line, outer=None)
        leaky[pid] = len(hits)
    assert sum(leaky.values()) >= 1, f"no report names {GUNICORN_APP}:{line}: {leaky}\n{run.describe()}"
    for pid in served_by:
        assert leaky[pid] >= 1, f"worker {pid} served requests but reports no leak: {leaky}\n{run.describe()}"


# ---- asyncleak run forwards the signal ----------------------------------------------------

def test_asyncleak_run_forwards_sigterm(interp, start, tmp_path):
    if not ASYNCLEAK.exists():
        pytest.fail(f"{ASYNCLEAK} is not built")
    d = tmp_path / "run"
    bg = start("run", [ASYNCLEAK, "run", "--json", f"{d}/al.%p.json", "--", interp.exe, WAIT_PROG, "tasks"],
               env=clean_env(ASYNCLEAK_LIBRARY=None))
    child = int(bg.wait_for(r"^READY (\d+)$")[0].group(1))
    bg.signal(signal.SIGTERM)
    run = bg.finish()
    assert run.returncode == -signal.SIGTERM, run.describe()
    assert set(run.reports) == {child}, run.describe()
    f = only(findings(run, report=run.reports[child]))
    assert f["kind"] == "signal_exit" and f["signal"] == "SIGTERM", f
    assert_origin(entry_for(f["tasks"], "poller"), WAIT_PROG, marker_line(WAIT_PROG, "poller"))


# ---- asyncleak dump PID ---------------------------------------------------------------

DUMP_CMD = ASYNCLEAK        # the command under test (a plugin may point it elsewhere)


def dump(*args, timeout=15):
    if not Path(DUMP_CMD).exists():
        pytest.fail(f"{DUMP_CMD} is not built")
    probe = subprocess.run([str(DUMP_CMD), "dump", "--help"], capture_output=True, text=True, timeout=timeout,
                           env=clean_env())
    if probe.returncode != 0 and "unknown command" in probe.stderr:
        pytest.skip(f"`asyncleak dump` is not wired into {DUMP_CMD} yet (reporter/main.c): {probe.stderr.strip()}")
    return subprocess.run([str(DUMP_CMD), "dump", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, env=clean_env())


def describe_cmd(p) -> str:
    return f"exit status {p.returncode}\n--- stdout ---\n{p.stdout}\n--- stderr ---\n{p.stderr}"


def test_asyncleak_dump_writes_report(interp, start):
    bg = start("tool", [interp.exe, WAIT_PROG, "tasks"])
    bg.ready()
    path = report_of(bg)
    for n in (1, 2):
        p = dump(bg.pid)
        assert p.returncode == 0, describe_cmd(p) + bg.describe()
        assert p.stdout == f"asyncleak: dump of {bg.pid} written to {path}\n", describe_cmd(p)
        doc = json.loads(path.read_text())
        assert len(by_task(dump_findings(doc), "writer")) == n, json.dumps(doc, indent=1)[:6000]
    assert_origin(by_task(dump_findings(doc), "poller")[0], WAIT_PROG, marker_line(WAIT_PROG, "poller"))
    assert bg.alive_after(0.3), bg.describe()
    bg.send("quit")
    run = bg.finish()
    assert run.returncode == 0 and run.stdout.endswith("final: quit stopped cleanly\n"), run.describe()


def test_asyncleak_dump_relative_json_path_and_sigusr1(interp, start, tmp_path):
    d = tmp_path / "rel"
    d.mkdir()
    env = clean_env(LD_PRELOAD=str(LIB),
                    ASYNCLEAK_OPTIONS="dump_signal=SIGUSR1:json_path=al.%p.json")
    bg = start("rel", [interp.exe, WAIT_PROG, "tasks"], env=env, cwd=d)
    bg.ready()
    p = dump(bg.pid)
    expected = Path(os.path.realpath(d)) / f"al.{bg.pid}.json"
    assert p.returncode == 0 and p.stdout == f"asyncleak: dump of {bg.pid} written to {expected}\n", \
        describe_cmd(p) + bg.describe()
    doc = json.loads(expected.read_text())
    assert len(by_task(dump_findings(doc), "poller")) == 1, doc
    p = dump("--signal", "USR1", bg.pid)
    assert p.returncode == 0, describe_cmd(p)
    assert bg.alive_after(0.3), bg.describe()
    bg.send("quit")
    assert bg.finish().returncode == 0


NO_ASYNCIO = "import os, sys\nprint('READY', os.getpid(), flush=True)\nprint('final:', sys.stdin.readline().strip())\n"


@pytest.mark.parametrize("case", ["not_preloaded", "dump_signal_none", "asyncio_not_imported", "other_signal"])
def test_asyncleak_dump_refuses_and_leaves_process_alone(interp, start, case):
    argv = [interp.exe, WAIT_PROG, "tasks"]
    extra, tool, options = [], True, ()
    if case == "not_preloaded":
        tool, expect = False, "is not running under asyncleak"
    elif case == "dump_signal_none":
        options, expect = ["dump_signal=none"], "dump_signal=none"
    elif case == "asyncio_not_imported":
        argv, expect = [interp.exe, "-c", NO_ASYNCIO], "does not catch SIGUSR2"
    else:
        extra, expect = ["--signal", "SIGUSR1"], "is SIGUSR2 (dump_signal), not SIGUSR1"
    bg = start("target", argv, tool=tool, options=options)
    bg.ready()
    p = dump(*extra, bg.pid)
    assert p.returncode == 2 and p.stdout == "", describe_cmd(p)
    assert expect in p.stderr and str(bg.pid) in p.stderr, describe_cmd(p)
    assert len(p.stderr.splitlines()) == 1, describe_cmd(p)
    assert bg.alive_after(0.5), f"the refused dump disturbed the process\n{bg.describe()}"
    bg.send("quit")
    run = bg.finish()
    assert run.returncode == 0 and "final: quit" in run.stdout, run.describe()
    assert not [f for f in findings(run) if f.get("when") == "dump"], run.describe()


def test_asyncleak_dump_no_such_process():
    p0 = subprocess.Popen(["true"])
    p0.wait()
    p = dump(p0.pid)
    assert p.returncode == 2 and p.stderr == f"asyncleak dump: no process {p0.pid}\n", describe_cmd(p)


@pytest.mark.parametrize("args, status, text", [
    ([], 2, "no PID given"),
    (["--help"], 0, "usage: asyncleak dump [--signal SIG] PID"),
    (["abc"], 2, "'abc' is not a process id"),
    (["--signal"], 2, "needs a value"),
    (["--signal", "BOGUS", "1"], 2, "bad signal 'BOGUS'"),
    (["--frobnicate", "1"], 2, "unknown option '--frobnicate'"),
    (["1", "2"], 2, "one PID only"),
])
def test_asyncleak_dump_usage(args, status, text):
    p = dump(*args)
    assert p.returncode == status, describe_cmd(p)
    assert text in (p.stdout if status == 0 else p.stderr), describe_cmd(p)


@pytest.mark.parametrize("where", ["stderr", "log_path"])
def test_asyncleak_dump_without_json_path(interp, start, tmp_path, where):
    d = tmp_path / "nojson"
    d.mkdir()
    env = clean_env(LD_PRELOAD=str(LIB))
    log = d / "al.%p.log"
    if where == "log_path":
        env["ASYNCLEAK_OPTIONS"] = f"log_path={log}"
    bg = start("nojson", [interp.exe, WAIT_PROG, "tasks"], env=env)
    bg.ready()
    p = dump(bg.pid)
    assert p.returncode == 0, describe_cmd(p)
    if where == "stderr":
        assert p.stdout == (f"asyncleak: dump of {bg.pid} requested (SIGUSR2); no json_path is set: "
                            f"the text report goes to the process's stderr\n"), describe_cmd(p)
        bg.wait_for(r"pending_task: task 'poller' .*\(on-demand dump\)", stream="stderr", timeout=5)
    else:
        logfile = Path(str(log).replace("%p", str(bg.pid)))
        assert p.stdout == (f"asyncleak: dump of {bg.pid} requested (SIGUSR2); no json_path is set: "
                            f"the text report goes to {logfile} (log_path)\n"), describe_cmd(p)
        deadline = time.monotonic() + 5
        while "(on-demand dump)" not in (logfile.read_text() if logfile.exists() else ""):
            assert time.monotonic() < deadline, bg.describe()
            time.sleep(0.05)
    assert bg.alive_after(0.3), bg.describe()
    bg.send("quit")
    assert bg.finish().returncode == 0


def test_asyncleak_dump_under_asyncleak_run(interp, start, tmp_path):
    d = tmp_path / "run"
    bg = start("run", [ASYNCLEAK, "run", "--json", f"{d}/al.%p.json", "--", interp.exe, WAIT_PROG, "tasks"],
               env=clean_env(ASYNCLEAK_LIBRARY=None))
    child = int(bg.wait_for(r"^READY (\d+)$")[0].group(1))
    p = dump(bg.pid)
    assert p.returncode == 2 and "it is the asyncleak launcher: give the pid of the program it runs" in p.stderr, \
        describe_cmd(p)
    p = dump(child)
    assert p.returncode == 0 and p.stdout == f"asyncleak: dump of {child} written to {d}/al.{child}.json\n", \
        describe_cmd(p)
    bg.send("quit")
    run = bg.finish()
    assert run.returncode == 0, run.describe()
    assert len(by_task(dump_findings(run.reports[child]), "writer")) == 1, run.describe()


# ---- the cause 4 examples (docs/guide-cause4-signals.md) ------------------------------------

EXAMPLES = ROOT / "examples"


def line_with(path, text) -> int:
    hits = [i for i, line in enumerate(Path(path).read_text().splitlines(), 1) if text in line]
    assert len(hits) == 1, f"{path}: {len(hits)} lines hold {text!r}"
    return hits[0]


def test_example_cause4_no_signal_handling(interp, start):
    prog = EXAMPLES / "cause4_no_signal_handling.py"
    bg = start("tool", [interp.exe, prog])
    bg.wait_for(r"^worker started")
    time.sleep(0.3)
    bg.signal(signal.SIGTERM)
    run = bg.finish()
    assert run.returncode == -signal.SIGTERM, run.describe()
    f = only(findings(run))
    assert f["kind"] == "signal_exit" and f["signal"] == "SIGTERM" and f["resources"] == [], f
    by_coro = {e["task"]["coro"].rsplit(".", 1)[-1]: e for e in f["tasks"]}
    assert sorted(by_coro) == ["main", "produce", "write_results"], sorted(by_coro)
    assert_origin(by_coro["produce"], prog, line_with(prog, "asyncio.create_task(produce(queue))"))
    assert_origin(by_coro["write_results"], prog, line_with(prog, "asyncio.create_task(write_results(queue))"))
    assert_suspended_in(by_coro["produce"], "produce")
    assert_suspended_in(by_coro["write_results"], "write_results")


def test_example_cause4_fixed(interp, start):
    need_version(interp, (3, 11), "asyncio.TaskGroup")
    prog = EXAMPLES / "cause4_fixed.py"
    bg = start("tool", [interp.exe, prog])
    bg.wait_for(r"^worker started")
    time.sleep(0.3)
    bg.signal(signal.SIGTERM)
    run = bg.finish()
    assert run.returncode == 0, run.describe()
    assert "\nstopping\n" in run.stdout and run.stdout.endswith("stopped\n"), run.describe()
    assert run.report is not None and findings(run) == [], run.describe()
    assert "asyncleak" not in run.stderr, run.describe()


def test_asyncleak_dump_after_attach(interp, start, tmp_path):
    """A preload loaded by `asyncleak attach` has no options in /proc/PID/environ:
    dump asks for --signal, then sends it."""
    import shutil
    if shutil.which("gdb") is None:
        pytest.skip("gdb is not installed (asyncleak attach needs it)")
    dump("--help")                          # skips when `dump` is not wired yet
    bg = start("attached", [interp.exe, WAIT_PROG, "tasks"], tool=False)
    bg.ready()
    d = tmp_path / "attached"
    att = subprocess.run([str(ASYNCLEAK), "attach", "--json", f"{d}/al.%p.json", str(bg.pid)], capture_output=True,
                         text=True, timeout=60, env=clean_env())
    if att.returncode != 0:
        pytest.skip(f"asyncleak attach did not work here:\n{describe_cmd(att)}")
    wait_report(bg, lambda doc: len(by_task(dump_findings(doc), "writer")) == 1)
    p = dump(bg.pid)
    assert p.returncode == 2 and "give the dump signal with --signal SIG" in p.stderr, describe_cmd(p)
    p = dump("--signal", "SIGUSR2", bg.pid)
    assert p.returncode == 0 and "the preload was attached" in p.stdout, describe_cmd(p)
    wait_report(bg, lambda doc: len(by_task(dump_findings(doc), "writer")) == 2)
    assert bg.alive_after(0.3), bg.describe()
    bg.send("quit")
    assert bg.finish().returncode == 0
