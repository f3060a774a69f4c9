"""Exercise 06 reference solution: wait with a deadline, cancel and drain; as_completed."""

import asyncio
from collections.abc import Callable

DEMO_DELAYS = {"north": 1.0, "east": 0.5, "south": 0.8, "west": 2.0}


async def fetch(source: str) -> str:
    """Provided: pretend to download ``source``. Don't change this function."""
    await asyncio.sleep(DEMO_DELAYS.get(source, 1.0))
    return f"data from {source}"


async def fetch_within(sources: list[str], seconds: float) -> dict[str, str]:
    """Task 1: keep what finished in time; cancel the rest and wait until they stop."""
    tasks = {asyncio.create_task(fetch(source)): source for source in sources}
    done, pending = await asyncio.wait(tasks, timeout=seconds)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    return {tasks[task]: task.result() for task in done if task.exception() is None}


async def fetch_labelled(source: str) -> tuple[str, str]:
    """A fetch whose result says which source it came from."""
    return source, await fetch(source)


async def fetch_with_progress(sources: list[str],
                              report: Callable[[str, str], None]) -> list[str]:
    """Task 2: as_completed hands results over in the order they finish."""
    results = []
    for next_done in asyncio.as_completed([fetch_labelled(s) for s in sources]):
        source, result = await next_done
        report(source, result)
        results.append(result)
    return results


async def demo() -> None:
    print(await fetch_within(list(DEMO_DELAYS), 1.2))
    loop = asyncio.get_running_loop()
    started = loop.time()

    def report(source: str, result: str) -> None:
        print(f"{loop.time() - started:4.1f} s  {source}: {result}")

    print(await fetch_with_progress(["north", "east", "south"], report))


if __name__ == "__main__":
    asyncio.run(demo())
