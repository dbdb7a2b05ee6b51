#!/usr/bin/env bash
# tests/memcheck/run.sh - valgrind memcheck over a few real programs under
# the preload, on Debian's python3 (`make memcheck` calls it).
#
#   tests/memcheck/run.sh [LIB]      LIB defaults to build/libasyncleak.so
#
# PYTHONMALLOC=malloc makes CPython allocate every object with malloc, so
# valgrind sees each one (pymalloc's arenas would hide them); the tool works
# as usual with it.
#
# The interpreter's own noise (what it leaves allocated at exit) is not ours:
# tests/memcheck/python.supp can silence known parts, and a case fails only
# on a memory error whose stack has a frame in libasyncleak.so, or on a
# definitely-lost block that the tool itself allocated (ours.py: a
# libasyncleak.so frame before the first frame of Python code being run; a
# block made by module code the tool imported for the program is CPython's
# exit leak).  Other errors are counted and shown as a total.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HERE=$ROOT/tests/memcheck
PROGRAMS=$ROOT/tests/integration/programs
LIB=$(realpath "${1:-$ROOT/build/libasyncleak.so}")
PY=${MEMCHECK_PYTHON:-/usr/bin/python3}
TIMEOUT=${MEMCHECK_CASE_TIMEOUT:-600}

command -v valgrind >/dev/null || { echo "run.sh: valgrind is not installed" >&2; exit 2; }
[ -f "$LIB" ] || { echo "run.sh: $LIB is not built (make)" >&2; exit 2; }

# PROGRAM ARGS|EXTRA OPTIONS
CASES=(
  "loop_close.py|"
  "orphaned.py|"
  "gc_exception.py|"
  "gc_destroyed.py|"
  "cancel_swallow.py continue|"
  "cancel_hang.py swallow|watchdog=0.5"
  "shutdown_spawn.py callback|"
  "thread_loop.py|"
  "fork_child.py|"
  "exit_pending.py|"
  "res_streams.py writer_gc|"
  "res_aiohttp.py gc|"
  "uvloop_close.py|"
  "spawn.py taskgroup|"
  "hostile_exc.py runner_cancel|"
  "hostile_names.py|"
  "hostile_repr.py task_subclass|"
  "hostile_threads.py 2 4|watchdog=0.5"
  "hostile_million.py 2000|max_findings=100"
)

WORK=$(mktemp -d "${TMPDIR:-/tmp}/asyncleak-memcheck.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
pass=0; fail=0; n=0
for c in "${CASES[@]}"; do
  IFS='|' read -r cmd opts <<<"$c"
  read -r -a argv <<<"$cmd"
  n=$((n + 1)); dir=$WORK/$n; mkdir -p "$dir"
  [ -f "$PROGRAMS/${argv[0]}" ] || { echo "SKIP $cmd: no such program"; continue; }
  o="json_path=$dir/al.%p.json"; [ -n "$opts" ] && o="$o:$opts"
  (cd "$dir" && timeout "$TIMEOUT" env -u PYTHONPATH -u PYTHONHOME -u PYTHONDEVMODE \
      PYTHONMALLOC=malloc PYTHONDONTWRITEBYTECODE=1 LD_PRELOAD="$LIB" ASYNCLEAK_OPTIONS="$o" \
      valgrind --tool=memcheck --xml=yes --xml-file="$dir/vg.%p.xml" \
        --leak-check=full --show-leak-kinds=definite --errors-for-leak-kinds=definite \
        --num-callers=50 --suppressions="$HERE/python.supp" --error-exitcode=0 \
        "$PY" "$PROGRAMS/${argv[0]}" "${argv[@]:1}" >out.txt 2>err.txt </dev/null)
  rc=$?
  if [ "$rc" = 124 ]; then
    fail=$((fail + 1)); echo "FAIL $cmd: timed out after ${TIMEOUT}s"; continue
  fi
  if /usr/bin/python3 "$HERE/ours.py" "$dir"/vg.*.xml >"$dir/ours.txt"; then
    pass=$((pass + 1)); echo "PASS $cmd (exit $rc; $(head -1 "$dir/ours.txt"))"
  else
    fail=$((fail + 1)); echo "FAIL $cmd (exit $rc)"; sed 's/^/    /' "$dir/ours.txt"
  fi
done
echo "memcheck: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
