"""A Python process that has not imported asyncio when it is attached.

    attach_idle.py TRIGGER_FILE [usr2]

Prints "ready" (flushed) and polls for TRIGGER_FILE with time.sleep (no
asyncio imported yet).  With "usr2" it first installs its own SIGUSR2
handler (as services do for log rotation or reloads), which prints a line
when it runs.  After the trigger it imports asyncio, runs a small loop and
prints the result.  Exit status 6.
"""
import os
import signal
import sys
import time

TRIGGER = sys.argv[1]
OWN_USR2 = "usr2" in sys.argv[2:]


def on_usr2(signum, frame):
    print("the program's own SIGUSR2 handler ran", flush=True)


if OWN_USR2:
    signal.signal(signal.SIGUSR2, on_usr2)
print("ready", flush=True)
while not os.path.exists(TRIGGER):
    time.sleep(0.02)

import asyncio  # noqa: E402  (imported late on purpose)


async def main():
    return sum(await asyncio.gather(*(asyncio.sleep(0, result=i) for i in range(10))))


print("asyncio result", asyncio.run(main()), flush=True)
sys.exit(6)
