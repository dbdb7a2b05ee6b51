"""closed_while_in_use whichever way the program reaches the resource it
closes (programs/res_in_use_paths.py).  The close hook first accounts for
the references it can explain and walks the pending tasks only when some are
left over (preload/holders.c): every path must still name the suspended task
holding the writer, and report nothing once that task has finished."""
import pytest

from conftest import marker_line, program_path, run_program

PROG = "res_in_use_paths.py"
PATHS = {
    "local": "close_local", "attr": "close_attr", "listed": "close_listed",
    "mapped": "close_mapped", "bound": "close_bound", "caller": "close_caller",
    "outer": "close_helper",
}


@pytest.mark.parametrize("path", sorted(PATHS))
def test_task_holding_the_writer_is_named(interp, tmp_path, path):
    run = run_program(interp, tmp_path, PROG, path, "busy")
    assert run.returncode == 0 and "done" in run.stdout, run.describe()
    hits = run.findings("closed_while_in_use")
    assert len(hits) == 1, run.describe()
    f, prog = hits[0], program_path(PROG)
    assert f["resource"]["type"] == "asyncio.streams.StreamWriter", f
    assert f["closed_at"]["frames"][-1]["line"] == marker_line(prog, PATHS[path]), f
    assert [t["task"]["name"] for t in f["tasks"]] == ["holder"], f
    assert f["tasks"][0]["origin"]["frames"][-1]["line"] == marker_line(prog, "holder"), f


@pytest.mark.parametrize("path", sorted(PATHS))
def test_nothing_once_the_holder_finished(interp, tmp_path, path):
    run = run_program(interp, tmp_path, PROG, path, "idle")
    assert run.returncode == 0 and "done" in run.stdout, run.describe()
    assert run.findings() == [], run.describe()
