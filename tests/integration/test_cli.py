"""test_cli.py - the `asyncleak` command: options, exit statuses, signals, environment, report summary.

These tests do not need a working preload: ASYNCLEAK_LIBRARY points at a
harmless real shared library (libm), and "reports" are written by the test
programs themselves at the json_path they find in ASYNCLEAK_OPTIONS.
"""
import glob
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ASYNCLEAK = ROOT / "build" / "asyncleak"
PY = sys.executable
TIMEOUT = 60

ONE_FINDING = ('{"tool":"asyncleak","schema":1,"pid":1,'
               '"findings":[{"kind":"pending_task","when":"exit"}],'
               '"summary":{"pending_task":1}}')
NO_FINDING = '{"tool":"asyncleak","schema":1,"pid":1,"findings":[],"summary":{}}'

# Writes CONTENT (argv[1]) at json_path from ASYNCLEAK_OPTIONS, "%p" replaced
# by each of the pids in argv[2:] (default: its own pid), then exits with
# $FAKE_STATUS (default 0).
FAKE_WRITER = r"""
import os, sys
opts = [kv.split("=", 1) for kv in os.environ["ASYNCLEAK_OPTIONS"].split(":") if "=" in kv]
pattern = [v for k, v in opts if k == "json_path"][-1]
for pid in sys.argv[2:] or [str(os.getpid())]:
    with open(pattern.replace("%p", pid), "w") as f:
        f.write(sys.argv[1])
sys.exit(int(os.environ.get("FAKE_STATUS", "0")))
"""

# The summary of `asyncleak run` (reporter/run_summary.h): a SUMMARY line,
# one line per process with findings, the paths of the reports.
SUMMARY_RE = re.compile(
    r"^==asyncleak== SUMMARY: (\d+) findings? in (\d+)(?: of \d+)? process(?:es)? \(.*\)$", re.M)
PATHS_RE = re.compile(r"^==asyncleak== JSON reports?: (.*)$", re.M)


def find_libm():
    for pattern in ("/lib/*-linux-gnu/libm.so.6", "/usr/lib/*-linux-gnu/libm.so.6",
                    "/lib64/libm.so.6", "/usr/lib64/libm.so.6"):
        hits = sorted(glob.glob(pattern))
        if hits:
            return hits[0]
    return None


LIBM = find_libm()

pytestmark = [
    pytest.mark.skipif(not ASYNCLEAK.exists(), reason="build/asyncleak not built"),
    pytest.mark.skipif(LIBM is None, reason="no libm.so.6 to stand in for the preload"),
]


@pytest.fixture
def tmpdir_env(tmp_path):
    """TMPDIR for the private report directory, empty at the start."""
    d = tmp_path / "tmp"
    d.mkdir()
    return d


def make_env(tmpdir=None, **extra):
    env = dict(os.environ)
    for k in ("LD_PRELOAD", "ASYNCLEAK_OPTIONS", "ASYNCLEAK_LIBRARY", "TMPDIR"):
        env.pop(k, None)
    env["ASYNCLEAK_LIBRARY"] = LIBM
    if tmpdir is not None:
        env["TMPDIR"] = str(tmpdir)
    for k, v in extra.items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = v
    return env


def run(*args, env=None, exe=ASYNCLEAK, **kw):
    return subprocess.run([str(exe), *map(str, args)], env=env or make_env(),
                          capture_output=True, text=True, timeout=TIMEOUT, **kw)


def version():
    try:
        return (ROOT / "VERSION").read_text().strip()
    except OSError:
        return None


# ---- global options ---------------------------------------------------------

def test_version():
    p = run("--version")
    assert p.returncode == 0
    assert re.fullmatch(r"asyncleak \S+\n", p.stdout)
    if version():
        assert p.stdout == f"asyncleak {version()}\n"
    assert p.stderr == ""


@pytest.mark.parametrize("args", [["--help"], ["-h"], ["run", "--help"], ["run", "-h"]])
def test_help_lists_options_and_exit_statuses(args):
    p = run(*args)
    assert p.returncode == 0, p.stderr
    for word in ("run", "--json", "--log", "--exitcode", "--option", "--help",
                 "ASYNCLEAK_LIBRARY", "126", "127", "Exit status"):
        assert word in p.stdout, word
    assert p.stderr == ""


def test_no_subcommand_is_a_usage_error():
    p = run()
    assert p.returncode == 2
    assert "--help" in p.stderr


def test_unknown_subcommand():
    p = run("frobnicate")
    assert p.returncode == 2
    lines = p.stderr.splitlines()
    assert len(lines) == 2, p.stderr
    assert "unknown command 'frobnicate'" in lines[0]
    assert "--help" in lines[1]
    assert p.stdout == ""


# ---- run: command line ------------------------------------------------------

def test_run_without_command():
    p = run("run")
    assert p.returncode == 2
    assert "no command" in p.stderr
    p = run("run", "--json", "/tmp/x.%p.json", "--")
    assert p.returncode == 2


@pytest.mark.parametrize("value", ["abc", "256", "-1", "", "3x", "1e2"])
def test_run_bad_exitcode(value):
    p = run("run", "--exitcode", value, "true")
    assert p.returncode == 2
    assert "--exitcode" in p.stderr and "0 to 255" in p.stderr


def test_run_option_without_value():
    p = run("run", "--exitcode")
    assert p.returncode == 2
    assert "needs a value" in p.stderr


def test_run_unknown_option():
    p = run("run", "--frob", "true")
    assert p.returncode == 2
    assert "unknown option '--frob'" in p.stderr


@pytest.mark.parametrize("value", ["novalue", "=x", "a=b:c=d"])
def test_run_bad_option(value):
    p = run("run", "--option", value, "true")
    assert p.returncode == 2
    assert "--option" in p.stderr


# ---- run: starting the command ----------------------------------------------

def test_run_nonexistent_command(tmpdir_env):
    p = run("run", "no-such-command-asyncleak-test", env=make_env(tmpdir_env))
    assert p.returncode == 127
    assert ("asyncleak: cannot run 'no-such-command-asyncleak-test': "
            "No such file or directory") in p.stderr
    assert list(tmpdir_env.iterdir()) == []


def test_run_not_executable(tmp_path, tmpdir_env):
    script = tmp_path / "script.sh"
    script.write_text("#!/bin/sh\nexit 0\n")
    script.chmod(0o644)
    p = run("run", script, env=make_env(tmpdir_env))
    assert p.returncode == 126
    assert f"asyncleak: cannot run '{script}': Permission denied" in p.stderr


def test_run_missing_library(tmp_path):
    missing = tmp_path / "nope" / "libasyncleak.so"
    p = run("run", "true", env=make_env(ASYNCLEAK_LIBRARY=str(missing)))
    assert p.returncode == 127
    assert "preload library" in p.stderr
    assert str(missing) in p.stderr
    assert len(p.stderr.splitlines()) == 1


def test_run_finds_library_beside_executable(tmp_path, tmpdir_env):
    # The build-tree layout: DIR/asyncleak and DIR/libasyncleak.so.
    d = tmp_path / "build"
    d.mkdir()
    shutil.copy(ASYNCLEAK, d / "asyncleak")
    shutil.copy(LIBM, d / "libasyncleak.so")
    p = run("run", "sh", "-c", "echo $LD_PRELOAD", exe=d / "asyncleak",
            env=make_env(tmpdir_env, ASYNCLEAK_LIBRARY=None))
    assert p.returncode == 0, p.stderr
    assert p.stdout == f"{d / 'libasyncleak.so'}\n"


def test_run_finds_installed_library(tmp_path, tmpdir_env):
    # The `make install PREFIX=...` layout: bin/asyncleak, lib/asyncleak/libasyncleak.so.
    (tmp_path / "bin").mkdir()
    (tmp_path / "lib" / "asyncleak").mkdir(parents=True)
    shutil.copy(ASYNCLEAK, tmp_path / "bin" / "asyncleak")
    lib = tmp_path / "lib" / "asyncleak" / "libasyncleak.so"
    shutil.copy(LIBM, lib)
    p = run("run", "sh", "-c", "echo $LD_PRELOAD", exe=tmp_path / "bin" / "asyncleak",
            env=make_env(tmpdir_env, ASYNCLEAK_LIBRARY=None))
    assert p.returncode == 0, p.stderr
    assert p.stdout == f"{lib}\n"


def test_run_no_library_names_paths_tried(tmp_path):
    (tmp_path / "bin").mkdir()
    shutil.copy(ASYNCLEAK, tmp_path / "bin" / "asyncleak")
    p = run("run", "true", exe=tmp_path / "bin" / "asyncleak",
            env=make_env(ASYNCLEAK_LIBRARY=None))
    assert p.returncode == 127
    assert str(tmp_path / "bin" / "libasyncleak.so") in p.stderr
    assert str(tmp_path / "lib" / "asyncleak" / "libasyncleak.so") in p.stderr


# ---- run: exit status and signals -------------------------------------------

@pytest.mark.parametrize("status", [0, 1, 7, 255])
def test_run_exit_status_passthrough(status, tmpdir_env):
    p = run("run", "sh", "-c", f"exit {status}", env=make_env(tmpdir_env))
    assert p.returncode == status
    assert p.stderr == ""


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL, signal.SIGINT])
def test_run_signal_passthrough(sig, tmp_path, tmpdir_env):
    p = run("run", "sh", "-c", f"kill -{sig.name[3:]} $$", env=make_env(tmpdir_env),
            cwd=tmp_path)
    assert p.returncode == -sig
    assert list(tmpdir_env.iterdir()) == []


def _start(args, env):
    proc = subprocess.Popen([str(ASYNCLEAK), *args], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    line = proc.stdout.readline()
    assert line.startswith("ready"), (line, proc.stderr.read())
    return proc, line


def test_run_forwards_sigterm(tmpdir_env):
    child = ("import signal, sys, time\n"
             "signal.signal(signal.SIGTERM, lambda *a: sys.exit(42))\n"
             "print('ready', flush=True)\n"
             "time.sleep(30)\n")
    proc, _ = _start(["run", PY, "-c", child], make_env(tmpdir_env))
    try:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=TIMEOUT) == 42
    finally:
        proc.kill()
        proc.communicate()


def test_run_ignores_sigint_and_child_gets_default(tmpdir_env):
    # asyncleak ignores SIGINT/SIGQUIT (the terminal sends them to the
    # child too); the child starts with the default disposition, so Python
    # installs its KeyboardInterrupt handler and dies of SIGINT.
    child = ("import os, time\n"
             "print('ready', os.getpid(), flush=True)\n"
             "time.sleep(30)\n")
    proc, line = _start(["run", PY, "-c", child], make_env(tmpdir_env))
    try:
        child_pid = int(line.split()[1])
        proc.send_signal(signal.SIGINT)
        proc.send_signal(signal.SIGQUIT)
        time.sleep(0.5)
        assert proc.poll() is None
        os.kill(child_pid, signal.SIGINT)
        assert proc.wait(timeout=TIMEOUT) == -signal.SIGINT
    finally:
        proc.kill()
        proc.communicate()


# ---- run: environment of the command ----------------------------------------

def test_run_environment_reaches_child(tmp_path, tmpdir_env):
    env = make_env(tmpdir_env)
    p = run("run", "sh", "-c", "echo $LD_PRELOAD; echo $ASYNCLEAK_OPTIONS", env=env)
    assert p.returncode == 0, p.stderr
    preload, options = p.stdout.splitlines()
    assert preload == LIBM
    m = re.fullmatch(r"json_path=(.*)", options)
    assert m, options
    path = Path(m.group(1))
    assert path.name == "asyncleak.%p.json"
    assert path.parent.parent == tmpdir_env
    assert path.parent.name.startswith("asyncleak.")
    assert not path.parent.exists()        # no findings: removed


def test_run_environment_extends_existing_values(tmp_path, tmpdir_env):
    libc = str(Path(LIBM).with_name("libc.so.6"))
    env = make_env(tmpdir_env, LD_PRELOAD=libc, ASYNCLEAK_OPTIONS="stack_depth=8")
    p = run("run", "--json", "r.%p.json", "--log", str(tmp_path / "log.%p.txt"),
            "--option", "watchdog=5", "--option", "native=1", "--",
            "sh", "-c", "echo $LD_PRELOAD; echo $ASYNCLEAK_OPTIONS",
            env=env, cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    preload, options = p.stdout.splitlines()
    assert re.split(r"[: ]+", preload) == [LIBM, libc]
    assert options.split(":") == [
        "stack_depth=8", "watchdog=5", "native=1",
        f"json_path={tmp_path}/r.%p.json", f"log_path={tmp_path}/log.%p.txt"]


def test_run_option_json_path_acts_as_json(tmp_path):
    p = run("run", "--exitcode", "9", "--option", f"json_path={tmp_path}/o.%p.json",
            "--", PY, "-c", FAKE_WRITER, ONE_FINDING, "77")
    assert p.returncode == 9
    assert f"{tmp_path}/o.77.json" in p.stderr


# ---- run: reading the reports -----------------------------------------------

def summary_line(stderr):
    """(findings, processes with findings, paths listed) of the summary."""
    m = SUMMARY_RE.search(stderr)
    paths = PATHS_RE.search(stderr)
    assert m and paths, stderr
    return int(m.group(1)), int(m.group(2)), paths.group(1).split(" ")


def test_run_findings_with_exitcode(tmpdir_env):
    p = run("run", "--exitcode", "3", "--", PY, "-c", FAKE_WRITER, ONE_FINDING,
            env=make_env(tmpdir_env))
    assert p.returncode == 3
    (d,) = list(tmpdir_env.iterdir())           # kept
    (report,) = list(d.iterdir())
    assert re.fullmatch(r"asyncleak\.\d+\.json", report.name)
    findings, processes, paths = summary_line(p.stderr)
    assert (findings, processes, paths) == (1, 1, [str(report)])
    assert len(p.stderr.splitlines()) == 3, p.stderr    # SUMMARY, the process, the path


def test_run_findings_keep_status_without_exitcode(tmpdir_env):
    p = run("run", PY, "-c", FAKE_WRITER, ONE_FINDING,
            env=make_env(tmpdir_env, FAKE_STATUS="5"))
    assert p.returncode == 5
    assert summary_line(p.stderr)[:2] == (1, 1)


def test_run_exitcode_without_findings_keeps_status(tmpdir_env):
    p = run("run", "--exitcode", "3", "--", PY, "-c", FAKE_WRITER, NO_FINDING,
            env=make_env(tmpdir_env, FAKE_STATUS="4"))
    assert p.returncode == 4
    assert p.stderr == ""
    assert list(tmpdir_env.iterdir()) == []     # removed with its report


def test_run_exitcode_zero_with_findings(tmpdir_env):
    p = run("run", "--exitcode=0", "--", PY, "-c", FAKE_WRITER, ONE_FINDING,
            env=make_env(tmpdir_env, FAKE_STATUS="6"))
    assert p.returncode == 0


def test_run_no_report_at_all(tmpdir_env):
    p = run("run", "true", env=make_env(tmpdir_env))
    assert p.returncode == 0
    assert p.stdout == "" and p.stderr == ""
    assert list(tmpdir_env.iterdir()) == []


def test_run_counts_findings_and_processes(tmp_path):
    two = json.dumps({"tool": "asyncleak", "schema": 1, "pid": 2,
                      "findings": [{"kind": "pending_task", "when": "exit"},
                                   {"kind": "orphaned_task", "when": "runner_shutdown"}],
                      "summary": {"pending_task": 1, "orphaned_task": 1},
                      "dropped": {"pending_task": 3}})
    pids = [str(n) for n in range(101, 108)]
    p = run("run", "--json", f"{tmp_path}/r.%p.json", "--", PY, "-c", FAKE_WRITER,
            two, *pids)
    assert p.returncode == 0
    findings, processes, paths = summary_line(p.stderr)
    assert (findings, processes) == (7 * 5, 7)
    assert paths[:5] == [f"{tmp_path}/r.{pid}.json" for pid in pids[:5]]
    assert paths[5:] == ["and", "2", "more"]


# Writes each report of the JSON object argv[1] ({pid: document}) at json_path.
MULTI_WRITER = r"""
import json, os, sys
opts = [kv.split("=", 1) for kv in os.environ["ASYNCLEAK_OPTIONS"].split(":") if "=" in kv]
pattern = [v for k, v in opts if k == "json_path"][-1]
for pid, doc in json.loads(sys.argv[1]).items():
    with open(pattern.replace("%p", pid), "w") as f:
        json.dump(doc, f)
"""


def test_run_summary_of_the_tree(tmp_path):
    """Kinds ordered by count over the tree (dropped included), processes by
    pid with argv (escaped, cut), counts and the SIGINT mark, a line for the
    processes beyond ten, clean reports counted in "of N"."""
    def doc(pid, kinds, argv=("app.py",), **extra):
        return {"tool": "asyncleak", "schema": 1, "pid": pid, "argv": list(argv),
                "findings": [{"kind": k, "when": "exit"} for k in kinds], **extra}
    docs = {"300": doc(300, ["orphaned_task"], argv=["app.py", "--name", "a\x1bb"],
                       interrupted={"by": "KeyboardInterrupt", "signal": "SIGINT"}),
            "200": doc(200, ["pending_task", "orphaned_task", "pending_task"],
                       dropped={"unclosed_resource": 5}),
            "250": doc(250, []),
            "400": doc(400, ["pending_task"], argv=["x" * 150])}
    docs.update({str(p): doc(p, ["pending_task"]) for p in range(1000, 1010)})
    p = run("run", "--json", f"{tmp_path}/r.%p.json", "--", PY, "-c", MULTI_WRITER, json.dumps(docs))
    assert p.returncode == 0, p.stderr
    lines = p.stderr.splitlines()
    assert lines[0] == ("==asyncleak== SUMMARY: 20 findings in 13 of 14 processes "
                        "(13 pending_task, 5 unclosed_resource, 2 orphaned_task)"), p.stderr
    assert lines[1] == ("==asyncleak==   pid 200 (app.py): 8 findings "
                        "(5 unclosed_resource, 2 pending_task, 1 orphaned_task)"), p.stderr
    assert lines[2] == ("==asyncleak==   pid 300 (app.py --name a\\x1bb): 1 finding (1 orphaned_task), "
                        "interrupted by SIGINT"), p.stderr
    assert lines[3] == f"==asyncleak==   pid 400 ({'x' * 100}...): 1 finding (1 pending_task)", p.stderr
    assert lines[4].startswith("==asyncleak==   pid 1000 (app.py): 1 finding"), p.stderr
    assert lines[11] == "==asyncleak==   and 3 more processes with 3 findings", p.stderr
    assert lines[12].startswith(f"==asyncleak== JSON reports: {tmp_path}/r.200.json {tmp_path}/r.300.json "), p.stderr
    assert lines[12].endswith(" and 8 more") and len(lines) == 13, p.stderr


def test_run_user_pattern_ignores_old_files(tmp_path):
    old = tmp_path / "r.999.json"
    old.write_text(ONE_FINDING)
    os.utime(old, (time.time() - 3600, time.time() - 3600))
    p = run("run", "--exitcode", "3", "--json", f"{tmp_path}/r.%p.json", "--",
            PY, "-c", FAKE_WRITER, NO_FINDING)
    assert p.returncode == 0
    assert p.stderr == ""
    # The old file is left alone (never removed: it is not the tool's).
    assert old.exists()


def test_run_user_pattern_with_findings(tmp_path):
    p = run("run", "--exitcode", "3", "--json", f"{tmp_path}/r.%p.json", "--",
            PY, "-c", FAKE_WRITER, ONE_FINDING, "4242")
    assert p.returncode == 3
    assert summary_line(p.stderr) == (1, 1, [f"{tmp_path}/r.4242.json"])


@pytest.mark.parametrize("content", ["{not json", '{"tool": "other", "schema": 1, "findings": []}',
                                     '[1, 2]', '{"tool": "asyncleak", "schema": 1}'])
def test_run_bad_report_warns_and_is_ignored(content, tmp_path):
    p = run("run", "--exitcode", "3", "--json", f"{tmp_path}/r.%p.json", "--",
            PY, "-c", FAKE_WRITER, content, "5")
    assert p.returncode == 0
    lines = p.stderr.splitlines()
    assert len(lines) == 1, p.stderr
    assert "warning" in lines[0] and f"{tmp_path}/r.5.json" in lines[0]


def test_run_signal_with_findings_reraises(tmpdir_env):
    child = FAKE_WRITER.replace("sys.exit(", "os.kill(os.getpid(), 15); sys.exit(")
    p = run("run", PY, "-c", child, ONE_FINDING, env=make_env(tmpdir_env))
    assert p.returncode == -signal.SIGTERM
    assert summary_line(p.stderr)[:2] == (1, 1)
    p = run("run", "--exitcode", "3", "--", PY, "-c", child, ONE_FINDING,
            env=make_env(tmpdir_env))
    assert p.returncode == 3
