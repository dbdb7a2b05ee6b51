#!/usr/bin/env bash
# run.sh - transparency check: CPython's own test_asyncio, without and with the preload.
#
# usage: tests/transparency/run.sh [VERSION...]        (default: 3.8 3.9 3.10 3.11 3.12 3.13)
#
# For each pyenv CPython X.Y ($PYENV_ROOT, `pyenv root` or ~/.pyenv; never the
# shim) it runs every module of test_asyncio under regrtest, once without and
# once with LD_PRELOAD=build/libasyncleak.so, compares test counts, per-test
# outcomes and per-module statuses, re-runs each difference a few times on
# both sides to tell flaky from real, and prints one verdict line per version:
#     3.12: same (2446 run, 0 failed, 0 errors, 1 skipped)
#     3.12: DIFFERENT (without: ...; with: ...): <test id> [pass -> fail] real, ...
# Exit status: 1 when a version differs for real, 0 otherwise (versions not
# installed are skipped).  Everything is kept in the output directory.
#
# Environment:
#   TRANSPARENCY_OUT      output directory (default: a new /tmp/asyncleak-transparency.XXXXXX)
#   ASYNCLEAK_LIB         library to test (default: build/libasyncleak.so; a copy is used,
#                         so a rebuild during the run does not mix two builds)
#   TRANSPARENCY_JOBS     regrtest -j (default 2)
#   TRANSPARENCY_TIMEOUT  regrtest --timeout per test module in seconds (default 900)
#   TRANSPARENCY_REPEATS  re-runs per side of each difference (default 2)
#   TRANSPARENCY_EXTRA    more regrtest options, e.g. "-u all,-network"
#   TRANSPARENCY_PYFLAGS  interpreter options for the test runs, e.g. "-X dev"
#   TRANSPARENCY_MODULES  only these test modules (e.g. "test_asyncio.test_tasks")
set -u

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
LIB_SRC=${ASYNCLEAK_LIB:-$ROOT/build/libasyncleak.so}
JOBS=${TRANSPARENCY_JOBS:-2}
TIMEOUT=${TRANSPARENCY_TIMEOUT:-900}
REPEATS=${TRANSPARENCY_REPEATS:-2}
read -r -a EXTRA <<< "${TRANSPARENCY_EXTRA:-}"
read -r -a PYFLAGS <<< "${TRANSPARENCY_PYFLAGS:-}"
export TRANSPARENCY_PYFLAGS

if [ $# -eq 0 ]; then
    set -- 3.8 3.9 3.10 3.11 3.12 3.13
fi

if [ ! -f "$LIB_SRC" ]; then
    echo "run.sh: $LIB_SRC not found; run make first" >&2
    exit 2
fi

OUT=${TRANSPARENCY_OUT:-}
if [ -z "$OUT" ]; then
    OUT=$(mktemp -d /tmp/asyncleak-transparency.XXXXXX)
fi
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
LIB=$OUT/libasyncleak.so
cp "$LIB_SRC" "$LIB"
{
    echo "library: $LIB_SRC (sha256 $(sha256sum "$LIB" | cut -d' ' -f1))"
    echo "commit:  $(git -C "$ROOT" rev-parse HEAD 2>/dev/null)$(git -C "$ROOT" diff --quiet -- preload common 2>/dev/null || echo ' + uncommitted changes in preload/ or common/')"
    echo "date:    $(date -u +%FT%TZ)"
} > "$OUT/info.txt"

# The helper runs on a Python without the preload; any Python 3.8+ will do.
HELPER_PY=/usr/bin/python3
[ -x "$HELPER_PY" ] || HELPER_PY=$(command -v python3)
helper() { env -u LD_PRELOAD "$HELPER_PY" "$HERE/regrtest_compare.py" "$@"; }

if [ -n "${PYENV_ROOT:-}" ]; then
    PYROOT=$PYENV_ROOT
elif command -v pyenv > /dev/null 2>&1; then
    PYROOT=$(pyenv root)
else
    PYROOT=$HOME/.pyenv
fi

# The newest pyenv build X.Y.Z of X.Y (release builds only: no 3.13.0t).
find_python() {
    local v=$1 d best=
    for d in "$PYROOT"/versions/"$v".*; do
        [[ $(basename "$d") =~ ^${v//./\\.}\.[0-9]+$ ]] || continue
        [ -x "$d/bin/python3" ] || continue
        best=$( { [ -n "$best" ] && echo "$best"; echo "$d"; } | sort -V | tail -1)
    done
    [ -n "$best" ] && echo "$best/bin/python3"
}

# Every module of the interpreter's test_asyncio package, so that -jN spreads
# them over workers on every version (3.12+ regrtest splits test_asyncio by
# itself; 3.8-3.11 would run the whole package in one worker).
list_modules() {
    local py=$1
    if [ -n "${TRANSPARENCY_MODULES:-}" ]; then
        echo "$TRANSPARENCY_MODULES"
        return
    fi
    env -u LD_PRELOAD "$py" - <<'EOF'
import os, importlib.util
spec = importlib.util.find_spec("test.test_asyncio")
d = os.path.dirname(spec.origin)
names = []
for n in sorted(os.listdir(d)):
    p = os.path.join(d, n)
    if n.startswith("test_") and (n.endswith(".py") or os.path.exists(os.path.join(p, "__init__.py"))):
        names.append("test_asyncio." + n[:-3] if n.endswith(".py") else "test_asyncio." + n)
print(" ".join(names))
EOF
}

# run_suite PYTHON DIR with|without MODULES...
run_suite() {
    local py=$1 dir=$2 side=$3 rc
    shift 3
    mkdir -p "$dir"
    local -a envs=(env -u LD_PRELOAD "ASYNCLEAK_OPTIONS=json_path=$dir/al.%p.json:log_path=$dir/al.%p.log")
    [ "$side" = with ] && envs+=("LD_PRELOAD=$LIB")
    local -a cmd=("$py" "${PYFLAGS[@]}" -m test "$@" -j"$JOBS" -W --timeout "$TIMEOUT" --junit-xml "$dir/junit.xml" "${EXTRA[@]}")
    echo "\$ ${envs[*]:3} ${cmd[*]}" > "$dir/output.txt"
    (cd "$dir" && "${envs[@]}" "${cmd[@]}" >> "$dir/output.txt" 2>&1 < /dev/null)
    rc=$?
    echo "$rc" > "$dir/rc"
    helper parse "$dir" > /dev/null
}

# The whole run is one function, parsed before it starts: editing this file
# while it runs cannot change what it does.
main() {
    status=0
    for v in "$@"; do
        py=$(find_python "$v")
        if [ -z "$py" ]; then
            echo "$v: skipped (not installed)"
            continue
        fi
        vdir=$OUT/$v
        rm -rf "$vdir"
        mkdir -p "$vdir"
        read -r -a mods <<< "$(list_modules "$py")"
        if [ ${#mods[@]} -eq 0 ]; then
            echo "$v: skipped (no test.test_asyncio in $py)"
            continue
        fi
        echo "$py" > "$vdir/python"
        echo "== $v: $py, ${#mods[@]} modules, output in $vdir" >&2
        run_suite "$py" "$vdir/without" without "${mods[@]}"
        echo "   without: $(helper parse "$vdir/without")" >&2
        run_suite "$py" "$vdir/with" with "${mods[@]}"
        echo "   with:    $(helper parse "$vdir/with")" >&2
        helper compare "$vdir/without" "$vdir/with" > "$vdir/diffs.json"
        ndiff=$(env -u LD_PRELOAD "$HELPER_PY" -c 'import json, sys; print(len(json.load(open(sys.argv[1]))))' "$vdir/diffs.json")
        if [ "$ndiff" != 0 ]; then
            echo "   differences found; re-checking each $REPEATS times per side" >&2
            helper recheck "$vdir" "$py" "$LIB" "$TIMEOUT" "$REPEATS" "${EXTRA[@]}"
        fi
        helper findings "$vdir/with" > "$vdir/findings.json"
        helper findings "$vdir/without" > "$vdir/findings-without.json"
        echo "   $(helper findings-line "$vdir/findings.json" "$vdir/with")" >&2
        if [ "$(helper findings-line "$vdir/findings-without.json" "$vdir/without" | cut -d' ' -f2)" != 0 ]; then
            echo "   the run WITHOUT the preload wrote asyncleak reports: check LD_PRELOAD in the environment" >&2
        fi
        if ! helper verdict "$v" "$vdir"; then
            status=1
        fi
    done
    echo "results: $OUT" >&2
    return $status
}

main "$@"; exit $?
