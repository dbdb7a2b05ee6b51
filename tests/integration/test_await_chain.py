"""Await chains in task findings: "suspended_at" continues across `await
other_task`, "awaiting" names the tasks waited on, "awaited_by" the tasks
waiting; the same in the text report.  Also closed_while_in_use: a stream
closed while a pending task still writes to it (and the correct order gives
nothing)."""
from conftest import assert_origin, marker_line, run_cmd, short_name

CHAIN = '''
import asyncio

async def leaf():
    await asyncio.sleep(100)                 # ORIGIN:leaf_wait

async def middle(t):
    await t                                   # ORIGIN:middle_wait

async def main():
    t = asyncio.create_task(leaf(), name="leaf")          # ORIGIN:leaf
    asyncio.create_task(middle(t), name="middle")          # ORIGIN:middle
    await asyncio.sleep(0.01)

loop = asyncio.new_event_loop()
loop.run_until_complete(main())
loop.close()
'''


def _write(tmp_path, name, source):
    p = tmp_path / name
    p.write_text(source)
    return p


def test_awaiting_and_awaited_by(interp, tmp_path):
    prog = _write(tmp_path, "chain.py", CHAIN)
    run = run_cmd([interp.exe, prog], tmp_path)
    assert run.returncode == 0, run.describe()
    leaf, middle = run.finding_for("leaf"), run.finding_for("middle")
    assert_origin(leaf, prog, marker_line(prog, "leaf"), outer=None)
    assert_origin(middle, prog, marker_line(prog, "middle"), outer=None)
    # middle waits in middle(), then, through `await t`, in leaf().
    frames = middle["suspended_at"]["frames"]
    ours = [(short_name(f["function"]), f["line"]) for f in frames if f["file"] == str(prog)]
    assert ours == [("middle", marker_line(prog, "middle_wait")), ("leaf", marker_line(prog, "leaf_wait"))], frames
    assert [t["name"] for t in middle["awaiting"]] == ["leaf"], middle
    assert [t["name"] for t in leaf["awaited_by"]] == ["middle"], leaf
    assert "awaited_by" not in middle and "awaiting" not in leaf
    assert "Awaiting task 'leaf' (coroutine leaf)" in run.stderr, run.describe()
    assert "Awaited by task 'middle' (coroutine middle)" in run.stderr, run.describe()


STREAMS = '''
import asyncio, sys

async def client(writer, stop):
    while not stop.is_set():
        writer.write(b"ping\\n")
        await writer.drain()
        await asyncio.sleep(0.01)

async def handle(r, w):
    while await r.readline():
        pass
    w.close()

async def main(correct):
    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)   # ORIGIN:open
    stop = asyncio.Event()
    t = asyncio.create_task(client(writer, stop), name="writer-user")  # ORIGIN:user
    await asyncio.sleep(0.05)
    if correct:
        stop.set()
        await t
        writer.close()
        await writer.wait_closed()
    else:
        writer.close()                                                  # ORIGIN:close
        await asyncio.sleep(0.05)
        t.cancel()
        await asyncio.gather(t, return_exceptions=True)
    server.close()

asyncio.run(main(sys.argv[1] == "good"))
'''


def test_closed_while_in_use(interp, tmp_path):
    prog = _write(tmp_path, "streams.py", STREAMS)
    run = run_cmd([interp.exe, prog, "bad"], tmp_path)
    assert run.returncode == 0, run.describe()
    hits = run.findings("closed_while_in_use")
    assert len(hits) == 1, run.describe()
    f = hits[0]
    assert f["when"] == "close" and f["resource"]["type"] == "asyncio.streams.StreamWriter", f
    assert_origin(f, prog, marker_line(prog, "open"), outer=None)
    assert f["closed_at"]["frames"][-1]["line"] == marker_line(prog, "close"), f
    assert [t["task"]["name"] for t in f["tasks"]] == ["writer-user"], f
    assert f["tasks"][0]["origin"]["frames"][-1]["line"] == marker_line(prog, "user"), f


def test_correct_close_order_gives_nothing(interp, tmp_path):
    prog = _write(tmp_path, "streams.py", STREAMS)
    run = run_cmd([interp.exe, prog, "good"], tmp_path)
    assert run.returncode == 0, run.describe()
    assert run.findings("closed_while_in_use") == [], run.describe()
