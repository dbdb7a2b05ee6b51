"""test_resources_db.py - asyncpg and redis.asyncio resources against real servers.

The servers are started by these tests, once per test process (module
fixtures), from Debian's packages, on a free 127.0.0.1 port in a temporary
directory, and stopped at the end:

  PostgreSQL  /usr/lib/postgresql/N/bin/initdb + postgres (package
              postgresql); postgres refuses to run as root, so as root the
              tests run it as the user nobody.
  redis       redis-server --save '' --appendonly no (package redis-server)

The clients are Debian's python3-asyncpg and python3-redis, so the programs
(programs/res_asyncpg.py, programs/res_redis.py) run under /usr/bin/python3
only.  A missing server, package or interpreter skips with the reason.

For every kind: unclosed (kept referenced: loop_close, or exit for a class
without _loop), closed properly (no finding), closed while a task still uses
it (closed_while_in_use naming the task, its origin and where it waits),
and destroyed unclosed (gc).  What a user checks: the finding's kind, when,
resource.type (the object's class) and that the origin ends at the program
line that opened it (its "# ORIGIN:name" marker).
"""
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from conftest import (INTERPRETERS, SYSTEM_PYTHON, assert_no_tool_output, assert_origin,
                      assert_suspended_in, assert_text_mentions, clean_env, marker_line,
                      frames_of, fmt_frames, program_path, run_plain, run_program, same_file)

ASYNCPG = "res_asyncpg.py"
REDIS = "res_redis.py"

PG_CONNECTION = "asyncpg.connection.Connection"
PG_POOL = "asyncpg.pool.Pool"
REDIS_CLIENT = "redis.asyncio.client.Redis"
REDIS_POOL = "redis.asyncio.connection.ConnectionPool"
STREAM_WRITER = "asyncio.streams.StreamWriter"

START_TIMEOUT = 60


# ---- servers ------------------------------------------------------------------------

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def log_tail(path, n=15):
    try:
        return "\n".join(Path(path).read_text(errors="replace").splitlines()[-n:])
    except OSError as e:
        return f"(no log: {e})"


def stop(proc, sig=signal.SIGTERM):
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def postgres_bin():
    """The newest /usr/lib/postgresql/N/bin holding initdb and postgres."""
    found = []
    for initdb in glob.glob("/usr/lib/postgresql/*/bin/initdb"):
        version = Path(initdb).parents[1].name
        if version.isdigit() and os.access(Path(initdb).with_name("postgres"), os.X_OK):
            found.append((int(version), Path(initdb).parent))
    return max(found)[1] if found else None


@pytest.fixture(scope="module")
def postgres_dsn():
    """A PostgreSQL server of our own: its DSN (user postgres, trust auth)."""
    bindir = postgres_bin()
    if bindir is None:
        pytest.skip("PostgreSQL server binaries not found (/usr/lib/postgresql/N/bin/initdb, "
                    "Debian package postgresql): asyncpg tests need a real server")
    base = Path(tempfile.mkdtemp(prefix="asyncleak-pg."))
    as_user = {}
    if os.geteuid() == 0:
        # postgres refuses root: the directory and the server belong to nobody
        try:
            nobody = pwd.getpwnam("nobody")
        except KeyError:
            shutil.rmtree(base, ignore_errors=True)
            pytest.skip("running as root and there is no user 'nobody' to run postgres as")
        os.chown(base, nobody.pw_uid, nobody.pw_gid)
        as_user = dict(user=nobody.pw_uid, group=nobody.pw_gid, extra_groups=[])
    data, log = base / "data", base / "postgres.log"
    proc = None
    try:
        init = subprocess.run([bindir / "initdb", "-D", data, "-U", "postgres", "--auth=trust",
                               "-E", "UTF8", "--no-sync"], cwd=base, env=clean_env(),
                              capture_output=True, text=True, timeout=120, **as_user)
        if init.returncode != 0:
            pytest.skip(f"initdb failed (rc {init.returncode}): {init.stderr[-2000:]}")
        for _ in range(3):      # a free port may be taken before postgres binds it
            port = free_port()
            with open(log, "w") as out:
                proc = subprocess.Popen(
                    [bindir / "postgres", "-D", data, "-k", base, "-h", "127.0.0.1", "-p", str(port),
                     "-F", "-c", "fsync=off", "-c", "full_page_writes=off"],
                    cwd=base, env=clean_env(), stdin=subprocess.DEVNULL, stdout=out,
                    stderr=subprocess.STDOUT, **as_user)
            deadline = time.monotonic() + START_TIMEOUT
            while proc.poll() is None and time.monotonic() < deadline:
                ready = subprocess.run([bindir / "pg_isready", "-q", "-h", "127.0.0.1", "-p", str(port)],
                                       env=clean_env(), capture_output=True)
                if ready.returncode == 0:
                    break
                time.sleep(0.2)
            else:
                stop(proc)
                continue
            break
        else:
            pytest.skip(f"PostgreSQL did not start on 127.0.0.1:\n{log_tail(log)}")
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        if proc is not None:
            stop(proc, signal.SIGINT)       # fast shutdown
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module")
def redis_port():
    """A redis-server of our own, without persistence: its port."""
    exe = shutil.which("redis-server") or ("/usr/bin/redis-server" if os.access("/usr/bin/redis-server", os.X_OK)
                                            else None)
    if exe is None:
        pytest.skip("redis-server not found (Debian package redis-server): redis tests need a real server")
    base = Path(tempfile.mkdtemp(prefix="asyncleak-redis."))
    log = base / "redis.log"
    proc = None
    try:
        for _ in range(3):
            port = free_port()
            proc = subprocess.Popen([exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                     "--appendonly", "no", "--dir", str(base), "--logfile", str(log),
                                     "--daemonize", "no"],
                                    cwd=base, env=clean_env(), stdin=subprocess.DEVNULL,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            deadline = time.monotonic() + START_TIMEOUT
            while proc.poll() is None and time.monotonic() < deadline:
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                        s.sendall(b"PING\r\n")
                        if s.recv(16).startswith(b"+PONG"):
                            break
                except OSError:
                    pass
                time.sleep(0.1)
            else:
                stop(proc)
                continue
            break
        else:
            pytest.skip(f"redis-server did not start on 127.0.0.1:\n{log_tail(log)}")
        yield port
    finally:
        if proc is not None:
            stop(proc)
        shutil.rmtree(base, ignore_errors=True)


# ---- interpreters and runs ----------------------------------------------------------

def system_with(module, package):
    it = INTERPRETERS["system"]
    if it.exe is None:
        pytest.skip(f"Debian's {SYSTEM_PYTHON} is missing: {it.missing}")
    if not it.can_import(module):
        pytest.skip(f"{module} cannot be imported by {it} (Debian package {package})")
    return it


@pytest.fixture
def pg(postgres_dsn):
    """(interpreter, DSN): Debian's python3 with asyncpg, and the server."""
    return system_with("asyncpg", "python3-asyncpg"), postgres_dsn


@pytest.fixture
def rd(redis_port):
    """(interpreter, port): Debian's python3 with redis.asyncio, and the server."""
    return system_with("redis.asyncio", "python3-redis"), str(redis_port)


def run_checked(interp, tmp_path, prog_name, scenario, server):
    """Runs the scenario under the tool and without it: same stdout and exit
    status, and the program did its work."""
    run = run_program(interp, tmp_path, prog_name, scenario, server)
    base = run_plain([interp.exe, program_path(prog_name), scenario, server])
    assert base.returncode == 0, f"without the tool:\n{base.stdout}\n{base.stderr}"
    assert (run.returncode, run.stdout) == (base.returncode, base.stdout), (
        f"without the tool: rc {base.returncode}, stdout {base.stdout!r}\n{run.describe()}")
    assert run.stdout.splitlines()[-1:] == ["done"], run.describe()
    return run


def findings_by_type(run):
    """{(kind, resource type): [findings]} of the whole report."""
    assert run.report is not None, f"no report\n{run.describe()}"
    out = {}
    for f in run.findings():
        out.setdefault((f.get("kind"), (f.get("resource") or {}).get("type")), []).append(f)
    return out


def assert_findings(run, expected, counts=None):
    """The report holds exactly these (kind, type) pairs, one finding each
    unless counts says otherwise.  Returns {(kind, type): first finding}."""
    got = findings_by_type(run)
    want = {k: (counts or {}).get(k, 1) for k in expected}
    assert {k: len(v) for k, v in got.items()} == want, (
        f"expected findings {sorted(want.items())}, got {sorted((k, len(v)) for k, v in got.items())}\n"
        f"{run.describe()}")
    return {k: v[0] for k, v in got.items()}


def assert_unclosed(finding, type_name, when, prog, marker):
    allowed = {when} if isinstance(when, str) else set(when)
    assert finding["kind"] == "unclosed_resource", finding
    assert finding["resource"]["type"] == type_name, finding
    assert finding.get("when") in allowed, f"{type_name}: when {finding.get('when')}, expected {allowed}"
    assert_origin(finding, prog, marker_line(prog, marker), outer="<module>")


def assert_in_use(finding, type_name, prog, opened, closed, task_name, task_origin, waits_in):
    """closed_while_in_use: the resource's origin, the program line that
    closed it (the innermost frame of the program in closed_at: a pool closes
    its connections from inside asyncpg), and the one task that used it: its
    name, origin, and the coroutine it waits in."""
    assert finding["kind"] == "closed_while_in_use" and finding["when"] == "close", finding
    assert finding["resource"]["type"] == type_name, finding
    assert_origin(finding, prog, marker_line(prog, opened), outer="<module>")
    in_prog = [fr for fr in finding["closed_at"]["frames"] if Path(fr["file"]).name == prog.name]
    assert in_prog and in_prog[-1]["line"] == marker_line(prog, closed), finding
    tasks = finding.get("tasks") or []
    assert [t["task"]["name"] for t in tasks] == [task_name], finding
    assert_origin(tasks[0], prog, marker_line(prog, task_origin), outer="<module>")
    assert_suspended_in(tasks[0], waits_in)


def assert_clean(run):
    assert_no_tool_output(run)
    assert run.report is None or run.report["findings"] == [], run.describe()


# ---- asyncpg ------------------------------------------------------------------------

def test_asyncpg_connection_destroyed_unclosed(pg, tmp_path):
    interp, dsn = pg
    prog = program_path(ASYNCPG)
    run = run_checked(interp, tmp_path, ASYNCPG, "conn_gc", dsn)
    f = assert_findings(run, [("unclosed_resource", PG_CONNECTION)])
    assert_unclosed(f["unclosed_resource", PG_CONNECTION], PG_CONNECTION, "gc", prog, "conn_gc")
    assert_text_mentions(run, "unclosed_resource", prog, marker_line(prog, "conn_gc"))
    assert f"resource {PG_CONNECTION} was never closed" in run.stderr, run.describe()


def test_asyncpg_connection_unclosed_at_loop_close(pg, tmp_path):
    """Kept referenced: open when asyncio.run() closes its loop (the loop is
    read from the connection's __slots__)."""
    interp, dsn = pg
    prog = program_path(ASYNCPG)
    run = run_checked(interp, tmp_path, ASYNCPG, "conn_kept", dsn)
    f = assert_findings(run, [("unclosed_resource", PG_CONNECTION)])
    assert_unclosed(f["unclosed_resource", PG_CONNECTION], PG_CONNECTION, "loop_close", prog, "conn_kept")


@pytest.mark.parametrize("scenario", ["conn_closed", "conn_terminate", "pool_closed"])
def test_asyncpg_closed_no_finding(pg, tmp_path, scenario):
    """close(), terminate(), `async with create_pool()`, pool.close()."""
    interp, dsn = pg
    run = run_checked(interp, tmp_path, ASYNCPG, scenario, dsn)
    assert run.stdout.startswith("result: 1\n"), run.describe()
    assert_clean(run)


def test_asyncpg_connection_closed_while_in_use(pg, tmp_path):
    interp, dsn = pg
    prog = program_path(ASYNCPG)
    run = run_checked(interp, tmp_path, ASYNCPG, "conn_in_use", dsn)
    f = assert_findings(run, [("closed_while_in_use", PG_CONNECTION)])
    assert_in_use(f["closed_while_in_use", PG_CONNECTION], PG_CONNECTION, prog,
                  "conn_in_use", "conn_close", "query", "conn_task", "slow_query")
    assert "asyncleak: closed_while_in_use:" in run.stderr, run.describe()


def test_asyncpg_pool_destroyed_unclosed(pg, tmp_path):
    """A pool takes no weak reference (__slots__ without __weakref__): still
    seen freed, with its connection, both at the create_pool() line."""
    interp, dsn = pg
    prog = program_path(ASYNCPG)
    run = run_checked(interp, tmp_path, ASYNCPG, "pool_gc", dsn)
    f = assert_findings(run, [("unclosed_resource", PG_POOL), ("unclosed_resource", PG_CONNECTION)])
    assert_unclosed(f["unclosed_resource", PG_POOL], PG_POOL, "gc", prog, "pool_gc")
    assert_unclosed(f["unclosed_resource", PG_CONNECTION], PG_CONNECTION, "gc", prog, "pool_gc")
    ids = {x["resource"]["id"] for x in f.values()}
    assert len(ids) == 2, run.describe()


def test_asyncpg_pool_unclosed_at_loop_close(pg, tmp_path):
    """A pool of two connections, kept: the pool and both connections at the
    create_pool() line, the second one although asyncpg opens it in a task
    of its own (the task's origin stands in for the library's frames)."""
    interp, dsn = pg
    prog = program_path(ASYNCPG)
    run = run_checked(interp, tmp_path, ASYNCPG, "pool_kept", dsn)
    assert_findings(run, [("unclosed_resource", PG_POOL), ("unclosed_resource", PG_CONNECTION)],
                    counts={("unclosed_resource", PG_CONNECTION): 2})
    for f in run.findings():
        type_name = f["resource"]["type"]
        assert_unclosed(f, type_name, "loop_close", prog, "pool_kept")
    assert len({f["resource"]["id"] for f in run.findings()}) == 3, run.describe()
    assert_text_mentions(run, "unclosed_resource", prog, marker_line(prog, "pool_kept"))


def test_asyncpg_pool_closed_while_in_use(pg, tmp_path):
    """pool.terminate() while a task waits for a query on an acquired
    connection: the pool and the connection (terminated by the pool) were
    both still in use by that task."""
    interp, dsn = pg
    prog = program_path(ASYNCPG)
    run = run_checked(interp, tmp_path, ASYNCPG, "pool_in_use", dsn)
    f = assert_findings(run, [("closed_while_in_use", PG_POOL), ("closed_while_in_use", PG_CONNECTION)])
    for type_name in (PG_POOL, PG_CONNECTION):
        assert_in_use(f["closed_while_in_use", type_name], type_name, prog,
                      "pool_in_use", "pool_close", "query", "pool_task", "pool_query")


# ---- redis.asyncio ------------------------------------------------------------------

def test_redis_client_destroyed_unclosed(rd, tmp_path):
    """Redis() makes its own ConnectionPool: both freed unclosed, both at the
    Redis() line."""
    interp, port = rd
    prog = program_path(REDIS)
    run = run_checked(interp, tmp_path, REDIS, "client_gc", port)
    f = assert_findings(run, [("unclosed_resource", REDIS_CLIENT), ("unclosed_resource", REDIS_POOL)])
    assert_unclosed(f["unclosed_resource", REDIS_CLIENT], REDIS_CLIENT, "gc", prog, "client_gc")
    assert_unclosed(f["unclosed_resource", REDIS_POOL], REDIS_POOL, "gc", prog, "client_gc")
    assert_text_mentions(run, "unclosed_resource", prog, marker_line(prog, "client_gc"))
    assert f"resource {REDIS_CLIENT} was never closed" in run.stderr, run.describe()


def test_redis_pool_destroyed_unclosed(rd, tmp_path):
    """A ConnectionPool of the program's and the client using it: each at its
    own line."""
    interp, port = rd
    prog = program_path(REDIS)
    run = run_checked(interp, tmp_path, REDIS, "pool_gc", port)
    f = assert_findings(run, [("unclosed_resource", REDIS_CLIENT), ("unclosed_resource", REDIS_POOL)])
    assert_unclosed(f["unclosed_resource", REDIS_CLIENT], REDIS_CLIENT, "gc", prog, "pool_client")
    assert_unclosed(f["unclosed_resource", REDIS_POOL], REDIS_POOL, "gc", prog, "pool")


def test_redis_client_unclosed_kept(rd, tmp_path):
    """Kept referenced, never closed.  A Redis and its pool have no _loop:
    reported at exit; the pooled connection's socket (an asyncio
    StreamWriter opened by the PING) when the loop closes."""
    interp, port = rd
    prog = program_path(REDIS)
    run = run_checked(interp, tmp_path, REDIS, "client_kept", port)
    f = assert_findings(run, [("unclosed_resource", REDIS_CLIENT), ("unclosed_resource", REDIS_POOL),
                              ("unclosed_resource", STREAM_WRITER)])
    assert_unclosed(f["unclosed_resource", REDIS_CLIENT], REDIS_CLIENT, ("loop_close", "exit"), prog,
                    "client_kept")
    assert_unclosed(f["unclosed_resource", REDIS_POOL], REDIS_POOL, ("loop_close", "exit"), prog,
                    "client_kept")
    # The socket was opened by redis-py's own code: the origin ends in
    # redis/asyncio/connection.py (library code asking for the stream, as the
    # contract says), and passes through the program's PING line.
    writer = f["unclosed_resource", STREAM_WRITER]
    assert writer["when"] == "loop_close", writer
    frames = frames_of(writer["origin"])
    assert frames[-1]["file"].endswith("/redis/asyncio/connection.py"), fmt_frames(frames)
    ping = marker_line(prog, "client_kept_ping")
    assert any(same_file(fr["file"], prog) and fr["line"] == ping for fr in frames), fmt_frames(frames)


@pytest.mark.parametrize("scenario", ["client_closed", "client_with", "pool_closed"])
def test_redis_closed_no_finding(rd, tmp_path, scenario):
    """close() (which disconnects the client's own pool), `async with
    Redis()`, and a program's pool disconnected after its client closed."""
    interp, port = rd
    run = run_checked(interp, tmp_path, REDIS, scenario, port)
    assert run.stdout.startswith("ping: True\n"), run.describe()
    assert_clean(run)


def test_redis_client_closed_while_in_use(rd, tmp_path):
    """close() while a task waits in BLPOP: the client, and the pool that
    close() disconnects, were both still in use by that task.  Neither has a
    _loop: the tasks looked at are those of the loop running the close, the
    closing task itself excluded."""
    interp, port = rd
    prog = program_path(REDIS)
    run = run_checked(interp, tmp_path, REDIS, "client_in_use", port)
    f = assert_findings(run, [("closed_while_in_use", REDIS_CLIENT), ("closed_while_in_use", REDIS_POOL)])
    for type_name in (REDIS_CLIENT, REDIS_POOL):
        assert_in_use(f["closed_while_in_use", type_name], type_name, prog,
                      "in_use", "in_use_close", "blpop", "blpop_task", "blpop")


# ---- the mechanisms underneath, on every interpreter --------------------------------
# asyncpg's Pool takes no weak reference; redis-py and aiohttp report through
# the exception handler from __del__, which the cycle collector runs after it
# has told the tool of the free.  The same with classes of a resources= spec
# (programs/res_lifecyclelib.py), on CPython 3.8 to 3.13.

LIFECYCLE = "res_lifecycle.py"
LIFECYCLE_KINDS = "res_lifecyclelib:Slotted close=close\nres_lifecyclelib:Chatty close=close\n"


def run_lifecycle(interp, tmp_path, scenario):
    kinds = tmp_path / "kinds.txt"
    kinds.write_text(LIFECYCLE_KINDS)
    run = run_program(interp, tmp_path, LIFECYCLE, scenario, options=[f"resources={kinds}"])
    base = run_plain([interp.exe, program_path(LIFECYCLE), scenario])
    assert (run.returncode, run.stdout) == (base.returncode, base.stdout) == (0, "done\n"), run.describe()
    return run


def test_no_weakref_support_tracked_by_finalizer(interp, tmp_path):
    """__slots__ without __weakref__: freed by reference counting, by the
    cycle collector, as a subclass instance (gc), kept open (loop_close);
    a closed one gives nothing."""
    prog = program_path(LIFECYCLE)
    run = run_lifecycle(interp, tmp_path, "slotted")
    got = sorted((f["kind"], f["resource"]["type"], f["when"], f["origin"]["frames"][-1]["line"])
                 for f in run.findings())
    want = sorted([("unclosed_resource", "res_lifecyclelib.Slotted", "gc", marker_line(prog, "slotted_refcount")),
                   ("unclosed_resource", "res_lifecyclelib.Slotted", "gc", marker_line(prog, "slotted_cycle")),
                   ("unclosed_resource", "res_lifecyclelib.SlottedChild", "gc",
                    marker_line(prog, "slotted_child")),
                   ("unclosed_resource", "res_lifecyclelib.Slotted", "loop_close",
                    marker_line(prog, "slotted_kept"))])
    assert got == want, run.describe()
    for f in run.findings():
        assert_origin(f, prog, f["origin"]["frames"][-1]["line"], outer="<module>")


def test_del_message_kept_when_the_cycle_collector_frees(interp, tmp_path):
    """A class whose __del__ says "Unclosed ..." to the exception handler:
    freed by reference counting or by the cycle collector, the finding
    carries the message (asyncio_message); asyncio still prints it."""
    prog = program_path(LIFECYCLE)
    run = run_lifecycle(interp, tmp_path, "chatty")
    got = sorted((f["kind"], f["when"], f["origin"]["frames"][-1]["line"], f.get("asyncio_message"))
                 for f in run.findings())
    want = sorted([("unclosed_resource", "gc", marker_line(prog, marker), "Unclosed chatty client")
                   for marker in ("chatty_refcount", "chatty_cycle")])
    assert got == want, run.describe()
    assert run.stderr.count("Unclosed chatty client\n") >= 2, run.describe()
    assert run.stderr.count('asyncio said: "Unclosed chatty client"') == 2, run.describe()
