#!/usr/bin/env python3
"""Parse, compare and re-check CPython regrtest runs with and without the preload.

Helper of run.sh (see README.md beside this file).  Runs under any Python 3.8+
(it never imports asyncio itself and is started without LD_PRELOAD).

  regrtest_compare.py parse DIR            DIR holds output.txt and junit.xml of one
                                           run; writes DIR/result.json, prints counts
  regrtest_compare.py compare A B          A, B: run dirs (without, with); prints a
                                           JSON list of differences on stdout
  regrtest_compare.py recheck VERDIR ...   re-runs each difference of VERDIR/diffs.json
                                           a few times with and without the preload and
                                           classifies it (real / flaky); writes
                                           VERDIR/recheck.json
  regrtest_compare.py verdict VERSION VERDIR
                                           prints the one-line verdict; exit 1 when a
                                           real difference remains
  regrtest_compare.py findings RUNDIR      summarizes the preload's JSON reports and
                                           text logs of one run (counts per kind, crashes)

A test's outcome is one of pass, fail, error, skip, xfail, xpass, missing.  Test ids
are unittest ids ("test.test_asyncio.test_tasks.CTask_CFuture_Tests.test_foo"), with
" (subtest params)" appended for a failed subtest, and "<Class>.setUpClass" style
ids for fixture errors.  Module statuses are regrtest's (passed, failed, crashed,
env changed, timed out, skipped, ...).
"""
import collections
import glob
import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

# ---- parsing one run ------------------------------------------------------

# "0:00:03 load avg: 0.37 [ 5/30] test_asyncio.test_futures passed"
# "[ 2/30/1] test_asyncio.test_x failed (2 errors)", "... passed (38.5 sec) -- running: ..."
PROGRESS_RE = re.compile(r"\[\s*\d+/\d+(?:/\d+)?\] (test\S+) (.*)$")
STATUS_WORDS = [
    ("failed (env changed)", "env changed"),
    ("env changed", "env changed"),
    ("skipped (resource denied)", "resource denied"),
    ("resource denied", "resource denied"),
    ("run no tests", "run no tests"),
    ("timed out", "timed out"),
    ("crashed", "crashed"),
    ("interrupted", "interrupted"),
    ("uncaught exception", "uncaught exception"),
    ("did not run", "did not run"),
    ("failed", "failed"),
    ("skipped", "skipped"),
    ("passed", "passed"),
]
# unittest's error list: "FAIL: test_x (test.test_asyncio.test_y.Cls)" (<= 3.10)
# or "FAIL: test_x (test.test_asyncio.test_y.Cls.test_x)" (3.11+), optionally
# followed by " (param=1)" for a subtest or "[...]" / " (<subtest>)".
HEADER_RE = re.compile(r"^(FAIL|ERROR|UNEXPECTED SUCCESS): (\S+) \(([^()\s]+)\)(.*)$")
TOTAL_RE = re.compile(r"^Total tests: (.*)$")


def module_status(text):
    text = text.split(" -- running:")[0].strip()
    for word, status in STATUS_WORDS:
        if text.startswith(word):
            return status
    return text


def canonical_id(name, paren, rest):
    """unittest's description -> one id that is the same on 3.8 and 3.13."""
    if paren == name or paren.endswith("." + name):
        tid = paren
    else:
        tid = paren + "." + name
    rest = rest.strip()
    if rest:
        tid += " " + rest
    return tid


def parse_output(path):
    statuses = {}
    headers = {}
    total_line = None
    fatal = []
    diag = []
    try:
        text = open(path, encoding="utf-8", errors="replace").read()
    except OSError:
        text = ""
    for line in text.splitlines():
        m = PROGRESS_RE.search(line)
        if m and m.group(1).startswith("test_"):
            statuses[m.group(1)] = module_status(m.group(2))
            continue
        m = HEADER_RE.match(line)
        if m:
            kind = {"FAIL": "fail", "ERROR": "error", "UNEXPECTED SUCCESS": "xpass"}[m.group(1)]
            headers[canonical_id(m.group(2), m.group(3), m.group(4))] = kind
            continue
        m = TOTAL_RE.match(line)
        if m:
            total_line = m.group(1).strip()
        if "Fatal Python error" in line or "Segmentation fault" in line or "core dumped" in line:
            fatal.append(line.strip())
        if line.startswith("asyncleak:") or "asyncleak: " in line:
            diag.append(line.strip())
    return statuses, headers, total_line, fatal, diag


def parse_junit(path):
    """(counts, outcomes): outcomes maps test id -> pass/fail/error/skip/xfail/xpass."""
    counts = {"run": 0, "failures": 0, "errors": 0, "skipped": 0}
    outcomes = {}
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError):
        return None, outcomes
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    for s in suites:
        counts["run"] += int(s.get("tests", 0) or 0)
        counts["failures"] += int(s.get("failures", 0) or 0)
        counts["errors"] += int(s.get("errors", 0) or 0)
        for tc in s.iter("testcase"):
            name = tc.get("name")
            if not name:
                # regrtest writes no name for a test whose subtests failed;
                # the FAIL:/ERROR: headers of the output name it.
                continue
            m = re.match(r"^(\S+) \(([^()\s]+)\)$", name)
            if m:           # "setUpClass (test.x.Cls)"
                name = canonical_id(m.group(1), m.group(2), "")
            if tc.find("error") is not None:
                oc = "error"
            elif tc.find("failure") is not None:
                oc = "fail"
            elif tc.find("skipped") is not None:
                oc = "skip"
                counts["skipped"] += 1
            elif tc.find("output") is not None:
                oc = "xfail"
            elif tc.get("outcome") == "UNEXPECTED_SUCCESS" or tc.find("outcome") is not None:
                oc = "xpass"
            else:
                oc = "pass"
            outcomes[name] = oc
    return counts, outcomes


def parse_run(d):
    statuses, headers, total_line, fatal, diag = parse_output(os.path.join(d, "output.txt"))
    counts, outcomes = parse_junit(os.path.join(d, "junit.xml"))
    # Failed subtests and fixture errors only show up in the headers.
    for tid, kind in headers.items():
        outcomes[tid] = kind
    rc = None
    try:
        rc = int(open(os.path.join(d, "rc")).read().strip())
    except (OSError, ValueError):
        pass
    res = {
        "counts": counts,
        "regrtest_total": total_line,
        "modules": statuses,
        "outcomes": outcomes,
        "failed": sorted(t for t, o in outcomes.items() if o == "fail"),
        "errored": sorted(t for t, o in outcomes.items() if o == "error"),
        "fatal_lines": fatal,
        "asyncleak_lines": diag,
        "rc": rc,
    }
    with open(os.path.join(d, "result.json"), "w") as f:
        json.dump(res, f, indent=1, sort_keys=True)
    return res


def load_run(d):
    p = os.path.join(d, "result.json")
    if os.path.exists(p):
        return json.load(open(p))
    return parse_run(d)


def counts_text(res):
    c = res["counts"]
    if c is None:
        return "no JUnit XML"
    return "%d run, %d failed, %d errors, %d skipped" % (c["run"], c["failures"], c["errors"], c["skipped"])


# ---- comparing two runs ---------------------------------------------------

def base_outcome(oc):
    return oc if oc is not None else "missing"


def diff_runs(a, b):
    """Differences between run a (without) and run b (with)."""
    diffs = []
    mods = sorted(set(a["modules"]) | set(b["modules"]))
    for m in mods:
        sa, sb = a["modules"].get(m, "missing"), b["modules"].get(m, "missing")
        if sa != sb:
            diffs.append({"kind": "module", "id": m, "without": sa, "with": sb})
    ids = sorted(set(a["outcomes"]) | set(b["outcomes"]))
    for t in ids:
        oa, ob = base_outcome(a["outcomes"].get(t)), base_outcome(b["outcomes"].get(t))
        if oa == ob:
            continue
        # A test that is missing on one side because its whole module crashed or
        # timed out is covered by the module difference.
        mod = module_of(t, mods)
        if (oa == "missing" or ob == "missing") and mod and a["modules"].get(mod) != b["modules"].get(mod):
            continue
        diffs.append({"kind": "test", "id": t, "module": mod, "without": oa, "with": ob})
    # "passed -> failed" of a module whose tests differ says nothing more.
    explained = {d["module"] for d in diffs if d["kind"] == "test"}
    diffs = [d for d in diffs if not (d["kind"] == "module" and d["id"] in explained
                                      and {d["without"], d["with"]} <= {"passed", "failed"})]
    if not diffs and a["counts"] and b["counts"] and a["counts"] != b["counts"]:
        diffs.append({"kind": "counts", "id": "counts", "without": a["counts"], "with": b["counts"]})
    return diffs


def module_of(test_id, modules):
    """test.test_asyncio.test_tasks.Cls.test_x -> test_asyncio.test_tasks"""
    tid = test_id.split(" ")[0]
    if tid.startswith("test."):
        tid = tid[5:]
    best = None
    for m in modules:
        if tid == m or tid.startswith(m + "."):
            if best is None or len(m) > len(best):
                best = m
    if best is None:
        parts = tid.split(".")
        if len(parts) >= 2:
            best = ".".join(parts[:2])
    return best


# ---- re-checking differences ------------------------------------------------

def match_pattern(test_id, module):
    """The --match pattern that selects test_id (None: the whole module)."""
    tid = test_id.split(" ")[0]
    last = tid.rsplit(".", 1)[-1]
    if last in ("setUpModule", "tearDownModule") or tid in ("test." + module, module):
        return None
    if last in ("setUpClass", "tearDownClass"):
        return tid.rsplit(".", 1)[0] + ".*"
    return tid


def run_regrtest(cfg, module, pattern, preload, outdir):
    os.makedirs(outdir, exist_ok=True)
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    env["ASYNCLEAK_OPTIONS"] = "json_path=%s/al.%%p.json:log_path=%s/al.%%p.log" % (outdir, outdir)
    if preload:
        env["LD_PRELOAD"] = cfg["lib"]
    cmd = [cfg["python"]] + os.environ.get("TRANSPARENCY_PYFLAGS", "").split() + ["-m", "test", module, "-j1", "-W", "--timeout", str(cfg["timeout"]),
           "--junit-xml", os.path.join(outdir, "junit.xml")] + cfg["extra"]
    if pattern:
        cmd += ["-m", pattern]
    with open(os.path.join(outdir, "output.txt"), "w") as out:
        out.write("$ %s%s\n" % ("LD_PRELOAD=%s " % cfg["lib"] if preload else "", " ".join(cmd)))
        out.flush()
        try:
            rc = subprocess.call(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=outdir,
                                 timeout=cfg["timeout"] * 2 + 120)
        except subprocess.TimeoutExpired:
            rc = -999
    with open(os.path.join(outdir, "rc"), "w") as f:
        f.write("%d\n" % rc)
    return parse_run(outdir)


def observe(res, diff):
    if diff["kind"] == "module":
        return res["modules"].get(diff["id"], "missing")
    return base_outcome(res["outcomes"].get(diff["id"]))


MAX_ISOLATED = 10   # isolated re-runs per version (each costs 2 x repeats runs)


def split_verdict(seen):
    """'real', 'flaky-without', 'flaky-with' or 'same' for observations per side."""
    wo, wi = set(seen["without"]), set(seen["with"])
    if len(wo) > 1:
        return "flaky-without"
    if len(wi) > 1:
        return "flaky-with"
    return "real" if wo != wi else "same"


def recheck(verdir, cfg, repeats):
    """Re-runs every module with a difference `repeats` times per side, then
    (for at most MAX_ISOLATED test ids) the test alone, and classifies each
    difference: real, flaky, or not reproduced."""
    diffs = json.load(open(os.path.join(verdir, "diffs.json")))
    n = [0]
    module_runs = {}

    def runs(module, pattern, tag):
        out = {"without": [], "with": []}
        for i in range(repeats):
            for side in ("without", "with"):
                n[0] += 1
                outdir = os.path.join(verdir, "recheck", "%03d-%s-%s" % (n[0], tag, side))
                out[side].append(run_regrtest(cfg, module, pattern, side == "with", outdir))
        return out

    results = []
    isolated = 0
    for d in diffs:
        if d["kind"] == "counts":
            results.append(dict(d, verdict="unexplained count difference (no test id differs)"))
            continue
        module = d["id"] if d["kind"] == "module" else d["module"]
        if module not in module_runs:
            module_runs[module] = runs(module, None, module.split(".")[-1])
        d = dict(d, rechecks=[])
        seen = {side: [observe(r, d) for r in module_runs[module][side]] for side in ("without", "with")}
        d["rechecks"].append({"level": "module", "match": None, **seen})
        mv = split_verdict(seen)
        iv = None
        if d["kind"] == "test" and mv != "flaky-without" and isolated < MAX_ISOLATED:
            isolated += 1
            pattern = match_pattern(d["id"], module)
            iso = runs(module, pattern, "isolated")
            seen_i = {side: [observe(r, d) for r in iso[side]] for side in ("without", "with")}
            d["rechecks"].append({"level": "isolated", "match": pattern, **seen_i})
            iv = split_verdict(seen_i)
        if mv == "real" and iv in (None, "real"):
            v = "real" if iv == "real" else "real (whole-module re-runs)"
        elif mv == "real":
            v = "real (only when the whole module runs)"
        elif iv == "real":
            v = "real (in isolation; not reproduced in whole-module re-runs)"
        elif "flaky-without" in (mv, iv):
            v = "flaky (varies without the preload too)"
        elif "flaky-with" in (mv, iv):
            v = "flaky under the preload only (check!)"
        else:
            v = "flaky (not reproduced on re-run)"
        d["verdict"] = v
        results.append(d)
    with open(os.path.join(verdir, "recheck.json"), "w") as f:
        json.dump(results, f, indent=1)
    return results


# ---- verdict ----------------------------------------------------------------

def is_real(d):
    v = d.get("verdict", "real")
    return v.startswith("real") or v.startswith("unexplained") or "check!" in v


def describe(d):
    s = "%s [%s -> %s]" % (d["id"], d["without"], d["with"])
    if "verdict" in d:
        s += " " + d["verdict"]
    return s


def verdict(version, verdir):
    a = load_run(os.path.join(verdir, "without"))
    b = load_run(os.path.join(verdir, "with"))
    p = os.path.join(verdir, "recheck.json")
    diffs = json.load(open(p)) if os.path.exists(p) else json.load(open(os.path.join(verdir, "diffs.json")))
    real = [d for d in diffs if is_real(d)]
    flaky = [d for d in diffs if not is_real(d)]
    if a["counts"] is None or b["counts"] is None:
        print("%s: DIFFERENT? a run left no JUnit XML (without: rc=%s, with: rc=%s); see %s"
              % (version, a["rc"], b["rc"], verdir))
        return 1
    if not real:
        line = "%s: same (%s)" % (version, counts_text(b))
        if a["counts"] != b["counts"]:
            line = "%s: same (without: %s; with: %s)" % (version, counts_text(a), counts_text(b))
        if flaky:
            line += "; flaky, not the preload: " + ", ".join(describe(d) for d in flaky)
        print(line)
        return 0
    line = "%s: DIFFERENT (without: %s; with: %s): %s" % (
        version, counts_text(a), counts_text(b), ", ".join(describe(d) for d in real))
    if flaky:
        line += "; also flaky: " + ", ".join(describe(d) for d in flaky)
    print(line)
    return 1


# ---- the preload's own output -------------------------------------------------

def findings(rundir):
    kinds = collections.Counter()
    whens = collections.Counter()
    files = bad = procs_with = 0
    tmp_left = glob.glob(os.path.join(rundir, "al.*.json.tmp.*"))
    for p in sorted(glob.glob(os.path.join(rundir, "al.*.json"))):
        files += 1
        try:
            doc = json.load(open(p))
        except (OSError, ValueError):
            bad += 1
            continue
        fs = doc.get("findings", [])
        if fs:
            procs_with += 1
        for f in fs:
            kinds[f.get("kind", "?")] += 1
            whens["%s/%s" % (f.get("kind", "?"), f.get("when", "?"))] += 1
        for k, v in (doc.get("dropped") or {}).items():
            kinds[k + " (dropped)"] += v
    logs = sorted(glob.glob(os.path.join(rundir, "al.*.log")))
    log_crash = []
    log_kinds = collections.Counter()
    for p in logs:
        for line in open(p, encoding="utf-8", errors="replace"):
            if any(w in line for w in ("Fatal Python error", "Segmentation fault", "core dumped", "Aborted")):
                log_crash.append("%s: %s" % (os.path.basename(p), line.strip()))
            m = re.match(r"^==\d+== asyncleak: (\w+):", line)
            if m:
                log_kinds[m.group(1)] += 1
    contract = None
    checker = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared", "contract", "check-report")
    reports = sorted(glob.glob(os.path.join(rundir, "al.*.json")))
    if reports and os.path.exists(checker):
        proc = subprocess.run([sys.executable, checker] + reports, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, universal_newlines=True)
        contract = [l for l in proc.stdout.splitlines() if l.startswith(rundir)]
    out = {
        "contract_problems": None if contract is None else len(contract),
        "contract_problem_lines": (contract or [])[:20],
        "json_files": files,
        "json_unparsable": bad,
        "json_tmp_left": len(tmp_left),
        "processes_with_findings": procs_with,
        "log_files": len(logs),
        "by_kind": dict(sorted(kinds.items())),
        "by_kind_when": dict(sorted(whens.items())),
        "log_crash_lines": log_crash[:20],
        "log_by_kind": dict(sorted(log_kinds.items())),
    }
    return out


def findings_line(f, run):
    """One line about the preload's own output of a run (findings.json, result.json)."""
    kinds = ", ".join("%s %d" % kv for kv in f["by_kind"].items()) or "none"
    problems = []
    if f["json_unparsable"] or f["json_tmp_left"]:
        problems.append("%d unparsable / %d temporary JSON files" % (f["json_unparsable"], f["json_tmp_left"]))
    if f["log_crash_lines"]:
        problems.append("%d crash lines in the logs" % len(f["log_crash_lines"]))
    if run.get("fatal_lines"):
        problems.append("%d 'Fatal Python error'/segfault lines in the test output" % len(run["fatal_lines"]))
    if run.get("asyncleak_lines"):
        problems.append("%d 'asyncleak:' lines in the test output" % len(run["asyncleak_lines"]))
    if f["log_by_kind"] != f["by_kind"]:
        problems.append("text logs and JSON disagree (%s)" % f["log_by_kind"])
    if f.get("contract_problems"):
        problems.append("%d check-report problems" % f["contract_problems"])
    return "preload: %d JSON reports, %d with findings (%s); %s" % (
        f["json_files"], f["processes_with_findings"], kinds,
        "; ".join(problems) if problems else "no crash, no diagnostic")


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    cmd = argv[1]
    if cmd == "parse":
        res = parse_run(argv[2])
        print(counts_text(res))
        return 0
    if cmd == "compare":
        a, b = load_run(argv[2]), load_run(argv[3])
        json.dump(diff_runs(a, b), sys.stdout, indent=1)
        print()
        return 0
    if cmd == "recheck":
        verdir = argv[2]
        cfg = {"python": argv[3], "lib": argv[4], "timeout": int(argv[5]),
               "extra": argv[7:] if len(argv) > 7 else []}
        repeats = int(argv[6])
        for d in recheck(verdir, cfg, repeats):
            print("  recheck: " + describe(d), file=sys.stderr)
        return 0
    if cmd == "verdict":
        return verdict(argv[2], argv[3])
    if cmd == "findings":
        json.dump(findings(argv[2]), sys.stdout, indent=1)
        print()
        return 0
    if cmd == "findings-line":
        print(findings_line(json.load(open(argv[2])), load_run(argv[3])))
        return 0
    print("unknown command %r" % cmd, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
