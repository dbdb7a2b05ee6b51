"""Imports asyncio, runs one coroutine, prints "hello N", exits with argv[1]."""
import asyncio
import sys


async def main():
    await asyncio.sleep(0)
    return 42


print("hello", asyncio.run(main()))
sys.exit(int(sys.argv[1]) if len(sys.argv) > 1 else 0)
