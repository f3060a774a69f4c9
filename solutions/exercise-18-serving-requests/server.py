"""Exercise 18 reference solution: one coroutine per request, nothing blocks the loop."""

import asyncio
import time
from collections.abc import Coroutine
from typing import Any

NAMES = {1: "Ada", 2: "Grace", 3: "Linus"}


async def query_user(user_id: int) -> dict:
    """Provided: a query through the async database driver. Don't change this function."""
    await asyncio.sleep(0.1)
    return {"id": user_id, "name": NAMES.get(user_id, f"user {user_id}")}


def query_user_blocking(user_id: int) -> dict:
    """Provided: the same query through an old synchronous driver. Don't change it."""
    time.sleep(0.1)
    return {"id": user_id, "name": NAMES.get(user_id, f"user {user_id}")}


def respond(row: dict) -> dict:
    return {"status": 200, "body": f"Hello, {row['name']}!"}


async def handle(request: dict) -> dict:
    """Task 1: awaiting the driver lets the loop serve other requests meanwhile."""
    return respond(await query_user(request["user_id"]))


async def serve(requests: list[dict]) -> list[dict]:
    """Task 1: gather runs every handler at once and keeps the order of the requests."""
    return list(await asyncio.gather(*(handle(request) for request in requests)))


async def handle_legacy(request: dict) -> dict:
    """Task 2: the blocking driver waits on a worker thread; the loop stays free."""
    return respond(await asyncio.to_thread(query_user_blocking, request["user_id"]))


def run_or_schedule(coro: Coroutine[Any, Any, Any]) -> Any:
    """Task 3: asyncio.run only where no loop runs; inside one, schedule a task instead."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    return loop.create_task(coro)


if __name__ == "__main__":
    batch = [{"user_id": n % 5 + 1} for n in range(100)]
    started = time.perf_counter()
    responses = asyncio.run(serve(batch))
    print(responses[:3], f"... {len(responses)} responses")
    print(f"served in {time.perf_counter() - started:.2f} s")
    print(run_or_schedule(handle({"user_id": 2})))
