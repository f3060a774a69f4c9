"""Exercise 11 reference solution: await instead of block, and push blocking calls to threads."""

import asyncio
import time

LOOKUP_SECONDS = 0.5


def legacy_lookup(key: str) -> str:
    """Provided: a call into a synchronous client library. Don't change this function."""
    time.sleep(LOOKUP_SECONDS)
    return f"value of {key}"


async def reply_after(delay: float, message: str) -> str:
    """Task 1: asyncio.sleep suspends only this coroutine; the loop runs everything else."""
    await asyncio.sleep(delay)
    return message


async def lookup(key: str) -> str:
    """Task 2: the blocking call waits on a worker thread while the loop stays free."""
    return await asyncio.to_thread(legacy_lookup, key)


async def lookup_all(keys: list[str]) -> list[str]:
    """Task 3: gather starts every lookup at once and keeps the order of ``keys``."""
    return list(await asyncio.gather(*(lookup(key) for key in keys)))


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
