"""asyncpg connections and pools against a real PostgreSQL server.
usage: res_asyncpg.py SCENARIO DSN

  conn_gc        asyncpg.connect(), one query, dropped unclosed: freed while
                 the loop runs (gc).
  conn_kept      a connection kept referenced, never closed: open when
                 asyncio.run() closes the loop (loop_close).
  conn_closed    await conn.close(): no finding.
  conn_terminate conn.terminate(): no finding.
  conn_in_use    conn.terminate() while a task waits for its query
                 (closed_while_in_use, the task named "query").
  pool_gc        create_pool(), one query, dropped unclosed: the pool and its
                 one connection freed while the loop runs (gc), both at the
                 create_pool() line.
  pool_kept      a pool of two connections kept referenced, never closed
                 (loop_close).  asyncpg opens the second connection in a task
                 of its own (gather): its origin is still the create_pool() line.
  pool_closed    `async with create_pool()` and `await pool.close()`: no finding.
  pool_in_use    pool.terminate() while a task waits for a query on a
                 connection it acquired (closed_while_in_use).

Every scenario prints "result: 1" and "done", and exits 0.
"""
import asyncio
import gc
import sys

import asyncpg

# One connection; max_inactive_connection_lifetime=0: no timer of the loop
# keeps a dropped pool alive.
POOL_ARGS = dict(min_size=1, max_size=1, max_inactive_connection_lifetime=0)
SLOW = "SELECT pg_sleep(30)"

KEEP = []


async def conn_gc(dsn):
    conn = await asyncpg.connect(dsn)  # ORIGIN:conn_gc
    print("result:", await conn.fetchval("SELECT 1"))
    del conn
    gc.collect()
    await asyncio.sleep(0)


async def conn_kept(dsn):
    conn = await asyncpg.connect(dsn)  # ORIGIN:conn_kept
    KEEP.append(conn)
    print("result:", await conn.fetchval("SELECT 1"))


async def conn_closed(dsn):
    conn = await asyncpg.connect(dsn)
    try:
        print("result:", await conn.fetchval("SELECT 1"))
    finally:
        await conn.close()


async def conn_terminate(dsn):
    conn = await asyncpg.connect(dsn)
    print("result:", await conn.fetchval("SELECT 1"))
    conn.terminate()


async def slow_query(conn, started):
    started.set()
    await conn.fetchval(SLOW)  # ORIGIN:conn_wait


async def wait_out(task):
    """The task ends with the error the close caused."""
    try:
        await task
    except (asyncpg.PostgresError, asyncpg.InterfaceError, ConnectionError):
        pass


async def conn_in_use(dsn):
    conn = await asyncpg.connect(dsn)  # ORIGIN:conn_in_use
    print("result:", await conn.fetchval("SELECT 1"))
    started = asyncio.Event()
    task = asyncio.create_task(slow_query(conn, started), name="query")  # ORIGIN:conn_task
    await started.wait()
    await asyncio.sleep(0.2)
    conn.terminate()  # ORIGIN:conn_close
    await wait_out(task)


async def pool_gc(dsn):
    pool = await asyncpg.create_pool(dsn, **POOL_ARGS)  # ORIGIN:pool_gc
    print("result:", await pool.fetchval("SELECT 1"))
    del pool
    gc.collect()
    await asyncio.sleep(0)


async def pool_kept(dsn):
    pool = await asyncpg.create_pool(dsn, min_size=2, max_size=2)  # ORIGIN:pool_kept
    KEEP.append(pool)
    print("result:", await pool.fetchval("SELECT 1"))


async def pool_closed(dsn):
    async with asyncpg.create_pool(dsn, **POOL_ARGS) as pool:
        print("result:", await pool.fetchval("SELECT 1"))
    pool = await asyncpg.create_pool(dsn, **POOL_ARGS)
    await pool.fetchval("SELECT 1")
    await pool.close()


async def pool_query(pool, started):
    async with pool.acquire() as conn:
        started.set()
        await conn.fetchval(SLOW)  # ORIGIN:pool_wait


async def pool_in_use(dsn):
    pool = await asyncpg.create_pool(dsn, **POOL_ARGS)  # ORIGIN:pool_in_use
    print("result:", await pool.fetchval("SELECT 1"))
    started = asyncio.Event()
    task = asyncio.create_task(pool_query(pool, started), name="query")  # ORIGIN:pool_task
    await started.wait()
    await asyncio.sleep(0.2)
    pool.terminate()  # ORIGIN:pool_close
    await wait_out(task)


SCENARIOS = {f.__name__: f for f in (conn_gc, conn_kept, conn_closed, conn_terminate, conn_in_use,
                                     pool_gc, pool_kept, pool_closed, pool_in_use)}

if __name__ == "__main__":
    asyncio.run(SCENARIOS[sys.argv[1]](sys.argv[2]))
    print("done")
