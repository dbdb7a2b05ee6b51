"""conftest.py - shared machinery of the integration tests of the preload.

Interpreters
    `interp` is parametrized over INTERP_NAMES: the pyenv CPython builds 3.8 to
    3.13 (found as $(pyenv root)/versions/3.X.N/bin/python3, PYENV_ROOT or
    ~/.pyenv, the newest patch release of each; the pyenv shim is never
    called) and "system", Debian's /usr/bin/python3 (the only one with
    aiohttp and uvloop).  A missing interpreter makes its tests SKIP with a
    message naming it; it is never dropped from the parametrization.

Running programs
    run_program(interp, tmp_path, "name.py", *args) runs programs/name.py,
    run_source(interp, tmp_path, source, *args) runs source written to
    tmp_path/prog.py.  Both preload build/libasyncleak.so with
    json_path=tmp_path/al.%p.json (plus the options given), a 30 s timeout,
    and return a Run: (returncode, stdout, stderr, report) unpacks, and
    .reports holds every process's report by pid.  Every report written is
    checked with the shared contract checker (ROOT/../shared/contract/
    check-report, which validates against report.schema.json with
    python3-jsonschema); a missing checker or jsonschema fails the test.

Assertions
    marker_line(path, "fire") is the line holding "# ORIGIN:fire";
    assert_origin(finding, path, line) checks what a user reads in a finding:
    the origin's last frame is that file and line, and stacks are outermost
    first with no asyncio-internal frame last.
"""
import functools
import glob
import json
import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
PROGRAMS = HERE / "programs"
LIB = ROOT / "build" / "libasyncleak.so"
ASYNCLEAK = ROOT / "build" / "asyncleak"
CONTRACT = ROOT.parent / "shared" / "contract"
CHECKER = CONTRACT / "check-report"
SCHEMA = CONTRACT / "report.schema.json"
SYSTEM_PYTHON = "/usr/bin/python3"
TIMEOUT = 30

INTERP_NAMES = ["3.8", "3.9", "3.10", "3.11", "3.12", "3.13", "system"]


# ---- interpreters -------------------------------------------------------------

def pyenv_root() -> Path:
    return Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")


@dataclass
class Interp:
    name: str                 # "3.8" ... "3.13" or "system"
    exe: Optional[str]        # None when missing
    missing: str = ""         # why, when missing
    _version: Optional[tuple] = None

    @property
    def version(self) -> tuple:
        """(major, minor) of the interpreter."""
        if self._version is None:
            self._version = _query_version(self.exe)
        return self._version

    def __str__(self):
        return f"python {self.name} ({self.exe})"

    def can_import(self, module: str) -> bool:
        return _can_import(self.exe, module)


@functools.lru_cache(maxsize=None)
def _query_version(exe: str) -> tuple:
    out = subprocess.run([exe, "-c", "import sys; print(*sys.version_info[:2])"],
                         capture_output=True, text=True, timeout=TIMEOUT, env=clean_env())
    major, minor = out.stdout.split()
    return int(major), int(minor)


@functools.lru_cache(maxsize=None)
def _can_import(exe: str, module: str) -> bool:
    p = subprocess.run([exe, "-c", f"import {module}"], capture_output=True,
                       timeout=TIMEOUT, env=clean_env())
    return p.returncode == 0


def _discover(name: str) -> Interp:
    if name == "system":
        if os.access(SYSTEM_PYTHON, os.X_OK):
            return Interp(name, SYSTEM_PYTHON)
        return Interp(name, None, f"{SYSTEM_PYTHON} not found")
    root = pyenv_root()
    pattern = f"{root}/versions/{name}.*/bin/python3"
    found = []
    for exe in glob.glob(pattern):
        m = re.fullmatch(re.escape(name) + r"\.(\d+)", Path(exe).parents[1].name)
        if m and os.access(exe, os.X_OK):
            found.append((int(m.group(1)), exe))
    if not found:
        return Interp(name, None, f"no CPython {name} at {pattern}")
    major, minor = map(int, name.split("."))
    return Interp(name, max(found)[1], _version=(major, minor))


INTERPRETERS: Dict[str, Interp] = {n: _discover(n) for n in INTERP_NAMES}


def pytest_generate_tests(metafunc):
    if "interp" in metafunc.fixturenames:
        metafunc.parametrize("interp", INTERP_NAMES, indirect=True)


@pytest.fixture
def interp(request) -> Interp:
    it = INTERPRETERS[request.param]
    if it.exe is None:
        pytest.skip(f"interpreter {it.name} is missing: {it.missing}")
    return it


def need_version(interp: Interp, minimum: tuple, feature: str):
    if interp.version < minimum:
        pytest.skip(f"{feature} needs Python {'.'.join(map(str, minimum))}+, "
                    f"{interp.name} is {'.'.join(map(str, interp.version))}")


def need_system(interp: Interp, feature: str):
    if interp.name != "system":
        pytest.skip(f"{feature}: only Debian's {SYSTEM_PYTHON} has it (this is {interp.name})")


def need_module(interp: Interp, module: str):
    if not interp.can_import(module):
        pytest.skip(f"{module} cannot be imported by {interp}")


# ---- environment and running --------------------------------------------------

def clean_env(**extra) -> dict:
    """os.environ without the preload, asyncleak or PYTHON* variables, plus extra
    (a value of None removes the variable)."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PYTHON", "ASYNCLEAK_")) and k not in ("LD_PRELOAD", "LD_BIND_NOW")}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    for k, v in extra.items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = v
    return env


def preload_env(tmp_path: Path, options=(), json=True, **extra) -> dict:
    """Environment that preloads the library with json_path in tmp_path."""
    if not LIB.exists():
        pytest.fail(f"{LIB} is not built: run `make` in {ROOT}")
    opts = []
    if json:
        opts.append(f"json_path={tmp_path}/al.%p.json")
    opts.extend(options)
    env = clean_env(LD_PRELOAD=str(LIB), **extra)
    if opts:
        env["ASYNCLEAK_OPTIONS"] = ":".join(opts)
    return env


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str
    report: Optional[dict]                  # the report of the process started
    pid: int                                # that process's pid
    reports: Dict[int, dict] = field(default_factory=dict)   # pid -> report
    paths: Dict[int, Path] = field(default_factory=dict)      # pid -> report file
    argv: List[str] = field(default_factory=list)

    def __iter__(self):
        return iter((self.returncode, self.stdout, self.stderr, self.report))

    def describe(self) -> str:
        return (f"command: {self.argv}\nreturn code: {self.returncode}\n"
                f"--- stdout ---\n{self.stdout}\n--- stderr ---\n{self.stderr}\n"
                f"--- reports ---\n{json.dumps(self.reports, indent=1)[:20000]}")

    def findings(self, kind=None, report=None) -> list:
        rep = self.report if report is None else report
        if rep is None:
            return []
        return [f for f in rep.get("findings", []) if kind is None or f.get("kind") == kind]

    def finding_for(self, name: str, report=None) -> dict:
        """The one finding whose task is named name."""
        hits = [f for f in self.findings(report=report) if (f.get("task") or {}).get("name") == name]
        assert len(hits) == 1, f"expected one finding for task {name!r}, got {len(hits)}\n{self.describe()}"
        return hits[0]


def run_cmd(argv, tmp_path: Path, env=None, cwd=None, timeout=TIMEOUT, check_reports=True,
            stdin=subprocess.DEVNULL) -> Run:
    """Runs argv (env: preload_env(tmp_path) unless given), collects tmp_path/al.*.json."""
    env = preload_env(tmp_path) if env is None else env
    proc = subprocess.Popen([str(a) for a in argv], env=env, cwd=cwd, stdin=stdin,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            errors="backslashreplace")
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        pytest.fail(f"{argv} did not finish in {timeout} s\n--- stdout ---\n{out}\n--- stderr ---\n{err}")
    run = Run(proc.returncode, out, err, None, proc.pid, argv=[str(a) for a in argv])
    files = sorted(glob.glob(f"{tmp_path}/al.*.json"))
    leftovers = [f for f in files if ".tmp." in Path(f).name]
    assert not leftovers, f"temporary report files left behind: {leftovers}\n{run.describe()}"
    for f in files:
        m = re.fullmatch(r"al\.(\d+)\.json", Path(f).name)
        if not m:
            continue
        with open(f, encoding="utf-8") as fh:
            try:
                doc = json.load(fh)
            except ValueError as e:
                pytest.fail(f"{f} is not valid JSON: {e}\n{run.describe()}")
        run.reports[int(m.group(1))] = doc
        run.paths[int(m.group(1))] = Path(f)
        assert doc.get("pid") == int(m.group(1)), f"{f} holds pid {doc.get('pid')}"
    run.report = run.reports.get(proc.pid)
    if check_reports and run.paths:
        check_contract(list(run.paths.values()), run)
    return run


def program_path(name: str) -> Path:
    p = PROGRAMS / name
    assert p.exists(), f"no program {p}"
    return p


def run_program(interp: Interp, tmp_path: Path, name: str, *args, options=(), env=None,
                py_flags=(), cwd=None, **kw) -> Run:
    env = preload_env(tmp_path, options) if env is None else env
    return run_cmd([interp.exe, *py_flags, program_path(name), *args], tmp_path, env=env, cwd=cwd, **kw)


def run_source(interp: Interp, tmp_path: Path, source: str, *args, options=(), env=None,
               filename="prog.py", **kw) -> Run:
    prog = tmp_path / filename
    prog.write_text(source)
    env = preload_env(tmp_path, options) if env is None else env
    return run_cmd([interp.exe, prog, *args], tmp_path, env=env, **kw)


def run_plain(argv, timeout=TIMEOUT, **kw):
    """Runs argv without the preload (the baseline a preloaded run must match)."""
    return subprocess.run([str(a) for a in argv], env=clean_env(), capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL, errors="backslashreplace", **kw)


# ---- the contract -------------------------------------------------------------

@functools.lru_cache(maxsize=None)
def contract_ready() -> str:
    """'' when the checker can run with jsonschema, else why not."""
    if not CHECKER.exists():
        return (f"contract checker {CHECKER} is missing: the shared contract must sit beside the "
                f"repository (ROOT/../shared/contract)")
    if not SCHEMA.exists():
        return f"contract schema {SCHEMA} is missing"
    p = subprocess.run([SYSTEM_PYTHON, "-c", "import jsonschema"], capture_output=True, text=True,
                       env=clean_env())
    if p.returncode != 0:
        return (f"python3-jsonschema is not importable by {SYSTEM_PYTHON}: the checker would skip "
                f"the schema\n{p.stderr}")
    return ""


def check_contract(paths, run: Optional[Run] = None):
    why = contract_ready()
    if why:
        pytest.fail(why)
    p = subprocess.run([SYSTEM_PYTHON, str(CHECKER), *map(str, paths)], capture_output=True,
                       text=True, timeout=TIMEOUT, env=clean_env())
    assert p.returncode == 0, (f"contract check failed for {paths}:\n{p.stdout}{p.stderr}\n"
                               + (run.describe() if run else ""))


# ---- what a user reads in a finding -------------------------------------------

def marker_line(path, marker: str) -> int:
    """1-based number of the one line of path holding '# ORIGIN:marker'."""
    text = Path(path).read_text()
    tag = f"# ORIGIN:{marker}"
    hits = [i for i, line in enumerate(text.splitlines(), 1)
            if tag in line and (line.split(tag, 1)[1][:1] in ("", " "))]
    assert len(hits) == 1, f"{path}: expected one '{tag}', found {len(hits)}"
    return hits[0]


def is_asyncio_internal(file: str) -> bool:
    parts = file.replace("\\", "/").split("/")
    return (len(parts) >= 3 and parts[-2] == "asyncio" and parts[-3].startswith("python")
            and parts[-1].endswith(".py"))


def same_file(reported: str, expected, cwd=None) -> bool:
    rp = Path(reported)
    if not rp.is_absolute():
        rp = Path(cwd or os.getcwd()) / rp
    return os.path.realpath(rp) == os.path.realpath(expected)


def short_name(function: str) -> str:
    """'main', for 'main' and 'outer.<locals>.main' (co_qualname on 3.11+)."""
    return function.rsplit(".", 1)[-1]


def frames_of(stack) -> list:
    assert isinstance(stack, dict) and isinstance(stack.get("frames"), list), stack
    return stack["frames"]


def fmt_frames(frames) -> str:
    return "\n".join(f"  {f.get('file')}:{f.get('line')} in {f.get('function')}" for f in frames)


def assert_origin(finding: dict, path, line, outer: Optional[str] = "<module>", cwd=None):
    """The finding's origin ends at path:line (line may be a set of allowed
    lines), no asyncio-internal frame is last, and the frames are outermost
    first: a frame of function `outer` comes before the last one."""
    frames = frames_of(finding.get("origin"))
    assert frames, f"empty origin in {json.dumps(finding, indent=1)}"
    last = frames[-1]
    assert not is_asyncio_internal(last["file"]), f"asyncio frame last in origin:\n{fmt_frames(frames)}"
    lines = {line} if isinstance(line, int) else set(line)
    assert same_file(last["file"], path, cwd) and last["line"] in lines, (
        f"origin should end at {path}:{sorted(lines)}, ends at {last['file']}:{last['line']}\n"
        f"{fmt_frames(frames)}")
    if outer is not None:
        idx = [i for i, f in enumerate(frames[:-1]) if short_name(f["function"]) == outer]
        assert idx, (f"origin has no '{outer}' frame before the creating line (outermost first):\n"
                     f"{fmt_frames(frames)}")
    return frames


def assert_suspended_in(finding: dict, coro_function: str):
    """suspended_at is outermost coroutine first: it starts in coro_function."""
    frames = frames_of(finding.get("suspended_at"))
    assert frames, finding
    assert short_name(frames[0]["function"]) == coro_function, (
        f"suspended_at should start in {coro_function} (outermost first):\n{fmt_frames(frames)}")
    return frames


def assert_task(finding: dict, kind: str, when: str, name=None, coro=None):
    assert finding.get("kind") == kind and finding.get("when") == when, (
        f"expected {kind} at {when}, got {finding.get('kind')} at {finding.get('when')}")
    task = finding.get("task") or {}
    if name is not None:
        if isinstance(name, re.Pattern):
            assert name.fullmatch(task.get("name", "")), task
        else:
            assert task.get("name") == name, task
    if coro is not None:
        assert short_name(task.get("coro", "")) == coro, task


def assert_text_mentions(run: Run, kind: str, path, line: int):
    """The text report on stderr has the finding and a traceback line for path:line."""
    assert f"asyncleak: {kind}:" in run.stderr, run.describe()
    assert f'File "{path}", line {line}, in ' in run.stderr, run.describe()


def assert_no_tool_output(run: Run):
    assert "asyncleak" not in run.stderr, run.describe()
    assert "==" not in run.stderr or not re.search(r"^==\d+==", run.stderr, re.M), run.describe()
    for pid, rep in run.reports.items():
        assert rep.get("findings") == [], f"findings in the report of {pid}\n{run.describe()}"
