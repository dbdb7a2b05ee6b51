"""test_native.py - native (C) frames in origins with native=1 (issue #6).

End to end, through the option a user sets: every program runs under the
preload with native=1 and the tests read origin.native / origin.hybrid in the
JSON report and the text report (docs/native.md): by default
(native_text=hybrid) the text's "Created at" list is the hybrid stack, Python
frames as File lines and native ones as "[native] SYMBOL (OBJECT) FILE:LINE";
native_text=separate lists the whole native stack after the Python frames,
native_text=off shows Python frames only.  Should the task hook stop
recording native stacks, the origins carry no "native" member and those tests
SKIP saying so.  What works without native=1 (a C program embedding Python is
tracked at all; native=0 loads nothing and prints no native line) is tested
on its own.

The helpers are built here, per interpreter, by tests/native/build.sh:
  - alnative: a C extension whose spawn_from_c(coro) calls
    asyncio.ensure_future, create_task_from_c(coro) loop.create_task and
    call_from_c(func) func() through the C API, compiled with -g against the
    interpreter's own headers (a library loaded late, after the preload
    started);
  - embed: a C program linking the interpreter's libpython (rpath) that runs a
    Python file.
Source lines the tests expect carry "SPAWN:name" / "RUN:name" markers.
"""
import ctypes
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import (ASYNCLEAK, ROOT, TIMEOUT, assert_origin, clean_env, marker_line, need_module,
                      need_system, preload_env, run_cmd, run_plain, run_source, same_file, short_name)

NATIVE_SRC = ROOT / "tests" / "native"
BUILD_SH = NATIVE_SRC / "build.sh"
NOT_WIRED = ("native=1 is not wired into the task hook yet: the JSON origins carry no 'native' "
             "member (issue #6; the preload must call al_native_capture/al_native_resolve)")


@pytest.fixture(scope="session")
def helper_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("native-helpers")


_built = {}


def build(what: str, interp, helper_dir: Path) -> Path:
    """tests/native/build.sh WHAT PYTHON OUTDIR, once per interpreter and worker."""
    key = (what, interp.exe)
    if key in _built:
        return _built[key]
    if shutil.which(os.environ.get("CC", "cc")) is None:
        pytest.fail("no C compiler (cc): the native tests build a C extension and an embedding program")
    out = helper_dir / f"{interp.name}"
    p = subprocess.run(["sh", str(BUILD_SH), what, interp.exe, str(out)], capture_output=True, text=True,
                       timeout=180, env=clean_env())
    assert p.returncode == 0, f"build.sh {what} {interp.exe} failed:\n{p.stdout}{p.stderr}"
    path = Path(p.stdout.strip().splitlines()[-1])
    assert path.exists(), f"build.sh said {path}, which does not exist\n{p.stdout}{p.stderr}"
    _built[key] = path
    return path


def source_line(path: Path, marker: str) -> int:
    """1-based line of path holding the C comment marker (e.g. SPAWN:spawn_from_c)."""
    hits = [i for i, line in enumerate(path.read_text().splitlines(), 1)
            if re.search(re.escape(marker) + r"\b", line)]
    assert len(hits) == 1, f"{path}: expected one '{marker}', found {len(hits)}"
    return hits[0]


def have_libdw() -> bool:
    try:
        ctypes.CDLL("libdw.so.1")
        return True
    except OSError:
        return False


def native_of(run, finding) -> dict:
    """The finding's origin, checked to carry native frames (skips when the
    preload does not record them yet)."""
    if "cannot load libunwind" in run.stderr:
        pytest.skip(f"libunwind.so.8 is not installed (Debian: libunwind8):\n{run.stderr}")
    origin = finding.get("origin") or {}
    if "native" not in origin:
        if not any("native" in (f.get("origin") or {}) for f in run.findings()):
            pytest.skip(NOT_WIRED)
        pytest.fail(f"this finding's origin has no 'native' although others do:\n{run.describe()}")
    native = origin["native"]
    assert isinstance(native, list) and native, f"empty native stack\n{run.describe()}"
    for fr in native:
        assert re.fullmatch(r"0x[0-9a-f]+", fr.get("ip", "")), fr
        obj = fr.get("object") or ""
        # the tool's own frames (hook, capture) and libunwind's are dropped
        assert not obj.endswith("libasyncleak.so") and "libunwind" not in obj, (
            f"own frame left in the native stack: {fr}\n{fmt_native(native)}")
    return origin


def fmt_native(frames) -> str:
    out = []
    for fr in frames:
        if "ip" in fr:
            where = f" at {fr.get('file')}:{fr.get('line')}" if fr.get("file") else ""
            out.append(f"  {fr['ip']} {fr.get('symbol')} ({fr.get('object')}){where}")
        else:
            out.append(f"  [py] {fr.get('file')}:{fr.get('line')} in {fr.get('function')}")
    return "\n".join(out)


def find_native(native, symbol):
    hits = [i for i, fr in enumerate(native) if fr.get("symbol") == symbol]
    assert hits, f"no native frame '{symbol}':\n{fmt_native(native)}"
    return hits


def index_of_python(hybrid, function, path=None, line=None):
    for i, fr in enumerate(hybrid):
        if "ip" in fr or short_name(fr.get("function", "")) != function:
            continue
        if path is not None and not same_file(fr.get("file", ""), path):
            continue
        if line is not None and fr.get("line") != line:
            continue
        return i
    raise AssertionError(f"no Python frame {function} ({path}:{line}) in the hybrid stack:\n{fmt_native(hybrid)}")


# ---- the text report ------------------------------------------------------------------------

def created_at(text: str, task: str) -> list:
    """The lines of the "Created at" list of the finding about task (in a
    text report: the preload's stderr or `asyncleak report`), prefix and
    indentation stripped."""
    lines = [re.sub(r"^==(\d+|asyncleak)== ", "", ln) for ln in text.splitlines()]
    heads = [i for i, ln in enumerate(lines) if re.match(r"asyncleak: \w+: task '" + re.escape(task) + "' ", ln)]
    assert len(heads) == 1, f"expected one finding about task {task!r} in the text, found {len(heads)}:\n{text}"
    i = heads[0] + 1
    while i < len(lines) and lines[i].strip() and not lines[i].startswith("  Created at"):
        i += 1
    assert i < len(lines) and lines[i] == "  Created at (most recent call last):", (
        f"no Created at list for task {task!r}:\n{text}")
    out = []
    for ln in lines[i + 1:]:
        if not ln.startswith("    "):
            break
        out.append(ln[4:])
    return out


def native_line_re(symbol: str) -> str:
    """A hybrid text line of a native frame: [native] SYMBOL (OBJECT)[ FILE:LINE]."""
    return r"\[native\] " + re.escape(symbol) + r" \((?P<obj>[^()]+)\)(?: (?P<file>\S+):(?P<line>\d+))?"


def find_text(block: list, pattern: str, what: str) -> int:
    """Index of the one line of block matching pattern (a regex, whole line)."""
    hits = [i for i, ln in enumerate(block) if re.fullmatch(pattern, ln)]
    assert len(hits) == 1, f"expected one line for {what} ({pattern}), found {len(hits)}:\n" + "\n".join(block)
    return hits[0]


def py_line(path, line, function) -> str:
    return re.escape(f'File "') + r"(?:.*/)?" + re.escape(f'{Path(path).name}", line {line}, in ') + \
        r"(?:[\w<>]+\.)*" + re.escape(function)


def assert_native_text(block: list, symbol: str, obj, src=None, src_line=None) -> int:
    """The hybrid text names symbol in obj, with src:src_line when libdw gives
    lines; returns its index in block."""
    i = find_text(block, native_line_re(symbol), f"native frame {symbol}")
    m = re.fullmatch(native_line_re(symbol), block[i])
    assert same_file(m["obj"], obj), f"{symbol} should be in {obj}: {block[i]}"
    if src is not None and have_libdw():
        assert m["file"] and same_file(m["file"], src) and int(m["line"]) == src_line, (
            f"{symbol} should be at {src}:{src_line}: {block[i]}")
    return i


def assert_no_interpreter_frames(block: list, interp):
    """No eval-loop or other interpreter frame in a hybrid text: no native
    line in the python executable or a libpython."""
    exe = os.path.realpath(interp.exe)
    for ln in block:
        assert "_PyEval_" not in ln and "PyEval" not in ln, "eval frame in the hybrid text:\n" + "\n".join(block)
        m = re.fullmatch(r"\[native\] .* \((?P<obj>[^()]+)\)(?: \S+:\d+)?", ln)
        if m:
            assert not re.search(r"/libpython[^/]*$", m["obj"]) and os.path.realpath(m["obj"]) != exe, (
                "interpreter frame in the hybrid text:\n" + "\n".join(block))


# ---- a C extension spawns the task ------------------------------------------------------

C_EXT_PROGRAM = """\
import asyncio
import sys

sys.path.insert(0, sys.argv[1])
import alnative


async def forever():
    await asyncio.sleep(3600)


def callback():
    alnative.spawn_from_c(forever()).set_name("via-callback")    # ORIGIN:callback


async def main():
    alnative.spawn_from_c(forever()).set_name("from-c")          # ORIGIN:c
    alnative.create_task_from_c(forever()).set_name("from-loop")  # ORIGIN:loop
    alnative.call_from_c(callback)                               # ORIGIN:call
    await asyncio.sleep(0)


loop = asyncio.new_event_loop()
loop.run_until_complete(main())                                  # ORIGIN:run
loop.close()
print("done")
"""


@pytest.mark.parametrize("task,marker,symbol", [("from-c", "c", "spawn_from_c"),
                                                ("from-loop", "loop", "create_task_from_c")])
def test_c_extension_frame_in_origin(interp, tmp_path, helper_dir, task, marker, symbol):
    ext = build("ext", interp, helper_dir)
    run = run_source(interp, tmp_path, C_EXT_PROGRAM, ext.parent, options=("native=1",))
    prog = tmp_path / "prog.py"
    assert run.returncode == 0, run.describe()
    finding = run.finding_for(task)
    assert finding["kind"] == "pending_task", finding
    # the Python origin is unchanged: it ends at the program's call into C
    assert_origin(finding, prog, marker_line(prog, marker))
    origin = native_of(run, finding)
    native = origin["native"]

    i = find_native(native, symbol)[-1]
    fr = native[i]
    assert same_file(fr.get("object") or "", ext), f"{symbol} should be in {ext}:\n{fmt_native(native)}"
    if have_libdw():
        src = NATIVE_SRC / "alnative.c"
        assert fr.get("file") and same_file(fr["file"], src), f"{symbol} has no file {src}: {fr}"
        assert fr.get("line") == source_line(src, f"SPAWN:{symbol}"), f"{symbol} at the wrong line: {fr}"
    # outermost first: the C runtime's start (when unwound that far) before the extension
    starts = [k for k, f in enumerate(native) if f.get("symbol") in ("__libc_start_main", "__libc_start_call_main")]
    assert all(k < i for k in starts), f"native frames not outermost first:\n{fmt_native(native)}"

    # hybrid: <module> -> ... -> main (Python) -> the C function, which asked for the task
    hybrid = origin.get("hybrid")
    assert isinstance(hybrid, list) and hybrid, f"no hybrid stack:\n{json.dumps(origin, indent=1)}"
    assert hybrid[-1].get("symbol") == symbol, f"hybrid stack should end in {symbol}:\n{fmt_native(hybrid)}"
    m = index_of_python(hybrid, "main", prog, marker_line(prog, marker))
    mod = index_of_python(hybrid, "<module>", prog, marker_line(prog, "run"))
    assert mod < m < len(hybrid) - 1, fmt_native(hybrid)
    # no interpreter call machinery is left between Python frames
    for fr in hybrid:
        assert fr.get("symbol") != "_PyEval_EvalFrameDefault", fmt_native(hybrid)
    # the text report (native_text=hybrid by default) shows the hybrid stack
    block = created_at(run.stderr, task)
    assert_native_text(block, symbol, ext)
    assert "Native (most recent call last):" not in run.stderr, run.describe()


def test_c_extension_text_hybrid(interp, tmp_path, helper_dir):
    """The text reads <module> -> main -> [native] call_from_c -> callback ->
    [native] spawn_from_c: the C functions with their source lines, between
    the Python frames, in call order, and no interpreter frame."""
    ext = build("ext", interp, helper_dir)
    run = run_source(interp, tmp_path, C_EXT_PROGRAM, ext.parent, options=("native=1",))
    prog, src = tmp_path / "prog.py", NATIVE_SRC / "alnative.c"
    assert run.returncode == 0 and run.stdout == "done\n", run.describe()
    native_of(run, run.finding_for("via-callback"))
    block = created_at(run.stderr, "via-callback")
    where = "\n".join(block)
    order = [
        find_text(block, py_line(prog, marker_line(prog, "run"), "<module>"), "<module>"),
        find_text(block, py_line(prog, marker_line(prog, "call"), "main"), "main"),
        assert_native_text(block, "call_from_c", ext, src, source_line(src, "CALL:call_from_c")),
        find_text(block, py_line(prog, marker_line(prog, "callback"), "callback"), "callback"),
        assert_native_text(block, "spawn_from_c", ext, src, source_line(src, "SPAWN:spawn_from_c")),
    ]
    assert order == sorted(order), f"hybrid text out of call order {order}:\n{where}"
    assert order[-1] == len(block) - 1, f"the spawning C function should be last:\n{where}"
    assert_no_interpreter_frames(block, interp)
    # spawned straight from C: main, then the C function, last
    block = created_at(run.stderr, "from-c")
    m = find_text(block, py_line(prog, marker_line(prog, "c"), "main"), "main")
    assert_native_text(block, "spawn_from_c", ext, src, source_line(src, "SPAWN:spawn_from_c")) == m + 1 == len(block) - 1
    assert_no_interpreter_frames(block, interp)


def test_native_text_option_values(interp, tmp_path, helper_dir):
    """native_text=separate: Python frames, then the whole native stack;
    native_text=off: Python frames only, as with native=0; the JSON holds
    frames, native and hybrid whatever the text shows, and `asyncleak report`
    renders the hybrid from it."""
    ext = build("ext", interp, helper_dir)
    prog, src = tmp_path / "prog.py", NATIVE_SRC / "alnative.c"
    texts = {}
    for value in ("hybrid", "separate", "off"):
        for old in tmp_path.glob("al.*.json"):
            old.unlink()
        run = run_source(interp, tmp_path, C_EXT_PROGRAM, ext.parent, options=("native=1", f"native_text={value}"))
        assert run.returncode == 0 and run.stdout == "done\n", run.describe()
        assert "bad value" not in run.stderr, run.describe()
        origin = native_of(run, run.finding_for("from-c"))
        assert origin["frames"] and origin["native"] and origin.get("hybrid"), f"native_text={value}: {origin}"
        texts[value] = run.stderr
        block = created_at(run.stderr, "from-c")
        if value == "hybrid":
            assert_native_text(block, "spawn_from_c", ext)
            assert "Native (most recent call last):" not in run.stderr, run.stderr
        elif value == "separate":
            assert not any(ln.startswith("[native]") for ln in block), "\n".join(block)
            assert block[-1].startswith(f'File "') and f'line {marker_line(prog, "c")}, in ' in block[-1], block
            native = run.stderr.split("Native (most recent call last):", 1)
            assert len(native) == 2, run.stderr
            native = native[1].split("Suspended at", 1)[0]
            # the whole stack, interpreter included, with source lines when known
            assert re.search(r"  spawn_from_c  \(", native), native
            assert "_PyEval_EvalFrameDefault" in native, native
            if have_libdw():
                assert f"alnative.c:{source_line(src, 'SPAWN:spawn_from_c')}" in native, native
        else:
            assert "[native]" not in run.stderr and "Native (" not in run.stderr, run.stderr
        if value == "off":
            rep = subprocess.run([str(ASYNCLEAK), "report", *run.paths.values()], capture_output=True,
                                 text=True, timeout=TIMEOUT, env=clean_env())
            assert rep.returncode == 0, rep.stderr
            assert_native_text(created_at(rep.stdout, "from-c"), "spawn_from_c", ext)
    # native=0: the same Python frames, no native line, whatever native_text says
    for old in tmp_path.glob("al.*.json"):
        old.unlink()
    run = run_source(interp, tmp_path, C_EXT_PROGRAM, ext.parent, options=("native_text=hybrid",))
    assert run.returncode == 0, run.describe()
    assert "[native]" not in run.stderr and "Native (" not in run.stderr, run.stderr
    assert "native" not in run.finding_for("from-c")["origin"], run.describe()
    for task in ("from-c", "from-loop", "via-callback"):
        assert created_at(run.stderr, task) == created_at(texts["off"], task), task


BAD_VALUE_PROGRAM = """\
import asyncio
import sys


async def forever():
    await asyncio.sleep(3600)


async def main():
    asyncio.ensure_future(forever()).set_name("leak")   # ORIGIN:leak
    await asyncio.sleep(0)


loop = asyncio.new_event_loop()
loop.run_until_complete(main())
loop.close()
print("out", sys.argv[1:])
sys.exit(3)
"""


@pytest.mark.parametrize("value", ["native", "Hybrid "])
def test_native_text_bad_value(interp, tmp_path, value):
    """A bad native_text: one line naming it, the program's output and exit
    status untouched, and the default (hybrid) applies."""
    run = run_source(interp, tmp_path, BAD_VALUE_PROGRAM, "x", options=("native=1", f"native_text={value}"))
    plain = run_plain([interp.exe, tmp_path / "prog.py", "x"])
    assert (run.returncode, run.stdout) == (plain.returncode, plain.stdout) == (3, "out ['x']\n"), run.describe()
    said = [ln for ln in run.stderr.splitlines() if ln.startswith("asyncleak:")]
    assert said == [f"asyncleak: bad value '{value}' for option 'native_text': expected hybrid, separate or off"], (
        run.stderr)
    finding = run.finding_for("leak")
    assert_origin(finding, tmp_path / "prog.py", marker_line(tmp_path / "prog.py", "leak"))
    if "native" in finding["origin"]:
        assert "Native (most recent call last):" not in run.stderr, run.stderr


# ---- uvloop ---------------------------------------------------------------------------------

UVLOOP_PROGRAM = """\
import asyncio

import uvloop


async def forever():
    await asyncio.sleep(3600)


async def main():
    asyncio.ensure_future(forever()).set_name("uv-leak")   # ORIGIN:uv
    await asyncio.sleep(0)


loop = uvloop.new_event_loop()
loop.run_until_complete(main())                            # ORIGIN:run
loop.close()
"""


def test_uvloop_objects_in_native_stack(interp, tmp_path):
    need_system(interp, "uvloop")
    need_module(interp, "uvloop")
    run = run_source(interp, tmp_path, UVLOOP_PROGRAM, options=("native=1",))
    prog = tmp_path / "prog.py"
    assert run.returncode == 0, run.describe()
    finding = run.finding_for("uv-leak")
    assert_origin(finding, prog, marker_line(prog, "uv"))
    origin = native_of(run, finding)
    native = origin["native"]
    loop_so = subprocess.run([interp.exe, "-c", "import uvloop.loop; print(uvloop.loop.__file__)"],
                             capture_output=True, text=True, env=clean_env(), timeout=TIMEOUT).stdout.strip()
    assert re.search(r"loop\.cpython-\d+-.*\.so$", loop_so), loop_so
    in_loop = [k for k, fr in enumerate(native) if same_file(fr.get("object") or "", loop_so)]
    assert in_loop, f"no frame in uvloop's {loop_so}:\n{fmt_native(native)}"

    hybrid = origin.get("hybrid") or []
    mod = index_of_python(hybrid, "<module>", prog, marker_line(prog, "run"))
    m = index_of_python(hybrid, "main", prog, marker_line(prog, "uv"))
    # the loop's C code runs the coroutine: uvloop frames between <module> and main,
    # and main (where the task was asked for) is last
    assert any(mod < k < m and same_file(fr.get("object") or "", loop_so)
               for k, fr in enumerate(hybrid) if "ip" in fr), fmt_native(hybrid)
    assert m == len(hybrid) - 1, fmt_native(hybrid)

    # the text: uvloop's library between <module> and main, main last
    block = created_at(run.stderr, "uv-leak")
    where = "\n".join(block)
    tmod = find_text(block, py_line(prog, marker_line(prog, "run"), "<module>"), "<module>")
    tmain = find_text(block, py_line(prog, marker_line(prog, "uv"), "main"), "main")
    in_uv = [k for k, ln in enumerate(block)
             if ln.startswith("[native] ") and re.search(r"\(" + re.escape(loop_so) + r"\)", ln)]
    assert in_uv and all(tmod < k < tmain for k in in_uv), f"no uvloop line ({loop_so}) before main:\n{where}"
    assert tmain == len(block) - 1, where
    assert_no_interpreter_frames(block, interp)


# ---- a C program embedding Python -------------------------------------------------------------

EMBED_PROGRAM = """\
import asyncio


async def forever():
    await asyncio.sleep(3600)


async def main():
    asyncio.ensure_future(forever()).set_name("embedded-leak")   # ORIGIN:embedded
    await asyncio.sleep(0)


loop = asyncio.new_event_loop()
loop.run_until_complete(main())                                  # ORIGIN:run
loop.close()
"""


def run_embedded(interp, tmp_path, helper_dir, options=()):
    embed = build("embed", interp, helper_dir)
    prog = tmp_path / "prog.py"
    prog.write_text(EMBED_PROGRAM)
    run = run_cmd([embed, prog], tmp_path, env=preload_env(tmp_path, options))
    assert run.returncode == 0, run.describe()
    return embed, prog, run


def test_embedded_interpreter_reports_pending_task(interp, tmp_path, helper_dir):
    """No native=1 needed: a program linking libpython is tracked like python3."""
    embed, prog, run = run_embedded(interp, tmp_path, helper_dir)
    assert run.report is not None, f"the embedding process wrote no report\n{run.describe()}"
    finding = run.finding_for("embedded-leak")
    assert finding["kind"] == "pending_task" and finding["when"] == "loop_close", finding
    assert_origin(finding, prog, marker_line(prog, "embedded"))
    assert "native" not in finding["origin"], "native frames without native=1"
    assert f'line {marker_line(prog, "embedded")}, in ' in run.stderr, run.describe()


def test_embedded_interpreter_native_main(interp, tmp_path, helper_dir):
    embed, prog, run = run_embedded(interp, tmp_path, helper_dir, options=("native=1",))
    finding = run.finding_for("embedded-leak")
    assert_origin(finding, prog, marker_line(prog, "embedded"))
    origin = native_of(run, finding)
    native = origin["native"]
    mains = [fr for fr in native if fr.get("symbol") == "main"]
    assert mains and same_file(mains[0].get("object") or "", embed), (
        f"the embedding program's main() ({embed}) is missing:\n{fmt_native(native)}")
    if have_libdw():
        src = NATIVE_SRC / "embed.c"
        assert same_file(mains[0].get("file") or "", src) and mains[0].get("line") == source_line(src, "RUN:main"), mains[0]
    hybrid = origin.get("hybrid") or []
    assert hybrid and hybrid[0].get("symbol") == "main", f"hybrid should start at main():\n{fmt_native(hybrid)}"
    assert [fr.get("symbol") for fr in hybrid[:2]] == ["main", "run_file"], fmt_native(hybrid)
    mod = index_of_python(hybrid, "<module>", prog, marker_line(prog, "run"))
    assert mod == 2, fmt_native(hybrid)
    assert index_of_python(hybrid, "main", prog, marker_line(prog, "embedded")) == len(hybrid) - 1, fmt_native(hybrid)

    # the text starts at the program's main() and run_file(), with their lines
    block = created_at(run.stderr, "embedded-leak")
    src = NATIVE_SRC / "embed.c"
    assert assert_native_text(block, "main", embed, src, source_line(src, "RUN:main")) == 0, block
    assert assert_native_text(block, "run_file", embed, src, source_line(src, "RUN:embed")) == 1, block
    assert find_text(block, py_line(prog, marker_line(prog, "run"), "<module>"), "<module>") == 2, block
    assert find_text(block, py_line(prog, marker_line(prog, "embedded"), "main"), "main") == len(block) - 1, block
    assert_no_interpreter_frames(block, interp)


# ---- native=0 costs nothing ---------------------------------------------------------------------

MAPS_PROGRAM = """\
import asyncio
maps = open("/proc/self/maps").read()
print("libunwind" in maps, "libdw" in maps)
async def main():
    asyncio.ensure_future(asyncio.sleep(3600))
    await asyncio.sleep(0)
loop = asyncio.new_event_loop()
loop.run_until_complete(main())
loop.close()
print("libunwind" in open("/proc/self/maps").read())
"""


def test_native_off_loads_nothing(interp, tmp_path):
    """Without native=1 neither libunwind nor libdw is loaded into the program."""
    run = run_source(interp, tmp_path, MAPS_PROGRAM)
    assert run.returncode == 0, run.describe()
    assert run.stdout.split() == ["False", "False", "False"], run.describe()
    assert run.findings("pending_task"), run.describe()


def test_native_on_in_shell_stays_inert(tmp_path):
    """native=1 in a process without Python: nothing loaded, nothing said."""
    env = preload_env(tmp_path, ("native=1",), LD_BIND_NOW="1")
    p = subprocess.run(["bash", "-c", "grep -c libunwind /proc/$$/maps; echo done"], env=env,
                       capture_output=True, text=True, timeout=TIMEOUT)
    assert p.returncode == 0 and p.stdout.split() == ["0", "done"] and p.stderr == "", (p.stdout, p.stderr)
