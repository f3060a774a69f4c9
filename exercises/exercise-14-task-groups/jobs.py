"""Exercise 14: run jobs in a TaskGroup and handle their failures. See README.md."""

import asyncio

# How long each demo job takes, in seconds.
DEMO_JOBS = {"resize": 1.0, "compress": 0.4, "upload": 0.7}


async def run_job(name: str) -> str:
    """Provided: pretend to run the job called ``name``. Don't change this function.

    The grader swaps it for an instrumented copy that records when each job starts and
    how it ends (finished, failed or cancelled), and that makes some jobs fail.
    """
    await asyncio.sleep(DEMO_JOBS.get(name, 1.0))
    return f"{name} done"


async def run_all(names: list[str]) -> list[str]:
    """Task 1: run every job at once; one failure cancels the rest."""
    # TODO(task 1): create every job with the TaskGroup's own create_task.
    raise NotImplementedError("run_all is not written yet")


async def run_batch(names: list[str]) -> dict[str, list[str]]:
    """Task 2: report ValueErrors as "rejected"; let every other error through."""
    # TODO(task 2): use except* to pick the ValueErrors out of the ExceptionGroup.
    raise NotImplementedError("run_batch is not written yet")


if __name__ == "__main__":
    import time

    started = time.perf_counter()
    print(asyncio.run(run_all(list(DEMO_JOBS))))
    print(f"took {time.perf_counter() - started:.2f} s")
    print(asyncio.run(run_batch(list(DEMO_JOBS))))
