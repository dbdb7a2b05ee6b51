#!/bin/sh
# build.sh - builds the native-stack test helpers for one interpreter.
#   build.sh ext   PYTHON OUTDIR   -> OUTDIR/alnative<EXT_SUFFIX>, a C extension compiled
#                                     against PYTHON's own headers (-g -O0: exact lines)
#   build.sh embed PYTHON OUTDIR   -> OUTDIR/embed, a program embedding the libpython of
#                                     PYTHON (PYTHON-config --embed, rpath to its libdir)
# CC defaults to cc.  Prints the path of what it built; exit status != 0 on failure.
set -eu
what=${1:?usage: build.sh ext|embed PYTHON OUTDIR}
py=${2:?usage: build.sh ext|embed PYTHON OUTDIR}
out=${3:?usage: build.sh ext|embed PYTHON OUTDIR}
here=$(cd "$(dirname "$0")" && pwd)
cc=${CC:-cc}
mkdir -p "$out"
case "$what" in
ext)
    inc=$("$py" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')
    suffix=$("$py" -c 'import sysconfig; print(sysconfig.get_config_var("EXT_SUFFIX") or ".so")')
    test -f "$inc/Python.h" || { echo "build.sh: no Python.h in $inc (headers of $py)" >&2; exit 3; }
    $cc -shared -fPIC -g -O0 -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers \
        -I"$inc" -o "$out/alnative$suffix" "$here/alnative.c"
    echo "$out/alnative$suffix"
    ;;
embed)
    # python3-config beside the interpreter (pyenv: bin/python3-config; Debian: /usr/bin/python3-config).
    config="$py-config"
    [ -x "$config" ] || config="$(dirname "$py")/python3-config"
    [ -x "$config" ] || { echo "build.sh: no python3-config beside $py" >&2; exit 3; }
    libdir=$("$py" -c 'import sysconfig; print(sysconfig.get_config_var("LIBDIR"))')
    # shellcheck disable=SC2046  # word splitting of the flags is intended
    # -O0 after python3-config's flags (pyenv's carry -O3): main() and run_file() stay frames
    $cc $("$config" --cflags) -g -O0 -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers \
        -o "$out/embed" "$here/embed.c" \
        $("$config" --ldflags --embed) -Wl,-rpath,"$libdir"
    echo "$out/embed"
    ;;
*)
    echo "build.sh: unknown target '$what' (ext or embed)" >&2
    exit 2
    ;;
esac
