#!/usr/bin/python3
"""bench/profile.py - where asyncleak's per-task cost goes, from callgrind.

Runs one workload of bench/run.py under `valgrind --tool=callgrind
--dump-instr=no` with n and 2n tasks, without and with the preload, reads
`callgrind_annotate --inclusive=yes --tree=calling` of the preloaded runs and
prints, per task ((count at 2n - count at n) / n, so start-up cancels out),
every function of libasyncleak.so with:

  calls     calls per task
  incl      inclusive instructions per task
  original  part of incl spent in the wrapped original (the _asyncio Task
            slot the hook calls: that is the baseline's own work, not ours)
  ours      incl - original: what the function adds, CPython API calls it
            makes included
  self      instructions in the function's own code

and under each function the callees that cost at least 1 instruction per
task.  The total overhead (preloaded minus baseline) is then split into what
our entry points (hooks called from CPython) add and the rest: extra work
CPython does because of us outside our calls (frame objects materialized by
the walk being freed later, for instance).

    /usr/bin/python3 bench/profile.py                       # spawn-await, n=10000, Debian python3
    /usr/bin/python3 bench/profile.py --workload deep --python ~/.pyenv/versions/3.12.1/bin/python3
    /usr/bin/python3 bench/profile.py --keep /tmp/cg       # keep the callgrind files
    /usr/bin/python3 bench/profile.py --workload streams-64 --n 500 --config native=1

Stdlib only.
"""
import argparse
import concurrent.futures
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run  # noqa: E402  (bench/run.py: workloads, configurations, environment)

OURS = "libasyncleak"
ORIGINAL = re.compile(r"_asyncio")     # object of the wrapped Task slots

STAR = re.compile(r"^\s*([\d,]+) \(\s*[\d.]+%\)\s+\*\s+(.*?)(?: \[([^\]]*)\])?\s*$")
CALLEE = re.compile(r"^\s*([\d,]+) \(\s*[\d.]+%\)\s+>\s+(.*?) \(([\d,]+)x\)(?: \[([^\]]*)\])?\s*$")


def num(s):
    return int(s.replace(",", ""))


def short(name):
    """file:function -> basename(file):function.  callgrind_annotate may list
    one function twice, under an absolute and a relative file name (one of
    them without its object); the basename makes them one key."""
    if ":" not in name:
        return name
    path, func = name.rsplit(":", 1)
    return "%s:%s" % (os.path.basename(path), func)


def parse_tree(path):
    """{function: {"incl", "obj", "callees": {callee: [incl, calls, obj]}}} from
    callgrind_annotate --tree=calling."""
    out = subprocess.run(["callgrind_annotate", "--inclusive=yes", "--threshold=100",
                          "--tree=calling", path], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, check=True).stdout.decode("utf-8", "replace")
    funcs, cur, blocks = {}, None, []
    for line in out.splitlines():
        m = STAR.match(line)
        if m:
            cur = {"name": short(m.group(2)), "obj": m.group(3) or "",
                   "incl": num(m.group(1)), "callees": {}}
            blocks.append(cur)
            continue
        m = CALLEE.match(line)
        if m and cur is not None:
            cur["callees"][short(m.group(2))] = [num(m.group(1)), num(m.group(3)), m.group(4)]
            continue
        if not line.strip():
            cur = None
    # Duplicate blocks of one function (same counts): merge them, taking the
    # larger of each count and the object from whichever names it.
    for b in blocks:
        f = funcs.setdefault(b["name"], {"obj": "", "incl": 0, "callees": {}})
        f["obj"] = f["obj"] or b["obj"]
        f["incl"] = max(f["incl"], b["incl"])
        for cname, c in b["callees"].items():
            old = f["callees"].get(cname)
            if old is None:
                f["callees"][cname] = list(c)
            else:
                old[0], old[1] = max(old[0], c[0]), max(old[1], c[1])
                old[2] = old[2] or c[2]
    # A callee listed without its object is in the caller's object.
    for f in funcs.values():
        for c in f["callees"].values():
            if c[2] is None:
                c[2] = f["obj"]
    return funcs


def is_ours(obj):
    return OURS in (obj or "")


def per_task(big, small, n):
    return (big - small) / float(n)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--python", default=run.DEFAULT_PYTHON)
    ap.add_argument("--workload", default="spawn-await",
                    help="a per-task workload of run.py (%s)"
                    % ", ".join(w.name for w in run.WORKLOADS if w.callgrind == "per_task"))
    ap.add_argument("--n", type=int, default=10000, help="tasks in the small run (2n in the big one)")
    ap.add_argument("--keep", metavar="DIR", help="keep the callgrind files in DIR")
    ap.add_argument("--reuse", action="store_true",
                    help="with --keep: read the files already in DIR instead of running callgrind")
    ap.add_argument("--min", type=float, default=1.0, help="hide callees under this many instr/task")
    ap.add_argument("--config", default="asyncleak",
                    help="the preloaded configuration of run.py to profile (%s)"
                    % ", ".join(c.name for c in run.CONFIGS if c.preload))
    ap.add_argument("--lib", metavar="PATH", default=run.LIB,
                    help="the preload to profile (default: build/libasyncleak.so)")
    a = ap.parse_args(argv)

    wl = next((w for w in run.WORKLOADS if w.name == a.workload and w.callgrind == "per_task"), None)
    if wl is None:
        ap.error("unknown per-task workload %r" % a.workload)
    al = next((c for c in run.CONFIGS if c.preload and c.name == a.config), None)
    if al is None:
        ap.error("unknown preloaded configuration %r" % a.config)
    base = run.BASELINE
    tmp = a.keep or tempfile.mkdtemp(prefix="asyncleak-profile.")
    os.makedirs(tmp, exist_ok=True)
    # Measure a copy: the tree may be rebuilt while callgrind runs.
    run.LIB = os.path.abspath(a.lib)
    snapdir = tempfile.mkdtemp(prefix="asyncleak-profile-lib.")
    sha = run.snapshot_lib(snapdir)
    n = a.n
    jobs = [(cfg, k) for cfg in (base, al) for k in (n, 2 * n)]

    def one(job):
        cfg, k = job
        out = os.path.join(tmp, "callgrind.%s.%s.%d.out" % (wl.name, cfg.name, k))
        if a.reuse and os.path.exists(out):
            with open(out) as f:
                total = next(int(l.split()[1]) for l in f if l.startswith(("summary:", "totals:")))
            return job, out, total
        argv = ["valgrind", "--tool=callgrind", "--dump-instr=no",
                "--callgrind-out-file=" + out, a.python] + wl.argv(k)
        p = subprocess.run(argv, env=run.make_env(cfg, wl, k), cwd=tmp, stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if p.returncode != 0:
            raise SystemExit("profile.py: %s failed: %s" % (" ".join(argv),
                                                           run.tail(p.stderr.decode("utf-8", "replace"))))
        with open(out) as f:
            total = next(int(l.split()[1]) for l in f if l.startswith(("summary:", "totals:")))
        return job, out, total

    run.log("profile.py: callgrind %s, n=%d and %d, baseline and %s" % (wl.name, n, 2 * n, al.name))
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as ex:
        res = {job: (out, total) for job, out, total in ex.map(one, jobs)}
    version = run.python_version(a.python)
    t_base = per_task(res[(base, 2 * n)][1], res[(base, n)][1], n)
    t_al = per_task(res[(al, 2 * n)][1], res[(al, n)][1], n)
    big, small = parse_tree(res[(al, 2 * n)][0]), parse_tree(res[(al, n)][0])

    print("%s, %s (%s), instructions per task = (I(%d tasks) - I(%d tasks)) / %d"
          % (wl.name, version, a.python, 2 * n, n, n))
    print("library: %s (sha256 %s)" % (a.lib, sha[:12]))
    print("  baseline %10.0f\n  %-8s %10.0f\n  overhead %+10.0f (%+.1f%%)"
          % (t_base, al.name, t_al, t_al - t_base, (t_al / t_base - 1) * 100))
    print()

    rows = []
    called_by_ours = set()
    for name, f in big.items():
        if not is_ours(f["obj"]):
            continue
        g = small.get(name, {"incl": 0, "callees": {}})
        incl = per_task(f["incl"], g["incl"], n)
        callees = []
        original = 0.0
        for cname, (cincl, ccalls, cobj) in f["callees"].items():
            s = g["callees"].get(cname, [0, 0, cobj])
            ci = per_task(cincl, s[0], n)
            cc = per_task(ccalls, s[1], n)
            if is_ours(cobj):
                called_by_ours.add(cname)
            if ORIGINAL.search(cobj or "") and not is_ours(cobj):
                original += ci
            callees.append((ci, cc, cname, cobj))
        self_ = incl - sum(c[0] for c in callees)
        rows.append((incl - original, name, incl, original, self_, callees))
    calls_of = {}
    for name, f in big.items():
        for cname, (cincl, ccalls, cobj) in f["callees"].items():
            if is_ours(cobj):
                s = small.get(name, {"callees": {}})["callees"].get(cname, [0, 0])
                calls_of[cname] = calls_of.get(cname, 0.0) + per_task(ccalls, s[1], n)
    rows.sort(key=lambda r: -r[0])
    print("%-34s %9s %9s %9s %9s %9s" % ("libasyncleak.so function", "calls", "incl", "original", "ours", "self"))
    entry_total = 0.0
    for ours, name, incl, original, self_, callees in rows:
        if abs(incl) < a.min and abs(ours) < a.min:
            continue
        entry = name not in called_by_ours
        if entry:
            entry_total += ours
        print("%-34s %9s %9.0f %9.0f %9.0f %9.0f" % (name + (" *" if entry else ""),
                                                     "%.2f" % calls_of[name] if name in calls_of else "",
                                                     incl, original, ours, self_))
        for ci, cc, cname, cobj in sorted(callees, key=lambda c: -c[0]):
            if abs(ci) < a.min:
                continue
            where = "ours" if is_ours(cobj) else os.path.basename(cobj or "?")
            print("    -> %-40s %6.2f calls %8.0f  [%s]" % (cname, cc, ci, where))
    print()
    print("* entry point (called from CPython). Our entry points add %.0f instructions per task;"
          % entry_total)
    print("  the other %+.0f of the %+.0f overhead run inside CPython outside our calls."
          % (t_al - t_base - entry_total, t_al - t_base))
    shutil.rmtree(snapdir, ignore_errors=True)
    if a.keep:
        print("callgrind files: %s" % tmp)
    else:
        for job in jobs:
            os.unlink(res[job][0])
        os.rmdir(tmp)
    return 0


if __name__ == "__main__":
    sys.exit(main())
