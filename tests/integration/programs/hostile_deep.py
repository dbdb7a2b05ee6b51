"""Tasks created deep in the Python stack.

argv[1]:
  deep DEPTH        recurse DEPTH levels, then create one task with
                    loop.create_task (left pending at loop close); run with a
                    small stack_depth: the origin is truncated but still
                    ends at the creating line
  limit             recurse until RecursionError, creating a task at every
                    level on the way down; prints how deep it got (must not
                    change under the tool) and closes the loop with the tasks
                    pending
The task of "deep" is named "deep-task"; its creating line is marked
ORIGIN:deep, the recursive call ORIGIN:recurse.
"""
import asyncio
import sys

KEEP = []


async def forever():
    await asyncio.sleep(3600)


def recurse(loop, n):
    if n > 0:
        return recurse(loop, n - 1)  # ORIGIN:recurse
    KEEP.append(loop.create_task(forever(), name="deep-task"))  # ORIGIN:deep
    return n


def dive(loop, depth):
    try:
        KEEP.append(loop.create_task(forever()))
    except RecursionError:
        return depth
    try:
        return dive(loop, depth + 1)
    except RecursionError:
        return depth


def main():
    mode = sys.argv[1]
    loop = asyncio.new_event_loop()
    loop.set_exception_handler(lambda loop, context: None)
    if mode == "deep":
        recurse(loop, int(sys.argv[2]))
        loop.run_until_complete(asyncio.sleep(0))
    elif mode == "limit":
        deepest = dive(loop, 0)
        print("deepest", deepest, "tasks", len(KEEP), flush=True)
        loop.run_until_complete(asyncio.sleep(0))
    else:
        raise SystemExit(f"unknown mode {mode}")
    loop.close()
    print("done", flush=True)


if __name__ == "__main__":
    main()
