#!/usr/bin/env bash
# tests/asan/run.sh - a representative subset of the integration programs,
# run on every CPython found (Debian's python3 and pyenv 3.8-3.13) under the
# ASan+UBSan build of the preload (`make asan` builds it and calls this).
#
#   tests/asan/run.sh [LIB]        LIB defaults to build/asan/libasyncleak.so
#
# Each case runs twice: without the tool (its exit status is the reference,
# unless the case names the status exitcode= gives it) and with
# LD_PRELOAD="libasan.so LIB" and verbosity=1.  A case fails when the
# sanitized run prints an AddressSanitizer/UndefinedBehaviorSanitizer report,
# does not say "asyncleak: tracking" (the sanitized library was not active),
# ends with another exit status, times out, or writes a JSON report that the
# shared contract checker rejects.
#
# Why these sanitizer options:
#   detect_leaks=0           CPython is not built with ASan and does not free
#                            everything at exit (interned strings, static
#                            types, arenas): LeakSanitizer would report the
#                            interpreter's own leaks, not ours.  Our leaks are
#                            checked by `make memcheck` (valgrind), which only
#                            counts stacks through libasyncleak.so.
#   verify_asan_link_order=0 the interpreter is not linked with libasan; it
#                            comes first through LD_PRELOAD, which is all ASan
#                            needs, but child processes (multiprocessing,
#                            subprocess) would otherwise abort on the check.
#   UBSAN: print_stacktrace=1:halt_on_error=1  stop at the first report, with
#                            the stack that leads to it.
# fork_child.py runs with watchdog=0: asyncio.run() starts the watchdog
# thread in its cancel-all step and the program forks right after; GCC 12's
# libasan does not lock its allocator around fork(), so a thread still
# starting (allocating) at that moment leaves the child blocked on an
# allocator lock forever.  glibc's malloc is fork-safe; the plain build and
# `make memcheck` run this program with the watchdog on.
# PYTHONMALLOC=malloc (set for every sanitized run) sends Python objects
# through ASan's allocator too, so a use of a freed Python object by the
# tool is caught, not only our own buffers.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PROGRAMS=$ROOT/tests/integration/programs
LIB=$(realpath "${1:-$ROOT/build/asan/libasyncleak.so}")
CHECKER=$ROOT/../shared/contract/check-report
LIBASAN=$(gcc -print-file-name=libasan.so)
TIMEOUT=${ASAN_CASE_TIMEOUT:-180}

[ -f "$LIB" ] || { echo "run.sh: $LIB is not built (make asan)" >&2; exit 2; }
[ -f "$LIBASAN" ] || { echo "run.sh: libasan.so not found (gcc -print-file-name)" >&2; exit 2; }
[ -x "$CHECKER" ] || [ -f "$CHECKER" ] || { echo "run.sh: contract checker $CHECKER missing" >&2; exit 2; }

# Interpreters: name=path (Debian's first; newest patch release of each pyenv minor).
PYENV_ROOT=${PYENV_ROOT:-$HOME/.pyenv}
INTERPS=("system=/usr/bin/python3")
for minor in 8 9 10 11 12 13; do
  exe=$(ls -d "$PYENV_ROOT"/versions/3.$minor.*/bin/python3 2>/dev/null | sort -V | tail -1)
  [ -n "$exe" ] && INTERPS+=("3.$minor=$exe")
done

# Cases: WHERE|PROGRAM ARGS|EXTRA OPTIONS (':'-separated)[|EXIT STATUS with
# the tool].  WHERE: all, system (aiohttp/uvloop), 3.11+ or 3.12+.
CASES=(
  "all|spawn.py create_task|"
  "all|spawn.py gather|"
  "all|spawn.py subclass_super|"
  "all|spawn.py custom_factory|"
  "3.11+|spawn.py taskgroup|"
  "3.12+|spawn.py eager|"
  "system|spawn.py uvloop|"
  "all|loop_close.py|"
  "all|orphaned.py|"
  "all|exit_pending.py|"
  "all|gc_destroyed.py|"
  "all|gc_exception.py|"
  "all|thread_loop.py|"
  "all|fork_child.py|watchdog=0"
  "all|lazy_import.py|"
  "all|clean_await_all.py|"
  "all|cancel_swallow.py continue|"
  "all|cancel_swallow.py suppress|"
  "all|cancel_hang.py swallow|watchdog=0.5"
  "all|shutdown_spawn.py finally|"
  "all|exit_status.py leak 0|exitcode=9|9"
  "all|res_streams.py writer_gc|"
  "all|res_streams.py server_kept|"
  "all|res_in_use_paths.py attr busy|"
  "all|res_in_use_paths.py local idle|"
  "all|res_in_use_paths.py mapped busy|"
  "all|res_in_use_paths.py outer idle|"
  "all|gc_flood.py 3 10|"
  "system|res_aiohttp.py gc|"
  "system|res_aiohttp.py connector|"
  "system|uvloop_close.py|"
  "all|hostile_report.py|"
  "all|hostile_deep.py deep 900|stack_depth=256"
  "all|hostile_deep.py limit|max_findings=5"
  "all|hostile_names.py|"
  "all|hostile_repr.py task_subclass|"
  "all|hostile_repr.py coro_object|"
  "all|hostile_exc.py close_running|"
  "all|hostile_exc.py runner_cancel|"
  "all|hostile_exc.py handler_raises|"
  "all|hostile_exc.py task_init_type|"
  "all|hostile_threads.py 3 8|watchdog=0.5"
  "all|hostile_subinterp.py during|"
  "all|hostile_million.py 20000|max_findings=100"
)

version_of() { "$1" -c 'import sys; print(sys.version_info[1])'; }

applies() {   # WHERE NAME MINOR
  case "$1" in
    all) return 0 ;;
    system) [ "$2" = system ] ;;
    3.11+) [ "$3" -ge 11 ] ;;
    3.12+) [ "$3" -ge 12 ] ;;
    *) return 1 ;;
  esac
}

clean_env() {   # prints env -u ... arguments removing PYTHON*, ASYNCLEAK_*, LD_PRELOAD
  local v
  for v in $(env | sed -n 's/^\(PYTHON[A-Za-z0-9_]*\|ASYNCLEAK_[A-Za-z0-9_]*\|LD_PRELOAD\|LD_BIND_NOW\|ASAN_OPTIONS\|UBSAN_OPTIONS\)=.*/\1/p'); do
    printf -- '-u\0%s\0' "$v"
  done
}
mapfile -d '' UNSET < <(clean_env)

WORK=$(mktemp -d "${TMPDIR:-/tmp}/asyncleak-asan.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
pass=0; fail=0; skip=0; n=0
for entry in "${INTERPS[@]}"; do
  name=${entry%%=*}; exe=${entry#*=}
  minor=$(version_of "$exe") || { echo "SKIP $name: $exe does not run"; continue; }
  for c in "${CASES[@]}"; do
    IFS='|' read -r where cmd opts status <<<"$c"
    applies "$where" "$name" "$minor" || continue
    n=$((n + 1))
    dir=$WORK/$n; mkdir -p "$dir"
    read -r -a argv <<<"$cmd"
    [ -f "$PROGRAMS/${argv[0]}" ] || { echo "SKIP [$name] $cmd: no such program"; skip=$((skip + 1)); continue; }
    (cd "$dir" && timeout "$TIMEOUT" env "${UNSET[@]}" PYTHONDONTWRITEBYTECODE=1 \
        "$exe" "$PROGRAMS/${argv[0]}" "${argv[@]:1}" >plain.out 2>plain.err </dev/null)
    want=$?
    [ -n "$status" ] && want=$status
    o="json_path=$dir/al.%p.json:verbosity=1"; [ -n "$opts" ] && o="$o:$opts"
    start=$(date +%s%N)
    (cd "$dir" && timeout "$TIMEOUT" env "${UNSET[@]}" PYTHONDONTWRITEBYTECODE=1 PYTHONMALLOC=malloc \
        LD_PRELOAD="$LIBASAN $LIB" \
        ASAN_OPTIONS=detect_leaks=0:verify_asan_link_order=0 \
        UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        ASYNCLEAK_OPTIONS="$o" \
        "$exe" "$PROGRAMS/${argv[0]}" "${argv[@]:1}" >asan.out 2>asan.err </dev/null)
    got=$?
    ms=$(( ($(date +%s%N) - start) / 1000000 ))
    secs=$((ms / 1000)).$((ms % 1000 / 100))
    why=""
    if grep -qE 'AddressSanitizer|UndefinedBehaviorSanitizer|runtime error:|LeakSanitizer|ASan runtime' "$dir/asan.err"; then
      why="sanitizer report"
    elif ! grep -q '^asyncleak: tracking asyncio tasks' "$dir/asan.err"; then
      why="the sanitized library did not start tracking"
    elif [ "$got" = 124 ] && [ "$want" != 124 ]; then
      why="timed out after ${TIMEOUT}s"
    elif [ "$got" != "$want" ]; then
      why="exit status $got, $want without the tool"
    else
      reports=$(ls "$dir"/al.*.json 2>/dev/null)
      if [ -n "$reports" ] && ! /usr/bin/python3 "$CHECKER" $reports >"$dir/check.out" 2>&1; then
        why="contract check failed: $(head -c 400 "$dir/check.out")"
      fi
    fi
    if [ -z "$why" ]; then
      pass=$((pass + 1)); echo "PASS [$name] $cmd (${secs}s)"
    else
      fail=$((fail + 1)); echo "FAIL [$name] $cmd: $why"
      sed -n '1,60p' "$dir/asan.err" | sed 's/^/    /'
      keep=${ASAN_KEEP_DIR:-$ROOT/build/asan/failures}
      mkdir -p "$keep" && cp -r "$dir" "$keep/$name-$n"
    fi
  done
done
echo "asan: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
