"""closed_while_in_use through every way a program reaches the resource it
closes.  The check counts the references it can explain (the close call,
the running frames' locals, objects pointing back) and looks at the pending
tasks only when some are left over: each path here must still find the task
that holds the writer, and find nothing once that task has finished.

argv[1] picks how the closer reaches the writer:
  local      writer.close() on a local variable
  attr       self.writer.close() on an object attribute
  listed     for w in conns: w.close(), the writer kept in a list
  mapped     list(map(asyncio.StreamWriter.close, conns)): called from C
  bound      getattr(writer, "close")(): through a bound method object
  caller     operator.methodcaller("close")(writer)
  outer      close() in a helper; the writer also a local of its caller
argv[2]: "busy" (a task is suspended holding the writer: one finding naming
it) or "idle" (that task has finished first: no finding).
"""
import asyncio
import operator
import sys


class Conn:
    def __init__(self, writer):
        self.writer = writer


async def handle(reader, writer):
    await reader.read()          # until the client closes
    writer.close()


async def user(reader, writer):
    writer.write(b"x")
    await reader.read(1)                                  # ORIGIN:user_wait


async def close_in_helper(writer):
    writer.close()                                        # ORIGIN:close_helper


async def main(path, busy):
    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)   # ORIGIN:open
    task = asyncio.create_task(user(reader, writer), name="holder")      # ORIGIN:holder
    await asyncio.sleep(0.05)
    if not busy:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    conns = [writer]
    if path == "local":
        writer.close()                                    # ORIGIN:close_local
    elif path == "attr":
        conn = Conn(writer)
        del writer
        conns.clear()
        conn.writer.close()                               # ORIGIN:close_attr
    elif path == "listed":
        del writer
        for w in conns:
            w.close()                                     # ORIGIN:close_listed
    elif path == "mapped":
        del writer
        list(map(asyncio.StreamWriter.close, conns))      # ORIGIN:close_mapped
    elif path == "bound":
        getattr(writer, "close")()                        # ORIGIN:close_bound
    elif path == "caller":
        operator.methodcaller("close")(writer)            # ORIGIN:close_caller
    elif path == "outer":
        await close_in_helper(writer)
    else:
        raise SystemExit("unknown path " + path)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    server.close()
    await server.wait_closed()


asyncio.run(main(sys.argv[1], sys.argv[2] == "busy"))
print("done")
