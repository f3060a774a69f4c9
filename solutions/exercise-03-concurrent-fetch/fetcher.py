"""Exercise 03 reference solution: gather keeps input order and overlaps the waits."""

import asyncio

DEMO_DELAYS = {"users": 1.0, "orders": 0.5, "stock": 0.8}


async def fetch(source: str) -> str:
    """Provided: pretend to download ``source``. Don't change this function."""
    await asyncio.sleep(DEMO_DELAYS.get(source, 1.0))
    return f"data from {source}"


async def fetch_all(sources: list[str]) -> list[str]:
    """Task 1: gather starts every fetch at once and returns results in input order."""
    return list(await asyncio.gather(*(fetch(source) for source in sources)))


async def fetch_all_safe(sources: list[str]) -> list[str | None]:
    """Task 2: return_exceptions=True turns each failure into a value we can replace."""
    results = await asyncio.gather(*(fetch(s) for s in sources), return_exceptions=True)
    return [None if isinstance(result, Exception) else result for result in results]


if __name__ == "__main__":
    import time

    started = time.perf_counter()
    print(asyncio.run(fetch_all(list(DEMO_DELAYS))))
    print(f"took {time.perf_counter() - started:.2f} s")
