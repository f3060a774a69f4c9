"""Hidden checks for exercise 04 (background tasks: create_task now, await later).

Each test ends with ``return judged(judge_<check>, ...)``: what crosses is the fake's
operations (``io``), the simulation, the times build_report was called, and plain facts
about what start() returned. The judges take each operation's delay from this suite's
own constants, so a shortened timeline is refused; only the judges' conditions earn
points.
"""

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
    judged,
)

REPORT_DELAY = 2.0
STEP_DELAYS = {"login": 0.3, "menu": 0.4, "alerts": 0.5}
STEPS = list(STEP_DELAYS)
JOB_DELAYS = {"a": 1.0, "b": 0.5, "c": 0.8, "d": 0.6, "e": 1.2, "f": 0.3, "g": 0.9,
              "h": 0.4, "i": 1.1, "j": 0.7}  # all different: no two jobs end together
TEN = list(JOB_DELAYS)
# What a message may name: only the constructs the student's file uses (student.uses).
CONSTRUCTS = ("wait", "gather", "as_completed", "run_until_complete", "run", "clear",
              "remove", "pop")
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

    def seen(self) -> dict:
        """What the judges read: the operations and when build_report was called."""
        return {"io": self.io, "report_calls": list(self.report_calls)}


# Never-awaited warnings name the coroutine by its qualname: keep the student's names.
Office._report.__qualname__ = "build_report"
Office.quick_step.__qualname__ = "quick_step"
Office.run_job.__qualname__ = "run_job"


def told(label: str) -> float:
    """The delay this suite gives the operation called ``label``."""
    known = {f"quick_step({n!r})": d for n, d in STEP_DELAYS.items()}
    known |= {f"run_job({n!r})": d for n, d in JOB_DELAYS.items()}
    if label in known:
        return known[label]
    for prefix, delay in (("build_report(", REPORT_DELAY), ("quick_step(", 0.3),
                          ("run_job(", 1.0)):
        if label.startswith(prefix):
            return delay
    raise ValueError(f"an operation this suite never offers: {label[:60]!r}")


def operations(io) -> list[Operation]:
    """The fake's operations, each checked against the delay this suite gave it."""
    for op in io.operations:
        if op.delay is None or abs(op.delay - told(op.label)) > EPS:
            raise ValueError(f"{op.label[:60]!r} reports a delay of {op.delay}, "
                             f"not {told(op.label):g} s")
    return io.operations


def report_op(io) -> Operation | None:
    ops = [op for op in operations(io) if op.label.startswith("build_report(")]
    return ops[0] if ops else None


def step_ops(io) -> list[Operation]:
    return [op for op in operations(io) if op.label.startswith("quick_step(")]


def running(io) -> list[str]:
    return [op.label for op in operations(io) if op.end is None]


@pytest.fixture
def office(sim, student):
    fake = Office(sim)
    student.replace("build_report", fake.build_report)
    student.replace("quick_step", fake.quick_step)
    student.replace("run_job", fake.run_job)
    return fake


def run_dashboard(student, sim):
    return sim.run(student.open_dashboard("sales", list(STEPS)), what="open_dashboard")


class EarlyRead:
    """open_dashboard asked a task for its result before the task had finished."""

    def __init__(self, exc: BaseException) -> None:
        self.text = f"InvalidStateError: {exc}"


def dashboard_outcome(student, sim):
    """run_dashboard, with an early Task.result() kept as a fact instead of a crash, so
    the checks about the timeline still judge what ran."""
    try:
        return run_dashboard(student, sim)
    except asyncio.InvalidStateError as exc:
        return EarlyRead(exc)


def short_where(where: str) -> str:
    """'File "/long/path/x.py", line 49, in f' -> ' (x.py, line 49, in f)'."""
    match = re.search(r'File "([^"]+)", line (\d+), in (\S+)', where or "")
    if not match:
        return f" ({where})" if where else ""
    return f" ({Path(match[1]).name}, line {match[2]}, in {match[3]})"


def report_never_ran(sim) -> None:
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


def late_report(seen, report: Operation, prefix: str = "") -> None:
    """Explain why the report started after t=0: never wrapped in a task, or asked for late."""
    called = seen["report_calls"][0] if seen["report_calls"] else report.start
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
    done = sum(1 for op in step_ops(seen["io"])
               if op.end is not None and op.end <= report.start + EPS)
    fail(
        f"{prefix}build_report('sales') only started at t={secs(report.start)}, after {done} "
        "of your steps had finished, so the slow report could not overlap with them.",
        misconception="Work only overlaps with what runs after it has started; asking for "
        "the slow report last means paying for the steps and the report in full.",
        next_step="Start the report with asyncio.create_task before the first step, and "
        "await the task after the last one.",
    )


DASHBOARD = ("sales report", ["login done", "menu done", "alerts done"])


@pytest.mark.task(1)
def test_returns_report_and_steps(student, sim, office):
    result = dashboard_outcome(student, sim)
    early = result.text if isinstance(result, EarlyRead) else None
    if early:
        result = None
    if isinstance(result, list) and len(result) == 2:
        result = tuple(result)
    handles = isinstance(result, tuple) and any(
        isinstance(part, asyncio.Future) or inspect.iscoroutine(part) for part in result)
    return judged(judge_returns_report_and_steps, result=result, handles=handles,
                  early=early, **office.seen())


def judge_returns_report_and_steps(seen):
    result = seen["result"]
    if seen["early"]:
        fail(
            f"`{CALL}` asked the report task for its result after the steps, at "
            f"t={secs(sum(STEP_DELAYS.values()))}, while the report was still running "
            f"({secs(REPORT_DELAY - sum(STEP_DELAYS.values()))} to go): "
            f"{seen['early'].rstrip('.')}.",
            misconception="task.result() does not wait: it only works once the task is "
            "done. `await task` is what waits for whatever is left of it.",
            next_step="Collect the report with `await report_task` after the steps.",
        )
    if seen["handles"] is not False:
        fail(
            f"`{CALL}` returned {result!r:.160}: a task or coroutine instead of its result.",
            misconception="A Task is a handle to work in progress; its value is what "
            "`await task` gives you.",
            next_step="Return `await report_task`, not the task itself.",
        )
    expect_equal(
        result, DASHBOARD, call=CALL,
        misconception="open_dashboard returns a tuple: the report's text, then the list of "
        "the steps' results in the order of `steps`.",
        next_step="Return `(report_text, step_results)`.",
    )
    expect_results_made(seen["io"], ["build_report('sales')"] + [
        f"quick_step({name!r})" for name in STEPS], CALL)


def expect_results_made(io, labels: list[str], call: str, by: float | None = None) -> None:
    """Right results come from operations that ran to the end (by ``by``, if given)."""
    for label in labels:
        if not any(op.label == label and op.outcome == "ok"
                   and (by is None or op.end <= by + EPS) for op in operations(io)):
            fail(
                f"`{call}` gave the expected answer, but {label} never ran to the end"
                + (f" by t={secs(by)}." if by is not None else "."),
                misconception="Each result is what its operation returns once it has "
                "finished.",
                next_step="Await every operation whose result you return.",
            )


@pytest.mark.task(1)
def test_report_starts_at_once(student, sim, office):
    dashboard_outcome(student, sim)
    return judged(judge_report_starts_at_once, sim=sim, **office.seen())


def judge_report_starts_at_once(seen):
    report = report_op(seen["io"])
    if report is None:
        report_never_ran(seen["sim"])
    if report.start > EPS:
        late_report(seen, report)


@pytest.mark.task(1)
def test_total_is_max_not_sum(student, sim, office):
    dashboard_outcome(student, sim)
    sim.budget = BUDGET
    return judged(judge_total_is_max_not_sum, sim=sim, **office.seen())


def judge_total_is_max_not_sum(seen):
    operations(seen["io"])  # each took the time this suite gave it
    sim = seen["sim"]
    if sim.elapsed > BUDGET + EPS:
        took = (f"`{CALL}` took {secs(sim.elapsed)} of simulated time instead of about "
                f"{secs(REPORT_DELAY)}. ")
        report = report_op(seen["io"])
        steps = step_ops(seen["io"])
        if report is not None and report.start > EPS:
            late_report(seen, report, prefix=took)
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
    dashboard_outcome(student, sim)
    return judged(judge_steps_run_in_order, **office.seen())


def judge_steps_run_in_order(seen):
    steps = step_ops(seen["io"])
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


def jobs_still_running(io, results, returned_at: float) -> None:
    still = running(io)
    if still:
        fail(
            f"`await jobs.wait_for_all()` returned {results!r:.400} at t={secs(returned_at)} "
            f"while {jobs_were(len(still))} still running: {', '.join(still)}. Nothing "
            "waited for them, so their results were lost.",
            misconception="A task nobody keeps is out of reach: it can't be awaited, its "
            "result and its errors are lost, and because the event loop only holds tasks "
            "weakly, it may even be garbage-collected before it finishes.",
            next_step="In start(), store each task (for example in a list on self) before "
            "returning it; in wait_for_all, await every stored task.",
        )


def in_start_order(results, expected: list[str], *, call: str, uses: dict[str, bool],
                   finished: list[str]) -> None:
    """Every result there but shuffled: name the likely cause (finished: completion order)."""
    if not isinstance(results, list) or results == expected or sorted(
            map(repr, results)) != sorted(map(repr, expected)):
        return
    if results == finished:
        fail(
            f"`{call}` returned every result, but in the order the jobs finished.",
            misconception="wait_for_all returns the results in the order the jobs were "
            "started; collecting them as they complete gives the finishing order.",
            next_step="Keep the tasks in a list in start order and read each task's result "
            "from that list (asyncio.gather(*tasks) does exactly that).",
        )
    if uses["wait"]:
        # No list in the message: a set's order changes from run to run.
        fail(
            f"`{call}` returned every result, but in neither the order the jobs were "
            "started nor the order they finished.",
            misconception="asyncio.wait hands back `done` as a set, and a set has no "
            "order: reading the results out of it gives them in an arbitrary order "
            "(which may even look right for two or three jobs).",
            next_step="After the wait, read each task's result() from your own list of "
            "tasks, which is in start order.",
        )


def refused_to_run(problem: str | None, *, call: str, uses: dict[str, bool]) -> None:
    """start() tried to drive the loop that is already running it."""
    if not problem:
        return
    drove = [f"`{name}`" for name in ("run_until_complete", "run") if uses[name]]
    fail(
        f"`{call}` raised {problem}.",
        misconception=("Your file uses " + " and ".join(drove) + ", which tries to drive "
                       "the event loop until a job is done; but the loop is already "
                       "running your code, so it refuses. " if drove else "")
        + "start() does not wait for anything: it only hands the job to the running loop "
        "with asyncio.create_task and returns the task at once.",
        next_step="In start(), create a task for the job right away, keep a reference to it and "
                  "return it; wait for the tasks only in wait_for_all, with await.",
    )


def jobs_were(count: int) -> str:
    return "1 job was" if count == 1 else f"{count} jobs were"


def as_list(results):
    return list(results) if isinstance(results, tuple) else results


def expect_started(returned: str, shown: str) -> None:
    """returned: what start() gave back ('task', 'coroutine' or 'other'), as text."""
    if returned == "coroutine":
        fail(
            "`jobs.start('a')` returned a coroutine, not a Task: the job had not started "
            "and would only run once someone awaited it.",
            misconception="Calling an async function (run_job, or a start() written with "
            "`async def`) only builds a coroutine object; asyncio.create_task is what "
            "schedules it to run right away and hands you a Task.",
            next_step="Keep start() a plain `def`: create the task with "
            "asyncio.create_task(run_job(name)), store it, and return it.",
        )
    if returned != "task":
        fail(
            f"`jobs.start('a')` returned {shown}, not the task it started.",
            misconception="The caller may want to await or cancel this particular job, "
            "so start() hands back its Task.",
            next_step="Return the task that asyncio.create_task gave you.",
        )


@pytest.mark.task(2)
def test_start_returns_running_task(student, sim, office):
    facts = {"refused": None, "returned": "other", "shown": ""}

    async def scenario():
        jobs = student.BackgroundJobs()
        try:
            task = jobs.start("a")
        except RuntimeError as exc:
            facts["refused"] = f"RuntimeError: {exc}"[:160]
            return
        facts["shown"] = f"{task!r:.80}"
        facts["returned"] = ("coroutine" if inspect.iscoroutine(task) else
                             "task" if isinstance(task, asyncio.Future) else "other")
        if inspect.iscoroutine(task):
            task.close()
        expect_started(facts["returned"], facts["shown"])
        await asyncio.sleep(0.25)  # the caller gets on with something else

    sim.run(scenario(), what="BackgroundJobs.start")
    refused_to_run(facts["refused"], call="jobs.start('a')", uses=student.uses(*CONSTRUCTS))
    return judged(judge_start_returns_running_task, **facts, uses=student.uses(*CONSTRUCTS),
                  **office.seen())


def judge_start_returns_running_task(seen):
    refused_to_run(seen["refused"], call="jobs.start('a')", uses=seen["uses"])
    expect_started(seen["returned"], seen["shown"])
    ops = [op for op in operations(seen["io"]) if op.label == "run_job('a')"]
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


def run_jobs(sim, scenario) -> dict:
    """Run a task-2 scenario; start() refusing to run (a RuntimeError) is kept as a fact."""
    try:
        facts = sim.run(scenario(), what="BackgroundJobs.wait_for_all")
    except RuntimeError as exc:
        if "already awaited coroutine" in str(exc):
            return {"refused": None, "reused": f"RuntimeError: {exc}"[:160]}
        if "loop" not in str(exc):
            raise
        return {"refused": f"RuntimeError: {exc}"[:160], "reused": None}
    return {"refused": None, "reused": None, **facts}


def awaited_twice(reused: str | None, *, call: str) -> None:
    """wait_for_all awaited a stored coroutine a second time."""
    if reused:
        fail(
            f"`{call}` raised {reused}: your registry holds coroutine objects, not a Task "
            "for each job, and a coroutine can be awaited only once.",
            misconception="A coroutine object is a single run of a function: once awaited, "
            "it is used up. A Task is started at once and keeps its result, so it can be "
            "awaited (or asked for its result) as often as you like.",
            next_step="In start(), wrap the job in asyncio.create_task(run_job(name)) and "
            "store that task.",
        )


TEN_RESULTS = [f"{name} finished" for name in TEN]
TEN_FINISHED = [f"{name} finished" for name in sorted(TEN, key=JOB_DELAYS.__getitem__)]
TEN_CALL = ("jobs.start(name) for each of 'a' to 'j' (dropping the returned tasks); "
            "await jobs.wait_for_all()")
EMPTY_CALL = "await jobs.wait_for_all() before any job was started"


@pytest.mark.task(2)
def test_wait_for_all_collects_every_job(student, sim, office):
    async def scenario():
        jobs = student.BackgroundJobs()
        try:
            empty = as_list(await jobs.wait_for_all())
            empty_error = None
        except Exception as exc:  # explained to the student, whatever it is
            empty, empty_error = None, f"{type(exc).__name__}: {exc}"[:160]
        for name in TEN:
            jobs.start(name)  # the returned tasks are deliberately dropped here
        results = await jobs.wait_for_all()
        return {"empty": empty, "empty_error": empty_error, "results": as_list(results),
                "returned_at": asyncio.get_running_loop().time()}

    return judged(judge_wait_for_all_collects_every_job, sim=sim,
                  **run_jobs(sim, scenario), uses=student.uses(*CONSTRUCTS), **office.seen())


def judge_wait_for_all_collects_every_job(seen):
    refused_to_run(seen["refused"], call="jobs.start('a')", uses=seen["uses"])
    awaited_twice(seen["reused"], call=TEN_CALL)
    results = seen["results"]
    if results != TEN_RESULTS:
        jobs_still_running(seen["io"], results, seen["returned_at"])
    in_start_order(results, TEN_RESULTS, call=TEN_CALL, uses=seen["uses"],
                   finished=TEN_FINISHED)
    expect_equal(
        results, TEN_RESULTS, call=TEN_CALL,
        misconception="wait_for_all returns every job's result, in the order the jobs were "
        "started (not the order they finished).",
        next_step="Await the stored tasks in the order you stored them, e.g. with "
        "asyncio.gather(*tasks).",
    )
    expect_results_made(seen["io"], [f"run_job({name!r})" for name in TEN], TEN_CALL,
                        by=seen["returned_at"])
    expect_no_pending_tasks(seen["sim"], what="wait_for_all")
    if seen["empty_error"]:
        refuses = (" asyncio.wait refuses an empty collection of tasks."
                   if seen["uses"]["wait"] else "")
        fail(
            f"`{EMPTY_CALL}` raised {seen['empty_error']}.{refuses}",
            misconception="With no job started yet there is nothing to wait for: the "
            "answer is an empty list.",
            next_step="Return [] when no task has been started (asyncio.gather() with no "
            "tasks already gives that).",
        )
    expect_equal(
        seen["empty"], [], call=EMPTY_CALL,
        misconception="With no job started yet there is nothing to wait for: the answer "
        "is an empty list.",
        next_step="Return the results of the tasks you stored, which is none yet.",
    )


BA = ["b finished", "a finished"]
BAB = ["b finished", "a finished", "b finished"]
BA_CALL = "jobs.start('b'); 0.7 s later jobs.start('a'); await jobs.wait_for_all()"
AGAIN_CALL = f"{BA_CALL}; then await jobs.wait_for_all() a second time"
BAB_CALL = f"{AGAIN_CALL}; then jobs.start('b') again and await jobs.wait_for_all()"
AF = ["a finished", "f finished"]
AF_CALL = ("jobs.start('a'); jobs.start('f'); 0.5 s later (with 'f' done and 'a' still "
           "running) await jobs.wait_for_all()")


@pytest.mark.task(2)
def test_finished_jobs_are_kept(student, sim, office):
    async def scenario():
        jobs = student.BackgroundJobs()
        jobs.start("b")  # takes 0.5 s
        await asyncio.sleep(0.7)  # 'b' is done by now
        jobs.start("a")  # takes 1.0 s
        results = as_list(await jobs.wait_for_all())
        returned_at = asyncio.get_running_loop().time()
        again = as_list(await jobs.wait_for_all())  # nothing new: the same two results
        jobs.start("b")  # the same name again: a job of its own
        third = as_list(await jobs.wait_for_all())
        third_at = asyncio.get_running_loop().time()
        mixed_jobs = student.BackgroundJobs()
        mixed_jobs.start("a")  # takes 1.0 s
        mixed_jobs.start("f")  # takes 0.3 s
        await asyncio.sleep(0.5)  # 'f' is done, 'a' is still running
        mixed = as_list(await mixed_jobs.wait_for_all())
        return {"results": results, "returned_at": returned_at, "again": again,
                "third": third, "third_at": third_at, "mixed": mixed}

    return judged(judge_finished_jobs_are_kept, **run_jobs(sim, scenario),
                  uses=student.uses(*CONSTRUCTS), **office.seen())


def judge_finished_jobs_are_kept(seen):
    refused_to_run(seen["refused"], call="jobs.start('b')", uses=seen["uses"])
    awaited_twice(seen["reused"], call=AGAIN_CALL)
    results = seen["results"]
    if results != BA:
        jobs_still_running(seen["io"], results, seen["returned_at"])
        if isinstance(results, list) and "b finished" not in results:
            fail(
                f"`{BA_CALL}` returned {results!r:.400}: the result of job 'b', which "
                "finished before wait_for_all was called, is missing.",
                misconception="A finished task still holds its result; dropping it from "
                "your registry as soon as it is done throws that result away.",
                next_step="Keep every task until wait_for_all has collected it (don't remove "
                "tasks in a done callback).",
            )
    in_start_order(results, BA, call=BA_CALL, uses=seen["uses"], finished=BA)
    expect_equal(
        results, BA, call=BA_CALL,
        misconception="wait_for_all returns the results in the order the jobs were started.",
        next_step="Keep the tasks in a list in start order and await them in that order.",
    )
    expect_results_made(seen["io"], ["run_job('b')", "run_job('a')"], BA_CALL,
                        by=seen["returned_at"])
    again = seen["again"]
    if again != BA:
        emptied = [f"`.{name}()`" for name in ("clear", "remove", "pop") if seen["uses"][name]]
        how = (f" Your file empties its registry ({' / '.join(emptied)})."
               if emptied else "")
        expect_equal(
            again, BA, call=AGAIN_CALL,
            misconception="wait_for_all returns every job started so far, including the "
            f"jobs an earlier call already returned.{how} A finished task keeps its "
            "result, so it can be read again at no cost.",
            next_step="Keep every task you start; don't take tasks out of your registry "
            "when wait_for_all collects them.",
        )
    third = seen["third"]
    if isinstance(third, list) and len(third) == 2 and third != BAB:
        fail(
            f"`{BAB_CALL}` returned {third!r:.400}: the second job called 'b' took the "
            "place of the first instead of being a job of its own.",
            misconception="Each start() call starts a separate job, even with a name used "
            "before; keeping tasks in a dict keyed by name replaces the earlier task.",
            next_step="Keep the tasks in a list (in start order), not under their names.",
        )
    in_start_order(third, BAB, call=BAB_CALL, uses=seen["uses"], finished=BAB)
    expect_equal(
        third, BAB, call=BAB_CALL,
        misconception="wait_for_all returns every job started so far, in start order; "
        "starting 'b' again adds a third job.",
        next_step="Append every task start() creates to one list and await them all.",
    )
    mixed = seen["mixed"]
    if mixed == AF[::-1]:
        fail(
            f"`{AF_CALL}` returned {mixed!r}: the job that had already finished came "
            "first, although 'a' was started before it.",
            misconception="wait_for_all returns the results in the order the jobs were "
            "started, whether a job finished before the call or only during it; putting "
            "the finished ones first (or collecting results as they complete) reorders "
            "them.",
            next_step="Read every result from your list of tasks in start order, done or "
            "not: asyncio.gather(*tasks) waits for the rest and keeps that order.",
        )
    in_start_order(mixed, AF, call=AF_CALL, uses=seen["uses"], finished=AF[::-1])
    expect_equal(
        mixed, AF, call=AF_CALL,
        misconception="wait_for_all returns every job's result in the order the jobs "
        "were started.",
        next_step="Keep the tasks in a list in start order and await them all.",
    )
    expect_results_made(seen["io"], ["run_job('b')", "run_job('a')"], BAB_CALL,
                        by=seen["third_at"])
