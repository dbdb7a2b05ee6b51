"""A task fails and nobody retrieves its exception; it is collected:
unretrieved_exception at gc (asyncio still says "Task exception was never
retrieved")."""
import asyncio
import gc


async def fail():
    raise ValueError("boom-42")


async def main():
    t = asyncio.get_running_loop().create_task(fail(), name="failing")  # ORIGIN:failing
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    del t
    gc.collect()
    await asyncio.sleep(0)
    print("collected")


asyncio.run(main())
