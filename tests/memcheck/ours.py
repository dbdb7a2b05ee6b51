"""ours.py VG.XML... - reads valgrind memcheck XML reports and fails (exit 1)
on the errors that are the tool's: prints one summary line first, then each
of our errors with its stack.

Which errors are ours:
  - a memory error (invalid read/write, uninitialised value, bad free, ...)
    with any frame in libasyncleak.so;
  - a definitely-lost leak whose allocation was made by the tool itself: a
    libasyncleak.so frame comes before (inside) the first frame of Python
    code being run (_PyEval_EvalFrameDefault, PyEval_EvalCode).  A block
    allocated by module code that ran because the tool imported the module
    for the program (aiohttp.client, ...) is the interpreter's own leak at
    exit: the program's import would have made the same one.
"""
import re
import sys
import xml.etree.ElementTree as ET

OURS = "libasyncleak.so"
PYTHON_CODE = re.compile(r"^(_PyEval_EvalFrameDefault|_PyEval_EvalFrame|PyEval_EvalCode\w*|_PyEval_Vector)$")


def frames(err):
    for stack in err.findall("stack"):
        for fr in stack.findall("frame"):
            yield {k: (fr.findtext(k) or "") for k in ("ip", "obj", "fn", "file", "line")}


def is_ours(kind, frs):
    if not kind.startswith("Leak_"):
        return any(OURS in f["obj"] for f in frs)
    for f in frs:                       # innermost first
        if OURS in f["obj"]:
            return True
        if PYTHON_CODE.match(f["fn"]):
            return False
    return False


def main(paths):
    total = ours = 0
    shown = []
    for path in paths:
        try:
            root = ET.parse(path).getroot()
        except ET.ParseError as e:       # a process killed mid-write
            print(f"cannot read {path}: {e}")
            return 1
        for err in root.findall("error"):
            kind = err.findtext("kind") or "?"
            total += 1
            frs = list(frames(err))
            if is_ours(kind, frs):
                ours += 1
                what = err.findtext("what") or err.findtext("xwhat/text") or ""
                lines = [f"{kind}: {what}"]
                for f in frs:
                    loc = f"{f['file']}:{f['line']}" if f["file"] else f["obj"]
                    lines.append(f"    {f['fn'] or f['ip']} ({loc})")
                shown.append("\n".join(lines))
    print(f"{ours} error(s) of libasyncleak.so, {total - ours} other (not ours)")
    for s in shown:
        print(s)
    return 1 if ours else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
