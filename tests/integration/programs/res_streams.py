"""asyncio streams and servers: asyncio.open_connection to a local
asyncio.start_server (127.0.0.1, port 0), in the same process.  argv[1]
picks the scenario:

  writer_gc        the client's StreamWriter is dropped unclosed while the
                   loop runs: freed unclosed (gc).
  writer_kept      the client's StreamWriter is kept referenced, never closed:
                   still open when asyncio.run() closes the loop (loop_close).
  writer_closed    writer.close() + await writer.wait_closed(): no finding.
  server_kept      the Server is kept referenced and never closed (loop_close).
  server_dropped   the Server is dropped without close(): reported when the
                   loop lets go of it (loop_close or gc).
  server_closed    server.close() + await server.wait_closed(): no finding.
  server_with      `async with server`: no finding.

The server side always closes its own writer.  Every scenario prints
"reply: ping" and "done" and exits 0.
"""
import asyncio
import gc
import sys

KEEP = []


async def handle(reader, writer):
    line = await reader.readline()
    writer.write(line)
    await writer.drain()
    writer.close()
    await writer.wait_closed()


async def talk(port, scenario):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)  # ORIGIN:open_connection
    writer.write(b"ping\n")
    await writer.drain()
    print("reply:", (await reader.readline()).decode().strip())
    if scenario == "writer_kept":
        KEEP.append(writer)
    elif scenario != "writer_gc":
        writer.close()
        await writer.wait_closed()


async def serve_once(server, scenario):
    port = server.sockets[0].getsockname()[1]
    await talk(port, scenario)
    gc.collect()
    await asyncio.sleep(0.01)


async def main(scenario):
    if scenario == "server_with":
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        async with server:
            await serve_once(server, scenario)
        return
    server = await asyncio.start_server(handle, "127.0.0.1", 0)  # ORIGIN:start_server
    await serve_once(server, scenario)
    if scenario == "server_kept":
        KEEP.append(server)
    elif scenario == "server_dropped":
        del server
    else:
        server.close()
        await server.wait_closed()
    gc.collect()
    await asyncio.sleep(0)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
    print("done")
