"""Leaves one task pending at loop close: under the preload with json_path
set, the report must name it (the driver checks that asyncleak is active)."""
import asyncio


async def main():
    asyncio.get_running_loop().create_task(asyncio.sleep(3600))
    await asyncio.sleep(0)


loop = asyncio.new_event_loop()
loop.run_until_complete(main())
loop.close()
print("{}")
