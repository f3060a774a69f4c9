"""Exercise 04: start work in the background, collect it later. See README.md for the tasks."""

import asyncio

# How long the demo steps and jobs take, in seconds.
STEP_DELAYS = {"login": 0.3, "menu": 0.4, "alerts": 0.5}
JOB_DELAYS = {"backup": 1.0, "newsletter": 0.5, "thumbnails": 0.8}


async def build_report(name: str) -> str:
    """Provided: build a slow report (about 2 s). Don't change this function.

    The grader swaps it for an instrumented copy that records when it starts and ends.
    """
    await asyncio.sleep(2.0)
    return f"{name} report"


async def quick_step(name: str) -> str:
    """Provided: one quick step of loading the dashboard. Don't change this function."""
    await asyncio.sleep(STEP_DELAYS.get(name, 0.3))
    return f"{name} done"


async def run_job(name: str) -> str:
    """Provided: one background job. Don't change this function."""
    await asyncio.sleep(JOB_DELAYS.get(name, 1.0))
    return f"{name} finished"


async def open_dashboard(report: str, steps: list[str]) -> tuple[str, list[str]]:
    """Task 1: build the report in the background while the steps run in order."""
    # TODO(task 1): get build_report(report) going first, run the steps one at a time,
    # then collect the report and return (report_text, step_results).
    raise NotImplementedError("open_dashboard is not written yet")


class BackgroundJobs:
    """Task 2: starts jobs in the background and keeps them until they are collected."""

    def __init__(self) -> None:
        # TODO(task 2): make somewhere to keep every task you start.
        pass

    def start(self, name: str) -> asyncio.Task:
        """Start run_job(name) right away, remember its task, and return the task."""
        # TODO(task 2): create the task, store it, return it (no await in here).
        raise NotImplementedError("BackgroundJobs.start is not written yet")

    async def wait_for_all(self) -> list[str]:
        """Wait for every job started so far; return their results in start order."""
        # TODO(task 2): wait for every stored task and collect the results.
        raise NotImplementedError("BackgroundJobs.wait_for_all is not written yet")


async def _demo() -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    print(await open_dashboard("sales", list(STEP_DELAYS)))
    print(f"dashboard ready after {loop.time() - started:.2f} s")

    jobs = BackgroundJobs()
    for name in JOB_DELAYS:
        jobs.start(name)
    print(await jobs.wait_for_all())


if __name__ == "__main__":
    asyncio.run(_demo())
