"""Exercise 08 reference solution: failures as values, or fail fast and tidy up."""

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
    """Task 1: return_exceptions=True keeps every outcome, each in its input slot."""
    outcomes = await asyncio.gather(*(fetch(s) for s in sources), return_exceptions=True)
    successes = []
    failures = []
    for source, outcome in zip(sources, outcomes, strict=True):
        if isinstance(outcome, Exception):
            failures.append((source, type(outcome).__name__))
        else:
            successes.append(outcome)
    return successes, failures


async def fetch_all_or_fail(sources: list[str]) -> list[str]:
    """Task 2: on the first failure, cancel the other fetches and wait for them."""
    tasks = [asyncio.create_task(fetch(source)) for source in sources]
    try:
        return list(await asyncio.gather(*tasks))
    except Exception:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


if __name__ == "__main__":
    sources = list(DEMO_DELAYS)
    print(asyncio.run(split_results(sources)))
    try:
        print(asyncio.run(fetch_all_or_fail(sources)))
    except Exception as exc:  # TaskGroup users: an ExceptionGroup lands here too
        print(f"fetch_all_or_fail raised {exc!r}")
