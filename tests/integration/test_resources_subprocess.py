"""test_resources_subprocess.py - asyncio subprocess transports, on every interpreter.

The kind asyncio.base_subprocess:BaseSubprocessTransport (on Unix the objects
are asyncio.unix_events._UnixSubprocessTransport) around a real child, this
same interpreter running `print('hello')` (programs/res_subprocess.py):

  closed       create_subprocess_exec + communicate() / wait(): asyncio's
               stream protocol closes the transport itself once the child has
               exited; loop.subprocess_exec whose transport the program closes.
               No finding at all (closed_while_in_use included: asyncio
               closing its transport while a task waits in proc.wait() is
               the transport's life cycle, not a shutdown order).
  unclosed     loop.subprocess_exec, transport kept and never closed: open
               when asyncio.run() closes the loop (loop_close).
  destroyed    the same transport dropped unclosed after the child exited:
               freed while the loop runs (gc).  Its __del__ closes it (and
               warns ResourceWarning); that close is not the program's.

What a user checks: kind, when, resource.type, and the origin's last frame
at the program's `await loop.subprocess_exec(...)` line.
"""
import pytest

from conftest import (assert_no_tool_output, assert_origin, assert_text_mentions, marker_line,
                      program_path, run_plain, run_program)

PROG = "res_subprocess.py"
TRANSPORT = "asyncio.unix_events._UnixSubprocessTransport"


def run_same_as_plain(interp, tmp_path, scenario):
    run = run_program(interp, tmp_path, PROG, scenario)
    base = run_plain([interp.exe, program_path(PROG), scenario])
    assert (run.returncode, run.stdout) == (base.returncode, base.stdout), (
        f"without the tool: rc {base.returncode}, stdout {base.stdout!r}\n{run.describe()}")
    hello = "hello" if scenario == "wait" else "child said: hello"
    assert run.returncode == 0 and run.stdout.splitlines() == [hello, "done"], run.describe()
    return run


@pytest.mark.parametrize("scenario", ["communicate", "wait", "closed"])
def test_subprocess_transport_closed_no_finding(interp, tmp_path, scenario):
    run = run_same_as_plain(interp, tmp_path, scenario)
    assert_no_tool_output(run)
    assert run.report is None or run.report["findings"] == [], run.describe()


@pytest.mark.parametrize("scenario,when", [("kept", "loop_close"), ("dropped", "gc")])
def test_subprocess_transport_unclosed(interp, tmp_path, scenario, when):
    prog = program_path(PROG)
    run = run_same_as_plain(interp, tmp_path, scenario)
    assert run.report is not None, run.describe()
    got = [(f["kind"], f["resource"]["type"], f["when"]) for f in run.findings()]
    assert got == [("unclosed_resource", TRANSPORT, when)], f"{got}\n{run.describe()}"
    f = run.findings()[0]
    assert isinstance(f["resource"]["id"], int) and f["resource"]["id"] > 0, f
    assert_origin(f, prog, marker_line(prog, scenario), outer="<module>")
    assert_text_mentions(run, "unclosed_resource", prog, marker_line(prog, scenario))
    assert f"resource {TRANSPORT} was never closed" in run.stderr, run.describe()
    assert run.report["summary"] == {"unclosed_resource": 1}, run.describe()
