"""Exercise 01 reference solution: classify without calling; await what calls return."""

import asyncio
import inspect
from collections.abc import Callable
from typing import Any


def kind_of(obj: object) -> str:
    """Task 1: the specific kinds first, because a coroutine function is a function too."""
    if inspect.iscoroutinefunction(obj):
        return "coroutine function"
    if inspect.iscoroutine(obj):
        return "coroutine"
    if inspect.isgeneratorfunction(obj):
        return "generator function"
    if inspect.isgenerator(obj):
        return "generator"
    if callable(obj):
        return "function"
    return "value"


async def call_and_wait(func: Callable[..., Any], *args: Any) -> Any:
    """Call ``func``; if it handed back something awaitable, await it for the real result."""
    result = func(*args)
    if inspect.isawaitable(result):
        result = await result
    return result


async def notify_all(listeners: list[Callable[[str], Any]], message: str) -> int:
    """Task 2: every listener really runs; count the replies, never the coroutines."""
    accepted = 0
    for listener in listeners:
        if await call_and_wait(listener, message):
            accepted += 1
    return accepted


async def run_all(jobs: list[Callable[[], Any]]) -> list[Any]:
    """Task 3: one call per job; the result is decided by what the call returned."""
    return [await call_and_wait(job) for job in jobs]


# -- a demo you can run with `python coroutines.py` --------------------------------------


async def shout(message: str) -> bool:
    await asyncio.sleep(0.1)
    print(f"async listener got: {message}")
    return True


def whisper(message: str) -> bool:
    print(f"plain listener got: {message}")
    return False


if __name__ == "__main__":
    pending = shout("hello")  # a coroutine object: nothing has run yet
    try:
        print(kind_of(shout), "/", kind_of(pending))
    finally:
        pending.close()  # we never ran it: close it so Python doesn't warn
    print("accepted:", asyncio.run(notify_all([shout, whisper], "hello")))
    print(asyncio.run(run_all([lambda: 1, lambda: shout("from run_all")])))
