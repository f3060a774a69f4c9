"""Exercise 06: use results as they arrive. See README.md for the tasks."""

import asyncio
from collections.abc import Callable

# How long each demo source takes to "download", in seconds.
DEMO_DELAYS = {"north": 1.0, "east": 0.5, "south": 0.8, "west": 2.0}


async def fetch(source: str) -> str:
    """Provided: pretend to download ``source``. Don't change this function.

    The grader swaps it for an instrumented copy that records each call's start, end
    and outcome (finished, failed or cancelled).
    """
    await asyncio.sleep(DEMO_DELAYS.get(source, 1.0))
    return f"data from {source}"


async def fetch_within(sources: list[str], seconds: float) -> dict[str, str]:
    """Task 1: the results that arrived within ``seconds``; the rest cancelled."""
    # TODO(task 1): start every fetch as a task, wait at most `seconds`, keep what
    # finished successfully, then cancel the rest and wait until they have stopped.
    raise NotImplementedError("fetch_within is not written yet")


async def fetch_with_progress(sources: list[str],
                              report: Callable[[str, str], None]) -> list[str]:
    """Task 2: report each result as it arrives; return them in completion order."""
    # TODO(task 2): handle each fetch as it completes, knowing which source it was.
    raise NotImplementedError("fetch_with_progress is not written yet")


async def demo() -> None:
    print(await fetch_within(list(DEMO_DELAYS), 1.2))
    loop = asyncio.get_running_loop()
    started = loop.time()

    def report(source: str, result: str) -> None:
        print(f"{loop.time() - started:4.1f} s  {source}: {result}")

    print(await fetch_with_progress(["north", "east", "south"], report))


if __name__ == "__main__":
    asyncio.run(demo())
