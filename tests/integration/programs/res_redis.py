"""redis.asyncio clients and connection pools against a real redis-server.
usage: res_redis.py SCENARIO PORT   (the server listens on 127.0.0.1:PORT)

  client_gc      redis.asyncio.Redis(), one PING, dropped unclosed: the client
                 and the ConnectionPool it made freed while the loop runs
                 (gc), both at the Redis() line.
  client_kept    a client kept referenced, never closed: a Redis has no
                 _loop, so it and its pool are reported at exit; the socket
                 of its pooled connection (an asyncio StreamWriter, opened by
                 the PING) is open when asyncio.run() closes the loop.
  client_closed  await client.close(): closes its own pool too; no finding.
  client_with    `async with Redis()`: no finding.
  pool_gc        a ConnectionPool of the program's, handed to a Redis
                 (connection_pool=): both dropped unclosed, each at its line.
  pool_closed    client.close() and pool.disconnect(): no finding.
  client_in_use  client.close() while a task waits in BLPOP: closed_while_in_use
                 for the client and for its pool, which close() disconnects
                 (the task named "blpop").

Every scenario prints "ping: True" and "done", and exits 0.
"""
import asyncio
import gc
import sys

import redis.asyncio as redis
from redis.asyncio.connection import ConnectionPool

KEEP = []


def client(port):
    return redis.Redis(host="127.0.0.1", port=port)


async def ping(r):
    print("ping:", await r.ping())


async def settle():
    """redis-py's Connection.__del__ starts a task that disconnects it: let
    it finish before asyncio.run() would cancel it."""
    for _ in range(50):
        if len(asyncio.all_tasks()) == 1:
            return
        await asyncio.sleep(0.01)


async def client_gc(port):
    r = redis.Redis(host="127.0.0.1", port=port)  # ORIGIN:client_gc
    await ping(r)
    del r
    gc.collect()
    await settle()


async def client_kept(port):
    r = redis.Redis(host="127.0.0.1", port=port)  # ORIGIN:client_kept
    KEEP.append(r)
    await r.ping()  # ORIGIN:client_kept_ping
    print("ping: True")


async def client_closed(port):
    r = client(port)
    try:
        await ping(r)
    finally:
        await r.close()


async def client_with(port):
    async with client(port) as r:
        await ping(r)


async def pool_gc(port):
    pool = ConnectionPool(host="127.0.0.1", port=port)  # ORIGIN:pool
    r = redis.Redis(connection_pool=pool)  # ORIGIN:pool_client
    await ping(r)
    del r, pool
    gc.collect()
    await settle()


async def pool_closed(port):
    pool = ConnectionPool(host="127.0.0.1", port=port)
    r = redis.Redis(connection_pool=pool)
    await ping(r)
    await r.close()
    await pool.disconnect()


async def blpop(r, started):
    started.set()
    await r.blpop("asyncleak-test-empty-list", timeout=30)  # ORIGIN:blpop_wait


async def client_in_use(port):
    r = redis.Redis(host="127.0.0.1", port=port)  # ORIGIN:in_use
    await ping(r)
    started = asyncio.Event()
    task = asyncio.create_task(blpop(r, started), name="blpop")  # ORIGIN:blpop_task
    await started.wait()
    await asyncio.sleep(0.2)
    await r.close()  # ORIGIN:in_use_close
    try:
        await task
    except (redis.ConnectionError, ConnectionError, OSError):
        pass


SCENARIOS = {f.__name__: f for f in (client_gc, client_kept, client_closed, client_with, pool_gc,
                                     pool_closed, client_in_use)}

if __name__ == "__main__":
    asyncio.run(SCENARIOS[sys.argv[1]](int(sys.argv[2])))
    print("done")
