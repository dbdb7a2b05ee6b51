"""aiohttp.web.run_app(): the tasks its own shutdown cancels are orphaned_task
findings at runner_shutdown, named after run_app, with their origin; the
documented cleanup (cancel and await in on_cleanup) gives nothing.  Debian's
python3 only (the interpreter with python3-aiohttp)."""
import pytest

from conftest import (assert_no_tool_output, assert_origin, assert_suspended_in, assert_task,
                      assert_text_mentions, marker_line, need_module, need_system, program_path,
                      run_plain, run_program)

PROG = "run_app_leftover.py"


def test_run_app_leftover_task_is_orphaned(interp, tmp_path):
    need_system(interp, "aiohttp.web.run_app")
    need_module(interp, "aiohttp")
    run = run_program(interp, tmp_path, PROG, "leak")
    plain = run_plain([interp.exe, program_path(PROG), "leak"])
    assert run.returncode == plain.returncode == 0 and run.stdout == plain.stdout == "stopped\n", run.describe()
    [f] = run.findings()
    assert_task(f, "orphaned_task", "runner_shutdown", coro="refresh_forever")
    line = marker_line(program_path(PROG), "refresh")
    assert_origin(f, program_path(PROG), line, outer="_run_app")
    assert_suspended_in(f, "refresh_forever")
    assert f.get("message") == ("was still running when aiohttp.web.run_app() shut down; "
                                "it cancelled the task"), f
    assert_text_mentions(run, "orphaned_task", program_path(PROG), line)
    assert "aiohttp.web.run_app() shut down" in run.stderr and "asyncio.run()" not in run.stderr


def test_run_app_cleanup_is_silent(interp, tmp_path):
    need_system(interp, "aiohttp.web.run_app")
    need_module(interp, "aiohttp")
    run = run_program(interp, tmp_path, PROG, "clean")
    assert run.returncode == 0 and run.stdout == "stopped\n", run.describe()
    assert_no_tool_output(run)
