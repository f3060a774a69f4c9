"""Exercise 05 reference solution: let asyncio's timeout tools cancel at the limit."""

import asyncio

DEMO_DELAYS = {"quick": 0.5, "slow": 3.0, "login": 0.3, "account": 0.4, "orders": 0.6}


async def fetch(source: str) -> str:
    """Provided: pretend to download ``source``. Don't change this function."""
    await asyncio.sleep(DEMO_DELAYS.get(source, 1.0))
    return f"data from {source}"


async def fetch_with_timeout(source: str, seconds: float) -> str:
    """Task 1: wait_for cancels the fetch at the limit, then raises TimeoutError."""
    return await asyncio.wait_for(fetch(source), timeout=seconds)


async def fetch_or_default(source: str, seconds: float, default: str) -> str:
    """Task 2: only a timeout falls back; any other error still reaches the caller."""
    try:
        return await fetch_with_timeout(source, seconds)
    except TimeoutError:
        return default


async def fetch_in_order(sources: list[str], seconds: float) -> list[str]:
    """Task 3: one timeout block around the loop, so every step shares one deadline."""
    results = []
    async with asyncio.timeout(seconds):
        for source in sources:
            results.append(await fetch(source))
    return results


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
