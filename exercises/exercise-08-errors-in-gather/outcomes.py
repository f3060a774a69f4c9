"""Exercise 08: handle failures among concurrent fetches. See README.md for the tasks."""

import asyncio

# How long each demo source takes, in seconds, and which ones break.
DEMO_DELAYS = {"weather": 0.6, "news": 0.3, "stocks": 0.9, "sport": 0.5}
DEMO_BROKEN = {"news": TimeoutError("news took too long")}


async def fetch(source: str) -> str:
    """Provided: pretend to download ``source``; may raise. Don't change this function.

    The grader swaps it for an instrumented copy that records each call and decides
    which sources fail.
    """
    await asyncio.sleep(DEMO_DELAYS.get(source, 1.0))
    if source in DEMO_BROKEN:
        raise DEMO_BROKEN[source]
    return f"data from {source}"


async def split_results(sources: list[str]) -> tuple[list[str], list[tuple[str, str]]]:
    """Task 1: (results that worked, (source, exception type name) for each failure)."""
    # TODO(task 1): fetch concurrently without letting one failure lose the rest, then
    # sort each outcome into one of the two lists, keeping the order of `sources`.
    raise NotImplementedError("split_results is not written yet")


async def fetch_all_or_fail(sources: list[str]) -> list[str]:
    """Task 2: every result in order, or the first failure with nothing left running."""
    # TODO(task 2): on the first failure, stop the other fetches and wait for them
    # before letting the exception out.
    raise NotImplementedError("fetch_all_or_fail is not written yet")


if __name__ == "__main__":
    sources = list(DEMO_DELAYS)
    print(asyncio.run(split_results(sources)))
    try:
        print(asyncio.run(fetch_all_or_fail(sources)))
    except Exception as exc:  # TaskGroup users: an ExceptionGroup lands here too
        print(f"fetch_all_or_fail raised {exc!r}")
