"""Exercise 14 reference solution: a TaskGroup owns the jobs; except* sorts the errors."""

import asyncio

DEMO_JOBS = {"resize": 1.0, "compress": 0.4, "upload": 0.7}


async def run_job(name: str) -> str:
    """Provided: pretend to run the job called ``name``. Don't change this function."""
    await asyncio.sleep(DEMO_JOBS.get(name, 1.0))
    return f"{name} done"


async def run_all(names: list[str]) -> list[str]:
    """Task 1: the group waits for every job and cancels the rest when one fails."""
    async with asyncio.TaskGroup() as group:
        tasks = [group.create_task(run_job(name)) for name in names]
    return [task.result() for task in tasks]


async def run_batch(names: list[str]) -> dict[str, list[str]]:
    """Task 2: except* handles only the ValueErrors; anything else is re-raised."""
    rejected: list[str] = []
    try:
        done = await run_all(names)
    except* ValueError as group_error:
        rejected = [str(error) for error in group_error.exceptions]
    if rejected:
        return {"done": [], "rejected": rejected}
    return {"done": done, "rejected": []}


if __name__ == "__main__":
    import time

    started = time.perf_counter()
    print(asyncio.run(run_all(list(DEMO_JOBS))))
    print(f"took {time.perf_counter() - started:.2f} s")
    print(asyncio.run(run_batch(list(DEMO_JOBS))))
