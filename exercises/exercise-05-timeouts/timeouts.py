"""Exercise 05: put time limits on slow operations. See README.md for the tasks."""

import asyncio

# How long each demo source takes to "download", in seconds.
DEMO_DELAYS = {"quick": 0.5, "slow": 3.0, "login": 0.3, "account": 0.4, "orders": 0.6}


async def fetch(source: str) -> str:
    """Provided: pretend to download ``source``. Don't change this function.

    The grader swaps it for an instrumented copy that records each call's start, end
    and outcome (finished, failed or cancelled).
    """
    await asyncio.sleep(DEMO_DELAYS.get(source, 1.0))
    return f"data from {source}"


async def fetch_with_timeout(source: str, seconds: float) -> str:
    """Task 1: fetch ``source``, or raise TimeoutError once ``seconds`` have passed."""
    # TODO(task 1): give the fetch a time limit; when it runs out, the fetch must be
    # cancelled and TimeoutError raised at that moment.
    raise NotImplementedError("fetch_with_timeout is not written yet")


async def fetch_or_default(source: str, seconds: float, default: str) -> str:
    """Task 2: like fetch_with_timeout, but return ``default`` when time runs out."""
    # TODO(task 2): fall back to ``default`` on a timeout, and only on a timeout.
    raise NotImplementedError("fetch_or_default is not written yet")


async def fetch_in_order(sources: list[str], seconds: float) -> list[str]:
    """Task 3: fetch ``sources`` one after another within ONE overall time limit."""
    # TODO(task 3): one deadline for the whole sequence, not a fresh one per step.
    raise NotImplementedError("fetch_in_order is not written yet")


async def demo() -> None:
    print(await fetch_with_timeout("quick", 2.0))
    try:
        await fetch_with_timeout("slow", 1.0)
    except TimeoutError:
        print("'slow' gave up after 1 s, as it should")
    print(await fetch_or_default("slow", 1.0, "yesterday's copy"))
    print(await fetch_in_order(["login", "account", "orders"], 2.0))


if __name__ == "__main__":
    asyncio.run(demo())
