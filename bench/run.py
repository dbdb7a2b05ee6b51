#!/usr/bin/python3
"""bench/run.py - overhead of asyncleak, side by side with the baseline.

Prints one table: every row is measured in this run, the configurations
alternating on each repetition (their order rotated every time), with the
median of the repetitions and its ratio to (or difference from) the baseline
median of the same run; budgets are checked next to each ratio.  Wall time on
a shared 2-core machine is noisy, so the spawn workloads are also counted in
instructions under `valgrind --tool=callgrind` (deterministic): per task, as
the difference between a 2n-task and an n-task run, so start-up cancels out.

    /usr/bin/python3 bench/run.py                   # Debian's python3 (make bench)
    /usr/bin/python3 bench/run.py --quick           # CI smoke: small n, 2 repetitions, ~3 min
    /usr/bin/python3 bench/run.py --all             # + every pyenv 3.8-3.13
    /usr/bin/python3 bench/run.py --python /path/to/python3 --json out.json --strict

Exit status: 0, also on a budget miss, unless --strict (then 1 on a miss,
except a wall-time miss of a workload whose callgrind row passes: on this
machine that is noise); 2 on a usage error.  Progress goes to stderr, the
table to stdout.

Adding a configuration is one line in CONFIGS; adding a workload is a script
in bench/workloads/ (printing one JSON object on stdout) plus one entry in
WORKLOADS.  Stdlib only; runs on Python 3.8+.
"""
import argparse
import concurrent.futures
import glob
import hashlib
import json
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORKLOADS_DIR = os.path.join(ROOT, "bench", "workloads")
LIB = os.path.join(ROOT, "build", "libasyncleak.so")
PRELOAD = LIB      # what LD_PRELOAD names: a snapshot of LIB once main() has taken it
DEFAULT_PYTHON = "/usr/bin/python3"
RUN_TIMEOUT = 900          # seconds, any single process (callgrind included)


# ---- configurations ---------------------------------------------------------

class Config:
    """One column group of the table.

    preload   LD_PRELOAD=build/libasyncleak.so
    options   ASYNCLEAK_OPTIONS items (joined with ':' with the workload's own)
    env       extra environment
    budgeted  budgets are checked against this column
    scale     task-count factor for per-task workloads (debug mode is ~15-30x
              slower per task; its per-task figures stay comparable)
    callgrind_scale, callgrind_only
              the same for the callgrind rows (None: every callgrind row)
    """

    def __init__(self, name, preload=False, options=(), env=None, budgeted=False,
                 scale=1.0, callgrind_scale=1.0, callgrind_only=None, skip=()):
        self.name = name
        self.preload = preload
        self.options = tuple(options)
        self.env = dict(env or {})
        self.budgeted = budgeted
        self.scale = scale
        self.callgrind_scale = callgrind_scale
        self.callgrind_only = callgrind_only
        self.skip = tuple(skip)


CONFIGS = [
    Config("baseline"),
    Config("asyncleak", preload=True, budgeted=True),
    Config("native=1", preload=True, options=("native=1",)),
    Config("debug", env={"PYTHONASYNCIODEBUG": "1"}, scale=0.05,
           callgrind_scale=0.05, callgrind_only=("spawn-await",)),
]
BASELINE = CONFIGS[0]


# ---- budgets -----------------------------------------------------------------

class Budget:
    """kind: 'ratio' (median <= limit x baseline), 'min_ratio' (median >=
    limit x baseline: throughput), 'delta' (median - baseline <= limit, in
    the row's unit) or 'abs' (median <= limit).  aim: a tighter goal,
    reported but not failed."""

    def __init__(self, kind, limit, aim=None):
        self.kind, self.limit, self.aim = kind, limit, aim

    def value(self, median, base):
        if self.kind in ("ratio", "min_ratio"):
            return median / base if base else None
        if self.kind == "delta":
            return median - base if base is not None else None
        return median

    def text(self, x):
        if self.kind == "ratio":
            return "<=%.2fx" % x
        if self.kind == "min_ratio":
            return ">=%.2fx" % x
        if self.kind == "delta":
            return "<=+%g" % x
        return "<=%g" % x

    def check(self, median, base):
        """(ok, text) or (None, '') when it cannot be judged."""
        v = self.value(median, base)
        if v is None:
            return None, ""
        worse = (lambda x, lim: x < lim) if self.kind == "min_ratio" else (lambda x, lim: x > lim)
        ok = not worse(v, self.limit)
        s = "%s %s" % ("PASS" if ok else "FAIL", self.text(self.limit))
        if ok and self.aim is not None and worse(v, self.aim):
            s += " (aim %s missed)" % self.text(self.aim)
        return ok, s


SPAWN_BUDGET = Budget("ratio", 1.10, aim=1.05)
DEEP_BUDGET = Budget("ratio", 1.25)
CANCEL_BUDGET = Budget("ratio", 1.10)            # as spawn: none in DESIGN section 9
THROUGHPUT_BUDGET = Budget("min_ratio", 0.97)    # DESIGN 9: aiohttp >= 0.97 of baseline req/s
PER_OP_BUDGET = Budget("ratio", 1.03)            # the same in cost per operation (1/0.97)
STARTUP_BUDGET = Budget("delta", 2.0)            # ms
REPORT_BUDGET = Budget("abs", 1.0)               # s


# ---- workloads ---------------------------------------------------------------

class Metric:
    """One row: `key` of the workload's JSON, or 'wall_ms' / 'cpu_ms' (wall
    and user+sys CPU time of the whole process, measured by this driver);
    compare 'ratio' or 'delta'.  twin: the key of a steadier metric of the
    same workload (CPU time for wall time); a miss of this row while its twin
    passes is reported as likely noise."""

    def __init__(self, key, label, unit, compare="ratio", budget=None, digits=2, twin=None):
        self.key, self.label, self.unit = key, label, unit
        self.compare, self.budget, self.digits, self.twin = compare, budget, digits, twin


class Workload:
    """A program run once per configuration and repetition.

    argv       after the interpreter; "{n}" is replaced by the task count;
               a name ending in .py is looked up in bench/workloads/
    n, quick_n task count (None: the workload has none)
    per_task   the metrics are per task, so Config.scale may shrink n
    inner      runs per configuration in each repetition (cheap or short
               workloads: more alternations, so a burst of load hits fewer)
    max_reps   cap on repetitions (slow, deterministic workloads)
    options    ASYNCLEAK_OPTIONS items for the preloaded configurations
    report_files  json_path and log_path go to a fresh temporary directory
    callgrind  None, 'per_task' ((I(2n) - I(n)) / n) or 'total' (one run)
    callgrind_n  n for the callgrind rows (2n is run too)
    unit       what n counts ("task", "conn", "req", "op"): the callgrind
               row's unit is instructions per unit
    skip       configuration names not run (with the reason in skip_note)
    requires   modules the interpreter must import, min_python a (major,
               minor) it must be at least: otherwise the workload's rows are
               left out for that interpreter, with a note
    quick_args extra arguments under --quick; in_quick: run under --quick
    spread     print each column's spread ((max - min) / median) in a note:
               the rows wall-time noise hits hardest
    twin_workload  a workload whose callgrind row measures the same cost
               deterministically: a wall-time miss of this one while that
               row passes is reported as likely noise (as for its own
               callgrind row)
    """

    def __init__(self, name, label, argv, metrics, n=None, quick_n=None, per_task=False,
                 inner=1, max_reps=None, options=(), report_files=False,
                 callgrind=None, callgrind_n=10000, quick_callgrind=True,
                 callgrind_budget=None, skip=(), skip_note="", unit="task",
                 requires=(), min_python=None, quick_args=(), in_quick=True, spread=False,
                 twin_workload=None):
        self.name, self.label, self.argv_tmpl = name, label, list(argv)
        self.metrics = metrics
        self.n, self.quick_n, self.per_task = n, quick_n, per_task
        self.inner, self.max_reps = inner, max_reps
        self.options, self.report_files = tuple(options), report_files
        self.callgrind, self.callgrind_n = callgrind, callgrind_n
        self.quick_callgrind, self.callgrind_budget = quick_callgrind, callgrind_budget
        self.skip, self.skip_note = tuple(skip), skip_note
        self.unit, self.requires, self.min_python = unit, tuple(requires), min_python
        self.quick_args, self.in_quick, self.spread = list(quick_args), in_quick, spread
        self.twin_workload = twin_workload

    def argv(self, n, quick=False):
        out = []
        for a in self.argv_tmpl + (self.quick_args if quick else []):
            a = a.replace("{n}", str(n))
            if a.endswith(".py") and os.sep not in a:
                a = os.path.join(WORKLOADS_DIR, a)
            out.append(a)
        return out

    def runs_under(self, cfg):
        return cfg.name not in self.skip and self.name not in cfg.skip


def per_task_us(budget=None, unit="task"):
    return Metric("per_task_us", "us/" + unit, "us/" + unit, "ratio", budget)


def throughput(key, unit):
    return Metric(key, unit, unit, "ratio", THROUGHPUT_BUDGET, 0)


NO_DEBUG = ("debug",)
STARTUP_METRICS = [Metric("wall_ms", "wall", "ms", "delta", STARTUP_BUDGET, 1, twin="cpu_ms"),
                   Metric("cpu_ms", "CPU user+sys", "ms", "delta", STARTUP_BUDGET, 1)]
REPORT_METRICS = [Metric("seconds", "wall", "s", "delta", REPORT_BUDGET, 3, twin="cpu_seconds"),
                  Metric("cpu_seconds", "CPU", "s", "delta", REPORT_BUDGET, 3)]

WRK_METRICS = [throughput("req_per_s", "req/s")] + [
    Metric("server_cpu_us_per_req", "server CPU/req", "us/req", "ratio", PER_OP_BUDGET, 1)]
WRK_METRICS[0].twin = "server_cpu_us_per_req"

WORKLOADS = [
    Workload("spawn-await", "spawn: await create_task(noop()) x{n}",
             ["spawn.py", "n={n}", "mode=await"], [per_task_us(SPAWN_BUDGET)],
             n=100000, quick_n=20000, per_task=True,
             callgrind="per_task", callgrind_budget=SPAWN_BUDGET),
    Workload("spawn-gather", "spawn: gather(1000 noop()) x{n}",
             ["spawn.py", "n={n}", "mode=gather", "batch=1000"], [per_task_us(SPAWN_BUDGET)],
             n=100000, quick_n=20000, per_task=True,
             callgrind="per_task", quick_callgrind=False, callgrind_budget=SPAWN_BUDGET),
    Workload("deep", "deep: spawn 40 frames down x{n}",
             ["deep.py", "n={n}", "depth=40"], [per_task_us(DEEP_BUDGET)],
             n=100000, quick_n=20000, per_task=True,
             callgrind="per_task", quick_callgrind=False, callgrind_budget=DEEP_BUDGET),
    Workload("startup-pass", "startup: python3 -c pass",
             ["-c", "pass"], STARTUP_METRICS,
             inner=8, callgrind="total", quick_callgrind=False),
    Workload("startup-asyncio", "startup: python3 -c 'import asyncio'",
             ["-c", "import asyncio"], STARTUP_METRICS,
             inner=8, callgrind="total", quick_callgrind=False),
    Workload("mem-finished", "memory: {n} finished tasks, one line",
             ["mem_finished.py", "n={n}", "warm=10000"],
             [Metric("rss_end_mb", "RSS at end", "MB", "delta", Budget("delta", 4.0), 1),
              Metric("growth_mb", "RSS growth after warm-up", "MB", "delta", Budget("delta", 1.0), 1)],
             n=1000000, quick_n=100000, max_reps=1,
             skip=NO_DEBUG, skip_note="debug mode skipped for 1M tasks (minutes)"),
    Workload("mem-live", "memory: {n} live tasks",
             ["mem_live.py", "n={n}"],
             [Metric("bytes_per_task", "RSS per live task", "B/task", "delta", Budget("delta", 100.0), 0)],
             n=100000, quick_n=20000, per_task=True, max_reps=3),
    Workload("report-close", "report: close loop, {n} pending",
             ["report_close.py", "n={n}"],
             REPORT_METRICS, n=100000, quick_n=20000, max_reps=3, report_files=True,
             skip=NO_DEBUG, skip_note="report rows: debug mode has no report"),
    Workload("report-close-all", "report: close loop, {n} pending, max_findings={n}",
             ["report_close.py", "n={n}"],
             REPORT_METRICS, n=100000, quick_n=20000, max_reps=3, report_files=True,
             options=("max_findings={n}",), skip=NO_DEBUG),
    Workload("cancel-waitfor", "cancel: wait_for(sleep(1), 0) x{n}",
             ["cancel.py", "n={n}", "mode=wait_for"], [per_task_us(CANCEL_BUDGET, "op")],
             n=100000, quick_n=10000, per_task=True, unit="op",
             callgrind="per_task", callgrind_n=5000, callgrind_budget=CANCEL_BUDGET),
    Workload("cancel-timeout", "cancel: async with timeout(0): sleep(1) x{n}",
             ["cancel.py", "n={n}", "mode=timeout"], [per_task_us(CANCEL_BUDGET, "op")],
             n=100000, quick_n=10000, per_task=True, unit="op", min_python=(3, 11),
             callgrind="per_task", callgrind_n=5000, quick_callgrind=False,
             callgrind_budget=CANCEL_BUDGET),
    Workload("cancel-task", "cancel: create_task(sleep(1)), cancel(), await x{n}",
             ["cancel.py", "n={n}", "mode=task"], [per_task_us(CANCEL_BUDGET, "op")],
             n=100000, quick_n=10000, per_task=True, unit="op",
             callgrind="per_task", callgrind_n=5000, quick_callgrind=False,
             callgrind_budget=CANCEL_BUDGET),
    Workload("gc-burst", "gc burst: {n} tasks destroyed pending, 20k live",
             ["gc_burst.py", "n={n}", "live=20000"], [per_task_us(None, "task")],
             n=2000, quick_n=500, per_task=True, report_files=True, max_reps=3),
    Workload("streams-1", "streams: open+echo+close x{n}, 1 at a time",
             ["streams.py", "n={n}", "conc=1"], [throughput("conn_per_s", "conn/s")],
             n=5000, quick_n=500, per_task=True, unit="conn", spread=True,
             callgrind="per_task", callgrind_n=1000, quick_callgrind=False,
             callgrind_budget=PER_OP_BUDGET),
    Workload("streams-64", "streams: open+echo+close x{n}, 64 at a time",
             ["streams.py", "n={n}", "conc=64"], [throughput("conn_per_s", "conn/s")],
             n=5000, quick_n=500, per_task=True, unit="conn", spread=True,
             callgrind="per_task", callgrind_n=1000, quick_callgrind=False,
             callgrind_budget=PER_OP_BUDGET),
    Workload("aiohttp-inproc", "aiohttp: {n} keep-alive GETs in-process, 2 tasks/req, 64 conns",
             ["aiohttp_inproc.py", "n={n}", "tasks=2", "conns=64"], [per_task_us(PER_OP_BUDGET, "req")],
             n=5000, quick_n=1000, per_task=True, unit="req", requires=("aiohttp",),
             callgrind="per_task", callgrind_n=1000, quick_callgrind=False,
             callgrind_budget=PER_OP_BUDGET),
    Workload("aiohttp-wrk", "aiohttp under wrk: 2 tasks/req, 64 conns",
             ["aiohttp_wrk.py", "tasks=2", "conns=64", "duration=4", "warmup=1"], WRK_METRICS,
             inner=2, requires=("aiohttp",), quick_args=["duration=1"], spread=True,
             twin_workload="aiohttp-inproc"),
    Workload("aiohttp-inproc-uvloop", "aiohttp, uvloop: {n} keep-alive GETs in-process, 2 tasks/req, 64 conns",
             ["aiohttp_inproc.py", "n={n}", "tasks=2", "conns=64", "loop=uvloop"],
             [per_task_us(PER_OP_BUDGET, "req")],
             n=5000, quick_n=1000, per_task=True, unit="req", requires=("aiohttp", "uvloop"),
             in_quick=False, callgrind="per_task", callgrind_n=1000, callgrind_budget=PER_OP_BUDGET),
    Workload("aiohttp-wrk-uvloop", "aiohttp under wrk, uvloop: 2 tasks/req, 64 conns",
             ["aiohttp_wrk.py", "tasks=2", "conns=64", "duration=4", "warmup=1", "loop=uvloop"],
             WRK_METRICS, inner=2, requires=("aiohttp", "uvloop"), in_quick=False, spread=True,
             twin_workload="aiohttp-inproc-uvloop"),
]


# ---- helpers -----------------------------------------------------------------

def log(msg):
    sys.stderr.write(msg + "\n")
    sys.stderr.flush()


def fmt_n(n):
    if n is None:
        return ""
    if n >= 1000000 and n % 1000000 == 0:
        return "%dM" % (n // 1000000)
    if n >= 1000 and n % 1000 == 0:
        return "%dk" % (n // 1000)
    return str(n)


def scaled(n, factor):
    return max(1, int(round(n * factor)))


class RunError(Exception):
    pass


def base_env():
    env = dict(os.environ)
    for k in ("LD_PRELOAD", "ASYNCLEAK_OPTIONS", "PYTHONASYNCIODEBUG", "PYTHONDEVMODE",
              "PYTHONTRACEMALLOC", "PYTHONMALLOC", "PYTHONSTARTUP", "PYTHONPROFILEIMPORTTIME",
              "PYTHONWARNINGS", "PYTHONPATH", "PYTHONHOME", "PYTHONUTF8"):
        env.pop(k, None)
    env["PYTHONHASHSEED"] = "0"            # same dict layouts in every run
    env["PYTHONDONTWRITEBYTECODE"] = "1"   # no __pycache__ in bench/workloads
    return env


def make_env(cfg, wl, n, files_dir=None):
    env = base_env()
    env.update(cfg.env)
    if cfg.preload:
        env["LD_PRELOAD"] = PRELOAD
        opts = list(cfg.options) + [o.replace("{n}", str(n)) for o in wl.options]
        if files_dir is not None:
            opts += ["json_path=%s/al.%%p.json" % files_dir, "log_path=%s/al.%%p.log" % files_dir]
        if opts:
            env["ASYNCLEAK_OPTIONS"] = ":".join(opts)
    return env


def last_json_line(text):
    for line in reversed(text.splitlines()):
        line = line.strip()
        if line.startswith("{"):
            return json.loads(line)
    raise ValueError("no JSON line on stdout")


def tail(text, lines=5):
    return "\n".join(text.strip().splitlines()[-lines:])


def run_once(python, wl, cfg, n, tmp, quick=False):
    """One process; returns the workload's JSON plus wall_ms (and the report's
    finding count when report_files)."""
    files_dir = tempfile.mkdtemp(prefix="rep.", dir=tmp) if (wl.report_files and cfg.preload) else None
    try:
        env = make_env(cfg, wl, n, files_dir)
        ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        p = subprocess.run([python] + wl.argv(n, quick), env=env, cwd=tmp, stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=RUN_TIMEOUT)
        wall = time.perf_counter() - t0
        ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
        out_s = p.stdout.decode("utf-8", "replace")
        err_s = p.stderr.decode("utf-8", "replace")
        if p.returncode != 0:
            raise RunError("exit status %d: %s" % (p.returncode, tail(err_s) or tail(out_s)))
        result = {}
        if wl.argv_tmpl and wl.argv_tmpl[0].endswith(".py"):
            try:
                result = last_json_line(out_s)
            except ValueError as e:
                raise RunError("%s; stderr: %s" % (e, tail(err_s)))
        result["wall_ms"] = wall * 1000.0
        result["cpu_ms"] = cpu * 1000.0      # runs are sequential: the delta is this child's
        if files_dir is not None:
            result["report"] = read_report(files_dir)
        return result
    except subprocess.TimeoutExpired:
        raise RunError("timed out after %d s" % RUN_TIMEOUT)
    finally:
        if files_dir is not None:
            shutil.rmtree(files_dir, ignore_errors=True)


def read_report(files_dir):
    """Findings listed and counted (listed + dropped) in the JSON report."""
    paths = glob.glob(os.path.join(files_dir, "al.*.json"))
    if not paths:
        return {"files": 0}
    with open(paths[0]) as f:
        d = json.load(f)
    listed = len(d.get("findings", []))
    dropped = sum(d.get("dropped", {}).values()) if isinstance(d.get("dropped"), dict) else 0
    return {"files": len(paths), "listed": listed, "counted": listed + dropped,
            "json_bytes": os.path.getsize(paths[0])}


# ---- interpreters --------------------------------------------------------------

def pyenv_pythons():
    root = None
    try:
        root = subprocess.run(["pyenv", "root"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                              timeout=30).stdout.decode().strip() or None
    except (OSError, subprocess.SubprocessError):
        pass
    if not root:
        root = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    found = []
    for minor in range(8, 14):
        best = None
        for d in glob.glob(os.path.join(root, "versions", "3.%d.*" % minor)):
            m = re.fullmatch(r"3\.%d\.(\d+)" % minor, os.path.basename(d))
            exe = os.path.join(d, "bin", "python3")
            if m and os.access(exe, os.X_OK) and (best is None or int(m.group(1)) > best[0]):
                best = (int(m.group(1)), exe)
        if best is not None:
            found.append(best[1])
        else:
            log("run.py: no pyenv 3.%d under %s/versions" % (minor, root))
    return found


def missing_for(python, version, wl, cache):
    """Why wl cannot run on this interpreter ('' when it can): a module of
    wl.requires that does not import, or a version below wl.min_python.
    cache: {(python, module): importable} across workloads."""
    if wl.min_python is not None:
        v = tuple(int(x) for x in re.findall(r"\d+", version)[:2])
        if v < tuple(wl.min_python):
            return "needs Python %d.%d+" % tuple(wl.min_python)
    for mod in wl.requires:
        key = (python, mod)
        if key not in cache:
            try:
                cache[key] = subprocess.run([python, "-c", "import " + mod], env=base_env(),
                                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                            timeout=120).returncode == 0
            except (OSError, subprocess.SubprocessError):
                cache[key] = False
        if not cache[key]:
            return "no module %s" % mod
    return ""


def python_version(python):
    p = subprocess.run([python, "-c", "import platform; print(platform.python_version())"],
                       env=base_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    if p.returncode != 0:
        raise RunError("%s does not run: %s" % (python, tail(p.stderr.decode("utf-8", "replace"))))
    return p.stdout.decode().strip()


def preload_active(python, tmp):
    """True when the preload reports a pending task left at loop close."""
    files_dir = tempfile.mkdtemp(prefix="sanity.", dir=tmp)
    try:
        wl = Workload("sanity", "", ["sanity.py"], [])
        cfg = next((c for c in CONFIGS if c.preload and not c.options), Config("asyncleak", preload=True))
        env = make_env(cfg, wl, 0, files_dir)
        subprocess.run([python] + wl.argv(0), env=env, cwd=tmp, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=120)
        rep = read_report(files_dir)
        return rep.get("listed", 0) >= 1
    except (OSError, subprocess.SubprocessError, ValueError):
        return False
    finally:
        shutil.rmtree(files_dir, ignore_errors=True)


# ---- measuring -------------------------------------------------------------------

class Cell:
    def __init__(self):
        self.samples = []
        self.errors = []
        self.n = None
        self.extra = {}

    def median(self):
        return statistics.median(self.samples) if self.samples else None


class Row:
    """One line of the table: a metric of a workload (or its callgrind count)
    on one interpreter, with a Cell per configuration."""

    def __init__(self, interp, wl, metric, callgrind=False):
        self.interp, self.wl, self.metric, self.callgrind = interp, wl, metric, callgrind
        self.cells = {c.name: Cell() for c in CONFIGS}

    def budget(self):
        if self.callgrind:
            return self.wl.callgrind_budget if self.wl.callgrind == "per_task" else self.metric.budget
        return self.metric.budget


def workload_n(wl, quick):
    if wl.n is None:
        return None
    return wl.quick_n if quick and wl.quick_n else wl.n


def measure_wall(interp, workloads, reps, quick, tmp):
    """Every workload, every configuration, alternating within each repetition."""
    rows = {}
    for wl in workloads:
        rows[wl.name] = [Row(interp, wl, m) for m in wl.metrics]
    python = interp["python"]
    # Warm the page cache for every configuration (first runs read from disk).
    warm = Workload("warm-up", "", ["-c", "import asyncio"], [])
    for cfg in CONFIGS:
        try:
            run_once(python, warm, cfg, 0, tmp)
        except RunError:
            pass
    for rep in range(reps):
        for wl in workloads:
            nreps = min(reps, wl.max_reps) if wl.max_reps else reps
            if rep >= nreps:
                continue
            n = workload_n(wl, quick)
            cfgs = [c for c in CONFIGS if wl.runs_under(c)]
            log("  [%s] rep %d/%d %s%s" % (interp["version"], rep + 1, nreps, wl.name,
                                           " n=%s" % fmt_n(n) if n else ""))
            for k in range(wl.inner):
                shift = (rep * wl.inner + k) % len(cfgs)
                for cfg in cfgs[shift:] + cfgs[:shift]:
                    cn = scaled(n, cfg.scale) if (n and wl.per_task) else n
                    for row in rows[wl.name]:
                        row.cells[cfg.name].n = cn
                    try:
                        res = run_once(python, wl, cfg, cn, tmp, quick)
                    except RunError as e:
                        for row in rows[wl.name]:
                            row.cells[cfg.name].errors.append(str(e))
                        log("    %s: ERROR %s" % (cfg.name, e))
                        continue
                    for row in rows[wl.name]:
                        cell = row.cells[cfg.name]
                        if row.metric.key in res:
                            cell.samples.append(float(res[row.metric.key]))
                        if "report" in res:
                            cell.extra["report"] = res["report"]
    return [r for wl in workloads for r in rows[wl.name]]


def callgrind_total(python, wl, cfg, n, tmp):
    fd, out = tempfile.mkstemp(prefix="cg.", suffix=".out", dir=tmp)
    os.close(fd)
    try:
        argv = ["valgrind", "--tool=callgrind", "--dump-instr=no",
                "--callgrind-out-file=" + out, python] + wl.argv(n)
        p = subprocess.run(argv, env=make_env(cfg, wl, n), cwd=tmp, stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=RUN_TIMEOUT)
        if p.returncode != 0:
            raise RunError("callgrind exit status %d: %s"
                           % (p.returncode, tail(p.stderr.decode("utf-8", "replace"))))
        with open(out) as f:
            for line in f:
                if line.startswith(("summary:", "totals:")):
                    return int(line.split()[1])
        raise RunError("no totals in " + out)
    except subprocess.TimeoutExpired:
        raise RunError("callgrind timed out after %d s" % RUN_TIMEOUT)
    finally:
        os.unlink(out)


def callgrind_n(wl, quick):
    return wl.callgrind_n // 2 if quick else wl.callgrind_n


def callgrind_jobs(interp, workloads, quick):
    """(row, cfg, [(n, sign)...], divisor) for every callgrind cell."""
    jobs, rows = [], []
    for wl in workloads:
        if wl.callgrind is None or (quick and not wl.quick_callgrind):
            continue
        if wl.callgrind == "per_task":
            n = callgrind_n(wl, quick)
            metric = Metric("instr_per_task", "instructions/%s (callgrind, %s minus %s %ss)"
                            % (wl.unit, fmt_n(2 * n), fmt_n(n), wl.unit), "instr/" + wl.unit,
                            "ratio", digits=0)
        else:
            metric = Metric("instr", "instructions (callgrind)", "Minstr", "delta", digits=1)
        row = Row(interp, wl, metric, callgrind=True)
        rows.append(row)
        for cfg in CONFIGS:
            if not wl.runs_under(cfg) or (cfg.callgrind_only is not None and wl.name not in cfg.callgrind_only):
                continue
            if quick and not (cfg is BASELINE or cfg.budgeted):
                continue
            if wl.callgrind == "per_task":
                n = scaled(callgrind_n(wl, quick), cfg.callgrind_scale)
                row.cells[cfg.name].n = n
                jobs.append((row, cfg, [(2 * n, 1), (n, -1)], float(n)))
            else:
                jobs.append((row, cfg, [(0, 1)], 1e6))
    return rows, jobs


def measure_callgrind(interp_rows_jobs, tmp, njobs):
    """Runs every callgrind process (njobs at a time: instruction counts do not
    depend on the machine's load) and fills the cells."""
    tasks = []
    for interp, rows, jobs in interp_rows_jobs:
        for row, cfg, parts, div in jobs:
            for n, sign in parts:
                tasks.append((interp, row, cfg, n, sign, div))
    # Longest first, so the last processes do not run alone: debug mode costs
    # ~15x per task, so its (smaller) runs are the long ones.
    tasks.sort(key=lambda t: -(t[3] or 1) * (15 if t[2].env.get("PYTHONASYNCIODEBUG") else 1))
    results = {}

    def one(t):
        interp, row, cfg, n, sign, div = t
        return callgrind_total(interp["python"], row.wl, cfg, n, tmp)

    log("callgrind: %d processes, %d at a time" % (len(tasks), njobs))
    with concurrent.futures.ThreadPoolExecutor(max_workers=njobs) as ex:
        futs = {ex.submit(one, t): t for t in tasks}
        for fut in concurrent.futures.as_completed(futs):
            t = futs[fut]
            interp, row, cfg, n, sign, div = t
            key = (id(row), cfg.name)
            try:
                instr = fut.result()
                log("  [%s] %s %s n=%s: %d instructions" % (interp["version"], row.wl.name, cfg.name, n, instr))
                if key not in results or results[key] is not None:
                    results[key] = (results.get(key) or 0) + sign * instr
            except RunError as e:
                log("  [%s] %s %s: ERROR %s" % (interp["version"], row.wl.name, cfg.name, e))
                row.cells[cfg.name].errors.append(str(e))
                results[key] = None
    for interp, rows, jobs in interp_rows_jobs:
        for row, cfg, parts, div in jobs:
            v = results.get((id(row), cfg.name))
            if v is not None:
                row.cells[cfg.name].samples.append(v / div)


# ---- the table -------------------------------------------------------------------

def fmt_value(v, digits):
    if v is None:
        return "-"
    if digits == 0:
        return "{:,.0f}".format(v)
    return "%.*f" % (digits, v)


def relative(row, cfg):
    """(text, ratio-or-delta) of cfg against the baseline of this row."""
    base = row.cells[BASELINE.name].median()
    med = row.cells[cfg.name].median()
    if base is None or med is None:
        return "", None
    if row.metric.compare == "ratio":
        if not base:
            return "", None
        r = med / base
        b = row.budget()
        # A budget within 5% of 1x needs the third digit (0.967x is not 0.97x).
        fine = b is not None and b.kind in ("ratio", "min_ratio") and abs(b.limit - 1) <= 0.05
        return ("%.3fx" if fine else "%.2fx") % r, r
    d = med - base
    unit = row.metric.unit.split("/")[0]
    return "%+.*f %s" % (row.metric.digits, d, unit), d


def verdict(row, cfg):
    b = row.budget()
    if b is None or not cfg.budgeted:
        return None, ""
    base = row.cells[BASELINE.name].median()
    med = row.cells[cfg.name].median()
    if med is None or (b.kind != "abs" and base is None):
        return None, "n/a"
    return b.check(med, base)


def spread_text(cell, digits):
    if len(cell.samples) < 2 or not cell.median():
        return "-"
    lo, hi = min(cell.samples), max(cell.samples)
    return "%d%% (%s-%s)" % (round((hi - lo) / cell.median() * 100), fmt_value(lo, digits),
                             fmt_value(hi, digits))


def paired_text(row, cfg):
    """', paired 0.98x (0.87-1.16)': the ratio of each sample to the baseline
    sample of the same repetition (run next to it, so slow drift in the
    machine's load cancels), when both columns have every sample."""
    base, mine = row.cells[BASELINE.name].samples, row.cells[cfg.name].samples
    if cfg is BASELINE or len(base) < 4 or len(mine) != len(base) or not all(base):
        return ""
    ratios = [m / b for m, b in zip(mine, base)]
    q1, _, q3 = statistics.quantiles(ratios, n=4)
    return ", paired %.3fx (%.2f-%.2f)" % (statistics.median(ratios), q1, q3)


def row_label(row, quick):
    if row.callgrind:
        return "  " + row.metric.label
    n = workload_n(row.wl, quick)
    label = row.wl.label.replace("{n}", fmt_n(n))
    if len(row.wl.metrics) > 1 or row.metric.key not in ("per_task_us", "wall_ms", "seconds",
                                                         "conn_per_s", "req_per_s"):
        label += ": " + row.metric.label
    return label


def cell_text(row, cfg):
    cell = row.cells[cfg.name]
    if not row.wl.runs_under(cfg):
        return "skip"
    if cell.errors and not cell.samples:
        return "ERR"
    if not cell.samples:
        return "-"
    return fmt_value(cell.median(), row.metric.digits)


def build_table(rows, quick, multi):
    header = (["python"] if multi else []) + ["workload", "unit"]
    for cfg in CONFIGS:
        header.append(cfg.name)
        if cfg is not BASELINE:
            header.append("vs base")
            if cfg.budgeted:
                header.append("budget")
    lines = []
    for row in rows:
        line = ([row.interp["version"]] if multi else []) + [row_label(row, quick), row.metric.unit]
        for cfg in CONFIGS:
            line.append(cell_text(row, cfg))
            if cfg is not BASELINE:
                line.append(relative(row, cfg)[0])
                if cfg.budgeted:
                    line.append(verdict(row, cfg)[1])
        lines.append(line)
    widths = [max(len(str(x)) for x in col) for col in zip(header, *lines)]
    numeric_from = (1 if multi else 0) + 2

    def render(line):
        out = []
        for i, (x, w) in enumerate(zip(line, widths)):
            out.append(str(x).rjust(w) if i >= numeric_from and not str(x).startswith(("PASS", "FAIL"))
                       else str(x).ljust(w))
        return "  ".join(out).rstrip()

    sep = "  ".join("-" * w for w in widths)
    text = [render(header), sep]
    prev = None
    for row, line in zip(rows, lines):
        if multi and prev is not None and row.interp is not prev:
            text.append(sep)
        prev = row.interp
        text.append(render(line))
    return "\n".join(text)


# ---- machine ---------------------------------------------------------------------

def sha256(path):
    try:
        with open(path, "rb") as f:
            return hashlib.sha256(f.read()).hexdigest()
    except OSError:
        return None


def snapshot_lib(tmp):
    """Copies LIB into tmp/snap/build/ (with tmp/snap/python linked to the
    tree's python/, so the library finds its package as it does in build/) and
    points PRELOAD at the copy: the whole run measures one build even when the
    tree is rebuilt meanwhile.  Returns the copy's sha256."""
    global PRELOAD
    snap = os.path.join(tmp, "snap")
    os.makedirs(os.path.join(snap, "build"))
    if os.path.isdir(os.path.join(ROOT, "python")):
        os.symlink(os.path.join(ROOT, "python"), os.path.join(snap, "python"))
    dst = os.path.join(snap, "build", "libasyncleak.so")
    shutil.copy2(LIB, dst)
    PRELOAD = dst
    return sha256(dst)


def machine_info():
    model = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    lib = {"path": LIB}
    try:
        lib["mtime"] = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(os.path.getmtime(LIB)))
    except OSError:
        pass
    commit = ""
    try:
        commit = subprocess.run(["git", "-C", ROOT, "describe", "--always", "--dirty"],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                timeout=30).stdout.decode().strip()
    except (OSError, subprocess.SubprocessError):
        pass
    return {"nproc": os.cpu_count(), "cpu": model, "kernel": platform.release(),
            "loadavg_start": os.getloadavg(), "date": time.strftime("%Y-%m-%d %H:%M:%S %z"),
            "lib": lib, "commit": commit}


# ---- main ------------------------------------------------------------------------

def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--python", action="append", metavar="PATH",
                    help="interpreter to measure (repeatable; default %s)" % DEFAULT_PYTHON)
    ap.add_argument("--all", action="store_true",
                    help="also every pyenv 3.8-3.13 ($(pyenv root)/versions/3.X.*/bin/python3)")
    ap.add_argument("--quick", action="store_true", help="small n, 2 repetitions (CI smoke)")
    ap.add_argument("--reps", type=int, metavar="N", help="repetitions (default 5, --quick 2)")
    ap.add_argument("--json", metavar="FILE", help="write machine-readable results to FILE")
    ap.add_argument("--strict", action="store_true",
                    help="exit 1 when a budget is missed (a wall-time miss whose instruction "
                         "count passes does not count)")
    ap.add_argument("--no-callgrind", action="store_true", help="skip the instruction counts")
    ap.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1),
                    help="callgrind processes at a time (default: %(default)s)")
    ap.add_argument("--lib", metavar="PATH", default=LIB,
                    help="the preload to measure (default: build/libasyncleak.so)")
    ap.add_argument("--only", metavar="NAME[,NAME]",
                    help="only these workloads (%s)" % ", ".join(w.name for w in WORKLOADS))
    a = ap.parse_args(argv)
    if a.reps is not None and a.reps < 1:
        ap.error("--reps must be at least 1")
    return a


def main(argv=None):
    global LIB
    a = parse_args(argv)
    LIB = os.path.abspath(a.lib)
    reps = a.reps or (2 if a.quick else 5)
    workloads = WORKLOADS
    if a.only:
        names = a.only.split(",")
        unknown = [x for x in names if x not in [w.name for w in WORKLOADS]]
        if unknown:
            log("run.py: unknown workload(s): %s" % ", ".join(unknown))
            return 2
        workloads = [w for w in WORKLOADS if w.name in names]
    elif a.quick:
        workloads = [w for w in WORKLOADS if w.in_quick]
    if not os.path.exists(LIB):
        log("run.py: %s is missing: run make first" % LIB)
        return 2
    pythons = list(a.python or [])
    if not pythons or a.all:
        if DEFAULT_PYTHON not in pythons:
            pythons.insert(0, DEFAULT_PYTHON)
    if a.all:
        pythons += [p for p in pyenv_pythons() if p not in pythons]
    use_callgrind = not a.no_callgrind
    notes = []
    if use_callgrind and shutil.which("valgrind") is None:
        use_callgrind = False
        notes.append("valgrind not found: no instruction counts (scripts/deps.sh bench installs it)")

    info = machine_info()
    t_start = time.time()
    tmp = tempfile.mkdtemp(prefix="asyncleak-bench.")
    all_rows, cg_plan, interps = [], [], []
    import_cache = {}
    try:
        info["lib"]["sha256"] = snapshot_lib(tmp)
        for python in pythons:
            try:
                version = python_version(python)
            except (RunError, OSError, subprocess.SubprocessError) as e:
                notes.append("%s skipped: %s" % (python, e))
                continue
            interp = {"python": python, "version": version}
            interp["active"] = preload_active(python, tmp)
            if not interp["active"]:
                notes.append("%s (%s): asyncleak did not report a pending task in bench/workloads/"
                             "sanity.py: its preloaded rows measure an inactive library" % (version, python))
            interps.append(interp)
            log("%s (%s): %d repetitions, asyncleak %s" % (version, python, reps,
                                                            "active" if interp["active"] else "INACTIVE"))
            runnable = []
            for wl in workloads:
                why = missing_for(python, version, wl, import_cache)
                if why:
                    notes.append("%s (%s): %s left out: %s" % (version, python, wl.name, why))
                else:
                    runnable.append(wl)
            rows = measure_wall(interp, runnable, reps, a.quick, tmp)
            cg_rows, cg_jobs = callgrind_jobs(interp, runnable, a.quick) if use_callgrind else ([], [])
            cg_plan.append((interp, cg_rows, cg_jobs))
            # Each callgrind row goes right after its workload's wall rows.
            for wl in runnable:
                all_rows += [r for r in rows if r.wl is wl] + [r for r in cg_rows if r.wl is wl]
        if use_callgrind:
            measure_callgrind(cg_plan, tmp, max(1, a.jobs))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    info["loadavg_end"] = os.getloadavg()
    if sha256(LIB) != info["lib"]["sha256"]:
        notes.append("%s was rebuilt during the run: every row measured the copy taken at the start "
                     "(sha256 %s)" % (os.path.relpath(LIB, ROOT) if LIB.startswith(ROOT + os.sep) else LIB,
                                        info["lib"]["sha256"][:12]))
    info["seconds"] = round(time.time() - t_start, 1)

    # ---- print ----
    multi = len(interps) > 1
    print("asyncleak overhead: %s, %d x %s, kernel %s; load %.2f -> %.2f; %s"
          % (info["date"], info["nproc"] or 0, info["cpu"], info["kernel"],
             info["loadavg_start"][0], info["loadavg_end"][0],
             "quick" if a.quick else "%d repetitions" % reps))
    print("library: %s (sha256 %s, built %s), tree %s"
          % (os.path.relpath(LIB, ROOT) if LIB.startswith(ROOT + os.sep) else LIB,
             (info["lib"].get("sha256") or "?")[:12],
             info["lib"].get("mtime", "?"), info["commit"] or "?"))
    if not multi and interps:
        print("python: %s (%s)" % (interps[0]["version"], interps[0]["python"]))
    print()
    print(build_table(all_rows, a.quick, multi))
    print()
    scaled_cfgs = [c for c in CONFIGS if c.scale != 1.0]
    for c in scaled_cfgs:
        print("note: %s runs per-task workloads with n x %g (callgrind: n x %g%s)"
              % (c.name, c.scale, c.callgrind_scale,
                 ", only " + ", ".join(c.callgrind_only) if c.callgrind_only else ""))
    for wl in workloads:
        if wl.skip_note:
            print("note: " + wl.skip_note)
    print("note: wall rows are medians of alternating runs (noisy on a shared machine); "
          "callgrind rows are exact instruction counts")
    for row in all_rows:
        if row.wl.spread and not row.callgrind:
            print("note: spread of %s%s [%s], (max - min) / median (min-max); paired: median and "
                  "quartiles of the ratios to the baseline run of the same repetition: %s"
                  % (row.interp["version"] + " " if multi else "", row_label(row, a.quick).strip(),
                     row.metric.unit,
                     "; ".join("%s %s%s" % (cfg.name, spread_text(row.cells[cfg.name], row.metric.digits),
                                            paired_text(row, cfg))
                               for cfg in CONFIGS if row.wl.runs_under(cfg))))
    for row in all_rows:
        for cfg in CONFIGS:
            cell = row.cells[cfg.name]
            rep = cell.extra.get("report")
            if rep and cfg.preload:
                n = workload_n(row.wl, a.quick)
                if rep.get("counted", 0) < n:
                    notes.append("%s %s %s: the report counted %s of %d pending tasks"
                                 % (row.interp["version"], row.wl.name, cfg.name, rep.get("counted"), n))
            for e in sorted(set(cell.errors)):
                notes.append("%s %s %s: %s" % (row.interp["version"], row.wl.name, cfg.name, e))
    # A wall-time miss whose callgrind twin (same workload, interpreter and
    # configuration) passes is most likely noise: listed, but not fatal.
    misses, hard = [], 0
    for row in all_rows:
        for cfg in CONFIGS:
            ok, text = verdict(row, cfg)
            if ok is not False:
                continue
            twins = [r for r in all_rows if r.interp is row.interp and not row.callgrind
                     and ((r.wl is row.wl and (r.callgrind or (row.metric.twin and r.metric.key == row.metric.twin)))
                          or (r.callgrind and r.wl.name == row.wl.twin_workload))]
            soft = any(verdict(t, cfg)[0] is True for t in twins)
            hard += not soft
            label = row_label(row, a.quick).strip()
            if row.callgrind:
                label = "%s: %s" % (row.wl.label.replace("{n}", fmt_n(workload_n(row.wl, a.quick))), label)
            misses.append("%s%s [%s] %s: %s %s%s"
                          % (row.interp["version"] + " " if multi else "", label,
                             row.metric.unit, cfg.name, relative(row, cfg)[0], text,
                             " (wall time only: the instruction count or CPU time passes, likely noise)"
                             if soft else ""))
    for n in notes:
        print("note: " + n)
    if misses:
        print("budget misses (%d):" % len(misses))
        for m in misses:
            print("  " + m)
    else:
        print("budget misses: none")
    print("(%.0f s)" % info["seconds"])

    if a.json:
        write_json(a.json, info, interps, all_rows, notes, misses, reps, a.quick)
    return 1 if (a.strict and hard) else 0


def write_json(path, info, interps, rows, notes, misses, reps, quick):
    out = {"machine": info, "reps": reps, "quick": quick,
           "configs": [{"name": c.name, "preload": c.preload, "options": list(c.options),
                        "env": c.env, "budgeted": c.budgeted, "scale": c.scale} for c in CONFIGS],
           "interpreters": interps, "rows": [], "budget_misses": misses, "notes": notes}
    for row in rows:
        r = {"python": row.interp["python"], "version": row.interp["version"],
             "workload": row.wl.name, "label": row_label(row, quick).strip(),
             "metric": row.metric.key, "unit": row.metric.unit, "callgrind": row.callgrind,
             "compare": row.metric.compare, "configs": {}}
        b = row.budget()
        if b is not None:
            r["budget"] = {"kind": b.kind, "limit": b.limit, "aim": b.aim}
        for cfg in CONFIGS:
            cell = row.cells[cfg.name]
            c = {"n": cell.n, "samples": cell.samples, "median": cell.median(),
                 "errors": cell.errors}
            if cell.samples:
                c["min"], c["max"] = min(cell.samples), max(cell.samples)
            if cfg is not BASELINE:
                c["vs_baseline"] = relative(row, cfg)[1]
                ok, text = verdict(row, cfg)
                if text:
                    c["budget"] = {"ok": ok, "text": text}
            c.update(cell.extra)
            r["configs"][cfg.name] = c
        out["rows"].append(r)
    with open(path, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    sys.exit(main())
