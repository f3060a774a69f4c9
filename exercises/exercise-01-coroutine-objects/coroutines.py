"""Exercise 01: coroutine functions versus coroutine objects. See README.md for the tasks."""

import asyncio
import inspect  # noqa: F401  (you will want it)
from collections.abc import Callable
from typing import Any


def kind_of(obj: object) -> str:
    """Task 1: classify ``obj`` without calling it (see README.md for the six answers)."""
    # TODO(task 1): test the most specific kinds first; a coroutine function is a function too.
    raise NotImplementedError("kind_of is not written yet")


async def notify_all(listeners: list[Callable[[str], Any]], message: str) -> int:
    """Task 2: give ``message`` to every listener; return how many replied True."""
    # TODO(task 2): an async listener's body only runs once you await what it returned.
    raise NotImplementedError("notify_all is not written yet")


async def run_all(jobs: list[Callable[[], Any]]) -> list[Any]:
    """Task 3: call each job once; return their results (awaited when needed), in order."""
    # TODO(task 3): look at what each call returned, not at how the job was defined.
    raise NotImplementedError("run_all is not written yet")


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
