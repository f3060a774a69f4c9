"""Exercise 18: serve many requests at once. See README.md for the tasks."""

import asyncio
import time
from collections.abc import Coroutine
from typing import Any

NAMES = {1: "Ada", 2: "Grace", 3: "Linus"}


async def query_user(user_id: int) -> dict:
    """Provided: a query through the async database driver. Don't change this function.

    It takes about 0.1 s. The grader swaps it for an instrumented copy.
    """
    await asyncio.sleep(0.1)
    return {"id": user_id, "name": NAMES.get(user_id, f"user {user_id}")}


def query_user_blocking(user_id: int) -> dict:
    """Provided: the same query through an old synchronous driver. Don't change it.

    It holds the calling thread for about 0.1 s. The grader swaps it for a copy too.
    """
    time.sleep(0.1)
    return {"id": user_id, "name": NAMES.get(user_id, f"user {user_id}")}


async def handle(request: dict) -> dict:
    """Task 1: {"user_id": 1} -> {"status": 200, "body": "Hello, Ada!"}, via query_user."""
    # TODO(task 1): await the async driver, then build the response.
    raise NotImplementedError("handle is not written yet")


async def serve(requests: list[dict]) -> list[dict]:
    """Task 1: handle every request concurrently; responses in the order of requests."""
    # TODO(task 1): start every handler before waiting for any of them.
    raise NotImplementedError("serve is not written yet")


async def handle_legacy(request: dict) -> dict:
    """Task 2: the same response as handle, via query_user_blocking, loop kept free."""
    # TODO(task 2): the blocking driver must wait on a worker thread, not on the loop.
    raise NotImplementedError("handle_legacy is not written yet")


def run_or_schedule(coro: Coroutine[Any, Any, Any]) -> Any:
    """Task 3: run ``coro`` to the end when no loop is running here; else schedule it."""
    # TODO(task 3): find out whether an event loop is running in this thread first.
    raise NotImplementedError("run_or_schedule is not written yet")


if __name__ == "__main__":
    batch = [{"user_id": n % 5 + 1} for n in range(100)]
    started = time.perf_counter()
    responses = asyncio.run(serve(batch))
    print(responses[:3], f"... {len(responses)} responses")
    print(f"served in {time.perf_counter() - started:.2f} s")
    print(run_or_schedule(handle({"user_id": 2})))
