"""Hidden checks for exercise 04 (background tasks: create_task now, await later)."""

import asyncio
import inspect
import itertools
import re
from pathlib import Path

import pytest

from grader.suite import (
    FakeIO,
    Operation,
    expect_elapsed_at_most,
    expect_equal,
    expect_no_pending_tasks,
    fail,
)

REPORT_DELAY = 2.0
STEP_DELAYS = {"login": 0.3, "menu": 0.4, "alerts": 0.5}
STEPS = list(STEP_DELAYS)
JOB_DELAYS = {"a": 1.0, "b": 0.5, "c": 0.8}
BUDGET = 2.1
CALL = "open_dashboard('sales', ['login', 'menu', 'alerts'])"
EPS = 1e-9


def secs(value: float) -> str:
    return f"{round(value, 2):g} s"


class Office:
    """Instrumented build_report / quick_step / run_job for one check.

    build_report is a plain function returning the coroutine so the check knows when the
    student *called* it as well as when the report actually started running.
    """

    def __init__(self, sim):
        self.io = FakeIO(sim)
        self.report_calls: list[float] = []

    def build_report(self, name):
        self.report_calls.append(asyncio.get_running_loop().time())
        return self._report(name)

    async def _report(self, name):
        return await self.io.operation(f"build_report({name!r})", REPORT_DELAY,
                                       result=f"{name} report")

    async def quick_step(self, name):
        return await self.io.operation(f"quick_step({name!r})", STEP_DELAYS.get(name, 0.3),
                                       result=f"{name} done")

    async def run_job(self, name):
        return await self.io.operation(f"run_job({name!r})", JOB_DELAYS.get(name, 1.0),
                                       result=f"{name} finished")

    def report_op(self) -> Operation | None:
        ops = [op for op in self.io.operations if op.label.startswith("build_report(")]
        return ops[0] if ops else None

    def step_ops(self) -> list[Operation]:
        return [op for op in self.io.operations if op.label.startswith("quick_step(")]

    def running(self) -> list[str]:
        return [op.label for op in self.io.operations if op.end is None]


# Never-awaited warnings name the coroutine by its qualname: keep the student's names.
Office._report.__qualname__ = "build_report"
Office.quick_step.__qualname__ = "quick_step"
Office.run_job.__qualname__ = "run_job"


@pytest.fixture
def office(sim, student):
    fake = Office(sim)
    student.replace("build_report", fake.build_report)
    student.replace("quick_step", fake.quick_step)
    student.replace("run_job", fake.run_job)
    return fake


def run_dashboard(student, sim):
    return sim.run(student.open_dashboard("sales", list(STEPS)), what="open_dashboard")


def short_where(where: str) -> str:
    """'File "/long/path/x.py", line 49, in f' -> ' (x.py, line 49, in f)'."""
    match = re.search(r'File "([^"]+)", line (\d+), in (\S+)', where or "")
    if not match:
        return f" ({where})" if where else ""
    return f" ({Path(match[1]).name}, line {match[2]}, in {match[3]})"


def report_never_ran(sim, office) -> None:
    dropped = [d for d in sim.never_awaited() if d.name == "build_report"]
    if dropped:
        where = short_where(dropped[0].where)
        fail(
            f"`{CALL}` called build_report('sales'){where} but never awaited it or made a "
            "task of it, so the report was never built.",
            misconception="Calling an async function only creates a coroutine object; "
            "nothing in it runs until it is awaited or wrapped in a task.",
            next_step="Start it with `asyncio.create_task(build_report(report))` and await "
            "that task at the end.",
        )
    fail(
        f"`{CALL}` never ran build_report('sales').",
        next_step="Start the report with asyncio.create_task before the first step.",
    )


def late_report(office, report: Operation, prefix: str = "") -> None:
    """Explain why the report started after t=0: never wrapped in a task, or asked for late."""
    called = office.report_calls[0] if office.report_calls else report.start
    if report.in_main_task and called < report.start - EPS:
        fail(
            f"{prefix}You called build_report('sales') at t={secs(called)}, but the report "
            f"only started at t={secs(report.start)}, when you awaited it.",
            misconception="Calling an async function only creates a coroutine: nothing in "
            "it runs until it is awaited or wrapped in a task, so holding on to the "
            "coroutine did not make it run alongside the steps.",
            next_step="Start it with `task = asyncio.create_task(build_report(report))` "
            "before the steps, and `await task` after them.",
        )
    done = sum(1 for op in office.step_ops() if op.end is not None and op.end <= report.start + EPS)
    fail(
        f"{prefix}build_report('sales') only started at t={secs(report.start)}, after {done} "
        "of your steps had finished, so the slow report could not overlap with them.",
        misconception="Work only overlaps with what runs after it has started; asking for "
        "the slow report last means paying for the steps and the report in full.",
        next_step="Start the report with asyncio.create_task before the first step, and "
        "await the task after the last one.",
    )


@pytest.mark.task(1)
def test_returns_report_and_steps(student, sim, office):
    result = run_dashboard(student, sim)
    if isinstance(result, list) and len(result) == 2:
        result = tuple(result)
    if isinstance(result, tuple) and any(
        isinstance(part, asyncio.Future) or inspect.iscoroutine(part) for part in result
    ):
        fail(
            f"`{CALL}` returned {result!r:.160}: a task or coroutine instead of its result.",
            misconception="A Task is a handle to work in progress; its value is what "
            "`await task` gives you.",
            next_step="Return `await report_task`, not the task itself.",
        )
    expect_equal(
        result, ("sales report", ["login done", "menu done", "alerts done"]), call=CALL,
        misconception="open_dashboard returns a tuple: the report's text, then the list of "
        "the steps' results in the order of `steps`.",
        next_step="Return `(report_text, step_results)`.",
    )


@pytest.mark.task(1)
def test_report_starts_at_once(student, sim, office):
    run_dashboard(student, sim)
    report = office.report_op()
    if report is None:
        report_never_ran(sim, office)
    if report.start > EPS:
        late_report(office, report)


@pytest.mark.task(1)
def test_total_is_max_not_sum(student, sim, office):
    run_dashboard(student, sim)
    sim.budget = BUDGET
    if sim.elapsed > BUDGET + EPS:
        took = (f"`{CALL}` took {secs(sim.elapsed)} of simulated time instead of about "
                f"{secs(REPORT_DELAY)}. ")
        report = office.report_op()
        steps = office.step_ops()
        if report is not None and report.start > EPS:
            late_report(office, report, prefix=took)
        if (report is not None and report.end is not None and steps
                and not report.in_main_task
                and min(op.start for op in steps) >= report.end - EPS):
            fail(
                f"{took}You started build_report as a task but awaited it straight away, so "
                f"the first step only began at t={secs(min(op.start for op in steps))}, "
                "when the report was done.",
                misconception="create_task starts the work, but awaiting the task on the next "
                "line waits for all of it before anything else runs; the overlap happens "
                "only while you do other things between creating the task and awaiting it.",
                next_step="Create the task, run the steps, and only then `await` the task.",
            )
        expect_elapsed_at_most(sim, BUDGET, what=f"`{CALL}`")
    expect_no_pending_tasks(sim, what="open_dashboard")


@pytest.mark.task(1)
def test_steps_run_in_order(student, sim, office):
    run_dashboard(student, sim)
    steps = office.step_ops()
    ran = [op.label.removeprefix("quick_step(").removesuffix(")") for op in steps]
    wanted = [repr(name) for name in STEPS]
    if ran != wanted:
        fail(
            f"`{CALL}` ran quick_step for [{', '.join(ran)}] (in the order they started); "
            f"expected [{', '.join(wanted)}], each once and in that order.",
            misconception="The steps depend on each other, so each must run once, in the "
            "order given.",
            next_step="Loop over `steps` and await quick_step for each in turn.",
        )
    for before, after in itertools.pairwise(steps):
        if before.end is None or after.start < before.end - EPS:
            still = "never finished" if before.end is None else f"ran until t={secs(before.end)}"
            fail(
                f"Your steps overlapped: {after.label} started at t={secs(after.start)} while "
                f"{before.label} was still running (it {still}).",
                misconception="Only the slow report belongs in the background; gather (or a "
                "task per step) starts every step at once, but these steps rely on each "
                "other and must run one after another.",
                next_step="Create a task for the report only, then `await quick_step(...)` "
                "for each step in turn.",
            )


# -- task 2: BackgroundJobs -----------------------------------------------------------------


def jobs_still_running(office, results, returned_at: float) -> None:
    running = office.running()
    if running:
        fail(
            f"`await jobs.wait_for_all()` returned {results!r:.120} at t={secs(returned_at)} "
            f"while {jobs_were(len(running))} still running: {', '.join(running)}. Nothing "
            "waited for them, so their results were lost.",
            misconception="A task nobody keeps is out of reach: it can't be awaited, its "
            "result and its errors are lost, and because the event loop only holds tasks "
            "weakly, it may even be garbage-collected before it finishes.",
            next_step="In start(), store each task (for example in a list on self) before "
            "returning it; in wait_for_all, await every stored task.",
        )


def jobs_were(count: int) -> str:
    return "1 job was" if count == 1 else f"{count} jobs were"


def as_list(results):
    return list(results) if isinstance(results, tuple) else results


@pytest.mark.task(2)
def test_start_returns_running_task(student, sim, office):
    async def scenario():
        jobs = student.BackgroundJobs()
        task = jobs.start("a")
        if inspect.iscoroutine(task):
            task.close()
            fail(
                "`jobs.start('a')` returned a coroutine, not a Task: the job had not started "
                "and would only run once someone awaited it.",
                misconception="Calling an async function (run_job, or a start() written with "
                "`async def`) only builds a coroutine object; asyncio.create_task is what "
                "schedules it to run right away and hands you a Task.",
                next_step="Keep start() a plain `def`: create the task with "
                "asyncio.create_task(run_job(name)), store it, and return it.",
            )
        if not isinstance(task, asyncio.Future):
            fail(
                f"`jobs.start('a')` returned {task!r:.80}, not the task it started.",
                misconception="The caller may want to await or cancel this particular job, "
                "so start() hands back its Task.",
                next_step="Return the task that asyncio.create_task gave you.",
            )
        await asyncio.sleep(0.25)  # the caller gets on with something else

    sim.run(scenario(), what="BackgroundJobs.start")
    ops = office.io.calls("run_job('a')")
    if not ops:
        fail(
            "After `jobs.start('a')` the caller went on with its own work for 0.25 s, but "
            "run_job('a') never began.",
            misconception="A job started in the background should be running while the "
            "caller does other things.",
            next_step="Use asyncio.create_task(run_job(name)) in start().",
        )
    if ops[0].start > EPS:
        fail(
            f"run_job('a') only began at t={secs(ops[0].start)}, not when start() was called "
            "at t=0 s.",
            next_step="Create the task inside start() itself.",
        )


@pytest.mark.task(2)
def test_wait_for_all_collects_every_job(student, sim, office):
    async def scenario():
        jobs = student.BackgroundJobs()
        for name in "abc":
            jobs.start(name)  # the returned tasks are deliberately dropped here
        results = await jobs.wait_for_all()
        return results, asyncio.get_running_loop().time()

    results, returned_at = sim.run(scenario(), what="BackgroundJobs.wait_for_all")
    results = as_list(results)
    expected = ["a finished", "b finished", "c finished"]
    if results != expected:
        jobs_still_running(office, results, returned_at)
    expect_equal(
        results, expected,
        call="jobs.start('a'); jobs.start('b'); jobs.start('c'); await jobs.wait_for_all()",
        misconception="wait_for_all returns every job's result, in the order the jobs were "
        "started (not the order they finished).",
        next_step="Await the stored tasks in the order you stored them, e.g. with "
        "asyncio.gather(*tasks).",
    )
    expect_no_pending_tasks(sim, what="wait_for_all")


@pytest.mark.task(2)
def test_finished_jobs_are_kept(student, sim, office):
    async def scenario():
        jobs = student.BackgroundJobs()
        jobs.start("b")  # takes 0.5 s
        await asyncio.sleep(0.7)  # 'b' is done by now
        jobs.start("a")  # takes 1.0 s
        results = await jobs.wait_for_all()
        return results, asyncio.get_running_loop().time()

    results, returned_at = sim.run(scenario(), what="BackgroundJobs.wait_for_all")
    results = as_list(results)
    expected = ["b finished", "a finished"]
    call = "jobs.start('b'); 0.7 s later jobs.start('a'); await jobs.wait_for_all()"
    if results != expected:
        jobs_still_running(office, results, returned_at)
        if isinstance(results, list) and "b finished" not in results:
            fail(
                f"`{call}` returned {results!r:.120}: the result of job 'b', which finished "
                "before wait_for_all was called, is missing.",
                misconception="A finished task still holds its result; dropping it from "
                "your registry as soon as it is done throws that result away.",
                next_step="Keep every task until wait_for_all has collected it (don't remove "
                "tasks in a done callback).",
            )
    expect_equal(
        results, expected, call=call,
        misconception="wait_for_all returns the results in the order the jobs were started.",
        next_step="Keep the tasks in a list in start order and await them in that order.",
    )
