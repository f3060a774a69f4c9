"""Exercise 04 reference solution: create_task now, await later; keep every task."""

import asyncio

STEP_DELAYS = {"login": 0.3, "menu": 0.4, "alerts": 0.5}
JOB_DELAYS = {"backup": 1.0, "newsletter": 0.5, "thumbnails": 0.8}


async def build_report(name: str) -> str:
    """Provided: build a slow report (about 2 s). Don't change this function."""
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
    """Task 1: the report task runs while the steps are awaited one by one."""
    report_task = asyncio.create_task(build_report(report))
    step_results = [await quick_step(step) for step in steps]
    return await report_task, step_results


class BackgroundJobs:
    """Task 2: every task is kept in a list until wait_for_all collects it."""

    def __init__(self) -> None:
        self._tasks: list[asyncio.Task[str]] = []

    def start(self, name: str) -> asyncio.Task[str]:
        """Start run_job(name) right away, remember its task, and return the task."""
        task = asyncio.create_task(run_job(name))
        self._tasks.append(task)
        return task

    async def wait_for_all(self) -> list[str]:
        """Wait for every job started so far; return their results in start order."""
        return list(await asyncio.gather(*self._tasks))


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
