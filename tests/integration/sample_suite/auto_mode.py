"""pytest-asyncio's auto mode: async tests and fixtures without markers.

Not collected with the rest (its name does not match python_files), only in
auto mode:
    pytest -o asyncio_mode=auto -o "python_files=sample_*.py auto_mode.py" sample_suite
"""
import asyncio

import pytest


async def poll_forever():
    while True:
        await asyncio.sleep(0.01)


@pytest.fixture
async def worker():
    task = asyncio.ensure_future(poll_forever())
    yield task
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def test_auto_clean_with_fixture(worker):
    await asyncio.sleep(0.02)
    assert not worker.done()


async def test_auto_pending_unmarked():
    asyncio.ensure_future(poll_forever())  # ORIGIN:auto
    await asyncio.sleep(0)
