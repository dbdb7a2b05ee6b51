#!/usr/bin/env bash
# usage: tests/transparency/repro/wrapper_identity.sh [PYTHON]   exit 1 when the preload shows
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PY=${1:-/usr/bin/python3}
LIB=${ASYNCLEAK_LIB:-$HERE/../../../build/libasyncleak.so}
diff <(env -u LD_PRELOAD "$PY" "$HERE/wrapper_identity.py" 2>&1) \
     <(LD_PRELOAD=$LIB ASYNCLEAK_OPTIONS=log_path=/dev/null "$PY" "$HERE/wrapper_identity.py" 2>&1) \
    && echo "no difference"
