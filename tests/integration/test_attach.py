"""test_attach.py - `asyncleak attach PID` on real running processes (issue #10).

Every target is a real program started WITHOUT the preload (unless the test
says otherwise), on every interpreter of conftest's parametrization:

  service     programs/attach_service.py: tasks and a server made before the
              attach, leaks made after it, asyncio.run() shutdown
  aiohttp     programs/attach_aiohttp_server.py under load from
              programs/attach_load_client.py (another process, 127.0.0.1),
              attached in the middle of the load (Debian's python3 only)
  uvloop      programs/attach_uvloop.py (Debian's python3 only)
  errors      refusals leave the target untouched: no such pid, not Python,
              Python 3.7/3.6, no gdb; attaching again (or to a preloaded
              process) asks for a dump, and never kills or disturbs a
              process that cannot take it (library there before asyncio
              was imported, a SIGUSR2 handler of the program's own:
              programs/attach_idle.py); concurrent attaches and heavy load
              (programs/attach_spawn_loop.py) never crash the target

What a user checks: `asyncleak attach` exits 0 and names the report; the
report (checked with the shared contract checker) lists what existed before
the attach as created_before_attach with an empty origin and its
suspended_at, and what was created after it with the origin line (the
"# ORIGIN:name" marker); the target prints and exits exactly as a run
without the attach does.

Tests that need to ptrace skip with the reason when gdb is missing or the
kernel (kernel.yama.ptrace_scope, missing CAP_SYS_PTRACE) refuses.
"""
import functools
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from conftest import (ASYNCLEAK, LIB, assert_origin, check_contract, clean_env, frames_of,
                      marker_line, need_module, need_system, preload_env, program_path,
                      pyenv_root, short_name)

SERVICE = "attach_service.py"
SPAWN_LOOP = "attach_spawn_loop.py"
AIOHTTP_SERVER = "attach_aiohttp_server.py"
LOAD_CLIENT = "attach_load_client.py"
UVLOOP = "attach_uvloop.py"
IDLE = "attach_idle.py"

# Exit status of each program run without the tool (its baseline).
STATUS = {SERVICE: 3, SPAWN_LOOP: 5, UVLOOP: 4, IDLE: 6, AIOHTTP_SERVER: 0}

ATTACH_TIMEOUT = 12     # one `asyncleak attach` (gdb start-up included)
READY_TIMEOUT = 10      # a target printing "ready"
EXIT_TIMEOUT = 10       # a triggered target finishing
DUMP_TIMEOUT = 5        # a dump asked by signal showing in the report

DIAG = re.compile(r"^asyncleak: .*$", re.M)     # the library's one-line diagnostics
SERVER_TYPE = "asyncio.base_events.Server"

pytestmark = pytest.mark.skipif(not ASYNCLEAK.exists() or not LIB.exists(),
                                reason=f"{ASYNCLEAK} or {LIB} is not built: run `make`")


# ---- can this machine attach at all? -------------------------------------------------

def ptrace_scope():
    try:
        return int(Path("/proc/sys/kernel/yama/ptrace_scope").read_text().strip())
    except (OSError, ValueError):
        return 0        # no Yama: classic ptrace rules


def scope_refusal() -> str:
    """Why the tool refuses to ptrace here ('' if it does not)."""
    scope = ptrace_scope()
    if scope >= 3:
        return "kernel.yama.ptrace_scope=3: ptrace is disabled on this machine"
    if scope >= 1 and os.geteuid() != 0:
        return (f"kernel.yama.ptrace_scope={scope} and not root: attaching to a non-child "
                f"process is not permitted")
    return ""


@functools.lru_cache(maxsize=None)
def attach_refusal() -> str:
    """'' when gdb can attach to a process of ours here, else why not."""
    why = scope_refusal()
    if why:
        return why
    gdb = shutil.which("gdb")
    if gdb is None:
        return "gdb is not installed"
    victim = subprocess.Popen(["sleep", "30"], env=clean_env())
    try:
        p = subprocess.run([gdb, "-p", str(victim.pid), "-batch", "-nx", "-q", "-ex", "detach"],
                           capture_output=True, text=True, timeout=30, env=clean_env(),
                           stdin=subprocess.DEVNULL)
        out = p.stdout + p.stderr
    finally:
        victim.kill()
        victim.wait()
    if "Operation not permitted" in out or "ptrace:" in out:
        return (f"ptrace is not permitted here (no CAP_SYS_PTRACE? in a container run it with "
                f"--cap-add SYS_PTRACE): {out.strip()[:300]}")
    return ""


def need_attach():
    why = attach_refusal()
    if why:
        pytest.skip(f"cannot attach with gdb on this machine: {why}")


def need_scope():
    why = scope_refusal()
    if why:
        pytest.skip(f"the tool would refuse before looking for gdb: {why}")


# ---- targets --------------------------------------------------------------------------

class Target:
    """A program running in the background; stdout and stderr go to files."""

    def __init__(self, argv, tmp_path: Path, name: str, env=None):
        self.argv = [str(a) for a in argv]
        self.out_path = tmp_path / f"{name}.stdout"
        self.err_path = tmp_path / f"{name}.stderr"
        with open(self.out_path, "w") as out, open(self.err_path, "w") as err:
            self.proc = subprocess.Popen(self.argv, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                                         env=clean_env() if env is None else env, cwd=tmp_path)
        self.pid = self.proc.pid
        self.returncode = None

    @property
    def stdout(self) -> str:
        return self.out_path.read_text(errors="backslashreplace")

    @property
    def stderr(self) -> str:
        return self.err_path.read_text(errors="backslashreplace")

    def describe(self) -> str:
        return (f"target: {self.argv} (pid {self.pid}, status {self.proc.poll()})\n"
                f"--- target stdout ---\n{self.stdout}\n--- target stderr ---\n{self.stderr[-6000:]}")

    def wait_for(self, text: str, timeout=READY_TIMEOUT):
        deadline = time.monotonic() + timeout
        while text not in self.stdout:
            if self.proc.poll() is not None:
                pytest.fail(f"the target exited before printing {text!r}\n{self.describe()}")
            if time.monotonic() > deadline:
                self.kill()
                pytest.fail(f"the target did not print {text!r} in {timeout} s\n{self.describe()}")
            time.sleep(0.02)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def state(self) -> str:
        """The kernel's state letter (t = stopped by a tracer)."""
        try:
            m = re.search(r"^State:\s+(\S)", Path(f"/proc/{self.pid}/status").read_text(), re.M)
            return m.group(1) if m else "?"
        except OSError:
            return "gone"

    def has_library(self) -> bool:
        try:
            return "libasyncleak.so" in Path(f"/proc/{self.pid}/maps").read_text()
        except OSError:
            return False

    def finish(self, timeout=EXIT_TIMEOUT) -> int:
        try:
            self.returncode = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail(f"the target did not finish in {timeout} s after its trigger\n{self.describe()}")
        return self.returncode

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def targets():
    """Kills whatever a test left running."""
    started = []
    yield started
    for t in started:
        t.kill()


def start(targets, argv, tmp_path, name, env=None) -> Target:
    t = Target(argv, tmp_path, name, env)
    targets.append(t)
    return t


def attach(pid, tmp_path: Path, *args, env=None, json=True, timeout=ATTACH_TIMEOUT):
    argv = [str(ASYNCLEAK), "attach"]
    if json:
        argv += ["--json", f"{tmp_path}/al.%p.json"]
    argv += [*map(str, args), str(pid)]
    try:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                           env=clean_env() if env is None else env, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"{argv} did not finish in {timeout} s\n{e.stdout}\n{e.stderr}")
    p.argv = argv
    return p


def describe_attach(p) -> str:
    return f"attach: {p.argv}\nexit status {p.returncode}\n--- attach stdout ---\n{p.stdout}\n--- attach stderr ---\n{p.stderr}"


def assert_attached(p, target: Target, tmp_path: Path) -> Path:
    """attach exited 0, said so, and the dump report exists; returns its path."""
    report = tmp_path / f"al.{target.pid}.json"
    assert p.returncode == 0 and f"attached to {target.pid}" in p.stderr, (
        f"{describe_attach(p)}\n{target.describe()}")
    assert str(report) in p.stderr, f"the report path is not named\n{describe_attach(p)}"
    assert report.exists(), f"no report {report} after the attach\n{describe_attach(p)}\n{target.describe()}"
    assert target.alive(), f"the target died during the attach\n{target.describe()}"
    return report


def load_report(path: Path) -> dict:
    check_contract([path])
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def findings(report, kind=None, when=None):
    return [f for f in report.get("findings", [])
            if (kind is None or f.get("kind") == kind) and (when is None or f.get("when") == when)]


def by_task(report, name, kind=None, when=None):
    hits = [f for f in findings(report, kind, when) if (f.get("task") or {}).get("name") == name]
    assert len(hits) == 1, (f"expected one {kind or 'finding'}{' at ' + when if when else ''} for task "
                            f"{name!r}, got {len(hits)}\n{json.dumps(report, indent=1)[:12000]}")
    return hits[0]


def dump_count(path: Path) -> int:
    try:
        with open(path, encoding="utf-8") as f:
            return len(findings(json.load(f), when="dump"))
    except (OSError, ValueError):
        return 0


def assert_before_attach(finding, coro_function):
    """Existed before the attach: flagged, no origin, suspended in coro_function."""
    assert finding.get("created_before_attach") is True, json.dumps(finding, indent=1)
    assert frames_of(finding.get("origin")) == [], f"origin should be unknown (empty):\n{json.dumps(finding, indent=1)}"
    frames = frames_of(finding.get("suspended_at"))
    assert frames and short_name(frames[0]["function"]) == coro_function, (
        f"suspended_at should start in {coro_function}:\n{json.dumps(finding, indent=1)}")
    return frames


def assert_no_diagnostics(target: Target):
    diags = DIAG.findall(target.stderr)
    assert not diags, "the library complained in the target:\n" + "\n".join(diags) + "\n" + target.describe()


# ---- baselines: the same programs without any attach ------------------------------------

@functools.lru_cache(maxsize=None)
def _baseline(exe, program, extra=(), env_items=None):
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        trigger = d / "trigger"
        env = dict(env_items) if env_items is not None else clean_env()
        t = Target([exe, program_path(program), trigger, *extra], d, "baseline", env=env)
        try:
            t.wait_for("ready")
            trigger.touch()
            rc = t.finish()
            assert rc == STATUS[program], f"baseline run of {program}: status {rc}\n{t.describe()}"
            return rc, t.stdout
        finally:
            t.kill()


def baseline(interp, program, *extra):
    return _baseline(interp.exe, program, tuple(extra))


def assert_same_as_baseline(target: Target, base, extra=""):
    rc, out = base
    assert (target.returncode, target.stdout) == (rc, out), (
        f"the attached target differs from a run without attach{extra}:\n"
        f"expected status {rc}, stdout:\n{out}\n{target.describe()}")


# ---- 1. a real asyncio service ---------------------------------------------------------

def test_service_leaks_after_attach_have_origins(interp, tmp_path, targets):
    need_attach()
    prog = program_path(SERVICE)
    base = baseline(interp, SERVICE)
    trigger = tmp_path / "trigger"
    t = start(targets, [interp.exe, prog, trigger], tmp_path, "service")
    t.wait_for("ready")
    assert not t.has_library()

    p = attach(t.pid, tmp_path)
    path = assert_attached(p, t, tmp_path)
    assert t.has_library()
    # The dump: what existed before the attach, origin unknown, where it waits.
    dump = load_report(path)
    assert_before_attach(by_task(dump, "old-poller", "pending_task", "dump"), "old_poller")
    frames = assert_before_attach(by_task(dump, "old-worker", "pending_task", "dump"), "old_worker")
    assert "wait_forever" in [short_name(f["function"]) for f in frames], frames
    servers = [f for f in findings(dump, "unclosed_resource", "dump")
               if (f.get("resource") or {}).get("type") == SERVER_TYPE]
    assert len(servers) == 1, json.dumps(dump, indent=1)
    assert servers[0].get("created_before_attach") is True and frames_of(servers[0]["origin"]) == []
    assert not [f for f in findings(dump) if (f.get("task") or {}).get("name", "").startswith("new-")]

    trigger.touch()
    t.finish()
    assert_same_as_baseline(t, base)

    final = load_report(path)
    # The dump is still there; the leaks made after the attach carry their lines.
    assert len(findings(final, when="dump")) == len(findings(dump, when="dump")), json.dumps(final, indent=1)
    for name, marker in (("new-create", "after_create"), ("new-ensure", "after_ensure")):
        f = by_task(final, name, "orphaned_task", "runner_shutdown")
        assert "created_before_attach" not in f, json.dumps(f, indent=1)
        assert_origin(f, prog, marker_line(prog, marker))
        assert short_name(frames_of(f["suspended_at"])[0]["function"]) == "new_leak"
        assert f'File "{prog}", line {marker_line(prog, marker)}, in main' in t.stderr, t.describe()
    # The older ones: flagged, with where they were suspended.
    assert_before_attach(by_task(final, "old-poller", "orphaned_task", "runner_shutdown"), "old_poller")
    assert_before_attach(by_task(final, "old-worker", "orphaned_task", "runner_shutdown"), "old_worker")
    later = [f for f in findings(final, "unclosed_resource") if f.get("when") != "dump"
             and (f.get("resource") or {}).get("type") == SERVER_TYPE]
    assert len(later) == 1 and later[0].get("created_before_attach") is True, json.dumps(final, indent=1)
    assert "Created before asyncleak was attached" in t.stderr, t.describe()
    assert_no_diagnostics(t)
    # The environment variable the attach set for the library is gone again.
    environ = Path(f"{trigger}.environ").read_text()
    assert environ == "None", (f"ASYNCLEAK_OPTIONS is still set in the target's C environment after "
                               f"the attach (children it starts inherit it): {environ}")


# ---- 2. aiohttp under load -------------------------------------------------------------

MAX_REQUESTS = 3000
AFTER_GO = 100          # requests sent after the attach has returned
BEFORE = 30             # answers the client has had when the attach starts


def run_load(interp, tmp_path, targets):
    """Starts the server and the client, attaches once the client has had
    BEFORE answers, lets AFTER_GO more requests through, stops both.
    Returns (server target, client target, attach result)."""
    port_file, trigger, go = tmp_path / "port", tmp_path / "trigger", tmp_path / "go"
    server = start(targets, [interp.exe, program_path(AIOHTTP_SERVER), port_file, trigger], tmp_path, "server")
    server.wait_for("serving")
    client = start(targets, [interp.exe, program_path(LOAD_CLIENT), port_file.read_text(), go,
                             MAX_REQUESTS, AFTER_GO, BEFORE], tmp_path, "client")
    client.wait_for("started")
    p = attach(server.pid, tmp_path)
    assert_attached(p, server, tmp_path)
    assert client.alive(), f"the load was over before the attach finished\n{client.describe()}"
    go.touch()
    client.finish(timeout=20)
    trigger.touch()
    server.finish(timeout=20)
    return server, client, p


def client_counts(client):
    m = re.search(r"^sent (\d+) answered (\d+) failed (\d+) after_go (\d+)$", client.stdout, re.M)
    assert m and client.returncode == 0, client.describe()
    return tuple(map(int, m.groups()))


def test_aiohttp_server_attached_under_load(interp, tmp_path, targets):
    need_system(interp, "aiohttp")
    need_module(interp, "aiohttp")
    need_attach()
    prog = program_path(AIOHTTP_SERVER)
    line = marker_line(prog, "handler_leak")

    server, client, p = run_load(interp, tmp_path, targets)
    path = tmp_path / f"al.{server.pid}.json"
    sent, answered, failed, after_go = client_counts(client)
    assert failed == 0 and answered == sent, f"requests lost around the attach\n{client.describe()}"
    assert after_go == AFTER_GO, client.describe()
    # Exactly what it prints and returns without the tool (0; 7 if a handler failed).
    assert server.returncode == STATUS[AIOHTTP_SERVER], server.describe()
    assert server.stdout == f"serving\nanswered {sent} requests\n", server.describe()
    assert "Traceback" not in server.stderr, server.describe()
    assert_no_diagnostics(server)

    report = load_report(path)
    dumped = [f for f in findings(report, "pending_task", "dump") if (f["task"]).get("coro") == "audit_later"]
    dumped_before = [f for f in dumped if f.get("created_before_attach")]
    assert len(dumped_before) >= BEFORE, (f"the {BEFORE} requests before the attach left tasks: "
                                          f"{len(dumped_before)} dumped as created_before_attach")
    for f in dumped_before:
        assert_before_attach(f, "audit_later")
    for f in dumped:        # one a request made while the library was starting has its line
        if f not in dumped_before:
            assert_origin(f, prog, line, outer=None)
    leaks = [f for f in findings(report, "orphaned_task", "runner_shutdown")
             if (f.get("task") or {}).get("coro") == "audit_later"]
    with_origin = [f for f in leaks if not f.get("created_before_attach")]
    before = [f for f in leaks if f.get("created_before_attach")]
    # Every request left one task: each is reported, with its line or as older than the attach.
    assert len(leaks) == sent, f"{len(leaks)} leaked tasks reported for {sent} requests"
    assert len(before) == len(dumped_before) and len(with_origin) >= AFTER_GO, (
        len(before), len(dumped_before), len(with_origin))
    for f in with_origin:
        assert_origin(f, prog, line, outer=None)
        assert short_name(frames_of(f["origin"])[-1]["function"]) == "handle"
    for f in before:
        assert_before_attach(f, "audit_later")


# ---- 3. errors and odd situations: the target is left alone -----------------------------

def test_nonexistent_pid(tmp_path):
    p = subprocess.Popen(["true"])
    p.wait()
    pid = p.pid
    try:
        os.kill(pid, 0)
        pytest.skip(f"pid {pid} was reused already")
    except ProcessLookupError:
        pass
    r = attach(pid, tmp_path)
    assert r.returncode == 2, describe_attach(r)
    assert f"no process {pid}" in r.stderr, describe_attach(r)
    assert not list(tmp_path.glob("al.*.json"))


def test_not_a_python_process(tmp_path, targets):
    t = start(targets, ["sleep", "100"], tmp_path, "sleep")
    time.sleep(0.1)
    r = attach(t.pid, tmp_path)
    assert r.returncode == 2, describe_attach(r)
    assert "not a CPython process" in r.stderr, describe_attach(r)
    time.sleep(0.1)
    assert t.alive() and t.state() in ("S", "R"), t.state()
    assert not t.has_library()
    assert not list(tmp_path.glob("al.*.json"))


def old_python(version):
    hits = sorted(pyenv_root().glob(f"versions/{version}.*/bin/python3"))
    return str(hits[-1]) if hits else None


@pytest.mark.parametrize("version", ["3.7", "3.6"])
def test_unsupported_python(version, tmp_path, targets):
    exe = old_python(version)
    if exe is None:
        pytest.skip(f"no CPython {version} under {pyenv_root()}/versions")
    t = start(targets, [exe, "-c", "import asyncio, time; print('ready', flush=True); time.sleep(100)"],
              tmp_path, "old")
    t.wait_for("ready")
    r = attach(t.pid, tmp_path)
    assert r.returncode == 2, describe_attach(r)
    assert "supports 3.8-3.13" in r.stderr and f"Python {version}" in r.stderr, describe_attach(r)
    time.sleep(0.1)
    assert t.alive() and t.state() in ("S", "R"), t.state()
    assert not t.has_library()
    assert not list(tmp_path.glob("al.*.json"))


def test_gdb_missing(interp, tmp_path, targets):
    need_scope()
    base = baseline(interp, SERVICE)
    trigger = tmp_path / "trigger"
    t = start(targets, [interp.exe, program_path(SERVICE), trigger], tmp_path, "service")
    t.wait_for("ready")
    empty = tmp_path / "bin"
    empty.mkdir()
    r = attach(t.pid, tmp_path, env=clean_env(PATH=str(empty)))
    assert r.returncode == 2, describe_attach(r)
    assert "gdb is not installed" in r.stderr, describe_attach(r)
    assert not t.has_library()
    trigger.touch()
    t.finish()
    assert_same_as_baseline(t, base)
    assert t.stderr == "", t.describe()
    assert not list(tmp_path.glob("al.*.json"))


def wait_more_dumps(path: Path, than: int, target: Target, why: str):
    deadline = time.monotonic() + DUMP_TIMEOUT
    while dump_count(path) <= than:
        if time.monotonic() > deadline:
            pytest.fail(f"{why}: no new dump findings in {path} within {DUMP_TIMEOUT} s "
                        f"(still {dump_count(path)})\n{target.describe()}")
        time.sleep(0.05)


def test_attach_twice_asks_for_a_dump(interp, tmp_path, targets):
    need_attach()
    base = baseline(interp, SERVICE)
    trigger = tmp_path / "trigger"
    t = start(targets, [interp.exe, program_path(SERVICE), trigger], tmp_path, "service")
    t.wait_for("ready")
    path = assert_attached(attach(t.pid, tmp_path), t, tmp_path)
    first = dump_count(path)
    assert first >= 3, json.dumps(load_report(path), indent=1)

    r = attach(t.pid, tmp_path)
    assert r.returncode == 0 and "already loaded" in r.stderr, f"{describe_attach(r)}\n{t.describe()}"
    wait_more_dumps(path, first, t, "second attach")
    second = load_report(path)
    names = [(f.get("task") or {}).get("name") for f in findings(second, "pending_task", "dump")]
    assert names.count("old-poller") == 2 and names.count("old-worker") == 2, names
    assert t.alive()
    trigger.touch()
    t.finish()
    assert_same_as_baseline(t, base)


def test_attach_to_preloaded_process_asks_for_a_dump(interp, tmp_path, targets):
    """Started under the preload already: no gdb, a dump (with origins) by signal."""
    prog = program_path(SERVICE)
    env = preload_env(tmp_path)
    base = _baseline(interp.exe, SERVICE, (), tuple(sorted(env.items())))
    trigger = tmp_path / "trigger"
    t = start(targets, [interp.exe, prog, trigger], tmp_path, "service", env=env)
    t.wait_for("ready")
    path = tmp_path / f"al.{t.pid}.json"
    before = dump_count(path)
    r = attach(t.pid, tmp_path)
    assert r.returncode == 0 and "already loaded" in r.stderr, f"{describe_attach(r)}\n{t.describe()}"
    wait_more_dumps(path, before, t, "attach to a preloaded process")
    report = load_report(path)
    f = by_task(report, "old-poller", "pending_task", "dump")
    assert "created_before_attach" not in f, json.dumps(f, indent=1)
    assert_origin(f, prog, marker_line(prog, "old_poller"))
    trigger.touch()
    t.finish()
    assert_same_as_baseline(t, base, " (both preloaded)")
    assert_no_diagnostics(t)


@pytest.mark.parametrize("how", ["preloaded", "attached"])
def test_dump_request_before_asyncio_is_imported(how, interp, tmp_path, targets):
    """A process holding the library before it imported asyncio has no dump
    handler yet: asking it for a dump must not kill it."""
    if how == "attached":
        need_attach()
    env = preload_env(tmp_path) if how == "preloaded" else clean_env()
    base = _baseline(interp.exe, IDLE, (), tuple(sorted(env.items())))
    trigger = tmp_path / "trigger"
    t = start(targets, [interp.exe, program_path(IDLE), trigger], tmp_path, "idle", env=env)
    t.wait_for("ready")
    if how == "attached":
        first = attach(t.pid, tmp_path)
        assert first.returncode == 0 and t.alive() and t.has_library(), f"{describe_attach(first)}\n{t.describe()}"
    r = attach(t.pid, tmp_path)
    assert "already loaded" in r.stderr, f"{describe_attach(r)}\n{t.describe()}"
    time.sleep(0.3)
    assert t.alive(), (f"`asyncleak attach` killed a process that {how} the library before importing "
                       f"asyncio (status {t.proc.poll()}, -12 = SIGUSR2)\n{describe_attach(r)}\n{t.describe()}")
    trigger.touch()
    t.finish()
    assert_same_as_baseline(t, base)


def test_dump_request_leaves_the_programs_own_sigusr2_alone(interp, tmp_path, targets):
    """A preloaded service with its own SIGUSR2 handler (log rotation, reload):
    attach must not run the program's handler."""
    env = preload_env(tmp_path)
    base = _baseline(interp.exe, IDLE, ("usr2",), tuple(sorted(env.items())))
    trigger = tmp_path / "trigger"
    t = start(targets, [interp.exe, program_path(IDLE), trigger, "usr2"], tmp_path, "idle", env=env)
    t.wait_for("ready")
    r = attach(t.pid, tmp_path)
    time.sleep(0.3)
    assert t.alive(), f"{describe_attach(r)}\n{t.describe()}"
    trigger.touch()
    t.finish()
    assert "the program's own SIGUSR2 handler ran" not in t.stdout, (
        f"`asyncleak attach` sent SIGUSR2 to a program that handles it itself\n{describe_attach(r)}\n"
        f"{t.describe()}")
    assert_same_as_baseline(t, base)


def spawn_loop(interp, tmp_path, targets):
    trigger = tmp_path / "trigger"
    t = start(targets, [interp.exe, program_path(SPAWN_LOOP), trigger], tmp_path, "spawn")
    t.wait_for("ready")
    return t, trigger


def finish_spawn_loop(t, trigger, interp):
    trigger.touch()
    t.finish()
    assert_same_as_baseline(t, baseline(interp, SPAWN_LOOP))
    assert "Traceback" not in t.stderr, t.describe()


def test_attach_during_heavy_load(interp, tmp_path, targets):
    need_attach()
    t, trigger = spawn_loop(interp, tmp_path, targets)
    path = assert_attached(attach(t.pid, tmp_path), t, tmp_path)
    time.sleep(0.3)     # tasks keep being created and finished under the hooks
    assert t.alive()
    finish_spawn_loop(t, trigger, interp)
    report = load_report(path)
    left = [f for f in findings(report, "orphaned_task", "runner_shutdown")
            if (f.get("task") or {}).get("coro") == "linger"]
    assert len(left) == 1, json.dumps(report, indent=1)[:12000]
    # Nothing finished is reported as left behind after the dump.
    later = [f for f in findings(report) if f.get("when") != "dump"]
    assert later == left, json.dumps(later, indent=1)[:12000]


def test_attach_twice_in_quick_succession_under_load(interp, tmp_path, targets):
    need_attach()
    t, trigger = spawn_loop(interp, tmp_path, targets)
    argv = [str(ASYNCLEAK), "attach", "--json", f"{tmp_path}/al.%p.json", str(t.pid)]
    procs = [subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env=clean_env(), stdin=subprocess.DEVNULL) for _ in range(2)]
    results = []
    for p in procs:
        try:
            out, err = p.communicate(timeout=ATTACH_TIMEOUT)
        except subprocess.TimeoutExpired:
            for q in procs:
                q.kill()
            pytest.fail(f"concurrent attaches did not finish in {ATTACH_TIMEOUT} s\n{t.describe()}")
        results.append((p.returncode, err))
    text = "\n".join(f"status {rc}: {err}" for rc, err in results)
    # One loads the library; the other loses the race (gdb: already traced) or finds it loaded.
    assert sorted(rc for rc, _ in results)[0] == 0 and all(rc in (0, 1) for rc, _ in results), text
    assert any(f"attached to {t.pid}" in err for _, err in results), text
    assert t.alive(), f"{text}\n{t.describe()}"
    assert Path(f"/proc/{t.pid}/maps").read_text().count("libasyncleak.so") >= 1
    # And once more right away: only a dump.
    r = attach(t.pid, tmp_path)
    assert r.returncode == 0 and "already loaded" in r.stderr, f"{describe_attach(r)}\n{t.describe()}"
    time.sleep(0.2)
    assert t.alive(), t.describe()
    finish_spawn_loop(t, trigger, interp)
    load_report(tmp_path / f"al.{t.pid}.json")


# ---- 4. uvloop -----------------------------------------------------------------------

def test_uvloop_service_attached(interp, tmp_path, targets):
    need_system(interp, "uvloop")
    need_module(interp, "uvloop")
    need_attach()
    prog = program_path(UVLOOP)
    base = baseline(interp, UVLOOP)
    trigger = tmp_path / "trigger"
    t = start(targets, [interp.exe, prog, trigger], tmp_path, "uvloop")
    t.wait_for("ready")
    log = tmp_path / "al.%p.log"
    path = assert_attached(attach(t.pid, tmp_path, "--log", log), t, tmp_path)
    assert_before_attach(by_task(load_report(path), "uv-before", "pending_task", "dump"), "poll_forever")
    trigger.touch()
    t.finish()
    assert_same_as_baseline(t, base)
    assert_no_diagnostics(t)
    assert not re.search(r"^==\d+==", t.stderr, re.M), f"--log: the report went to stderr\n{t.describe()}"

    report = load_report(path)
    after = by_task(report, "uv-after", "pending_task", "loop_close")
    assert "created_before_attach" not in after
    assert_origin(after, prog, marker_line(prog, "uv_after"))
    assert_before_attach(by_task(report, "uv-before", "pending_task", "loop_close"), "poll_forever")
    text = Path(str(log).replace("%p", str(t.pid))).read_text()
    assert f'File "{prog}", line {marker_line(prog, "uv_after")}, in main' in text, text
    assert "loop closed" in text or "event loop closed" in text, text


MALLOC_LOOP = "attach_malloc_loop.py"
MALLOC_ATTACHES = 12


def test_attach_while_the_target_is_inside_malloc(tmp_path, targets):
    """gdb stops the target wherever it is, often inside libc's malloc or
    free here; the attach first lets such a call finish, then loads the
    library.  Twelve targets, each attached once: every one survives,
    runs on and exits normally (before, about one attach in twenty killed
    its target with "malloc(): ... corrupted" under load)."""
    need_attach()
    for i in range(MALLOC_ATTACHES):
        trigger = tmp_path / f"trigger{i}"
        t = start(targets, [sys.executable, program_path(MALLOC_LOOP), trigger], tmp_path, f"malloc{i}")
        t.wait_for("ready")
        time.sleep(0.1 + 0.03 * i)
        p = attach(t.pid, tmp_path)
        assert p.returncode == 0 and f"attached to {t.pid}" in p.stderr, f"{describe_attach(p)}\n{t.describe()}"
        time.sleep(0.2)
        assert t.alive(), f"attach {i} killed the target\n{describe_attach(p)}\n{t.describe()}"
        trigger.touch()
        assert t.finish() == 0 and t.stdout == "ready\ndone\n", t.describe()


VECTOR_SPIN = "attach_vector_spin.py"
VECTOR_ATTACHES = 6


def vector_registers_refusal() -> str:
    try:
        flags = re.search(r"^flags\s*:(.*)$", Path("/proc/cpuinfo").read_text(), re.M).group(1).split()
    except (OSError, AttributeError):
        return "cannot read the CPU flags in /proc/cpuinfo"
    if "avx512f" not in flags or "avx512vl" not in flags:
        return "the CPU has no AVX-512 (avx512f and avx512vl): no ymm16-31 to lose"
    if shutil.which("gcc") is None:
        return "gcc not found: cannot build the vector-register loop"
    return ""


def test_attach_gives_back_the_vector_registers(tmp_path, targets):
    """gdb 13 on AMD Zen 4 zeroes ymm16-31 (and the other AVX-512 state) of
    the thread it called a function in; glibc's AVX-512 memcpy keeps data
    there, and a copy gdb stopped came out as zeros (a segfault in a
    coroutine's frame).  The attach first moves the thread to a call
    boundary.  The target's C loop keeps a pattern in ymm16-19 and checks
    it after every stretch: one load and five dump requests later, none
    lost it (before: 20 of 24 checks)."""
    need_attach()
    why = vector_registers_refusal()
    if why:
        pytest.skip(why)
    lib = tmp_path / "libvectorspin.so"
    cc = subprocess.run(["gcc", "-O1", "-shared", "-fPIC", "-mavx512f", "-mavx512vl", "-o", str(lib),
                         program_path("attach_vector_spin.c")], capture_output=True, text=True)
    assert cc.returncode == 0, cc.stderr
    trigger = tmp_path / "trigger"
    t = start(targets, [sys.executable, program_path(VECTOR_SPIN), lib, trigger], tmp_path, "vector")
    t.wait_for("ready")
    for i in range(VECTOR_ATTACHES):
        p = attach(t.pid, tmp_path)
        said = f"attached to {t.pid}" if i == 0 else "already loaded"
        assert p.returncode == 0 and said in p.stderr, f"attach {i}\n{describe_attach(p)}\n{t.describe()}"
        assert t.alive(), f"attach {i} killed the target\n{describe_attach(p)}\n{t.describe()}"
    trigger.touch()
    assert t.finish() == 0 and t.stdout == "ready\ncorrupted registers: 0\n", t.describe()
