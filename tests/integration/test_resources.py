"""test_resources.py - unclosed_resource findings from real components.

Every scenario is a real program (programs/res_*.py) talking over 127.0.0.1
to a real server in the same process:

  aiohttp    ClientSession / TCPConnector against an aiohttp.web server
             (Debian's /usr/bin/python3 only: the one interpreter with aiohttp)
  httpx      AsyncClient against an aiohttp.web server (Debian's python3-httpx)
  streams    asyncio.open_connection / asyncio.start_server, on every interpreter
  user kinds classes named in a resources=FILE spec, on every interpreter
  examples   examples/cause3_unclosed_session.py and cause3_fixed.py, as the
             guide (docs/guide-cause3-unclosed-sessions.md) shows them

What a user checks: the finding's kind, `when`, `resource.type`, and the
origin's last frame (the program line that opened the resource, found through
its "# ORIGIN:name" marker), outermost first.  A closed resource gives no
finding; every program prints and exits exactly as it does without the tool.
Every report is run through the shared contract checker (conftest.run_cmd).
"""
import json
import re
from pathlib import Path

import pytest

from conftest import (INTERPRETERS, ROOT, SYSTEM_PYTHON, assert_no_tool_output, assert_origin,
                      assert_text_mentions, marker_line, program_path, run_cmd, run_plain, run_program)

AIOHTTP = "res_aiohttp.py"
HTTPX = "res_httpx.py"
STREAMS = "res_streams.py"
USER = "res_user.py"

SESSION = "aiohttp.client.ClientSession"
TCP_CONNECTOR = "aiohttp.connector.TCPConnector"
ASYNC_CLIENT = "httpx.AsyncClient"
STREAM_WRITER = "asyncio.streams.StreamWriter"
SERVER = "asyncio.base_events.Server"
POOL = "res_userlib.Pool"
LEASE = "res_userlib.Pool.Lease"
CHANNEL = "__main__.Channel"

DIAG = re.compile(r"^asyncleak: ", re.M)


# ---- helpers ------------------------------------------------------------------------

def unclosed(run):
    return run.findings("unclosed_resource")


def of_type(run, type_name):
    """The one unclosed_resource finding whose resource is type_name."""
    hits = [f for f in unclosed(run) if (f.get("resource") or {}).get("type") == type_name]
    assert len(hits) == 1, (f"expected one unclosed_resource for {type_name}, got {len(hits)}\n"
                            f"{run.describe()}")
    return hits[0]


def assert_resource(finding, type_name, when):
    res = finding.get("resource") or {}
    assert finding.get("kind") == "unclosed_resource", finding
    assert res.get("type") == type_name, finding
    assert isinstance(res.get("id"), int) and res["id"] > 0, finding
    allowed = {when} if isinstance(when, str) else set(when)
    assert finding.get("when") in allowed, (
        f"{type_name}: expected when in {sorted(allowed)}, got {finding.get('when')}\n"
        f"{json.dumps(finding, indent=1)}")


def assert_only_types(run, *type_names):
    """The report holds exactly these findings (all unclosed_resource), no other."""
    assert run.report is not None, f"no report\n{run.describe()}"
    got = sorted((f.get("kind"), (f.get("resource") or {}).get("type")) for f in run.findings())
    want = sorted(("unclosed_resource", t) for t in type_names)
    assert got == want, f"expected findings {want}, got {got}\n{run.describe()}"
    assert run.report["summary"] == {"unclosed_resource": len(type_names)}, run.describe()


def assert_ids_distinct(run):
    ids = [f["resource"]["id"] for f in unclosed(run)]
    assert len(ids) == len(set(ids)), f"resource ids repeat: {ids}\n{run.describe()}"


def assert_same_as_plain(run, interp, name, *args):
    """The program prints and exits exactly as it does without the tool."""
    base = run_plain([interp.exe, program_path(name), *args])
    assert (run.returncode, run.stdout) == (base.returncode, base.stdout), (
        f"without the tool: rc {base.returncode}, stdout {base.stdout!r}\n{run.describe()}")
    return base


def assert_no_finding(run):
    """A correct program: no finding and nothing from the tool on stderr."""
    assert run.returncode == 0, run.describe()
    assert_no_tool_output(run)
    if run.report is not None:
        assert run.report["findings"] == [], run.describe()


def diag_lines(run):
    """The tool's one-line diagnostics on stderr (not the report's ==PID== lines)."""
    return [l for l in run.stderr.splitlines() if DIAG.match(l)]


def origin_at(finding, prog, marker, outer="<module>"):
    return assert_origin(finding, prog, marker_line(prog, marker), outer=outer)


@pytest.fixture
def system_py():
    """Debian's /usr/bin/python3, the only interpreter with aiohttp."""
    it = INTERPRETERS["system"]
    if it.exe is None:
        pytest.skip(f"Debian's {SYSTEM_PYTHON} is missing: {it.missing}")
    return it


@pytest.fixture
def aiohttp_py(system_py):
    if not system_py.can_import("aiohttp"):
        pytest.skip(f"aiohttp cannot be imported by {system_py} (Debian package python3-aiohttp)")
    return system_py


@pytest.fixture
def httpx_py(aiohttp_py):
    if not aiohttp_py.can_import("httpx"):
        pytest.skip(f"httpx cannot be imported by {aiohttp_py} (Debian package python3-httpx)")
    return aiohttp_py


# ---- aiohttp ------------------------------------------------------------------------

def test_aiohttp_session_never_closed_gc(aiohttp_py, tmp_path):
    """A session used and dropped: freed unclosed while the loop runs.  Its
    connector, created inside ClientSession(), has the same origin line, and
    aiohttp's own messages still reach the exception handler."""
    prog = program_path(AIOHTTP)
    run = run_program(aiohttp_py, tmp_path, AIOHTTP, "gc")
    base = assert_same_as_plain(run, aiohttp_py, AIOHTTP, "gc")
    assert run.returncode == 0 and "body: hello" in run.stdout, run.describe()
    assert_only_types(run, SESSION, TCP_CONNECTOR)
    assert_ids_distinct(run)

    session = of_type(run, SESSION)
    assert_resource(session, SESSION, "gc")
    origin_at(session, prog, "gc")
    assert session.get("asyncio_message") == "Unclosed client session", run.describe()

    connector = of_type(run, TCP_CONNECTOR)
    assert_resource(connector, TCP_CONNECTOR, "gc")
    origin_at(connector, prog, "gc")
    # a pooled keep-alive connection: aiohttp also says "Unclosed connector"
    assert connector.get("asyncio_message") == "Unclosed connector", run.describe()

    # asyncio's messages are still printed, as without the tool
    for msg in ("Unclosed client session", "Unclosed connector"):
        assert msg in base.stderr, base.stderr
        assert msg in run.stderr, run.describe()
    assert_text_mentions(run, "unclosed_resource", prog, marker_line(prog, "gc"))
    assert f"resource {SESSION} was never closed" in run.stderr, run.describe()


def test_aiohttp_session_in_cycle_gc(aiohttp_py, tmp_path):
    """The session sits in a reference cycle: the cycle collector frees it.
    Same finding as when reference counting frees it, asyncio's message
    included: the collector clears weak references before it runs __del__,
    so the report waits for aiohttp's "Unclosed client session"."""
    prog = program_path(AIOHTTP)
    run = run_program(aiohttp_py, tmp_path, AIOHTTP, "cycle")
    assert_same_as_plain(run, aiohttp_py, AIOHTTP, "cycle")
    assert_only_types(run, SESSION, TCP_CONNECTOR)
    session = of_type(run, SESSION)
    assert_resource(session, SESSION, "gc")
    origin_at(session, prog, "cycle")
    connector = of_type(run, TCP_CONNECTOR)
    assert_resource(connector, TCP_CONNECTOR, "gc")
    origin_at(connector, prog, "cycle")
    assert "Unclosed client session" in run.stderr, run.describe()
    assert session.get("asyncio_message") == "Unclosed client session", (
        "aiohttp's 'Unclosed client session' reached the exception handler, but the finding "
        f"does not carry it\n{run.describe()}")
    assert connector.get("asyncio_message") == "Unclosed connector", run.describe()


def test_aiohttp_session_open_at_manual_loop_close(aiohttp_py, tmp_path):
    """new_event_loop / run_until_complete / close with the session still
    referenced: reported when its loop closes, once (not again at exit when
    aiohttp's __del__ complains)."""
    prog = program_path(AIOHTTP)
    run = run_program(aiohttp_py, tmp_path, AIOHTTP, "loop_close")
    assert_same_as_plain(run, aiohttp_py, AIOHTTP, "loop_close")
    assert run.returncode == 0, run.describe()
    assert_only_types(run, SESSION, TCP_CONNECTOR)
    for type_name in (SESSION, TCP_CONNECTOR):
        f = of_type(run, type_name)
        assert_resource(f, type_name, "loop_close")
        origin_at(f, prog, "loop_close")
    assert_text_mentions(run, "unclosed_resource", prog, marker_line(prog, "loop_close"))


@pytest.mark.parametrize("scenario", ["async_with", "close", "connector_owned"])
def test_aiohttp_session_closed_no_finding(aiohttp_py, tmp_path, scenario):
    """`async with ClientSession()`, `await session.close()`, and a session that
    owns (and closes) a user's TCPConnector: nothing to report."""
    run = run_program(aiohttp_py, tmp_path, AIOHTTP, scenario)
    base = assert_same_as_plain(run, aiohttp_py, AIOHTTP, scenario)
    assert "body: hello" in run.stdout, run.describe()
    assert_no_finding(run)
    assert "Unclosed" not in run.stderr and "Unclosed" not in base.stderr, run.describe()


def test_aiohttp_user_connector(aiohttp_py, tmp_path):
    """A TCPConnector created by the program and passed to a session, neither
    closed: each is reported at its own line."""
    prog = program_path(AIOHTTP)
    run = run_program(aiohttp_py, tmp_path, AIOHTTP, "connector")
    assert_same_as_plain(run, aiohttp_py, AIOHTTP, "connector")
    assert_only_types(run, SESSION, TCP_CONNECTOR)
    assert_ids_distinct(run)
    session = of_type(run, SESSION)
    assert_resource(session, SESSION, "loop_close")
    origin_at(session, prog, "connector_session")
    connector = of_type(run, TCP_CONNECTOR)
    assert_resource(connector, TCP_CONNECTOR, "loop_close")
    origin_at(connector, prog, "connector")


def test_aiohttp_connector_not_owned_by_session(aiohttp_py, tmp_path):
    """connector_owner=False: closing the session leaves the user's connector
    open; only the connector is reported, at the TCPConnector() line."""
    prog = program_path(AIOHTTP)
    run = run_program(aiohttp_py, tmp_path, AIOHTTP, "connector_not_owned")
    assert_same_as_plain(run, aiohttp_py, AIOHTTP, "connector_not_owned")
    assert_only_types(run, TCP_CONNECTOR)
    connector = of_type(run, TCP_CONNECTOR)
    assert_resource(connector, TCP_CONNECTOR, "loop_close")
    origin_at(connector, prog, "not_owned")


# ---- httpx --------------------------------------------------------------------------

def test_httpx_client_never_closed_gc(httpx_py, tmp_path):
    prog = program_path(HTTPX)
    run = run_program(httpx_py, tmp_path, HTTPX, "gc")
    assert_same_as_plain(run, httpx_py, HTTPX, "gc")
    assert "status: 200 body: hello" in run.stdout, run.describe()
    hits = unclosed(run)
    assert [f["resource"]["type"] for f in hits] == [ASYNC_CLIENT], run.describe()
    assert_resource(hits[0], ASYNC_CLIENT, "gc")
    origin_at(hits[0], prog, "client")
    assert_text_mentions(run, "unclosed_resource", prog, marker_line(prog, "client"))


def test_httpx_client_still_open_at_end(httpx_py, tmp_path):
    """Kept referenced, never closed.  An AsyncClient has no loop attribute:
    reported when its loop closes or, at the latest, at exit."""
    prog = program_path(HTTPX)
    run = run_program(httpx_py, tmp_path, HTTPX, "kept")
    assert_same_as_plain(run, httpx_py, HTTPX, "kept")
    hits = unclosed(run)
    assert [f["resource"]["type"] for f in hits] == [ASYNC_CLIENT], run.describe()
    assert_resource(hits[0], ASYNC_CLIENT, ("loop_close", "exit"))
    origin_at(hits[0], prog, "client")


@pytest.mark.parametrize("scenario", ["aclose", "async_with"])
def test_httpx_client_closed_no_unclosed_resource(httpx_py, tmp_path, scenario):
    """`await client.aclose()` and `async with httpx.AsyncClient()` close the
    client: no unclosed_resource."""
    run = run_program(httpx_py, tmp_path, HTTPX, scenario)
    assert_same_as_plain(run, httpx_py, HTTPX, scenario)
    assert "status: 200 body: hello" in run.stdout, run.describe()
    assert unclosed(run) == [], run.describe()
    assert "unclosed_resource" not in run.stderr, run.describe()


def test_httpx_correct_program_no_finding_at_all(httpx_py, tmp_path):
    """The same correct httpx program must produce no finding of any kind
    (httpx connects through anyio, whose cancel scopes cancel and then absorb
    a cancellation by design)."""
    run = run_program(httpx_py, tmp_path, HTTPX, "aclose")
    assert_no_finding(run)


# ---- asyncio streams and servers (every interpreter) --------------------------------

@pytest.mark.parametrize("scenario,when", [("writer_gc", "gc"), ("writer_kept", "loop_close")])
def test_stream_writer_never_closed(interp, tmp_path, scenario, when):
    prog = program_path(STREAMS)
    run = run_program(interp, tmp_path, STREAMS, scenario)
    assert_same_as_plain(run, interp, STREAMS, scenario)
    assert run.stdout.splitlines() == ["reply: ping", "done"], run.describe()
    assert_only_types(run, STREAM_WRITER)
    f = of_type(run, STREAM_WRITER)
    assert_resource(f, STREAM_WRITER, when)
    origin_at(f, prog, "open_connection")
    assert_text_mentions(run, "unclosed_resource", prog, marker_line(prog, "open_connection"))


def test_stream_writer_closed_no_finding(interp, tmp_path):
    run = run_program(interp, tmp_path, STREAMS, "writer_closed")
    assert_same_as_plain(run, interp, STREAMS, "writer_closed")
    assert run.stdout.splitlines() == ["reply: ping", "done"], run.describe()
    assert_no_finding(run)


@pytest.mark.parametrize("scenario,when", [("server_kept", "loop_close"),
                                           ("server_dropped", ("loop_close", "gc"))])
def test_server_never_closed(interp, tmp_path, scenario, when):
    """A Server from asyncio.start_server, never closed: kept referenced, it
    is open when its loop closes; dropped, the loop still holds it through its
    listening socket until it closes."""
    prog = program_path(STREAMS)
    run = run_program(interp, tmp_path, STREAMS, scenario)
    assert_same_as_plain(run, interp, STREAMS, scenario)
    assert_only_types(run, SERVER)
    f = of_type(run, SERVER)
    assert_resource(f, SERVER, when)
    origin_at(f, prog, "start_server")
    assert_text_mentions(run, "unclosed_resource", prog, marker_line(prog, "start_server"))


@pytest.mark.parametrize("scenario", ["server_closed", "server_with"])
def test_server_closed_no_finding(interp, tmp_path, scenario):
    """server.close() + wait_closed(), and `async with server`."""
    run = run_program(interp, tmp_path, STREAMS, scenario)
    assert_same_as_plain(run, interp, STREAMS, scenario)
    assert_no_finding(run)


# ---- user kinds: resources=FILE -----------------------------------------------------

LIB_KINDS = (
    "# kinds of res_userlib, for res_user.py\n"
    "res_userlib:Pool\topen=__init__,reopen   close=shutdown,terminate   # tabs, trailing comment\n"
    "\n"
    "res_userlib:Pool.Lease close=release\n"
)


def write_resources(tmp_path, text, name="kinds.txt"):
    path = tmp_path / name
    path.write_text(text)
    return path


def check_lib_leak(run, prog):
    """lib_leak: the Pool open at loop close, the Lease freed unclosed."""
    assert_only_types(run, POOL, LEASE)
    assert_ids_distinct(run)
    pool = of_type(run, POOL)
    assert_resource(pool, POOL, "loop_close")
    origin_at(pool, prog, "pool")
    lease = of_type(run, LEASE)
    assert_resource(lease, LEASE, "gc")
    origin_at(lease, prog, "lease")


def test_user_kind_from_module(interp, tmp_path):
    """A class of a module the program imports, and its nested class (a
    dotted qualname), reported with the user's type names."""
    prog = program_path(USER)
    kinds = write_resources(tmp_path, LIB_KINDS)
    run = run_program(interp, tmp_path, USER, "lib_leak", options=[f"resources={kinds}"])
    assert_same_as_plain(run, interp, USER, "lib_leak")
    assert diag_lines(run) == [], run.describe()
    check_lib_leak(run, prog)
    assert_text_mentions(run, "unclosed_resource", prog, marker_line(prog, "pool"))
    assert f"resource {POOL} was never closed" in run.stderr, run.describe()


def test_user_kind_closed_no_finding(interp, tmp_path):
    """Closed by either close method (shutdown, terminate), a Lease released."""
    kinds = write_resources(tmp_path, LIB_KINDS)
    run = run_program(interp, tmp_path, USER, "lib_closed", options=[f"resources={kinds}"])
    assert_same_as_plain(run, interp, USER, "lib_closed")
    assert_no_finding(run)


def test_user_kind_second_open_method(interp, tmp_path):
    """Closed, then opened again by the second open method (reopen): reported
    at the reopen() line."""
    prog = program_path(USER)
    kinds = write_resources(tmp_path, LIB_KINDS)
    run = run_program(interp, tmp_path, USER, "lib_reopen", options=[f"resources={kinds}"])
    assert_same_as_plain(run, interp, USER, "lib_reopen")
    assert_only_types(run, POOL)
    f = of_type(run, POOL)
    assert_resource(f, POOL, "loop_close")
    origin_at(f, prog, "reopen")


@pytest.mark.parametrize("scenario", ["main_leak", "main_closed"])
def test_user_kind_defined_in_the_program(interp, tmp_path, scenario):
    """A class defined in the program itself (module __main__), named
    __main__:Channel in the spec: tracked like any other kind."""
    prog = program_path(USER)
    kinds = write_resources(tmp_path, "__main__:Channel open=connect close=disconnect\n")
    run = run_program(interp, tmp_path, USER, scenario, options=[f"resources={kinds}"])
    assert_same_as_plain(run, interp, USER, scenario)
    assert diag_lines(run) == [], f"unexpected diagnostics\n{run.describe()}"
    if scenario == "main_closed":
        assert_no_finding(run)
        return
    assert_only_types(run, CHANNEL)
    f = of_type(run, CHANNEL)
    assert_resource(f, CHANNEL, "loop_close")
    origin_at(f, prog, "channel")


# line number -> (line, exact reason)
BAD_LINES = {
    2: ("res_userlib.Pool close=shutdown", "expected module:Class first, got 'res_userlib.Pool'"),
    4: ("res_userlib:Pool opne=__init__ close=shutdown", "unknown key 'opne' (expected open or close)"),
    5: ("res_userlib:Pool open=__init__", "missing close=METHOD"),
    7: ("res_userlib:Pool close=shutdown close=terminate", "close= given twice"),
    8: ("res_userlib:Pool close=a,b,c,d,e", "at most 4 methods in close="),
    9: ("res-userlib:Pool close=shutdown", "expected module:Class first, got 'res-userlib:Pool'"),
    10: ("res_userlib:Pool close=", "bad method name '' in close="),
    11: ("res_userlib:Pool close=shut.down", "bad method name 'shut.down' in close="),
}


def bad_resources_file(tmp_path):
    lines = {1: "# good and bad lines mixed",
             3: "res_userlib:Pool\topen=__init__,reopen   close=shutdown,terminate   # good",
             6: "",
             12: "res_userlib:Pool.Lease close=release  # good, after the bad ones"}
    lines.update({n: text for n, (text, _) in BAD_LINES.items()})
    text = "".join(lines[n] + "\n" for n in sorted(lines))
    assert sorted(lines) == list(range(1, len(lines) + 1))
    return write_resources(tmp_path, text)


def test_resources_file_bad_lines(interp, tmp_path):
    """Each bad line gets exactly `asyncleak: FILE:LINE: reason (line ignored)`
    on stderr, in file order; the good lines still apply; the program prints
    and exits exactly as without the tool."""
    prog = program_path(USER)
    kinds = bad_resources_file(tmp_path)
    run = run_program(interp, tmp_path, USER, "lib_leak", "3", options=[f"resources={kinds}"])
    base = assert_same_as_plain(run, interp, USER, "lib_leak", "3")
    assert run.returncode == 3 and run.stdout == "pool ready: 4\ndone\n", run.describe()
    assert base.stderr == "", base.stderr
    want = [f"asyncleak: {kinds}:{n}: {reason} (line ignored)" for n, (_, reason) in sorted(BAD_LINES.items())]
    assert diag_lines(run) == want, (
        "expected diagnostics:\n" + "\n".join(want) + f"\n{run.describe()}")
    check_lib_leak(run, prog)


def test_resources_file_bad_lines_clean_program(interp, tmp_path):
    """With a bad line, a program that closes everything gets the one-line
    complaints and nothing else."""
    kinds = bad_resources_file(tmp_path)
    run = run_program(interp, tmp_path, USER, "lib_closed", options=[f"resources={kinds}"])
    assert_same_as_plain(run, interp, USER, "lib_closed")
    want = [f"asyncleak: {kinds}:{n}: {reason} (line ignored)" for n, (_, reason) in sorted(BAD_LINES.items())]
    assert run.stderr.splitlines() == want, run.describe()
    assert run.report is None or run.report["findings"] == [], run.describe()


def test_resources_file_missing(interp, tmp_path):
    """An unreadable resources file: one line; the built-in kinds still work."""
    prog = program_path(STREAMS)
    missing = tmp_path / "no-such-kinds.txt"
    run = run_program(interp, tmp_path, STREAMS, "writer_kept", options=[f"resources={missing}"])
    assert_same_as_plain(run, interp, STREAMS, "writer_kept")
    assert diag_lines(run) == [
        f"asyncleak: cannot read resources file '{missing}': No such file or directory"], run.describe()
    f = of_type(run, STREAM_WRITER)
    assert_resource(f, STREAM_WRITER, "loop_close")
    origin_at(f, prog, "open_connection")


def test_resources_file_too_many_kinds(system_py, tmp_path):
    """Kinds beyond the table's size: one line each, named by FILE:LINE; the
    kinds that fit still apply (the last good line is the first one here)."""
    prog = program_path(USER)
    lines = [LIB_KINDS.splitlines()[1]] + [f"nomod{i}:C close=x" for i in range(2, 81)]
    kinds = write_resources(tmp_path, "\n".join(lines) + "\n")
    run = run_program(system_py, tmp_path, USER, "lib_reopen", options=[f"resources={kinds}"])
    assert_same_as_plain(run, system_py, USER, "lib_reopen")
    diags = diag_lines(run)
    pat = re.compile(re.escape(f"asyncleak: {kinds}:") + r"(\d+): more than (\d+) resource kinds \(line ignored\)")
    matches = [pat.fullmatch(d) for d in diags]
    assert diags and all(matches), run.describe()
    numbers = [int(m.group(1)) for m in matches]
    assert numbers == list(range(numbers[0], 81)), numbers
    assert len({m.group(2) for m in matches}) == 1, diags
    f = of_type(run, POOL)
    origin_at(f, prog, "reopen")


# ---- the cause 3 examples (docs/guide-cause3-unclosed-sessions.md) ------------------

EXAMPLES = ROOT / "examples"


def line_of(path, text):
    """1-based number of the one line of path containing text."""
    hits = [i for i, l in enumerate(Path(path).read_text().splitlines(), 1) if text in l]
    assert len(hits) == 1, f"{path}: expected one line with {text!r}, found {hits}"
    return hits[0]


def frames_last(finding):
    return finding["origin"]["frames"][-1]


def test_cause3_example_findings(aiohttp_py, tmp_path):
    """What the guide shows: the per-call session and its connector freed
    unclosed (gc, with aiohttp's messages), the client's session and
    connector open when asyncio.run() closes the loop."""
    prog = EXAMPLES / "cause3_unclosed_session.py"
    per_call = line_of(prog, "# opened here...")
    owned = line_of(prog, "# lives as long as the client")
    run = run_cmd([aiohttp_py.exe, prog], tmp_path)
    base = run_plain([aiohttp_py.exe, prog])
    assert (run.returncode, run.stdout) == (base.returncode, base.stdout) == (0, "apple: 42\npear: 42\n"), \
        run.describe()
    got = sorted((f["when"], f["resource"]["type"], frames_last(f)["line"], f.get("asyncio_message", ""))
                 for f in run.findings())
    assert got == sorted([
        ("gc", SESSION, per_call, "Unclosed client session"),
        ("gc", TCP_CONNECTOR, per_call, "Unclosed connector"),
        ("loop_close", SESSION, owned, ""),
        ("loop_close", TCP_CONNECTOR, owned, ""),
    ]), run.describe()
    for f in run.findings():
        assert_origin(f, prog, {per_call, owned})
    assert "SUMMARY: asyncleak: 4 findings (4 unclosed_resource)" in run.stderr, run.describe()


def test_cause3_fixed_no_finding(aiohttp_py, tmp_path):
    prog = EXAMPLES / "cause3_fixed.py"
    run = run_cmd([aiohttp_py.exe, prog], tmp_path)
    base = run_plain([aiohttp_py.exe, prog])
    assert (run.returncode, run.stdout) == (base.returncode, base.stdout) == (0, "apple: 42\npear: 42\n"), \
        run.describe()
    assert run.stderr == base.stderr == "", run.describe()
    assert_no_finding(run)
