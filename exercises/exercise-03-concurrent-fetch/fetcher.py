"""Exercise 03: fetch several sources concurrently. See README.md for the tasks."""

import asyncio

# How long each demo source takes to "download", in seconds.
DEMO_DELAYS = {"users": 1.0, "orders": 0.5, "stock": 0.8}


async def fetch(source: str) -> str:
    """Provided: pretend to download ``source``. Don't change this function.

    The grader swaps it for an instrumented copy that records each call's start and end.
    """
    await asyncio.sleep(DEMO_DELAYS.get(source, 1.0))
    return f"data from {source}"


async def fetch_all(sources: list[str]) -> list[str]:
    """Task 1: fetch every source concurrently; results in the order of ``sources``."""
    # TODO(task 1): start every fetch before waiting for any of them.
    raise NotImplementedError("fetch_all is not written yet")


async def fetch_all_safe(sources: list[str]) -> list[str | None]:
    """Task 2: like fetch_all, but a source that raises gives None in its place."""
    # TODO(task 2): collect failures instead of letting the first one escape.
    raise NotImplementedError("fetch_all_safe is not written yet")


if __name__ == "__main__":
    import time

    started = time.perf_counter()
    print(asyncio.run(fetch_all(list(DEMO_DELAYS))))
    print(f"took {time.perf_counter() - started:.2f} s")
