"""Tests that run their own event loop with asyncio.run()."""
import asyncio
import gc
import sys

import pytest


async def poll_forever():
    while True:
        await asyncio.sleep(0.01)


async def spawn_helper():
    asyncio.get_running_loop().create_task(poll_forever())  # ORIGIN:helper


def test_sync_clean():
    assert sum([1, 2]) == 3


def test_fire_and_forget():
    async def main():
        asyncio.ensure_future(poll_forever())  # ORIGIN:fire
        await asyncio.sleep(0)

    asyncio.run(main())


def test_destroyed_by_gc():
    async def wait_for_nothing():
        await asyncio.get_running_loop().create_future()

    async def main():
        asyncio.get_running_loop().create_task(wait_for_nothing())  # ORIGIN:gc
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        gc.collect()
        await asyncio.sleep(0)

    asyncio.run(main())


def test_clean_cancel_gather():
    async def main():
        tasks = [asyncio.ensure_future(poll_forever()) for _ in range(3)]
        await asyncio.sleep(0.02)
        for t in tasks:
            t.cancel()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        assert all(isinstance(r, asyncio.CancelledError) for r in results)

    asyncio.run(main())


@pytest.mark.skipif(sys.version_info < (3, 11), reason="asyncio.TaskGroup is 3.11+")
def test_clean_taskgroup():
    async def work(n):
        await asyncio.sleep(0.001 * n)
        return n

    async def main():
        async with asyncio.TaskGroup() as tg:
            tasks = [tg.create_task(work(n)) for n in range(5)]
        return [t.result() for t in tasks]

    assert asyncio.run(main()) == [0, 1, 2, 3, 4]


@pytest.mark.asyncleak_allow(kind="orphaned_task")
def test_allowed_kind():
    async def main():
        asyncio.ensure_future(poll_forever())
        await asyncio.sleep(0)

    asyncio.run(main())


@pytest.mark.asyncleak_allow(match=r"sample_plain\.py:\d+ spawn_helper$")
def test_allowed_by_origin():
    async def main():
        await spawn_helper()
        await asyncio.sleep(0)

    asyncio.run(main())


@pytest.mark.asyncleak_allow(kind="unclosed_resource")
@pytest.mark.asyncleak_allow(match="never matches anything")
def test_allow_other_kind_still_fails():
    async def main():
        await spawn_helper()
        await asyncio.sleep(0)

    asyncio.run(main())
