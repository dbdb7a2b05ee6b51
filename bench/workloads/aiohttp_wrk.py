"""aiohttp under wrk: starts aiohttp_server.py (in this process's environment,
so under the preload when this process is), loads it with wrk for `warmup`
seconds, then measures `duration` seconds, and prints req/s and the server's
CPU time per request over the measured window.

Both on 127.0.0.1.  pin=1 (with 2+ CPUs): the server on CPU 0, wrk on CPU 1
(taskset), so the two do not take turns on one core.  wrk runs without
LD_PRELOAD, ASYNCLEAK_OPTIONS and PYTHONASYNCIODEBUG: only the server is
measured.  Exits with an error when wrk or aiohttp is missing, when the
server does not start within 60 s, or when any response was not a 2xx.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile

from _common import args, emit

a = args(tasks=2, loop="asyncio", conns=64, threads=1, duration=5.0, warmup=2.0, pin=1)
HERE = os.path.dirname(os.path.abspath(__file__))
TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    """utime + stime of pid from /proc/pid/stat (the fields after the name)."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / float(TICK)


def wrk(port, seconds, pin):
    env = {k: v for k, v in os.environ.items()
           if k not in ("LD_PRELOAD", "ASYNCLEAK_OPTIONS", "PYTHONASYNCIODEBUG")}
    argv = (["taskset", "-c", "1"] if pin else []) + [
        "wrk", "-t%d" % a["threads"], "-c%d" % a["conns"], "-d%ds" % max(1, round(seconds)),
        "http://127.0.0.1:%d/" % port]
    p = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=seconds + 60)
    out = p.stdout.decode("utf-8", "replace")
    m = re.search(r"(\d+) requests in ([\d.]+)(m?s)", out)
    rps = re.search(r"Requests/sec:\s*([\d.]+)", out)
    if p.returncode != 0 or m is None or rps is None:
        sys.exit("aiohttp_wrk.py: wrk failed (status %d): %s" % (p.returncode, out.strip()[-500:]))
    non2xx = re.search(r"Non-2xx or 3xx responses:\s*(\d+)", out)
    if non2xx:
        sys.exit("aiohttp_wrk.py: %s non-2xx responses" % non2xx.group(1))
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = sum(int(x) for x in sock.groups()) if sock else 0
    return int(m.group(1)), float(rps.group(1)), errors


def main():
    if shutil.which("wrk") is None:
        sys.exit("aiohttp_wrk.py: wrk not found (scripts/deps.sh bench installs it)")
    pin = a["pin"] and (os.cpu_count() or 1) >= 2 and shutil.which("taskset") is not None
    argv = (["taskset", "-c", "0"] if pin else []) + [
        sys.executable, os.path.join(HERE, "aiohttp_server.py"),
        "tasks=%d" % a["tasks"], "loop=%s" % a["loop"]]
    err = tempfile.TemporaryFile()
    server = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err)
    try:
        line = server.stdout.readline()      # {"port": N} once listening
        if not line:
            server.wait(60)
            err.seek(0)
            if server.returncode == 3:
                sys.exit("aiohttp_wrk.py: loop=uvloop but uvloop is not installed")
            sys.exit("aiohttp_wrk.py: server exited with status %s: %s"
                     % (server.returncode, err.read().decode("utf-8", "replace")[-500:]))
        port = json.loads(line)["port"]
        if a["warmup"] > 0:
            wrk(port, a["warmup"], pin)
        c0 = cpu_seconds(server.pid)
        requests, rps, errors = wrk(port, a["duration"], pin)
        c1 = cpu_seconds(server.pid)
    finally:
        if server.poll() is None:
            server.send_signal(signal.SIGTERM)
        try:
            server.wait(60)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    if server.returncode != 0:
        err.seek(0)
        sys.exit("aiohttp_wrk.py: server exited with status %d: %s"
                 % (server.returncode, err.read().decode("utf-8", "replace")[-500:]))
    emit(req_per_s=rps, requests=requests, socket_errors=errors,
         server_cpu_us_per_req=(c1 - c0) / requests * 1e6 if requests else None,
         server_cpu_share=(c1 - c0) / a["duration"], pinned=bool(pin))


main()
