#!/usr/bin/env bash
# Repro: any CPython started with a debug memory allocator (-X dev, PYTHONDEVMODE=1,
# PYTHONMALLOC=debug|malloc_debug|pymalloc_debug, or a --with-pydebug build) aborts at
# exit (SIGABRT, "Fatal Python error: _PyMem_DebugRawFree: bad ID: Allocated using API
# '!', verified using API 'r'") when the preload is loaded, even if it never imports
# asyncio.  Found by test_asyncio's test_env_var_debug tests (3.8-3.13).
#
# usage: repro/xdev_abort.sh [PYTHON]      exit 1 when the bug shows
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
PY=${1:-/usr/bin/python3}
LIB=${ASYNCLEAK_LIB:-$ROOT/build/libasyncleak.so}
bad=0
for args in "-X dev -c pass" "-I -E -X dev -c import\ asyncio"; do
    eval "set -- $args"
    env -u LD_PRELOAD "$PY" "$@" 2>/dev/null; base=$?
    LD_PRELOAD=$LIB "$PY" "$@" 2>/tmp/xdev_abort.$$; pre=$?
    echo "$PY $args: exit $base without, $pre with the preload"
    [ $base = $pre ] || { bad=1; grep -m1 'Fatal Python error' /tmp/xdev_abort.$$; }
done
env -u LD_PRELOAD PYTHONMALLOC=debug "$PY" -c pass; base=$?
LD_PRELOAD=$LIB PYTHONMALLOC=debug "$PY" -c pass 2>/tmp/xdev_abort.$$; pre=$?
echo "PYTHONMALLOC=debug $PY -c pass: exit $base without, $pre with the preload"
[ $base = $pre ] || { bad=1; grep -m1 'Fatal Python error' /tmp/xdev_abort.$$; }
rm -f /tmp/xdev_abort.$$
exit $bad
