"""pytest-asyncio tests: the loop is the event_loop fixture's, closed in its
teardown (strict mode needs the asyncio marker; auto mode accepts it)."""
import asyncio
import http.server
import sys
import threading

import pytest


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"hello\n"
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def http_url():
    """A local HTTP server in a thread, outside any event loop, so that it
    never shows up in asyncleak's findings.  (No conftest.py in this suite:
    the project's own test run would import it as its `conftest`.)"""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield "http://127.0.0.1:%d/" % server.server_address[1]
    server.shutdown()
    server.server_close()


async def poll_forever():
    while True:
        await asyncio.sleep(0.01)


@pytest.mark.asyncio
async def test_async_clean():
    await asyncio.sleep(0)
    task = asyncio.ensure_future(asyncio.sleep(0.001))
    await task


@pytest.mark.asyncio
@pytest.mark.skipif(sys.version_info < (3, 11), reason="asyncio.TaskGroup is 3.11+")
async def test_async_clean_taskgroup():
    async with asyncio.TaskGroup() as tg:
        for n in range(3):
            tg.create_task(asyncio.sleep(0.001 * n))


@pytest.mark.asyncio
async def test_pending_at_loop_close():
    asyncio.get_running_loop().create_task(poll_forever())  # ORIGIN:pending
    await asyncio.sleep(0)


@pytest.mark.asyncio
async def test_unclosed_aiohttp_session(http_url):
    import aiohttp
    session = aiohttp.ClientSession()  # ORIGIN:session
    async with session.get(http_url) as resp:
        assert resp.status == 200
        assert await resp.text() == "hello\n"


@pytest.mark.asyncio
async def test_unclosed_stream_writer():
    async def serve(reader, writer):
        await reader.readline()
        writer.write(b"pong\n")
        await writer.drain()
        writer.close()
        await writer.wait_closed()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)  # ORIGIN:writer
    writer.write(b"ping\n")
    assert await reader.readline() == b"pong\n"
    server.close()
    await server.wait_closed()
    writer_kept_open = writer  # never closed
    assert writer_kept_open is not None


@pytest.mark.asyncio
@pytest.mark.asyncleak_allow(kind=["pending_task", "unclosed_resource"])
async def test_allowed_pending_at_loop_close():
    asyncio.get_running_loop().create_task(poll_forever())
    await asyncio.sleep(0)
