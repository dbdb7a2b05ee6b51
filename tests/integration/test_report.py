"""test_report.py - `asyncleak report`, `diff`, `sarif` and `html` on reports of REAL runs.

The reports come from programs run under `asyncleak run --json DIR/al.%p.json`
with Debian's /usr/bin/python3 (the interpreter the golden file was made
with): a leaking program run three times (three processes, one origin each
time), a multiprocessing program whose three forked children leak from one
line, and two versions of a program between which one leak is fixed and
another appears.  Every report is checked against the shared contract first.

The golden file golden/report_text.txt is the text of `asyncleak report`
over those runs, normalized: pids become PID, the temporary directory <tmp>,
the standard library <stdlib> with its line numbers N.  Regenerate it after
an intended change with

    ASYNCLEAK_REGEN_GOLDEN=1 python3 -m pytest test_report.py   (in tests/integration)

The HTML page is loaded in headless Chromium (installed with apt-get when
missing; the test is skipped, saying why, when it cannot be).
"""
import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from conftest import ASYNCLEAK, INTERPRETERS, check_contract, clean_env, marker_line

HERE = Path(__file__).resolve().parent
GOLDEN = HERE / "golden" / "report_text.txt"
REGEN = os.environ.get("ASYNCLEAK_REGEN_GOLDEN") == "1"
TIMEOUT = 60

pytestmark = pytest.mark.skipif(not ASYNCLEAK.exists(), reason="build/asyncleak not built")

# Per run: two pending_task from the 'fire' line, one orphaned_task from 'orphan'.
LEAKY = '''\
"""Leaks two fire-and-forget tasks from one line, then one orphan."""
import asyncio

KEEP = []


async def forever():
    await asyncio.sleep(3600)


async def handle(i):
    KEEP.append(asyncio.ensure_future(forever()))  # ORIGIN:fire


async def main():
    for i in range(2):
        await handle(i)
    await asyncio.sleep(0)


async def main2():
    asyncio.ensure_future(forever())  # ORIGIN:orphan
    await asyncio.sleep(0)


loop = asyncio.new_event_loop()
loop.run_until_complete(main())
loop.close()
asyncio.run(main2())
'''

# Three forked children, each an orphaned_task from the 'child' line.
FORKING = '''\
import asyncio
import multiprocessing

KEEP = []


async def forever():
    await asyncio.sleep(3600)


async def child_main():
    KEEP.append(asyncio.ensure_future(forever()))  # ORIGIN:child
    await asyncio.sleep(0)


def child():
    asyncio.run(child_main())


if __name__ == "__main__":
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=child) for _ in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    print("CHILDREN", *[p.pid for p in procs])
'''

# Two versions of one program with the same lines: v1 leaks from 'a' and
# 'b', v2 fixes 'a' and leaks from 'c'.
VERSIONED = '''\
import asyncio

KEEP = []


async def forever():
    await asyncio.sleep(3600)


async def part_b():
    KEEP.append(asyncio.ensure_future(forever()))  # ORIGIN:b


async def part_a():
    {a}


async def part_c():
    {c}


async def main():
    await part_b()
    await part_a()
    await part_c()
    await asyncio.sleep(0)


loop = asyncio.new_event_loop()
loop.run_until_complete(main())
loop.close()
'''
LEAK_LINE = "KEEP.append(asyncio.ensure_future(forever()))"


def version(n: int, shifted=False) -> str:
    src = VERSIONED.format(a=LEAK_LINE + "  # ORIGIN:a" if n == 1 else "pass",
                           c=LEAK_LINE + "  # ORIGIN:c" if n == 2 else "pass")
    return ("# a comment that moves every line\n" + src) if shifted else src


def system_python() -> str:
    it = INTERPRETERS["system"]
    if it.exe is None:
        pytest.skip(f"interpreter system is missing: {it.missing}")
    return it.exe


def asyncleak(*args, check_rc=None, **kw) -> subprocess.CompletedProcess:
    p = subprocess.run([str(ASYNCLEAK), *map(str, args)], capture_output=True, text=True,
                       timeout=TIMEOUT, env=clean_env(), stdin=subprocess.DEVNULL,
                       errors="backslashreplace", **kw)
    if check_rc is not None:
        assert p.returncode == check_rc, (f"asyncleak {' '.join(map(str, args))}: exit "
                                          f"{p.returncode}, expected {check_rc}\n"
                                          f"--- stdout ---\n{p.stdout}\n--- stderr ---\n{p.stderr}")
    return p


def run_under(prog: Path, report_dir: Path, *args) -> subprocess.CompletedProcess:
    """Runs prog under `asyncleak run` with reports in report_dir."""
    report_dir.mkdir(parents=True, exist_ok=True)
    p = asyncleak("run", "--json", f"{report_dir}/al.%p.json", "--", system_python(), prog, *args,
                  cwd=prog.parent)
    assert p.returncode == 0, f"{prog} failed: {p.stdout}\n{p.stderr}"
    files = sorted(report_dir.glob("al.*.json"))
    assert files, f"no report in {report_dir}\n{p.stderr}"
    check_contract(files)
    return p


def load_reports(*dirs):
    docs = []
    for d in dirs:
        for f in sorted(Path(d).glob("*.json")):
            docs.append(json.loads(f.read_text()))
    return docs


def header_re(count, kind, pids):
    pids = sorted(pids)
    word = "process" if len(pids) == 1 else "processes"
    pid_word = "pid" if len(pids) == 1 else "pids"
    return (f"==asyncleak== {count} x {kind} in {len(pids)} {word} "
            f"({pid_word} {', '.join(map(str, pids))})")


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Three runs of LEAKY (dirs leaky1..3) and one of FORKING (dir fork)."""
    base = tmp_path_factory.mktemp("runs")
    leaky = base / "leaky.py"
    leaky.write_text(LEAKY)
    forking = base / "forking.py"
    forking.write_text(FORKING)
    pids = {}
    for i in (1, 2, 3):
        run_under(leaky, base / f"leaky{i}")
        (doc,) = load_reports(base / f"leaky{i}")
        pids[f"leaky{i}"] = doc["pid"]
    p = run_under(forking, base / "fork")
    m = re.search(r"^CHILDREN (\d+) (\d+) (\d+)$", p.stdout, re.M)
    assert m, p.stdout
    pids["children"] = [int(x) for x in m.groups()]
    return {"base": base, "leaky": leaky, "forking": forking, "pids": pids,
            "leaky_dirs": [base / f"leaky{i}" for i in (1, 2, 3)], "fork_dir": base / "fork"}


def group_of(merged, kind, marker_file, marker):
    """The group of kind whose origin ends at the marker line of marker_file."""
    line = marker_line(marker_file, marker)
    hits = [g for g in merged["groups"] if g["kind"] == kind
            and g["finding"]["origin"]["frames"][-1]["line"] == line
            and g["finding"]["origin"]["frames"][-1]["file"] == str(marker_file)]
    assert len(hits) == 1, f"groups for {kind} at {marker}: {json.dumps(merged['groups'], indent=1)[:4000]}"
    return hits[0]


# ---- report ---------------------------------------------------------------------------

def test_report_groups_one_origin_across_processes(runs):
    leaky_pids = [runs["pids"][f"leaky{i}"] for i in (1, 2, 3)]
    p = asyncleak("report", *runs["leaky_dirs"], check_rc=0)
    assert p.stderr == ""
    lines = p.stdout.splitlines()
    assert lines[0] == "==asyncleak== 3 reports of 3 processes: 9 findings in 2 groups"
    headers = [l for l in lines if re.match(r"==asyncleak== \d+ x ", l)]
    # Biggest group first; each printed once.
    assert headers == [header_re(6, "pending_task", leaky_pids),
                       header_re(3, "orphaned_task", leaky_pids)]
    fire = marker_line(runs["leaky"], "fire")
    i = lines.index(headers[0])
    assert lines[i + 1].startswith("==asyncleak== asyncleak: pending_task: task ")
    block = lines[i:lines.index(headers[1])]
    assert f'==asyncleak==     File "{runs["leaky"]}", line {fire}, in handle' in block
    assert lines[-1] == ("==asyncleak== SUMMARY: asyncleak: 9 findings "
                         "(6 pending_task, 3 orphaned_task)")


def test_report_forked_children_are_one_group(runs):
    children = runs["pids"]["children"]
    p = asyncleak("report", runs["fork_dir"], check_rc=0)
    assert header_re(3, "orphaned_task", children) in p.stdout.splitlines(), p.stdout
    # The parent wrote a report too (no findings): 4 reports of 4 processes.
    assert p.stdout.startswith("==asyncleak== 4 reports of 4 processes: 3 findings in 1 group\n")
    merged = json.loads(asyncleak("report", "--json", runs["fork_dir"], check_rc=0).stdout)
    g = group_of(merged, "orphaned_task", runs["forking"], "child")
    assert g["pids"] == sorted(children) and g["count"] == 3


def test_report_json_shape_and_counts(runs):
    dirs = [*runs["leaky_dirs"], runs["fork_dir"]]
    p = asyncleak("report", "--json", *dirs, check_rc=0)
    merged = json.loads(p.stdout)
    assert merged["tool"] == "asyncleak" and merged["merged"] == 1
    assert merged["files"] == 7 and merged["processes"] == 7
    assert merged["suppressed"] == []
    docs = load_reports(*dirs)
    total = sum(len(d["findings"]) for d in docs)
    assert merged["findings"] == total == sum(g["count"] for g in merged["groups"])
    assert merged["summary"] == {"pending_task": 6, "orphaned_task": 6}
    counts = [g["count"] for g in merged["groups"]]
    assert counts == sorted(counts, reverse=True)
    all_pids = {d["pid"] for d in docs}
    for g in merged["groups"]:
        assert set(g) >= {"kind", "count", "pids", "finding", "id"}
        assert g["finding"]["kind"] == g["kind"]
        assert set(g["pids"]) <= all_pids and g["pids"] == sorted(g["pids"])
        assert re.fullmatch(r"[0-9a-f]{16}", g["id"])
    # The first finding of the group, as the report holds it.
    first = next(f for d in docs for f in d["findings"] if f["kind"] == "pending_task")
    assert group_of(merged, "pending_task", runs["leaky"], "fire")["finding"] == first


def test_report_filters(runs):
    dirs = [*runs["leaky_dirs"], runs["fork_dir"]]
    p = asyncleak("report", "--top", "1", *dirs, check_rc=0)
    headers = re.findall(r"^==asyncleak== (\d+) x (\w+)", p.stdout, re.M)
    assert headers == [("6", "pending_task")]
    assert "==asyncleak== (2 more groups not shown: --top 1)" in p.stdout
    p = asyncleak("report", "--kind", "orphaned_task", *dirs, check_rc=0)
    assert re.findall(r"^==asyncleak== (\d+) x (\w+)", p.stdout, re.M) == [
        ("3", "orphaned_task"), ("3", "orphaned_task")]
    assert "SUMMARY: asyncleak: 6 findings (6 orphaned_task)" in p.stdout
    p = asyncleak("report", "--min-count", "4", "--json", *dirs, check_rc=0)
    assert [g["count"] for g in json.loads(p.stdout)["groups"]] == [6]
    p = asyncleak("report", "--kind", "pending_task", "--kind", "orphaned_task", "--min-count=3",
                  "--top=2", "--json", *dirs, check_rc=0)
    assert [g["count"] for g in json.loads(p.stdout)["groups"]] == [6, 3]
    p = asyncleak("report", "--kind", "leak", *dirs, check_rc=2)
    assert "unknown kind 'leak'" in p.stderr
    asyncleak("report", "--top", "0", *dirs, check_rc=2)
    asyncleak("report", "--bogus", *dirs, check_rc=2)
    asyncleak("report", check_rc=2)


def test_report_several_runs_and_merged_input(runs, tmp_path):
    """Runs kept in separate directories merge; a merged document merges again."""
    one = asyncleak("report", "--json", runs["leaky_dirs"][0], check_rc=0).stdout
    (tmp_path / "first.json").write_text(one)
    p = asyncleak("report", tmp_path / "first.json", *runs["leaky_dirs"][1:], check_rc=0)
    q = asyncleak("report", *runs["leaky_dirs"], check_rc=0)
    # Same groups, counts and pids whether run 1 comes raw or merged.
    strip = lambda s: [l for l in s.splitlines() if not l.startswith("==asyncleak== 3 reports")]
    assert strip(p.stdout)[1:] == strip(q.stdout)[1:]
    assert p.stdout.startswith("==asyncleak== 3 reports of 3 processes")


def test_report_from_glob_and_file_list(runs):
    files = sorted(str(f) for d in runs["leaky_dirs"] for f in d.glob("al.*.json"))
    p = asyncleak("report", *files, check_rc=0)
    assert p.stdout == asyncleak("report", *runs["leaky_dirs"], check_rc=0).stdout


# ---- suppressions ---------------------------------------------------------------------

def test_report_suppressions(runs, tmp_path):
    supp = tmp_path / "supp.txt"
    supp.write_text("# known leaks\n"
                    "pending_task:handle          # the fire-and-forget of handle()\n"
                    "orphaned_task:child_main\n"
                    "unclosed_resource:never_matches\n")
    dirs = [*runs["leaky_dirs"], runs["fork_dir"]]
    p = asyncleak("report", "--suppressions", supp, *dirs, check_rc=0)
    headers = re.findall(r"^==asyncleak== (\d+) x (\w+)", p.stdout, re.M)
    assert headers == [("3", "orphaned_task")], p.stdout
    assert p.stdout.startswith("==asyncleak== 7 reports of 7 processes: 3 findings in 1 group "
                               "(9 suppressed)\n")
    assert p.stdout.endswith(
        "==asyncleak== SUMMARY: asyncleak: 3 findings (3 orphaned_task)\n"
        "==asyncleak== -----------------------------------------------------\n"
        "==asyncleak== Suppressions used:\n"
        "==asyncleak==   count rule\n"
        "==asyncleak==       6 pending_task:handle\n"
        "==asyncleak==       3 orphaned_task:child_main\n"
        "==asyncleak== -----------------------------------------------------\n"), p.stdout
    merged = json.loads(asyncleak("report", "--json", "--suppressions", supp, *dirs, check_rc=0).stdout)
    assert merged["suppressed"] == [{"rule": "pending_task:handle", "count": 6},
                                    {"rule": "orphaned_task:child_main", "count": 3}]
    # A module pattern: the program file is module 'leaky' (no site-packages root).
    supp.write_text("*:leaky\n")
    p = asyncleak("report", "--suppressions", supp, *runs["leaky_dirs"], check_rc=0)
    assert "==asyncleak== no findings" in p.stdout and "      9 *:leaky" in p.stdout


@pytest.mark.parametrize("text,where,what", [
    ("pending_task:ok\nno colon\n", 2, "missing ':'"),
    ("leak:foo\n", 1, "unknown KIND 'leak'"),
    ("\n\npending_task:\n", 3, "empty PATTERN"),
])
def test_report_invalid_suppressions(runs, tmp_path, text, where, what):
    supp = tmp_path / "bad.supp"
    supp.write_text(text)
    p = asyncleak("report", "--suppressions", supp, runs["leaky_dirs"][0], check_rc=2)
    assert p.stdout == ""
    assert p.stderr.startswith(f"asyncleak: {supp}:{where}: {what}"), p.stderr
    p = asyncleak("report", "--suppressions", tmp_path / "missing", runs["leaky_dirs"][0], check_rc=2)
    assert f"{tmp_path}/missing: cannot read" in p.stderr


# ---- golden ---------------------------------------------------------------------------

def stdlib_dir(exe):
    p = subprocess.run([exe, "-c", "import sysconfig; print(sysconfig.get_paths()['stdlib'])"],
                       capture_output=True, text=True, timeout=30, env=clean_env())
    return p.stdout.strip()


def normalize(text, base, stdlib):
    text = text.replace(str(base), "<tmp>")
    text = re.sub(re.escape(stdlib) + r'(/[^"]*)", line \d+,', r'<stdlib>\1", line N,', text)
    text = text.replace(stdlib, "<stdlib>")
    return re.sub(r"\b(pids?) [\d, ]+(?: and \d+ more)?\)", lambda m: m.group(1) + " PID...)", text)


def test_report_text_golden(runs, tmp_path):
    supp = tmp_path / "supp.txt"
    supp.write_text("orphaned_task:child_main\n")
    p = asyncleak("report", "--suppressions", supp, *runs["leaky_dirs"], runs["fork_dir"], check_rc=0)
    text = normalize(p.stdout, runs["base"], stdlib_dir(system_python()))
    if REGEN:
        GOLDEN.write_text(text)
        pytest.skip(f"regenerated {GOLDEN} (ASYNCLEAK_REGEN_GOLDEN=1)")
    assert GOLDEN.exists(), f"{GOLDEN} missing: run with ASYNCLEAK_REGEN_GOLDEN=1"
    assert text == GOLDEN.read_text(), ("report text differs from the golden file "
                                        "(ASYNCLEAK_REGEN_GOLDEN=1 regenerates it)\n" + text)


# ---- diff -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def versions(tmp_path_factory):
    """v1 and v2 of one program at the same path, each run twice; v3 = v2 with moved lines."""
    base = tmp_path_factory.mktemp("versions")
    prog = base / "service.py"
    out = {"prog": prog, "base": base}
    for n, shifted, name in ((1, False, "v1"), (2, False, "v2"), (2, True, "v3")):
        prog.write_text(version(n, shifted))
        for _ in range(2):
            run_under(prog, base / name)
        out[name] = base / name
        out[f"src_{name}"] = version(n, shifted)
    return out


def test_diff_new_and_gone(versions, tmp_path):
    prog = versions["prog"]
    p = asyncleak("diff", versions["v1"], versions["v2"], check_rc=1)
    lines = p.stdout.splitlines()
    assert lines[0] == "==asyncleak== new leaks: 1 group (2 findings) in NEW and not in BASE"
    gone_at = lines.index("==asyncleak== gone: 1 group (2 findings) in BASE and not in NEW")
    new_part, gone_part = "\n".join(lines[:gone_at]), "\n".join(lines[gone_at:])
    prog.write_text(versions["src_v2"])
    line_c = marker_line(prog, "c")
    prog.write_text(versions["src_v1"])
    line_a = marker_line(prog, "a")
    assert f'File "{prog}", line {line_c}, in part_c' in new_part
    assert f'File "{prog}", line {line_a}, in part_a' in gone_part
    assert "part_b" not in new_part + gone_part
    assert lines[-1].startswith("==asyncleak== SUMMARY: asyncleak diff: 1 new, 1 gone, 1 in both "
                                "(BASE: 2 reports, NEW: 2 reports)")

    d = json.loads(asyncleak("diff", "--json", versions["v1"], versions["v2"], check_rc=1).stdout)
    assert d["tool"] == "asyncleak" and d["diff"] == 1 and d["unchanged"] == 1
    assert [g["finding"]["origin"]["frames"][-1]["function"] for g in d["new_leaks"]] == ["part_c"]
    assert [g["finding"]["origin"]["frames"][-1]["function"] for g in d["gone"]] == ["part_a"]
    assert d["base"]["files"] == 2 and d["new"]["findings"] == 4

    # Fixed only, nothing new: exit 0.
    p = asyncleak("diff", versions["v2"], versions["v1"], check_rc=1)
    p = asyncleak("diff", versions["v2"], versions["v2"], check_rc=0)
    assert "new leaks: 0 groups" in p.stdout and "0 new, 0 gone, 2 in both" in p.stdout


def test_diff_against_merged_baseline(versions, tmp_path):
    baseline = tmp_path / "baseline.json"
    baseline.write_text(asyncleak("report", "--json", versions["v1"], check_rc=0).stdout)
    p = asyncleak("diff", baseline, versions["v2"], check_rc=1)
    assert "1 new, 1 gone, 1 in both (BASE: 1 report, NEW: 2 reports)" in p.stdout
    # A baseline suppressing the new leak makes the diff pass.
    supp = tmp_path / "supp"
    supp.write_text("pending_task:part_c\n")
    p = asyncleak("diff", "--suppressions", supp, baseline, versions["v2"], check_rc=0)
    assert "Suppressions used:" in p.stdout


def test_diff_moved_lines(versions):
    """v3 is v2 with every line moved by one: all groups look new unless --ignore-lines."""
    p = asyncleak("diff", versions["v2"], versions["v3"], check_rc=1)
    assert "2 new, 2 gone, 0 in both" in p.stdout
    p = asyncleak("diff", "--ignore-lines", versions["v1"], versions["v3"], check_rc=1)
    assert "1 new, 1 gone, 1 in both" in p.stdout


def test_diff_errors(versions, tmp_path):
    p = asyncleak("diff", tmp_path / "missing", versions["v2"], check_rc=2)
    assert "missing: cannot read it: No such file or directory" in p.stderr
    assert "no report of BASE" in p.stderr
    asyncleak("diff", versions["v2"], check_rc=2)
    asyncleak("diff", versions["v1"], versions["v2"], versions["v3"], check_rc=2)
    empty = tmp_path / "empty"
    empty.mkdir()
    # An empty directory is a run without reports: every BASE group is gone.
    p = asyncleak("diff", versions["v1"], empty, check_rc=0)
    assert "0 new, 2 gone" in p.stdout and "holds no *.json file" in p.stderr


# ---- SARIF ----------------------------------------------------------------------------

def test_sarif_structure(runs):
    dirs = [*runs["leaky_dirs"], runs["fork_dir"]]
    p = asyncleak("report", "--sarif", *dirs, check_rc=0)
    assert asyncleak("sarif", *dirs, check_rc=0).stdout == p.stdout
    log = json.loads(p.stdout)
    assert log["version"] == "2.1.0"
    assert log["$schema"].endswith("sarif-2.1.0.json")
    run = log["runs"][0]
    driver = run["tool"]["driver"]
    assert driver["name"] == "asyncleak"
    rule_ids = [r["id"] for r in driver["rules"]]
    assert rule_ids == ["pending_task", "orphaned_task"]
    merged = json.loads(asyncleak("report", "--json", *dirs, check_rc=0).stdout)
    assert len(run["results"]) == len(merged["groups"]) == 3
    for res, g in zip(run["results"], merged["groups"]):
        assert res["ruleId"] == g["kind"] and rule_ids[res["ruleIndex"]] == g["kind"]
        header = re.sub(r"^==asyncleak== ", "", header_re(g["count"], g["kind"], g["pids"]))
        assert res["message"]["text"].startswith(header + ": task ")
        phys = res["locations"][0]["physicalLocation"]
        frames = g["finding"]["origin"]["frames"]
        # The innermost frame outside the stdlib: the program's line.
        assert phys["artifactLocation"]["uri"] == frames[-1]["file"]
        assert "uriBaseId" not in phys["artifactLocation"]
        assert phys["region"]["startLine"] == frames[-1]["line"] >= 1
        flow = res["codeFlows"][0]["threadFlows"][0]["locations"]
        assert [l["location"]["physicalLocation"]["region"]["startLine"] for l in flow] == [
            f["line"] for f in frames]
        assert res["partialFingerprints"]["asyncleakGroup/v1"] == g["id"]
        assert res["properties"]["count"] == g["count"]


def test_sarif_validates_against_schema_when_available(runs):
    """Structural check with python3-jsonschema against a minimal SARIF 2.1.0 subset."""
    jsonschema = pytest.importorskip("jsonschema")
    log = json.loads(asyncleak("sarif", *runs["leaky_dirs"], check_rc=0).stdout)
    location = {"type": "object", "required": ["physicalLocation"], "properties": {
        "physicalLocation": {"type": "object", "required": ["artifactLocation"], "properties": {
            "artifactLocation": {"type": "object", "required": ["uri"],
                                 "properties": {"uri": {"type": "string", "minLength": 1}}},
            "region": {"type": "object", "required": ["startLine"],
                       "properties": {"startLine": {"type": "integer", "minimum": 1}}}}}}}
    schema = {"type": "object", "required": ["version", "$schema", "runs"], "properties": {
        "version": {"const": "2.1.0"},
        "runs": {"type": "array", "minItems": 1, "items": {
            "type": "object", "required": ["tool", "results"], "properties": {
                "tool": {"type": "object", "required": ["driver"], "properties": {
                    "driver": {"type": "object", "required": ["name"],
                               "properties": {"name": {"const": "asyncleak"}}}}},
                "results": {"type": "array", "items": {
                    "type": "object", "required": ["ruleId", "message", "locations"],
                    "properties": {
                        "message": {"type": "object", "required": ["text"]},
                        "locations": {"type": "array", "minItems": 1, "items": location},
                        "codeFlows": {"type": "array", "items": {
                            "type": "object", "required": ["threadFlows"]}}}}}}}}}}
    jsonschema.validate(log, schema)


# ---- malformed inputs -----------------------------------------------------------------

BAD_FILES = {
    "empty.json": ("", "empty file"),
    "truncated.json": ('{"tool": "asyncleak", "schema": 1, "pid": 5, "findings": [{"kind": "pen',
                       "truncated JSON: the file ends at line 1, column 71 (byte 71): premature end of input"),
    "garbage.json": ('{"tool": "asyncleak",\n  "schema": 1, oops}',
                     "not valid JSON at line 2, column 19 (byte 41): string or '}' expected near 'oops'"),
    "other.json": ('{"tool": "pytest", "schema": 1, "findings": []}',
                   'not an asyncleak report (no "tool": "asyncleak")'),
    "array.json": ("[1, 2, 3]", "not an asyncleak report (not a JSON object)"),
    "future.json": ('{"tool": "asyncleak", "schema": 2, "pid": 1, "findings": []}',
                    "unsupported schema 2 (this asyncleak reads schema 1)"),
    "deep.json": ("[" * 5000, "maximum parsing depth reached"),
    "binary.json": ("\x00\x01\x02", "not valid JSON at line 1, column 1 (byte 1)"),
}


def test_malformed_inputs_are_named_and_others_still_reported(runs, tmp_path):
    bad = tmp_path / "bad"
    bad.mkdir()
    for name, (content, _) in BAD_FILES.items():
        (bad / name).write_text(content)
    # One good report among them, and entries of "findings" that are not findings.
    good = json.loads(next(runs["leaky_dirs"][0].glob("al.*.json")).read_text())
    good["findings"] += [7, {"when": "exit"}]
    (bad / "zgood.json").write_text(json.dumps(good))
    (bad / "notes.txt").write_text("not scanned: not *.json")
    p = asyncleak("report", bad, check_rc=0)
    for name, (_, msg) in BAD_FILES.items():
        assert re.search(rf"^asyncleak: {re.escape(str(bad / name))}: .*{re.escape(msg)}", p.stderr, re.M), (
            name, p.stderr)
    assert f"asyncleak: warning: {bad / 'zgood.json'}: 2 entries of \"findings\" are not a finding" in p.stderr
    assert "notes.txt" not in p.stderr
    assert p.stdout.startswith("==asyncleak== 1 report of 1 process: 3 findings in 2 groups")
    # Nothing readable at all: exit 2.
    (bad / "zgood.json").unlink()
    p = asyncleak("report", bad, check_rc=2)
    assert "asyncleak: report: no report could be read" in p.stderr
    asyncleak("report", tmp_path / "nonexistent.json", check_rc=2)
    asyncleak("html", "-o", tmp_path / "x.html", bad, check_rc=2)
    asyncleak("sarif", bad, check_rc=2)


def test_huge_inputs(runs, tmp_path):
    # Over the limit: refused by size, without reading (a sparse file).
    huge = tmp_path / "huge.json"
    with open(huge, "wb") as f:
        f.truncate(300 << 20)
    p = asyncleak("report", huge, runs["leaky_dirs"][0], check_rc=0)
    assert f"asyncleak: {huge}: too large: 314572800 bytes (the limit is 268435456 bytes)" in p.stderr
    # Big but valid: 20000 findings from 40 origins read in reasonable time.
    frames = lambda i: {"frames": [{"file": "/srv/app.py", "line": 1, "function": "<module>"},
                                   {"file": "/srv/app.py", "line": 100 + i % 40, "function": "f"}]}
    doc = {"tool": "asyncleak", "schema": 1, "pid": 9,
           "findings": [{"kind": "pending_task", "when": "exit", "task": {"name": f"T{i}"},
                         "origin": frames(i)} for i in range(20000)]}
    big = tmp_path / "big.json"
    big.write_text(json.dumps(doc))
    p = asyncleak("report", "--json", big, check_rc=0)
    merged = json.loads(p.stdout)
    assert len(merged["groups"]) == 40 and merged["findings"] == 20000
    assert {g["count"] for g in merged["groups"]} == {500}


# ---- HTML -----------------------------------------------------------------------------

def find_chromium():
    for name in ("chromium", "chromium-browser"):
        if shutil.which(name):
            return shutil.which(name)
    if os.geteuid() != 0:
        return None
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    try:
        subprocess.run(["apt-get", "update", "-q"], capture_output=True, timeout=600, env=env)
        subprocess.run(["apt-get", "install", "-y", "-q", "chromium"], capture_output=True,
                       timeout=900, env=env)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return shutil.which("chromium")


@pytest.fixture(scope="module")
def chromium():
    exe = find_chromium()
    if exe is None:
        pytest.skip("headless Chromium is not installed and `apt-get install -y chromium` "
                    "did not install it (not root, or no package)")
    return exe


def headless(chromium_exe, *args):
    profile = tempfile.mkdtemp(prefix="al-chromium.")
    try:
        return subprocess.run([chromium_exe, "--headless", "--no-sandbox", "--disable-gpu",
                               "--disable-background-networking", "--disable-component-update",
                               "--no-first-run", f"--user-data-dir={profile}", *args],
                              capture_output=True, text=True, timeout=120, env=clean_env(),
                              errors="backslashreplace")
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def snapshot_report(path: Path, prog: Path):
    """A report in the snapshots shape of docs/reporter.md: {"t", "live"}."""
    fire = marker_line(prog, "fire")
    origin = {"frames": [{"file": str(prog), "line": fire, "function": "handle"}]}
    path.write_text(json.dumps({
        "tool": "asyncleak", "schema": 1, "pid": 4242, "findings": [
            {"kind": "pending_task", "when": "exit", "task": {"name": "T", "coro": "forever"},
             "origin": origin}],
        "snapshots": [{"t": t / 2, "live": {"o1": 3 * t, "o2": 2}} for t in range(12)],
        "snapshot_origins": {"o1": {"object": "task", "origin": origin}}}))


def test_html_page_in_headless_chromium(runs, tmp_path, chromium):
    snap = tmp_path / "snap"
    snap.mkdir()
    snapshot_report(snap / "al.4242.json", runs["leaky"])
    page = tmp_path / "report.html"
    p = asyncleak("html", "-o", page, *runs["leaky_dirs"], runs["fork_dir"], snap, check_rc=0)
    assert p.stdout == "" and p.stderr == ""
    html = page.read_text()
    # Self-contained: nothing to fetch.
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:|//)""", html)
    assert "<link" not in html and "@import" not in html
    assert "default-src 'none'" in html

    dom = headless(chromium, "--dump-dom", page.as_uri())
    assert dom.returncode == 0, dom.stderr[-3000:]
    out = dom.stdout
    assert "<title>asyncleak report</title>" in out
    # Every group, biggest first, with its header line.
    merged = json.loads(asyncleak("report", "--json", *runs["leaky_dirs"], runs["fork_dir"], snap,
                                  check_rc=0).stdout)
    positions = []
    for g in merged["groups"]:
        header = re.sub(r"^==asyncleak== ", "", header_re(g["count"], g["kind"], g["pids"]))
        assert header in out, header
        positions.append(out.index(f'id="g-{g["id"]}"'))
    assert positions == sorted(positions)
    # The source line of the creating frame, embedded and escaped.
    assert "KEEP.append(asyncio.ensure_future(forever()))  # ORIGIN:fire" in out
    assert "<details" in out and "asyncio frames" in out
    # Kind filters, and the script ran (it fills in the count of shown groups).
    assert 'type="checkbox"' in out and 'data-kind="orphaned_task"' in out
    assert f"{len(merged['groups'])} of {len(merged['groups'])} groups shown" in out
    # The chart of the snapshots: a line per origin, the described one labelled.
    assert "<svg" in out and out.count("<polyline") == 2
    assert f"task at leaky.py:{marker_line(runs['leaky'], 'fire')} in handle" in out

    shot = tmp_path / "shot.png"
    s = headless(chromium, "--window-size=1200,1600", f"--screenshot={shot}", page.as_uri())
    assert s.returncode == 0 and shot.exists(), s.stderr[-3000:]
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > 30000, f"screenshot only {len(data)} bytes: blank page?"


def test_html_escapes_everything(tmp_path):
    nasty = "<script>alert(1)</script>&\"'\x1b[31m\xff"
    doc = {"tool": "asyncleak", "schema": 1, "pid": 3, "findings": [
        {"kind": "pending_task", "when": "exit", "task": {"name": nasty, "coro": nasty},
         "origin": {"frames": [{"file": "/nonexistent/" + nasty, "line": 1, "function": nasty}]}}]}
    src = tmp_path / "r.json"
    src.write_text(json.dumps(doc))
    p = asyncleak("html", "-o", "-", src, check_rc=0)
    assert "<script>alert" not in p.stdout
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&amp;&quot;&#39;\\x1b[31m" in p.stdout
    asyncleak("html", src, check_rc=2)                      # no -o
    p = asyncleak("html", "-o", tmp_path / "no" / "dir.html", src, check_rc=2)
    assert "cannot write" in p.stderr
