"""asyncio.run() in a second thread leaves a task behind: orphaned_task at
runner_shutdown, with the thread's stack as origin."""
import asyncio
import threading

KEEP = []


async def forever():
    await asyncio.sleep(3600)


async def main():
    KEEP.append(asyncio.create_task(forever(), name="thread-leak"))  # ORIGIN:thread_leak
    await asyncio.sleep(0)


def thread_main():
    asyncio.run(main())


th = threading.Thread(target=thread_main, name="loop-thread")
th.start()
th.join()
print("joined")
