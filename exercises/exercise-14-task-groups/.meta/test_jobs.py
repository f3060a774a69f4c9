"""Hidden checks for exercise 14 (TaskGroup, cancelling siblings, except*).

Each test ends with ``return judged(judge_<check>, ...)``: its judge decides here, then
again in the grading parent on plain observations (results, the error raised, the jobs'
operations), where no student code runs. Only the judges' conditions earn points.
"""

from __future__ import annotations

import itertools

import pytest

from grader.suite import (
    FakeIO,
    SourceFailed,
    expect_elapsed_at_most,
    expect_equal,
    expect_no_pending_tasks,
    fail,
    judged,
    run_and_cancel,
)

# Different durations, so no two jobs end at the same simulated instant.
DELAYS = {"a": 1.0, "b": 0.5, "c": 0.8, "d": 1.2}
FAILING_DELAYS = {"a": 1.0, "b": 0.3, "c": 0.8}
FAIL_AT = 0.3
CANCEL_AT = 0.5
BAD_INPUT = "bad input: b"
LOST = "b lost its connection"


class Jobs:
    """An instrumented ``run_job``: a FakeIO operation per job, some set to fail."""

    def __init__(self, sim, delays, failing=None) -> None:
        self.io = FakeIO(sim)
        self.delays = delays
        self.failing = dict(failing or {})

    async def run_job(self, name: str) -> str:
        return await self.io.operation(name, self.delays.get(name, 1.0),
                                       result=self.result(name), error=self.failing.get(name))

    @staticmethod
    def result(name: str) -> str:
        return f"{name} done"


def install(student, sim, delays, failing=None) -> Jobs:
    jobs = Jobs(sim, delays, failing)
    student.replace("run_job", jobs.run_job)
    return jobs


def jobs_seen(seen, delays):
    """The jobs' operations, each told the delay the suite gave it (else no honest run)."""
    io = seen["io"]
    if any(op.delay != delays.get(op.label, 1.0) for op in io.operations):
        raise ValueError("a job told a delay the suite never gave it")
    return io


def run_catching(sim, coro, what: str):
    """Run ``coro``; return (result, raised exception or None)."""
    try:
        return sim.run(coro, what=what), None
    except Exception as exc:  # the student's error is what the check inspects
        return None, exc


def holds(error: BaseException | None, wanted: BaseException) -> bool:
    """True if ``error`` is ``wanted`` or an exception group holding it (at any depth)."""
    if error is wanted:
        return True
    if isinstance(error, BaseExceptionGroup):
        return any(holds(inner, wanted) for inner in error.exceptions)
    return False


def holds_like(error: BaseException | None, kind: type, message: str) -> None:
    """:func:`holds` as a judge sees it: an error of the same class and message, at any
    depth. The scenario re-raises any other error, so a judge meeting one was forged."""
    if not _holds_like(error, kind, message):
        raise ValueError("an error that the scenario would have re-raised")


def _holds_like(error: BaseException | None, kind: type, message: str) -> bool:
    if isinstance(error, BaseExceptionGroup):
        return any(_holds_like(inner, kind, message) for inner in error.exceptions)
    return type(error) is kind and str(error) == message


def late_jobs(io, names: list[str], moment: float) -> list[str]:
    """How each job still running at ``moment`` but not cancelled then carried on.

    A job that had already ended, or had not started, owed nothing at that moment: a
    batch run one job after another is a different mistake, with its own check.
    """
    late = []
    for name in names:
        found = io.calls(name)
        if not found:
            continue
        op = found[0]
        if op.start > moment + 1e-6 or (op.end is not None and op.end < moment - 1e-6):
            continue
        if op.outcome == "cancelled" and op.end is not None and abs(op.end - moment) < 1e-6:
            continue
        if op.end is None:
            late.append(f"'{name}' was still running when run_all had already ended")
        elif op.outcome == "cancelled":
            late.append(f"'{name}' was only cancelled at {op.end:.1f} s")
        else:
            late.append(f"'{name}' kept going and finished at {op.end:.1f} s")
    return late


def failed_at(io, name: str) -> float | None:
    """When the job set to fail really failed (None if it never ran to its failure)."""
    ends = [op.end for op in io.calls(name) if op.outcome == "error" and op.end is not None]
    return ends[0] if ends else None


def unfinished_kind(item) -> str | None:
    """'task' or 'coroutine' for a handle where a result belongs (live, or as observed)."""
    kind = type(item).__name__
    if kind in ("Task", "TaskRecord", "Future"):
        return "task"
    text = getattr(item, "text", None) if kind == "Repr" else None
    if kind == "coroutine" or (isinstance(text, str) and text.startswith("<coroutine")):
        return "coroutine"
    return None


def expect_results_not_awaitables(results, *, call: str) -> None:
    """A list of tasks or coroutines where results belong: a forgotten .result() or await."""
    if not isinstance(results, list):
        return
    kinds = [k for k in map(unfinished_kind, results) if k]
    if kinds:
        fail(
            f"Called `{call}`; it returned {len(kinds)} {kinds[0]} object(s) where the "
            "jobs' results (strings such as 'a done') belong.",
            misconception="A task (or coroutine) is a handle on a job, not the job's "
            "result; the value it produced has to be taken out of it.",
            next_step="After the `async with` block, return `[task.result() for task in "
            "tasks]`.",
        )


def expect_started_together(seen, *, call: str) -> None:
    """Jobs that each started only when the previous one had ended were run in turn."""
    ops = sorted(seen["io"].operations, key=lambda op: op.start)
    if len(ops) < 2 or seen["sim"].elapsed <= 1.2:
        return
    if all(b.start >= a.end - 1e-6 for a, b in itertools.pairwise(ops)
           if a.end is not None):
        starts = ", ".join(f"'{op.label}' at {op.start:.1f} s" for op in ops)
        made = "`group.create_task`" if seen["uses"].get("TaskGroup") else "`create_task`"
        fail(
            f"`{call}` took {seen['sim'].elapsed:.1f} s of simulated time: each job started "
            f"only when the previous one had ended ({starts}).",
            misconception="Whatever waits for one job to end before the next is started "
            f"(`await run_job(...)` in a loop, or awaiting each task as soon as {made} "
            "returns it) runs the jobs one after another.",
            next_step="Create every task first; collect the results after the "
            "`async with` block (or after all are started).",
        )


@pytest.mark.task(1)
def test_jobs_run_together(student, sim):
    jobs = install(student, sim, DELAYS)
    results = sim.run(student.run_all(["a", "b", "c"]), what="run_all")
    return judged(judge_jobs_run_together, results=results, sim=sim, io=jobs.io,
                  uses=student.uses("TaskGroup"))


def judge_jobs_run_together(seen):
    jobs_seen(seen, DELAYS)
    expect_results_not_awaitables(seen["results"], call="run_all(['a', 'b', 'c'])")
    expect_equal(
        seen["results"], [Jobs.result(n) for n in "abc"], call="run_all(['a', 'b', 'c'])",
        misconception="The results should follow the order of the names, whatever order "
        "the jobs finish in.",
        next_step="Keep the tasks in a list in the order you created them and read "
        "`task.result()` from each after the `async with` block.",
    )
    expect_started_together(seen, call="run_all(['a', 'b', 'c'])")
    expect_elapsed_at_most(seen["sim"], 1.2, what="run_all(['a', 'b', 'c'])")
    expect_no_pending_tasks(seen["sim"], what="run_all")


FAILING_CALL = "run_all(['a', 'b', 'c']) with job 'b' failing after 0.3 s"


@pytest.mark.task(1)
def test_failure_cancels_the_rest(student, sim):
    error = ValueError(BAD_INPUT)
    jobs = install(student, sim, FAILING_DELAYS, {"b": error})
    result, raised = run_catching(sim, student.run_all(["a", "b", "c"]), "run_all")
    if raised is not None and not holds(raised, error):
        raise raised  # an error of the student's own: the usual report explains it
    return judged(judge_failure_cancels_the_rest, result=result, raised=raised, sim=sim,
                  io=jobs.io, uses=student.uses(*STARTERS))


STARTERS = ("TaskGroup", "gather", "create_task", "ensure_future", "wait", "as_completed")


def starters_misconception(uses: dict) -> str:
    """Why the other jobs outlived the failure, naming only what the student wrote."""
    alone = [name for name in ("gather", "wait", "as_completed") if uses.get(name)]
    loose = uses.get("create_task") or uses.get("ensure_future")
    if alone:
        why = (f"`asyncio.{alone[0]}` reports the first failure but leaves the other "
               "tasks running: nobody stops them and nobody waits for them.")
    elif loose:
        why = ("A task started with `asyncio.create_task` (or `ensure_future`) belongs "
               "to nobody: an error elsewhere, or the end of the function that started "
               "it, leaves it running.")
    else:
        why = "Jobs that nothing owns are not stopped when another job fails."
    if uses.get("TaskGroup"):
        why += (" A TaskGroup cancels the rest when one fails, but only the tasks made "
                "with the group's own `create_task`, even inside its `async with` block.")
    else:
        why += " A TaskGroup cancels all its other tasks as soon as one fails."
    return why


def judge_failure_cancels_the_rest(seen):
    call, raised = FAILING_CALL, seen["raised"]
    io = jobs_seen(seen, FAILING_DELAYS)
    if raised is None:
        fail(
            f"Called `{call}`; it returned {seen['result']!r:.120} instead of raising.",
            misconception="When a job fails the batch has failed: hiding the error makes "
            "the caller believe everything went fine.",
            next_step="Don't catch the error in run_all; the TaskGroup raises it for you.",
        )
    holds_like(raised, ValueError, BAD_INPUT)
    moment = failed_at(io, "b")
    late = late_jobs(io, ["a", "c"], FAIL_AT if moment is None else moment)
    if late:
        when = FAIL_AT if moment is None else moment
        fail(
            f"Called `{call}`: 'b' failed at {when:.1f} s, but the other jobs were not "
            f"cancelled when it failed: {'; '.join(late)}.",
            misconception=starters_misconception(seen["uses"]),
            next_step="Open an `asyncio.TaskGroup` with `async with` and create every job as a "
                      "task of that group.",
        )
    if not isinstance(raised, BaseExceptionGroup):
        fail(
            f"Called `{call}`; it raised the {type(raised).__name__} on its own, but an "
            "ExceptionGroup holding it was expected.",
            misconception="A TaskGroup reports its tasks' failures as one ExceptionGroup "
            "(several tasks can fail together); callers rely on that shape to use "
            "`except*`.",
            next_step="Let the TaskGroup's ExceptionGroup propagate instead of raising "
            "the single error yourself.",
        )
    expect_no_pending_tasks(seen["sim"], what="run_all")


@pytest.mark.task(1)
def test_cancelling_stops_every_job(student, sim):
    jobs = install(student, sim, DELAYS)
    outcome = run_and_cancel(sim, lambda: student.run_all(["a", "c", "d"]), after=CANCEL_AT)
    if outcome.error is not None and not jobs.io.operations:
        raise outcome.error
    return judged(judge_cancelling_stops_every_job, sim=sim, io=jobs.io, outcome=outcome,
                  uses=student.uses(*STARTERS))


CANCEL_CALL = f"run_all(['a', 'c', 'd']) was cancelled at {CANCEL_AT} s"


def judge_cancelling_stops_every_job(seen):
    late = late_jobs(jobs_seen(seen, DELAYS), ["a", "c", "d"], CANCEL_AT)
    if late:
        fail(
            f"{CANCEL_CALL}, but its jobs were not cancelled with it: {'; '.join(late)}.",
            misconception=starters_misconception(seen["uses"]),
            next_step="Create every job with `group.create_task(...)`.",
        )
    outcome = seen["outcome"]
    if not outcome.cancelled:
        ended = (f"raised {type(outcome.error).__name__}" if outcome.error is not None
                 else f"returned {outcome.result!r:.80}")
        fail(
            f"{CANCEL_CALL}: its jobs stopped, but run_all itself {ended} instead of "
            "ending cancelled, so the caller believes it finished normally.",
            misconception="Cancellation is a request from the caller, delivered as "
            "`CancelledError`: code that catches it (an `except asyncio.CancelledError`, "
            "or `except BaseException`) and carries on hides the request from the one "
            "who made it. Clean up if you must, then let it propagate.",
            next_step="Don't catch `CancelledError` in run_all; if you catch it to clean "
            "up, end the handler with a bare `raise`.",
        )
    expect_no_pending_tasks(seen["sim"], what="run_all")


def expect_all_done(report) -> None:
    expect_equal(
        report, {"done": ["a done", "b done", "c done"], "rejected": []},
        call="run_batch(['a', 'b', 'c']) with every job succeeding",
        misconception="When nothing fails, the report lists every result in order and no "
        "rejections.",
        next_step="Return `{'done': results, 'rejected': []}`.",
    )


@pytest.mark.task(2)
def test_value_errors_become_report(student, sim):
    install(student, sim, DELAYS)
    all_done = sim.run(student.run_batch(["a", "b", "c"]), what="run_batch")
    expect_all_done(all_done)
    error = ValueError(BAD_INPUT)
    jobs = Jobs(sim, FAILING_DELAYS, {"b": error})
    student.replace("run_job", jobs.run_job)
    report, raised = run_catching(sim, student.run_batch(["a", "b", "c"]), "run_batch")
    if raised is not None and not holds(raised, error):
        raise raised
    return judged(judge_value_errors_become_report, all_done=all_done, report=report,
                  raised=raised)


def judge_value_errors_become_report(seen):
    expect_all_done(seen["all_done"])
    call = f"run_batch(['a', 'b', 'c']) with 'b' raising ValueError({BAD_INPUT!r})"
    raised = seen["raised"]
    if raised is not None:
        holds_like(raised, ValueError, BAD_INPUT)
        if isinstance(raised, BaseExceptionGroup):
            fail(
                f"Called `{call}`; the ValueError escaped inside {raised!r:.120}. A plain "
                "`except ValueError` never matches an ExceptionGroup, even one that "
                "holds a ValueError.",
                misconception="A TaskGroup raises an ExceptionGroup, not the ValueError "
                "itself, and `except ValueError` does not look inside groups.",
                next_step="Catch the group's errors by type with `except*` and read them from the "
                          "caught group's `exceptions`.",
            )
        fail(
            f"Called `{call}`; the ValueError escaped instead of being reported.",
            misconception="Bad-input errors are the ones run_batch is meant to handle.",
            next_step="Catch them with `except* ValueError` and list them under "
            "'rejected'.",
        )
    expect_equal(
        seen["report"], {"done": [], "rejected": [BAD_INPUT]}, call=call,
        misconception="A batch with a ValueError is rejected as a whole: no results, and "
        "the message of each ValueError under 'rejected'.",
        next_step="Collect `str(error)` for every error in the group you caught.",
    )


@pytest.mark.task(2)
def test_other_errors_still_raise(student, sim):
    error = SourceFailed(LOST)
    install(student, sim, FAILING_DELAYS, {"b": error})
    report, raised = run_catching(sim, student.run_batch(["a", "b", "c"]), "run_batch")
    if raised is not None and not holds(raised, error):
        raise raised
    return judged(judge_other_errors_still_raise, report=report, raised=raised)


def judge_other_errors_still_raise(seen):
    call = "run_batch(['a', 'b', 'c']) with 'b' raising SourceFailed (a ConnectionError)"
    if seen["raised"] is None:
        fail(
            f"Called `{call}`; it returned {seen['report']!r:.120}, so the connection error "
            "was swallowed.",
            misconception="Catching every kind of error (`except* Exception`, or a bare "
            "`except`) also hides the failures you don't know how to handle; the caller "
            "never learns the batch broke.",
            next_step="Handle only `ValueError` with `except*`; whatever it doesn't match "
            "is re-raised for you.",
        )
    holds_like(seen["raised"], SourceFailed, LOST)
