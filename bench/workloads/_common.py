"""Helpers shared by the workload scripts (stdlib only, Python 3.8+).

A workload is run as `python3 bench/workloads/NAME.py key=value ...`, times
itself inside the process and prints exactly one JSON object on stdout.
"""
import json
import sys


def args(**defaults):
    """key=value arguments from argv, typed like their defaults."""
    out = dict(defaults)
    for a in sys.argv[1:]:
        key, sep, value = a.partition("=")
        if not sep or key not in defaults:
            sys.exit("%s: unknown argument %r (known: %s)"
                     % (sys.argv[0], a, ", ".join(sorted(defaults))))
        out[key] = type(defaults[key])(value)
    return out


def status_kb(field):
    """A 'VmRSS'/'VmHWM'-style field of /proc/self/status, in KiB."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return -1


def emit(**result):
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()
