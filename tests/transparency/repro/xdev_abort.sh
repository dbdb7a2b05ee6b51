#!/usr/bin/env bash
# Repro: a CPython that runs with a debug memory allocator (-X dev, PYTHONDEVMODE=1,
# PYTHONMALLOC=debug|malloc_debug|pymalloc_debug, or a --with-pydebug build) aborts at
# exit (SIGABRT, "Fatal Python error: _PyMem_DebugRawFree: bad ID: Allocated using API
# '!', verified using API 'r'") when the preload is loaded, even if it never imports
# asyncio.  Found by test_asyncio's test_env_var_debug tests (3.8-3.13).
# Root cause and a fix: preinit_audit_hook.c beside this file.  The command-line
# guess of d2ce57a (debug_allocator_requested) still misses "-W error -X dev" and
# "--check-hash-based-pycs default -X dev" (an option argument ends its scan).
#
# usage: tests/transparency/repro/xdev_abort.sh [PYTHON]     exit 1 when the bug shows
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
PY=${1:-/usr/bin/python3}
LIB=${ASYNCLEAK_LIB:-$ROOT/build/libasyncleak.so}
ERR=$(mktemp)
bad=0

check() {   # check LABEL ENV... -- ARGS...
    local label=$1 base pre
    shift
    local -a envs=()
    while [ "$1" != -- ]; do envs+=("$1"); shift; done
    shift
    env -u LD_PRELOAD "${envs[@]}" "$PY" "$@" > /dev/null 2>&1; base=$?
    (env "${envs[@]}" LD_PRELOAD="$LIB" "$PY" "$@" > /dev/null 2> "$ERR"); pre=$?
    echo "$label: exit $base without, $pre with the preload"
    if [ $base != $pre ]; then
        bad=1
        grep -m1 'Fatal Python error' "$ERR"
    fi
}

check "-X dev -c pass"                       -- -X dev -c pass
check "-W error -X dev -c pass"              -- -W error -X dev -c pass
check "--check-hash-based-pycs default -X dev -c pass" -- --check-hash-based-pycs default -X dev -c pass
check "-I -E -X dev -c 'import asyncio'"     -- -I -E -X dev -c 'import asyncio'
check "PYTHONMALLOC=debug -c pass"           PYTHONMALLOC=debug -- -c pass
check "PYTHONDEVMODE=1 -c pass"              PYTHONDEVMODE=1 -- -c pass
rm -f "$ERR"
exit $bad
