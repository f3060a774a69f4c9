"""Exercise 07 reference solution: clean up in `finally`, let cancellation travel on."""

import asyncio

# How long the demo connection takes to send one job, and to close, in seconds.
DEMO_SEND_SECONDS = 0.4
DEMO_CLOSE_SECONDS = 0.1


class Connection:
    """Provided: a pretend connection to a job server. Don't change this class.

    The grader swaps ``open_connection`` for one that hands out an instrumented
    connection recording every send and close.
    """

    def __init__(self) -> None:
        self.closed = False

    async def send(self, job: str) -> None:
        """Deliver one job to the server; takes a while."""
        await asyncio.sleep(DEMO_SEND_SECONDS)
        print(f"  sent {job}")

    async def close(self) -> None:
        """Say goodbye to the server; this waits too, so it must be awaited."""
        await asyncio.sleep(DEMO_CLOSE_SECONDS)
        self.closed = True
        print("  connection closed")

    async def __aenter__(self) -> "Connection":
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()


def open_connection() -> Connection:
    """Provided: open a new connection. Don't change this function."""
    return Connection()


async def worker(jobs: list[str]) -> int:
    """Task 1: `finally` closes the connection on every way out, then the error moves on."""
    conn = open_connection()
    sent = 0
    try:
        for job in jobs:
            await conn.send(job)
            sent += 1
    finally:
        await conn.close()
    return sent


async def cancel_all(tasks: list[asyncio.Task]) -> int:
    """Task 2: ask every task to stop, then wait for all of them with errors as values."""
    for task in tasks:
        task.cancel()  # does nothing to a task that has already finished
    await asyncio.gather(*tasks, return_exceptions=True)
    return sum(task.cancelled() for task in tasks)


if __name__ == "__main__":

    async def demo() -> None:
        print("worker, cancelled after 1 s:")
        task = asyncio.create_task(worker(["a", "b", "c", "d", "e"]))
        await asyncio.sleep(1.0)
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            print("  the worker ended cancelled, as it should")
        else:
            print("  the worker returned normally: was the cancellation swallowed?")

        print("cancel_all on three sleeping tasks:")
        sleepers = [asyncio.create_task(asyncio.sleep(60)) for _ in range(3)]
        await asyncio.sleep(0)
        print(f"  cancelled {await cancel_all(sleepers)} tasks")

    asyncio.run(demo())
