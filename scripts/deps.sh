#!/usr/bin/env bash
# deps.sh - install the Debian packages a make target needs, when they are missing.
# usage: scripts/deps.sh build|test|bench
# Idempotent and quiet when everything is there; needs root (or sudo) to install.
set -euo pipefail
build=(gcc make binutils python3-dev uthash-dev libunwind-dev libjansson-dev pkg-config)
test=(libcmocka-dev python3-pytest python3-pytest-xdist python3-aiohttp python3-uvloop python3-jsonschema python3-httpx python3-pytest-asyncio gunicorn gdb
      postgresql python3-asyncpg redis-server python3-redis)
bench=(valgrind wrk hyperfine python3-aiohttp)
case "${1:-build}" in
  build) want=("${build[@]}") ;;
  test)  want=("${build[@]}" "${test[@]}") ;;
  bench) want=("${build[@]}" "${bench[@]}") ;;
  *) echo "deps.sh: unknown set '$1' (build, test or bench)" >&2; exit 2 ;;
esac
missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "deps.sh: installing ${missing[*]}" >&2
SUDO=; [ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
# A fresh machine has empty package lists; refresh once before installing.
$SUDO apt-get update -q >/dev/null
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
