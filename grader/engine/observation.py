"""Observing one call of student code at the instant it ends.

Some verdicts depend on *when* and *how* a call ended as much as on its value: a
TimeoutError must surface at the deadline, a cancelled operation must be finished by the
time the function returns, tasks it started must not still be running. Looking after
``sim.run`` returns is too late for the last two (the loop's final iteration lets a
cancelled task finish), so the observation is taken inside the same step.
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any

from grader.engine.fake_io import FakeIO
from grader.engine.simulation import Operation, Simulation

__all__ = ["Ended", "observe"]


@dataclass
class Ended:
    """How one call ended, as things stood at that instant."""

    value: Any = None
    error: BaseException | None = None
    began: float = 0.0  # loop time when the call started
    at: float = 0.0  # simulated seconds from the start of the call to its end
    ops: dict[str, Operation] = field(default_factory=dict)  # copies, frozen at the end
    unfinished: list[asyncio.Task] = field(default_factory=list)  # started by the call

    def op(self, label: str) -> Operation | None:
        return self.ops.get(label)

    def when(self, moment: float | None) -> float:
        """A loop time as seconds since the call began."""
        return (moment if moment is not None else self.began) - self.began

    @property
    def how(self) -> str:
        if self.error is not None:
            return f"raised {type(self.error).__name__}"
        return f"returned {self.value!r:.80}"


def observe(sim: Simulation, awaitable: Awaitable[Any], *, what: str,
            io: FakeIO | None = None) -> Ended:
    """Run ``awaitable`` on the virtual clock; record its end instead of raising.

    Exceptions (``CancelledError`` included) become ``Ended.error`` so the check can
    explain them; a value that is not awaitable fails with the usual "not an async
    function" message.
    """
    if not inspect.isawaitable(awaitable):
        sim.run(awaitable, what=what)  # raises: not something the loop can run

    async def watch() -> Ended:
        loop = asyncio.get_running_loop()
        me = asyncio.current_task()
        before = asyncio.all_tasks()
        ended = Ended(began=loop.time())
        try:
            ended.value = await awaitable
        except asyncio.CancelledError as exc:
            if me is not None and me.cancelling():
                raise  # the simulation's own watchdog stopping a runaway call
            ended.error = exc
        except Exception as exc:
            ended.error = exc
        ended.at = loop.time() - ended.began
        if io is not None:
            ended.ops = {op.label: dataclasses.replace(op) for op in io.operations}
        ended.unfinished = [t for t in asyncio.all_tasks()
                            if t is not me and t not in before and not t.done()]
        return ended

    return sim.run(watch(), what=what)
