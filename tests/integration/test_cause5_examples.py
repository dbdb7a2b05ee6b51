"""test_cause5_examples.py - the closed-while-in-use examples of cause 5, as
docs/guide-shutdown-spawned.md shows them, on every interpreter.

examples/cause5_closed_while_in_use.py closes its connection (a StreamWriter
to a collector on 127.0.0.1) before it stops the task sending over it:
one closed_while_in_use finding naming the connection's line, the close line,
and the task 'shipper' (where it was created, where it waits).
examples/cause5_closed_fixed.py shuts down in order: no finding.
"""
from pathlib import Path

from conftest import ROOT, assert_origin, assert_suspended_in, run_cmd, run_plain

EXAMPLES = ROOT / "examples"
WRONG = EXAMPLES / "cause5_closed_while_in_use.py"
FIXED = EXAMPLES / "cause5_closed_fixed.py"


def line_of(path, text):
    hits = [i for i, l in enumerate(Path(path).read_text().splitlines(), 1) if text in l]
    assert len(hits) == 1, f"{path}: expected one line with {text!r}, found {hits}"
    return hits[0]


def test_cause5_example_closed_while_in_use(interp, tmp_path):
    run = run_cmd([interp.exe, WRONG], tmp_path)
    base = run_plain([interp.exe, WRONG])
    assert (run.returncode, run.stdout) == (base.returncode, base.stdout) == (0, "collector got 0 of 3 lines\n"), \
        run.describe()
    assert [f["kind"] for f in run.findings()] == ["closed_while_in_use"], run.describe()
    f = run.findings()[0]
    assert f["when"] == "close" and f["resource"]["type"] == "asyncio.streams.StreamWriter", f
    assert_origin(f, WRONG, line_of(WRONG, "# the connection"), outer="<module>")
    assert f["closed_at"]["frames"][-1]["line"] == line_of(WRONG, "# while the shipper still"), f
    assert [t["task"]["name"] for t in f["tasks"]] == ["shipper"], f
    shipper = f["tasks"][0]
    assert_origin(shipper, WRONG, line_of(WRONG, 'name="shipper"'), outer="<module>")
    frames = assert_suspended_in(shipper, "shipper")
    assert frames[0]["line"] == line_of(WRONG, "await queue.get()"), frames
    assert "asyncleak: closed_while_in_use: resource asyncio.streams.StreamWriter was closed while " \
           "1 pending task still used it" in run.stderr, run.describe()


def test_cause5_fixed_no_finding(interp, tmp_path):
    run = run_cmd([interp.exe, FIXED], tmp_path)
    base = run_plain([interp.exe, FIXED])
    assert (run.returncode, run.stdout) == (base.returncode, base.stdout) == (0, "collector got 3 of 3 lines\n"), \
        run.describe()
    assert run.stderr == base.stderr == "", run.describe()
    assert run.report is None or run.report["findings"] == [], run.describe()
