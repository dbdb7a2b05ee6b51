"""Load generator for attach_aiohttp_server.py (run without the preload).

    attach_load_client.py PORT GO_FILE MAX_REQUESTS AFTER_GO STARTED_AFTER

WORKERS concurrent keep-alive connections send GET /n/<i> with a short pause
between requests.  It prints "started" (flushed) after the first
STARTED_AFTER answers; it stops AFTER_GO requests after GO_FILE appears, or at
MAX_REQUESTS in all.  Then it prints "sent S answered A failed F after_go G"
and exits 0.  Every request is checked: status 200 and body "ok <i>".
"""
import asyncio
import os
import sys

import aiohttp

PORT, GO = sys.argv[1], sys.argv[2]
MAX_REQUESTS, AFTER_GO, STARTED_AFTER = map(int, sys.argv[3:6])
WORKERS = 4
PAUSE = 0.005


class State:
    next_i = 0
    answered = 0
    failed = 0
    go_at = None          # value of next_i when GO_FILE was first seen
    announced = False


def take(st):
    """The next request number, or None when the load is over."""
    if st.go_at is None and os.path.exists(GO):
        st.go_at = st.next_i
    if st.next_i >= MAX_REQUESTS or (st.go_at is not None and st.next_i >= st.go_at + AFTER_GO):
        return None
    st.next_i += 1
    return st.next_i - 1


async def worker(session, st):
    while True:
        i = take(st)
        if i is None:
            return
        try:
            async with session.get(f"http://127.0.0.1:{PORT}/n/{i}") as resp:
                body = await resp.text()
            if resp.status == 200 and body == f"ok {i}":
                st.answered += 1
            else:
                st.failed += 1
        except Exception as e:          # counted: the test compares counts
            print("request", i, "failed:", repr(e), file=sys.stderr)
            st.failed += 1
        if not st.announced and st.answered >= STARTED_AFTER:
            st.announced = True
            print("started", flush=True)
        await asyncio.sleep(PAUSE)


async def main():
    st = State()
    timeout = aiohttp.ClientTimeout(total=20)
    async with aiohttp.ClientSession(timeout=timeout,
                                     connector=aiohttp.TCPConnector(limit=WORKERS)) as session:
        await asyncio.gather(*(worker(session, st) for _ in range(WORKERS)))
    after = st.next_i - st.go_at if st.go_at is not None else 0
    print("sent", st.next_i, "answered", st.answered, "failed", st.failed, "after_go", after, flush=True)


asyncio.run(main())
