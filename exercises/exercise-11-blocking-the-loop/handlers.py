"""Exercise 11: handlers that wait without freezing the event loop. See README.md."""

import asyncio
import time

LOOKUP_SECONDS = 0.5


def legacy_lookup(key: str) -> str:
    """Provided: a call into a synchronous client library. Don't change this function.

    Like ``requests.get`` or an old database driver, it holds the calling thread until
    the answer arrives. The grader swaps it for an instrumented copy.
    """
    time.sleep(LOOKUP_SECONDS)
    return f"value of {key}"


async def reply_after(delay: float, message: str) -> str:
    """Task 1: wait ``delay`` seconds without freezing the loop, then return ``message``."""
    # TODO(task 1): pause this coroutine only, not the thread the whole loop runs on.
    raise NotImplementedError("reply_after is not written yet")


async def lookup(key: str) -> str:
    """Task 2: return ``legacy_lookup(key)`` while the loop keeps serving other tasks."""
    # TODO(task 2): run the blocking call on a worker thread and await its result.
    raise NotImplementedError("lookup is not written yet")


async def lookup_all(keys: list[str]) -> list[str]:
    """Task 3: look up every key at once; results in the order of ``keys``."""
    # TODO(task 3): start every lookup before waiting for any of them.
    raise NotImplementedError("lookup_all is not written yet")


if __name__ == "__main__":

    async def heartbeat(started: float) -> None:
        while True:
            print(f"  (heartbeat at {time.perf_counter() - started:.2f} s)")
            await asyncio.sleep(0.1)

    async def demo() -> None:
        beat = asyncio.create_task(heartbeat(time.perf_counter()))
        print(await reply_after(0.3, "hello"))
        print(await lookup("alpha"))
        print(await lookup_all(["alpha", "beta", "gamma"]))
        beat.cancel()

    asyncio.run(demo())
