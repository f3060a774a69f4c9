"""The API hidden suites are written against; everything here is documented and stable.

A hidden test is a plain function taking the ``student`` and ``sim`` fixtures (provided
by :mod:`grader.child.plugin`), marked with its task number::

    @pytest.mark.task(1)
    def test_fetches_run_concurrently(student, sim):
        io = FakeIO(sim, {"a": 1.0, "b": 0.5, "c": 0.8})
        student.replace("fetch", io.fetch)
        sim.run(student.fetch_all(["a", "b", "c"]), what="fetch_all")
        return judged(judge_fetches_run_concurrently, sim=sim, io=io)

    def judge_fetches_run_concurrently(seen):
        expect_elapsed_at_most(seen["sim"], 1.2, what="fetch_all")

``sim.run`` drives the student's coroutine on a virtual clock; ``observe`` does the same
but records how and when the call ended (value or error, simulated time, operations,
tasks left running) for checks about deadlines and cancellation; the ``expect_*``
helpers fail with teaching messages; ``fail`` writes one by hand. The test returns
its plain observations (``observed``, or ``judged`` to judge them here first), and its
``judge_<check>`` confirms the pass in the grading parent, where no student code runs
(``docs/authoring.md``, "Judges").
"""

from grader.budgets import CpuLimitExceeded
from grader.engine.blocking import loop_runs_here
from grader.engine.expectations import (
    WAIT_MISCONCEPTION,
    WAIT_NEXT_STEP,
    CancelOutcome,
    describe_violation,
    expect_all_awaited,
    expect_elapsed_at_most,
    expect_equal,
    expect_no_blocking,
    expect_no_pending_tasks,
    expect_peak_at_most,
    ran_one_after_another,
    run_and_cancel,
    same_value,
)
from grader.engine.fake_io import FakeIO, SourceFailed
from grader.engine.feedback import CheckFailed, Feedback, fail
from grader.engine.frames import describe_frame, loop_header, student_frame
from grader.engine.observation import Ended, observe
from grader.engine.observed import judged, observed
from grader.engine.records import FakeIORecord, Repr, SimulationRecord, TaskRecord
from grader.engine.simulation import Operation, SimulatedTimeout, Simulation, task_label
from grader.engine.virtual_loop import SimulationDeadlock, Violation, VirtualClockLoop

__all__ = [
    "WAIT_MISCONCEPTION",
    "WAIT_NEXT_STEP",
    "CancelOutcome",
    "CheckFailed",
    "CpuLimitExceeded",
    "Ended",
    "FakeIO",
    "FakeIORecord",
    "Feedback",
    "Operation",
    "Repr",
    "SimulatedTimeout",
    "Simulation",
    "SimulationDeadlock",
    "SimulationRecord",
    "SourceFailed",
    "TaskRecord",
    "Violation",
    "VirtualClockLoop",
    "describe_frame",
    "describe_violation",
    "expect_all_awaited",
    "expect_elapsed_at_most",
    "expect_equal",
    "expect_no_blocking",
    "expect_no_pending_tasks",
    "expect_peak_at_most",
    "fail",
    "judged",
    "loop_header",
    "loop_runs_here",
    "observe",
    "observed",
    "ran_one_after_another",
    "run_and_cancel",
    "same_value",
    "student_frame",
    "task_label",
]
