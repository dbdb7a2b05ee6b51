"""test_hostile.py - the preload under hostile conditions.

The tool must never crash, hang or change the program it is preloaded into:
not when its report cannot be written (read-only directory, full disk,
planted symlink, missing directory), not under a million pending tasks,
stacks deeper than stack_depth or the recursion limit, names that are not
text, objects whose own methods raise or block when described, exceptions
raised by the program while a hook is on the stack, eight threads churning
tasks, subinterpreters, or a setuid process.  Each test compares with a run
of the same program without the tool where "unchanged" is the claim.

docs/reliability.md maps each guarantee to the tests here.

Environment knobs (defaults are what the suite runs):
  ASYNCLEAK_HOSTILE_TASKS    tasks pending at loop close in test_million_* (1000000)
  ASYNCLEAK_HOSTILE_SECONDS  duration of the 8-thread churn (10)
"""
import contextlib
import errno
import glob
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from conftest import (LIB, check_contract, clean_env, marker_line, need_system, preload_env,
                      program_path, run_cmd, run_plain, run_program, same_file)

TOOL_LINE = re.compile(r"^(==\d+==|asyncleak: )")
ADDR = re.compile(r"0x[0-9a-fA-F]+")
MILLION = int(os.environ.get("ASYNCLEAK_HOSTILE_TASKS", "1000000"))
CHURN_SECONDS = float(os.environ.get("ASYNCLEAK_HOSTILE_SECONDS", "5"))


# ---- helpers -------------------------------------------------------------------

def program_stderr(stderr: str) -> list:
    """The program's own stderr lines: without the tool's report (==PID==
    lines) and diagnostics (asyncleak: lines), addresses normalized."""
    return [ADDR.sub("0x?", line) for line in stderr.splitlines() if not TOOL_LINE.match(line)]


def diagnostics(stderr: str) -> list:
    """The tool's one-line diagnostics (not part of a report)."""
    return [line for line in stderr.splitlines() if line.startswith("asyncleak: ")]


def assert_program_unchanged(run, plain, what=""):
    """Exit status, stdout and the program's own stderr are those of the run
    without the tool."""
    desc = f"{what}\n{run.describe()}\n--- without the tool ---\nrc={plain.returncode}\n" \
           f"{plain.stdout}\n{plain.stderr}"
    assert run.returncode == plain.returncode, desc
    assert run.stdout == plain.stdout, desc
    assert program_stderr(run.stderr) == program_stderr(plain.stderr), desc


def plain_run(interp, prog, *args, timeout=60):
    return run_plain([interp.exe, prog, *args], timeout=timeout)


@contextlib.contextmanager
def tmpfs(path: Path, size="16k", readonly=False):
    """A tiny tmpfs mounted at path (root only), unmounted afterwards."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    path.mkdir()
    opts = f"size={size},mode=0755" + (",ro" if readonly else "")
    p = subprocess.run(["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(path)],
                       capture_output=True, text=True)
    if p.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {p.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


@contextlib.contextmanager
def readonly_dir(path: Path):
    """A directory the process cannot write: mode 0555 for a normal user; for
    root (who ignores modes) a read-only tmpfs."""
    if os.geteuid() != 0:
        path.mkdir()
        path.chmod(0o555)
        try:
            yield path
        finally:
            path.chmod(0o755)
    else:
        with tmpfs(path, readonly=True) as p:
            yield p


def fill(directory: Path):
    """Fills the file system of directory until ENOSPC."""
    chunk = b"\0" * 4096
    with open(directory / "filler", "wb", buffering=0) as f:
        try:
            while True:
                f.write(chunk)
        except OSError as e:
            assert e.errno == errno.ENOSPC, e
        try:
            while True:
                f.write(b"\0")
        except OSError as e:
            assert e.errno == errno.ENOSPC, e


def only_diagnostic(run, *needles):
    """Exactly one diagnostic line, naming all needles."""
    lines = diagnostics(run.stderr)
    assert len(lines) == 1, f"expected exactly one 'asyncleak:' line, got {lines}\n{run.describe()}"
    for n in needles:
        assert n in lines[0], f"the line should mention {n!r}: {lines[0]!r}"
    return lines[0]


def assert_text_report_on_stderr(run):
    assert "asyncleak: pending_task:" in run.stderr, run.describe()
    assert "SUMMARY: asyncleak: 1 finding" in run.stderr, run.describe()


# ---- 1. the report path cannot be written ------------------------------------------

REPORT = "hostile_report.py"


def test_json_path_in_readonly_dir(interp, tmp_path):
    plain = plain_run(interp, program_path(REPORT))
    with readonly_dir(tmp_path / "ro") as ro:
        env = preload_env(tmp_path, json=False, options=[f"json_path={ro}/al.%p.json"])
        run = run_program(interp, tmp_path, REPORT, env=env)
        assert os.listdir(ro) == [], os.listdir(ro)
    assert_program_unchanged(run, plain)
    line = only_diagnostic(run, "cannot write the JSON report", str(ro))
    assert re.search(r"Read-only file system|Permission denied", line), line
    assert_text_report_on_stderr(run)


def test_log_path_in_readonly_dir(interp, tmp_path):
    plain = plain_run(interp, program_path(REPORT))
    with readonly_dir(tmp_path / "ro") as ro:
        run = run_program(interp, tmp_path, REPORT, options=[f"log_path={ro}/al.%p.log"])
        assert os.listdir(ro) == []
    assert_program_unchanged(run, plain)
    only_diagnostic(run, "cannot open log_path", str(ro))
    assert_text_report_on_stderr(run)          # it falls back to stderr
    assert run.report and len(run.report["findings"]) == 1, run.describe()


def test_json_path_on_full_disk(interp, tmp_path):
    plain = plain_run(interp, program_path(REPORT))
    with tmpfs(tmp_path / "full") as full:
        fill(full)
        env = preload_env(tmp_path, json=False, options=[f"json_path={full}/al.%p.json"])
        run = run_program(interp, tmp_path, REPORT, env=env)
        left = sorted(os.listdir(full))
    assert left == ["filler"], f"files left on the full disk: {left}\n{run.describe()}"
    assert_program_unchanged(run, plain)
    only_diagnostic(run, "cannot write the JSON report", "No space left on device")
    assert_text_report_on_stderr(run)


def test_log_path_on_full_disk(interp, tmp_path):
    """The text report cannot be written (ENOSPC after a successful open):
    the program is unchanged and one line on stderr says the report was lost."""
    plain = plain_run(interp, program_path(REPORT))
    with tmpfs(tmp_path / "full") as full:
        fill(full)
        run = run_program(interp, tmp_path, REPORT, options=[f"log_path={full}/al.%p.log"])
    assert_program_unchanged(run, plain)
    assert run.report and len(run.report["findings"]) == 1, run.describe()
    lines = diagnostics(run.stderr)
    assert len(lines) == 1 and "log_path" in lines[0] and "No space left on device" in lines[0], (
        "a text report lost to a full disk should be reported by one line on stderr "
        f"(like the JSON report); diagnostics: {lines}\n{run.describe()}")


def test_log_path_dev_full(interp, tmp_path):
    """/dev/full as log_path (works without root): nothing changes for the
    program, the JSON report is still complete."""
    plain = plain_run(interp, program_path(REPORT))
    run = run_program(interp, tmp_path, REPORT, options=["log_path=/dev/full"])
    assert_program_unchanged(run, plain)
    assert run.report and run.report["summary"] == {"pending_task": 1}, run.describe()


def test_json_path_dir_missing(interp, tmp_path):
    plain = plain_run(interp, program_path(REPORT))
    missing = tmp_path / "missing"
    env = preload_env(tmp_path, json=False, options=[f"json_path={missing}/al.%p.json"])
    run = run_program(interp, tmp_path, REPORT, env=env)
    assert not missing.exists(), "the tool must not create the report's directory"
    assert_program_unchanged(run, plain)
    only_diagnostic(run, "cannot write the JSON report", str(missing), "No such file or directory")
    assert_text_report_on_stderr(run)


def test_log_path_dir_missing(interp, tmp_path):
    plain = plain_run(interp, program_path(REPORT))
    missing = tmp_path / "missing"
    run = run_program(interp, tmp_path, REPORT, options=[f"log_path={missing}/al.log"])
    assert not missing.exists()
    assert_program_unchanged(run, plain)
    only_diagnostic(run, "cannot open log_path", str(missing), "No such file or directory")
    assert_text_report_on_stderr(run)


# ---- 2. a symlink planted at the report path -----------------------------------------

PRECIOUS = "precious content, not the tool's\n"


def test_symlink_at_json_path_is_replaced(interp, tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text(PRECIOUS)
    report = tmp_path / "report.json"
    report.symlink_to(victim)
    plain = plain_run(interp, program_path(REPORT))
    env = preload_env(tmp_path, json=False, options=[f"json_path={report}"])
    run = run_program(interp, tmp_path, REPORT, env=env)
    assert victim.read_text() == PRECIOUS, "the tool wrote through a planted symlink"
    assert not report.is_symlink() and report.is_file(), "the symlink should be replaced by the report"
    doc = json.loads(report.read_text())
    assert doc["pid"] == run.pid and doc["summary"] == {"pending_task": 1}, doc
    check_contract([report], run)
    assert_program_unchanged(run, plain)
    assert diagnostics(run.stderr) == [], run.describe()


def test_dangling_symlink_at_json_path_creates_nothing(interp, tmp_path):
    target = tmp_path / "created-through-the-link"
    report = tmp_path / "report.json"
    report.symlink_to(target)
    env = preload_env(tmp_path, json=False, options=[f"json_path={report}"])
    run = run_program(interp, tmp_path, REPORT, env=env)
    assert not target.exists(), "the tool created a file through a dangling symlink"
    assert not report.is_symlink()
    check_contract([report], run)


def test_symlink_at_temporary_name(interp, tmp_path):
    """A symlink planted at the temporary file's name (path.tmp.PID; the pid
    is known in advance: sh execs python) is never written through."""
    victim = tmp_path / "victim.txt"
    victim.write_text(PRECIOUS)
    report = tmp_path / "report.json"
    env = preload_env(tmp_path, json=False, options=[f"json_path={report}"])
    script = 'ln -s "$1" "$2.tmp.$$" && exec "$3" "$4"'
    # sh gets the preload too: it stays inert there (test_core covers that).
    run = run_cmd(["/bin/sh", "-c", script, "sh", victim, report, interp.exe, program_path(REPORT)],
                  tmp_path, env=env)
    assert victim.read_text() == PRECIOUS, "the tool wrote through a symlink at its temporary name"
    assert report.is_file() and not report.is_symlink(), run.describe()
    assert glob.glob(f"{report}.tmp.*") == [], "temporary file or planted link left behind"
    assert json.loads(report.read_text())["pid"] == run.pid
    check_contract([report], run)


def test_symlink_at_log_path_is_not_followed(interp, tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text(PRECIOUS)
    log = tmp_path / "al.log"
    log.symlink_to(victim)
    plain = plain_run(interp, program_path(REPORT))
    run = run_program(interp, tmp_path, REPORT, options=[f"log_path={log}"])
    assert victim.read_text() == PRECIOUS, "the tool appended to a planted symlink's target"
    assert_program_unchanged(run, plain)
    only_diagnostic(run, "cannot open log_path", str(log))
    assert_text_report_on_stderr(run)


# ---- 3. a million pending tasks ------------------------------------------------------

MILLION_INTERPS = ("system", "3.8")     # API frame walk (3.11) and struct walk (3.8)


def test_million_pending_tasks_bounded(interp, tmp_path):
    if interp.name not in MILLION_INTERPS:
        pytest.skip(f"run on {', '.join(MILLION_INTERPS)} only (about 30 s and 1 GB each)")
    prog = program_path("hostile_million.py")
    start = time.monotonic()
    run = run_program(interp, tmp_path, "hostile_million.py", str(MILLION),
                      options=["max_findings=1000"], timeout=300)
    elapsed = time.monotonic() - start
    print(f"\n{interp}: {MILLION} pending tasks, max_findings=1000: program ran {elapsed:.1f} s "
          f"({run.stdout.strip()})")
    assert run.returncode == 0, run.describe()
    rep = run.report
    assert rep is not None, run.describe()
    assert len(rep["findings"]) == 1000, len(rep["findings"])
    assert rep["summary"] == {"pending_task": 1000}, rep["summary"]
    assert rep.get("dropped") == {"pending_task": MILLION - 1000}, rep.get("dropped")
    line = marker_line(prog, "million")
    for f in rep["findings"][:3] + rep["findings"][-3:]:
        assert f["kind"] == "pending_task" and f["when"] == "loop_close", f
        last = f["origin"]["frames"][-1]
        assert same_file(last["file"], prog) and last["line"] == line, f["origin"]
    # Text: 1000 findings, the SUMMARY, the dropped count, one max_findings line.
    headers = re.findall(r"^==\d+== asyncleak: pending_task:", run.stderr, re.M)
    assert len(headers) == 1000, len(headers)
    assert re.search(r"SUMMARY: asyncleak: 1000 findings \(1000 pending_task\)", run.stderr)
    assert f"{MILLION - 1000} more findings were counted but not listed" in run.stderr
    assert len([d for d in diagnostics(run.stderr) if "max_findings=1000 reached" in d]) == 1
    size = run.paths[run.pid].stat().st_size
    assert size < 4 * 1024 * 1024, f"report of 1000 findings is {size} bytes"
    # Bounded time, judged against the same process so the machine's load
    # cancels out (absolute figures belong to bench/, not to a timed test):
    # the report at loop.close(), with 999,000 findings only counted, costs
    # at most half again what creating the million tasks did.
    m = re.search(r"spawned \d+ tasks in ([\d.]+) s, loop.close\(\) took ([\d.]+) s", run.stdout)
    assert m, run.describe()
    spawn_s, close_s = float(m.group(1)), float(m.group(2))
    assert close_s < 1.5 * spawn_s, f"loop.close() took {close_s} s, spawning took {spawn_s} s"


# ---- 4. deep stacks ------------------------------------------------------------------

def deep_origin(run, prog):
    f = [x for x in run.report["findings"] if x.get("task", {}).get("name") == "deep-task"]
    assert len(f) == 1, run.describe()
    return f[0]["origin"]


@pytest.mark.parametrize("stack_depth", [4, 8])
def test_stack_deeper_than_stack_depth(interp, tmp_path, stack_depth):
    """50 frames of recursion, stack_depth=4/8: the origin keeps the innermost
    frames, is marked truncated, and still ends at the creating line.  The
    count includes asyncio's spawn frame (loop.create_task: one), which is
    trimmed from the end: stack_depth - 1 program frames are left."""
    prog = program_path("hostile_deep.py")
    run = run_program(interp, tmp_path, "hostile_deep.py", "deep", "50",
                      options=[f"stack_depth={stack_depth}"])
    assert run.returncode == 0, run.describe()
    origin = deep_origin(run, prog)
    frames = origin["frames"]
    assert origin.get("truncated") is True, origin
    assert len(frames) == stack_depth - 1, origin
    assert frames[-1]["line"] == marker_line(prog, "deep") and same_file(frames[-1]["file"], prog), origin
    assert all(fr["line"] == marker_line(prog, "recurse") for fr in frames[:-1]), origin
    assert "[older frames cut at stack_depth]" in run.stderr, run.stderr


@pytest.mark.parametrize("stack_depth", [32, 256])
def test_spawn_at_recursion_depth_900(interp, tmp_path, stack_depth):
    prog = program_path("hostile_deep.py")
    plain = plain_run(interp, prog, "deep", "900")
    run = run_program(interp, tmp_path, "hostile_deep.py", "deep", "900",
                      options=[f"stack_depth={stack_depth}"])
    assert_program_unchanged(run, plain)
    origin = deep_origin(run, prog)
    assert origin.get("truncated") is True and len(origin["frames"]) == stack_depth - 1, origin
    assert origin["frames"][-1]["line"] == marker_line(prog, "deep"), origin


def test_recursion_limit_unchanged(interp, tmp_path):
    """Creating tasks all the way down to RecursionError: the program gets
    exactly as deep as without the tool (the hooks add no Python frames)."""
    prog = program_path("hostile_deep.py")
    plain = plain_run(interp, prog, "limit")
    run = run_program(interp, tmp_path, "hostile_deep.py", "limit", options=["max_findings=5"])
    assert run.returncode == plain.returncode == 0, run.describe()
    assert run.stdout == plain.stdout, (plain.stdout, run.stdout)
    n = int(re.search(r"tasks (\d+)", run.stdout).group(1))
    assert run.report["summary"] == {"pending_task": 5}
    assert run.report["dropped"] == {"pending_task": n - 5}


# ---- 5. names that are not text -----------------------------------------------------

def run_bytes(argv, env, timeout=30):
    p = subprocess.run(argv, env=env, capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL)
    return p


def test_names_not_utf8_or_with_control_chars(interp, tmp_path):
    """A program file whose name is not UTF-8 and holds an escape sequence,
    task names with ESC, newline, a lone surrogate and U+2028: the JSON is
    valid and passes the contract, the text report shows the bad bytes as
    \\xNN and never writes raw control characters or invalid UTF-8."""
    src = program_path("hostile_names.py")
    bad = os.fsencode(str(tmp_path)) + b"/hostile_\xff\xfe\x1b[7m.py"
    with open(bad, "wb") as f:
        f.write(src.read_bytes())
    env = preload_env(tmp_path)
    p = run_bytes([os.fsencode(interp.exe), bad], env)
    out, err = p.stdout, p.stderr
    desc = f"rc={p.returncode}\n--- stdout ---\n{out!r}\n--- stderr ---\n{err!r}"
    assert p.returncode == 0 and out == b"done\n", desc
    files = glob.glob(f"{tmp_path}/al.*.json")
    assert len(files) == 1, files
    raw = Path(files[0]).read_bytes()
    raw.decode("utf-8")                          # strict: valid UTF-8
    doc = json.loads(raw)
    check_contract(files)
    names = sorted(f["task"]["name"] for f in doc["findings"])
    assert "a\x1b[31mb\n" in names, names
    assert len(doc["findings"]) == 2, doc
    line = marker_line(src, "names")
    for f in doc["findings"]:
        last = f["origin"]["frames"][-1]
        assert last["line"] == line and last["file"].endswith("\x1b[7m.py"), last
        assert "\udcff" not in last["file"], last
    # The text report, byte for byte.
    report = [ln for ln in err.split(b"\n") if re.match(rb"^==\d+==", ln)]
    assert report, desc
    text = b"\n".join(report)
    assert b"a\\x1b[31mb\\x0a" in text, text
    for ln in report:
        assert not re.search(rb"[\x00-\x08\x0b-\x1f\x7f]", ln), f"raw control character in {ln!r}"
    not_utf8 = []
    for ln in report:
        try:
            ln.decode("utf-8")
        except UnicodeDecodeError:
            not_utf8.append(ln)
    assert not not_utf8 and b"hostile_\\xff\\xfe\\x1b[7m.py" in text, (
        "bytes that are not UTF-8 (the file name) should be shown as \\xNN in the text report, "
        "not written raw; lines with raw invalid UTF-8:\n" + "\n".join(map(repr, not_utf8)))


# ---- 6. objects whose own methods raise or block -----------------------------------

DESCRIBE_CASES = {
    # case: (kind, check of the finding)
    "task_subclass": ("pending_task", lambda f: f["task"]["name"] == "bad-task"),
    "coro_object": ("pending_task", lambda f: f["task"]["coro"].endswith("AwaitForever")),
    "coro_metaclass": ("pending_task", lambda f: f["task"]["coro"].endswith("MetaAwaitForever")),
    "exception": ("unretrieved_exception", lambda f: f["exception"]["type"] == "BadError"),
    "resource": ("unclosed_resource", lambda f: f["resource"]["type"] == "hostile_reslib.Conn"),
}


@pytest.mark.parametrize("case", list(DESCRIBE_CASES))
def test_describing_never_runs_program_code(interp, tmp_path, case):
    """The tool describes tasks, coroutines, exceptions and resources from
    their C state: a __repr__/__str__/get_name/get_coro/args/_loop or
    metaclass attribute hook of the program that raises or sleeps 100 s is
    never called (it would print CALLED), so nothing hangs and no exception
    reaches the program."""
    prog = program_path("hostile_repr.py")
    resources = tmp_path / "resources.txt"
    resources.write_text("hostile_reslib:Conn open=__init__ close=close\n")
    plain = plain_run(interp, prog, case)
    assert plain.returncode == 0 and "CALLED" not in plain.stdout, plain
    run = run_program(interp, tmp_path, "hostile_repr.py", case,
                      options=[f"resources={resources}"], timeout=25)
    called = [ln for ln in run.stdout.splitlines() if ln.startswith("CALLED")]
    assert not called, f"the tool ran program code to describe an object: {called}\n{run.describe()}"
    assert_program_unchanged(run, plain)
    kind, check = DESCRIBE_CASES[case]
    found = [f for f in run.report["findings"] if f["kind"] == kind]
    assert len(found) == 1 and check(found[0]), run.describe()


# ---- 7. exceptions raised by the program while a hook is on the stack -----------------

EXC_CASES = ["task_init_type", "task_init_kwarg", "task_init_loop", "subclass_init",
             "close_running", "cancel_raises", "runner_cancel", "handler_raises"]


@pytest.mark.parametrize("case", EXC_CASES)
def test_program_exception_unchanged(interp, tmp_path, case):
    """Same exception, same traceback text, same exit status as without the
    tool (stderr compared line by line after removing the tool's lines)."""
    prog = program_path("hostile_exc.py")
    plain = plain_run(interp, prog, case)
    assert "Traceback" in plain.stderr or "after handler" in plain.stderr, plain
    run = run_program(interp, tmp_path, "hostile_exc.py", case)
    assert_program_unchanged(run, plain, f"case {case}")


# ---- 8. eight threads churning tasks --------------------------------------------------

def test_threads_churn(interp, tmp_path):
    """8 threads, each with its own asyncio.run() spawning and cancelling
    tasks at full speed for ASYNCLEAK_HOSTILE_SECONDS (5) s, watchdog=0.5:
    every report point fires concurrently.  No crash, no deadlock, a normal
    exit, and a report that holds the contract."""
    start = time.monotonic()
    run = run_program(interp, tmp_path, "hostile_threads.py", str(CHURN_SECONDS), "8",
                      options=["watchdog=0.5"], timeout=CHURN_SECONDS + 90)
    elapsed = time.monotonic() - start
    print(f"\n{interp}: 8 threads x {CHURN_SECONDS:g} s churn: {elapsed:.1f} s\n{run.stdout}")
    assert run.returncode == 0 and run.stdout.rstrip().endswith("done"), run.describe()
    rep = run.report
    assert rep is not None, run.describe()
    orphans = {f["task"]["name"] for f in rep["findings"] if f["kind"] == "orphaned_task"}
    assert {f"orphan-{n}" for n in range(8)} <= orphans, sorted(orphans)
    swallowed = {f["task"]["name"] for f in rep["findings"] if f["kind"] == "swallowed_cancel"}
    assert swallowed == {f"stubborn-{n}" for n in range(8)}, sorted(swallowed)
    hangs = [f for f in rep["findings"] if f["kind"] == "shutdown_hang"]
    assert 1 <= len(hangs) <= 8, run.describe()


# ---- 9. subinterpreters ------------------------------------------------------------------

@pytest.mark.parametrize("when", ["before", "during", "after", "open"])
def test_subinterpreter_skipped(interp, tmp_path, when):
    prog = program_path("hostile_subinterp.py")
    plain = plain_run(interp, prog, when)
    if plain.returncode != 0:
        pytest.skip(f"CPython {interp.name} itself fails this without the tool "
                    f"(status {plain.returncode}): {plain.stderr.strip()[-200:]}")
    run = run_program(interp, tmp_path, "hostile_subinterp.py", when)
    assert_program_unchanged(run, plain, f"subinterpreter {when}")
    names = [(f["kind"], (f.get("task") or {}).get("name")) for f in run.report["findings"]]
    assert names == [("pending_task", "main-leak")], names


# ---- 9b. debug allocators ----------------------------------------------------------------

DEBUG_ALLOC = {
    "X_dev": (["-X", "dev"], {}),
    "PYTHONDEVMODE": ([], {"PYTHONDEVMODE": "1"}),
    "PYTHONMALLOC_debug": ([], {"PYTHONMALLOC": "debug"}),
    "PYTHONMALLOC_malloc_debug": ([], {"PYTHONMALLOC": "malloc_debug"}),
    "PYTHONMALLOC_malloc": ([], {"PYTHONMALLOC": "malloc"}),
}


@pytest.mark.parametrize("how", list(DEBUG_ALLOC))
def test_debug_allocators(interp, tmp_path, how):
    """Under CPython's debug allocators (which free at exit, through the
    debug hooks, the audit hook entry allocated before start-up) the program
    neither aborts nor changes, and the leak is still reported."""
    flags, extra = DEBUG_ALLOC[how]
    prog = program_path(REPORT)
    plain = subprocess.run([interp.exe, *flags, str(prog)], env=clean_env(**extra), capture_output=True,
                           text=True, timeout=60, stdin=subprocess.DEVNULL, errors="backslashreplace")
    run = run_cmd([interp.exe, *flags, prog], tmp_path, env=preload_env(tmp_path, **extra))
    assert_program_unchanged(run, plain, how)
    assert run.report and run.report["summary"] == {"pending_task": 1}, run.describe()


# ---- 10. free-threaded builds ----------------------------------------------------------------

def free_threaded_pythons():
    root = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")
    found = glob.glob(f"{root}/versions/*t/bin/python3*t") + glob.glob("/usr/bin/python3.1[3-9]t")
    return [p for p in found if os.access(p, os.X_OK)]


def test_free_threaded_build_refused(tmp_path):
    exes = free_threaded_pythons()
    if not exes:
        pytest.skip("no free-threaded CPython (3.13t) on this machine: the refusal is "
                    "checked by reading preload/bootstrap.c (docs/reliability.md)")
    for exe in exes:
        run = run_cmd([exe, program_path(REPORT)], tmp_path)
        plain = run_plain([exe, program_path(REPORT)])
        assert_program_unchanged(run, plain, exe)
        assert any("free-threaded" in d for d in diagnostics(run.stderr)), run.describe()



# No 3.13t can be built here (no CPython sources offline), so the refusal is
# also checked against a host that only claims to be one: it exports the two
# symbols the constructor looks for, with Py_GetVersion() saying
# "free-threading", and every other Python entry point the library could reach
# aborts the process.  The library must print its one line and touch nothing.
FAKE_FREE_THREADED_C = r"""
#include <stdio.h>
#include <stdlib.h>
#define TRAP(name) void name(void) { fprintf(stderr, "TOUCHED " #name "\n"); abort(); }
const char *Py_GetVersion(void)
{
    return "3.13.0 experimental free-threading build (main, Oct  8 2024, 00:00:00) [GCC 12.2.0]";
}
TRAP(PySys_AddAuditHook) TRAP(Py_IsInitialized) TRAP(Py_AtExit) TRAP(PyGILState_Ensure)
TRAP(PyMem_GetAllocator) TRAP(PyMem_SetAllocator) TRAP(PyImport_ImportModule)
TRAP(PySys_GetObject) TRAP(PyThreadState_Get) TRAP(PyObject_GetAttrString)
int main(void)
{
    puts("host ran");
    return 0;
}
"""


@pytest.mark.parametrize("options", [True, False], ids=["with-options", "without-options"])
def test_free_threaded_host_refused_untouched(tmp_path, options):
    if shutil.which("gcc") is None:
        pytest.skip("gcc not found: cannot build the fake free-threaded host")
    (tmp_path / "host.c").write_text(FAKE_FREE_THREADED_C)
    exe = tmp_path / "host"
    cc = subprocess.run(["gcc", "-rdynamic", "-o", str(exe), str(tmp_path / "host.c")],
                        capture_output=True, text=True)
    assert cc.returncode == 0, cc.stderr
    env = preload_env(tmp_path) if options else dict(clean_env(), LD_PRELOAD=str(LIB))
    for bind_now in ("", "1"):
        env = dict(env, LD_BIND_NOW=bind_now) if bind_now else env
        run = subprocess.run([str(exe)], env=env, capture_output=True, text=True, timeout=30)
        assert run.returncode == 0 and run.stdout == "host ran\n", run.stderr
        assert "TOUCHED" not in run.stderr, run.stderr
        lines = diagnostics(run.stderr)
        if options:
            assert lines == ["asyncleak: free-threaded CPython builds are not supported yet; "
                             "not tracking"], run.stderr
        else:
            assert lines == [], run.stderr
        assert list(tmp_path.glob("al.*.json")) == []

# ---- 11. setuid (AT_SECURE) ----------------------------------------------------------------------

SECURE_C = r"""
/* Embeds CPython in a (setuid) program.  ld.so drops LD_PRELOAD paths in a
 * secure process, so the library is loaded with dlopen before Py_Initialize:
 * its constructor then runs with AT_SECURE=1 and must do nothing. */
#include <Python.h>
#include <dlfcn.h>
#include <stdio.h>
#include <sys/auxv.h>

int main(int argc, char **argv)
{
    if (argc < 3)
        return 2;
    printf("AT_SECURE=%lu\n", getauxval(AT_SECURE));
    printf("loaded=%d\n", dlopen(argv[1], RTLD_NOW | RTLD_GLOBAL) != NULL);
    fflush(stdout);
    Py_Initialize();
    if (PyRun_SimpleString(argv[2]) != 0)
        return 3;
    return Py_FinalizeEx() < 0 ? 4 : 0;
}
"""

SECURE_PY = """\
import asyncio
async def forever():
    await asyncio.sleep(3600)
async def main():
    global t
    t = asyncio.ensure_future(forever())
    await asyncio.sleep(0)
loop = asyncio.new_event_loop()
loop.run_until_complete(main())
loop.set_exception_handler(lambda l, c: None)
loop.close()
print("python done")
"""


def test_setuid_process_stays_inert(interp):
    """A setuid-root program embedding CPython, run by nobody (AT_SECURE=1):
    the library loads but prints nothing, not even for a bad option, and
    writes no report.  The same binary without the setuid bit (control)
    does report, so the test would see a library that ignored AT_SECURE."""
    need_system(interp, "embedding Debian's libpython3.11")
    if os.geteuid() != 0:
        pytest.skip("making a setuid-root binary needs root")
    for tool in ("gcc", "setpriv", "python3-config"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed")
    flags = subprocess.run(["/usr/bin/python3-config", "--embed", "--cflags", "--ldflags"],
                           capture_output=True, text=True)
    if flags.returncode != 0:
        pytest.skip(f"python3-config --embed failed: {flags.stderr}")
    work = Path(tempfile.mkdtemp(prefix="asyncleak-setuid-"))   # nobody must reach it: not under /root
    try:
        work.chmod(0o755)
        (work / "secure.c").write_text(SECURE_C)
        cc = subprocess.run(["gcc", "-o", str(work / "secure"), str(work / "secure.c"),
                             *flags.stdout.split()], capture_output=True, text=True)
        assert cc.returncode == 0, cc.stderr
        lib = work / "libasyncleak.so"
        shutil.copy(LIB, lib)
        lib.chmod(0o644)
        opts = f"json_path={work}/al.%p.json:verbosity=1:colour=1"
        env = clean_env(ASYNCLEAK_OPTIONS=opts)
        argv = [str(work / "secure"), str(lib), SECURE_PY]

        control = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)
        assert control.returncode == 0, control
        assert "AT_SECURE=0" in control.stdout, control.stdout
        assert "unknown option 'colour'" in control.stderr, control.stderr
        assert "asyncleak: pending_task:" in control.stderr, control.stderr
        assert glob.glob(f"{work}/al.*.json"), "control run wrote no report"
        for f in glob.glob(f"{work}/al.*.json"):
            os.unlink(f)

        (work / "secure").chmod(0o4755)
        env_secure = dict(env, LD_PRELOAD=str(lib))
        secure = subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                                 *argv], env=env_secure, capture_output=True, text=True, timeout=60,
                                cwd=str(work))
        if "AT_SECURE=1" not in secure.stdout:
            pytest.skip(f"the setuid bit did not take effect here (nosuid mount?): {secure.stdout}")
        assert secure.returncode == 0, secure
        assert secure.stdout.replace("AT_SECURE=1", "AT_SECURE=0") == control.stdout, secure.stdout
        assert secure.stderr == "", f"output from the library in a setuid process:\n{secure.stderr}"
        assert glob.glob(f"{work}/al.*") == [], "report written by a setuid process"
    finally:
        shutil.rmtree(work, ignore_errors=True)
