"""test_children.py - process trees: multiprocessing children with each start
method, and the summary `asyncleak run` prints over the whole tree.

Every test runs programs/children_mp.py (a parent and one multiprocessing
child, each with an event loop and a leaked task) under `asyncleak run
--json DIR/al.%p.json` on every interpreter, and checks what a user would:

  own reports    with "fork", "forkserver" and "spawn", the parent and the
                 child each write a report under their own pid, naming their
                 own leak (kind, when, origin file and line); the child,
                 started while the parent's loop runs with its task pending,
                 does not report the parent's task, nor the parent the
                 child's
  os._exit       a child that ends with os._exit() right after closing its
                 loop still leaves the loop_close report
  summary        one summary at the end: findings per kind over the tree, a
                 line per process (pid, argv, counts), the report paths; no
                 output at all when nothing leaked
  fork warning   os.fork() and multiprocessing fork/forkserver after asyncio
                 has run (the tool's threads running): with -W
                 error::DeprecationWarning and -W always, output and status
                 as without the tool (3.12+ warns about a multi-threaded
                 fork; the tool stops its threads around it), and a dump
                 signal and SIGTERM are still handled after the fork
  exit status    the program's own (0) without --exitcode; --exitcode N when
                 any process of the tree had findings, also when only the
                 child did; the preload's exitcode=N acts per process (a
                 spawn child with findings exits N; fork and forkserver
                 children end with os._exit inside multiprocessing, where it
                 does not apply)

Every report is checked with the shared contract checker.
"""
import json
import re
import signal
import subprocess
import time

import pytest

from conftest import (ASYNCLEAK, Run, assert_origin, clean_env, marker_line, preload_env, program_path, run_cmd,
                      run_plain)

PROG = program_path("children_mp.py")
FORK_PROG = program_path("children_fork.py")
METHODS = ["fork", "forkserver", "spawn"]
TIMEOUT = 90

SUMMARY_RE = re.compile(r"^==asyncleak== SUMMARY: (\d+) findings? in (\d+)(?: of (\d+))? process(?:es)? \((.*)\)$",
                        re.M)
PROC_RE = re.compile(r"^==asyncleak==   pid (\d+) \((.*)\): (\d+) findings? \((.*)\)(, interrupted by SIGINT)?$", re.M)
PATHS_RE = re.compile(r"^==asyncleak== JSON reports?: (.*)$", re.M)


def run_tree(interp, tmp_path, *args, run_opts=()) -> Run:
    if not ASYNCLEAK.exists():
        pytest.fail(f"{ASYNCLEAK} is not built: run `make`")
    tmp_path.mkdir(parents=True, exist_ok=True)
    argv = [ASYNCLEAK, "run", *run_opts, "--json", f"{tmp_path}/al.%p.json", "--", interp.exe, PROG, *args]
    return run_cmd(argv, tmp_path, env=clean_env(), timeout=TIMEOUT)


def pids_of(run: Run):
    """(parent pid, child pid, child exitcode) from the program's stdout."""
    parent = re.search(r"^parent (\d+)$", run.stdout, re.M)
    child = re.search(r"^child (\d+) exitcode (\S+)$", run.stdout, re.M)
    assert parent and child, run.describe()
    return int(parent.group(1)), int(child.group(1)), child.group(2)


def findings_named(report, name):
    return [f for f in report.get("findings", []) if (f.get("task") or {}).get("name") == name]


def origin_lines(report):
    """(file basename, line) of the creating frame of every finding."""
    out = set()
    for f in report.get("findings", []):
        frames = (f.get("origin") or {}).get("frames") or []
        if frames:
            out.add((frames[-1]["file"].rsplit("/", 1)[-1], frames[-1]["line"]))
    return out


def summary_of(run: Run):
    """{'findings', 'with', 'of', 'kinds', 'procs': {pid: (argv, n, kinds, interrupted)}, 'paths'}"""
    m = SUMMARY_RE.search(run.stderr)
    assert m, f"no summary of the tree\n{run.describe()}"
    kinds = dict((k, int(n)) for n, k in (part.split(" ", 1) for part in m.group(4).split(", ")))
    procs = {int(p.group(1)): (p.group(2), int(p.group(3)),
                               dict((k, int(n)) for n, k in (x.split(" ", 1) for x in p.group(4).split(", "))),
                               bool(p.group(5)))
             for p in PROC_RE.finditer(run.stderr)}
    paths = PATHS_RE.search(run.stderr)
    assert paths, run.describe()
    assert run.stderr.count("==asyncleak== SUMMARY:") == 1, run.describe()
    return {"findings": int(m.group(1)), "with": int(m.group(2)), "of": int(m.group(3) or m.group(2)),
            "kinds": kinds, "procs": procs, "paths": paths.group(1).split(" ")}


# ---- every process writes its own report -----------------------------------------------

@pytest.mark.parametrize("how", ["return", "_exit"])
@pytest.mark.parametrize("method", METHODS)
def test_each_process_reports_its_own_leak(interp, tmp_path, method, how):
    run = run_tree(interp, tmp_path, method, how)
    assert run.returncode == 0, run.describe()
    parent, child, exitcode = pids_of(run)
    assert exitcode == "0", run.describe()
    assert parent in run.reports, f"no report from the parent {parent}\n{run.describe()}"
    assert child in run.reports, f"no report from the {method} child {child}\n{run.describe()}"

    # The parent: its own task, cancelled by asyncio.run(); nothing of the child's.
    prep, crep = run.reports[parent], run.reports[child]
    (f,) = findings_named(prep, "parent-leak")
    assert (f["kind"], f["when"]) == ("orphaned_task", "runner_shutdown"), f
    assert_origin(f, PROG, marker_line(PROG, "parent"))
    assert not findings_named(prep, "child-leak"), run.describe()
    assert len(prep["findings"]) == 1, run.describe()

    # The child: its own task at its loop's close (also with os._exit), and
    # nothing of the parent's, although it started while that task was pending.
    (f,) = findings_named(crep, "child-leak")
    assert (f["kind"], f["when"]) == ("pending_task", "loop_close"), f
    assert_origin(f, PROG, marker_line(PROG, "child"), outer="child")
    assert not findings_named(crep, "parent-leak"), f"the child reported the parent's task\n{run.describe()}"
    assert ("children_mp.py", marker_line(PROG, "parent")) not in origin_lines(crep), run.describe()
    assert len(crep["findings"]) == 1, run.describe()

    # Any other report (the forkserver process) has nothing.
    for pid, rep in run.reports.items():
        if pid not in (parent, child):
            assert rep["findings"] == [], f"findings in the report of {pid}\n{run.describe()}"

    # The text: each process printed its own finding under its own pid.
    assert re.search(rf"^=={parent}== asyncleak: orphaned_task: task 'parent-leak'", run.stderr, re.M), run.describe()
    assert re.search(rf"^=={child}== asyncleak: pending_task: task 'child-leak'", run.stderr, re.M), run.describe()

    # One summary over the tree.
    s = summary_of(run)
    assert (s["findings"], s["with"]) == (2, 2), run.describe()
    assert s["of"] == len(run.reports), run.describe()
    assert s["kinds"] == {"orphaned_task": 1, "pending_task": 1}, run.describe()
    assert set(s["procs"]) == {parent, child}, run.describe()
    assert s["procs"][parent][1:] == (1, {"orphaned_task": 1}, False), run.describe()
    assert s["procs"][child][1:] == (1, {"pending_task": 1}, False), run.describe()
    for pid in (parent, child):
        shown = " ".join(run.reports[pid]["argv"])
        if len(shown) > 100:
            shown = shown[:100] + "..."
        assert s["procs"][pid][0] == shown, run.describe()
        assert method in shown, run.describe()
    assert sorted(s["paths"]) == sorted(str(run.paths[p]) for p in (parent, child)), run.describe()
    assert s["paths"][0] == str(run.paths[min(parent, child)]), "reports listed by pid"


# ---- exit status over the tree -----------------------------------------------------------

@pytest.mark.parametrize("method", METHODS)
def test_exitcode_counts_every_process_of_the_tree(interp, tmp_path, method):
    # Only the child leaks: the program itself exits 0.
    plain = run_tree(interp, tmp_path / "plain", method, "return", "child")
    assert plain.returncode == 0, plain.describe()
    parent, child, _ = pids_of(plain)
    assert plain.reports[parent]["findings"] == [], plain.describe()
    assert len(findings_named(plain.reports[child], "child-leak")) == 1, plain.describe()
    s = summary_of(plain)
    assert (s["findings"], s["with"], set(s["procs"])) == (1, 1, {child}), plain.describe()

    # --exitcode N: the child's finding is enough.
    strict = run_tree(interp, tmp_path / "strict", method, "return", "child", run_opts=["--exitcode", "7"])
    assert strict.returncode == 7, strict.describe()

    # exitcode=N of the preload acts in each process that has findings and
    # ends through the interpreter's exit: a spawn child; fork and forkserver
    # children end with os._exit inside multiprocessing.
    per = run_tree(interp, tmp_path / "per", method, "return", "child", run_opts=["--option", "exitcode=5"])
    assert per.returncode == 0, per.describe()
    _, _, exitcode = pids_of(per)
    assert exitcode == ("5" if method == "spawn" else "0"), per.describe()


@pytest.mark.parametrize("method", METHODS)
def test_nothing_leaked_nothing_printed(interp, tmp_path, method):
    run = run_tree(interp, tmp_path, method, "return", "none", run_opts=["--exitcode", "7"])
    assert run.returncode == 0, run.describe()
    parent, child, exitcode = pids_of(run)
    assert exitcode == "0", run.describe()
    assert run.stderr == "", run.describe()
    for pid, rep in run.reports.items():
        assert rep["findings"] == [], run.describe()


# ---- forking with the tool's threads running ----------------------------------------------

FORK_OUT = "os.fork 0\nfork 0\nforkserver 0\nforked\n"


@pytest.mark.parametrize("warnings", ["error::DeprecationWarning", "always::DeprecationWarning"])
def test_fork_after_asyncio_same_as_without_tool(interp, tmp_path, warnings):
    plain = run_plain([interp.exe, "-W", warnings, FORK_PROG], timeout=TIMEOUT)
    assert (plain.returncode, plain.stdout, plain.stderr) == (0, FORK_OUT, ""), plain
    run = run_cmd([interp.exe, "-W", warnings, FORK_PROG], tmp_path, timeout=TIMEOUT)
    assert (run.returncode, run.stdout) == (0, FORK_OUT), run.describe()
    assert "multi-threaded" not in run.stderr and run.stderr == "", run.describe()


def test_signals_handled_after_fork(interp, tmp_path):
    """After the forks, the signal thread runs again: a dump (SIGUSR2) is
    written and SIGTERM gives signal_exit, then the death by SIGTERM."""
    out = tmp_path / "stdout.txt"
    with open(out, "w") as fh:
        proc = subprocess.Popen([interp.exe, FORK_PROG, "wait"], env=preload_env(tmp_path), stdout=fh,
                                stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
    try:
        deadline = time.monotonic() + 60
        while not re.search(r"^READY (\d+)$", out.read_text(), re.M):
            assert proc.poll() is None and time.monotonic() < deadline, out.read_text()
            time.sleep(0.05)
        report = tmp_path / f"al.{proc.pid}.json"
        proc.send_signal(signal.SIGUSR2)
        while not (report.exists() and any(f["when"] == "dump" for f in json.loads(report.read_text())["findings"])):
            assert proc.poll() is None and time.monotonic() < deadline, "no dump report"
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGTERM, (proc.returncode, err)
    assert out.read_text().startswith(FORK_OUT), out.read_text()
    doc = json.loads(report.read_text())
    (f,) = [f for f in doc["findings"] if f["kind"] == "signal_exit"]
    (entry,) = [e for e in f["tasks"] if e["task"]["name"] == "after-fork"]
    assert_origin(entry, FORK_PROG, marker_line(FORK_PROG, "after_fork"), outer=None)


CHILD_OPENS_FIRST = '''
import asyncio, os, sys

class Channel:
    def __init__(self):
        self.open = True
    def close(self):
        self.open = False

KEEP = []

async def parent_work():
    await asyncio.sleep(0)

async def child_work():
    await asyncio.sleep(0)

asyncio.run(parent_work())
parent_channel = Channel()              # ORIGIN:parent_open
parent_channel.close()
pid = os.fork()
if pid == 0:
    KEEP.append(Channel())              # ORIGIN:child_open
    asyncio.run(child_work())
    sys.exit(0)
os.waitpid(pid, 0)
'''


def test_child_resource_opened_before_its_first_task(interp, tmp_path):
    """A forked child that opens a resource before it runs any task keeps
    that record (the parent's records are dropped at the child's first hook,
    whichever hook that is) and reports it unclosed at exit; the parent has
    nothing."""
    prog = tmp_path / "child_opens_first.py"
    prog.write_text(CHILD_OPENS_FIRST)
    kinds = tmp_path / "kinds.txt"
    kinds.write_text("__main__:Channel close=close\n")
    run = run_cmd([interp.exe, prog], tmp_path, env=preload_env(tmp_path, [f"resources={kinds}"]))
    assert run.returncode == 0, run.describe()
    assert run.report["findings"] == [], run.describe()
    children = [doc for pid, doc in run.reports.items() if pid != run.pid]
    assert len(children) == 1, run.describe()
    (f,) = children[0]["findings"]
    assert (f["kind"], f["when"], f["resource"]["type"]) == ("unclosed_resource", "exit", "__main__.Channel"), f
    assert_origin(f, prog, marker_line(prog, "child_open"), outer=None)
