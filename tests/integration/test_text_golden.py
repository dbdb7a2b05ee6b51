"""test_text_golden.py - golden test of the text report format.

Runs programs/golden_app.py under Debian's /usr/bin/python3 with the preload
and compares the tool's lines on stderr (those starting with "==PID==") to
golden/golden_app.txt, after normalizing what changes between machines and
runs:

  * the pid prefix "==12345==" becomes "==PID==";
  * the interpreter's stdlib directory (e.g. /usr/lib/python3.11) becomes
    "<stdlib>", and the line numbers of stdlib frames become "N" (they move
    with every Debian point release of Python, not with asyncleak);
  * the directory of the test programs becomes "<programs>".

Lines that asyncio itself prints ("Task was destroyed but it is pending!",
tracebacks) are not part of the golden file.

To regenerate the golden file after an intended change of the format (or of
golden_app.py), run

    ASYNCLEAK_REGEN_GOLDEN=1 make integration

(or `ASYNCLEAK_REGEN_GOLDEN=1 python3 -m pytest test_text_golden.py` in
tests/integration), then review `git diff tests/integration/golden/`.
"""
import os
import re
import subprocess

import pytest

from conftest import INTERPRETERS, PROGRAMS, clean_env, run_program

HERE = os.path.dirname(os.path.abspath(__file__))
GOLDEN = os.path.join(HERE, "golden", "golden_app.txt")
REGEN = os.environ.get("ASYNCLEAK_REGEN_GOLDEN") == "1"


def stdlib_dir(exe):
    p = subprocess.run([exe, "-c", "import sysconfig; print(sysconfig.get_paths()['stdlib'])"],
                       capture_output=True, text=True, timeout=30, env=clean_env())
    return p.stdout.strip()


def normalize(stderr, pid, stdlib):
    out = []
    prefix = f"=={pid}=="
    for line in stderr.splitlines():
        if not re.match(r"==\d+==", line):
            continue                      # asyncio's own output
        assert line.startswith(prefix), f"tool line from another pid: {line!r}"
        line = "==PID==" + line[len(prefix):]
        line = line.replace(str(PROGRAMS), "<programs>")
        if stdlib:
            line = re.sub(re.escape(stdlib) + r'(/[^"]*)", line \d+,', r'<stdlib>\1", line N,', line)
            line = line.replace(stdlib, "<stdlib>")
        out.append(line)
    return "\n".join(out) + "\n"


def test_text_report_golden(tmp_path):
    interp = INTERPRETERS["system"]
    if interp.exe is None:
        pytest.skip(f"interpreter system is missing: {interp.missing}")
    run = run_program(interp, tmp_path, "golden_app.py")
    assert run.returncode == 0 and run.stdout == "golden done\n", run.describe()
    text = normalize(run.stderr, run.pid, stdlib_dir(interp.exe))
    if REGEN:
        os.makedirs(os.path.dirname(GOLDEN), exist_ok=True)
        with open(GOLDEN, "w") as f:
            f.write(text)
        pytest.skip(f"regenerated {GOLDEN} (ASYNCLEAK_REGEN_GOLDEN=1)")
    assert os.path.exists(GOLDEN), f"{GOLDEN} missing: run with ASYNCLEAK_REGEN_GOLDEN=1"
    with open(GOLDEN) as f:
        expected = f.read()
    assert text == expected, ("text report differs from the golden file "
                              "(ASYNCLEAK_REGEN_GOLDEN=1 regenerates it)\n" + run.describe())

