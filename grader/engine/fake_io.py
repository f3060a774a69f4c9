"""Instrumented fake I/O: operations that take simulated time and leave a timeline.

Every call records when it started and ended on the virtual clock, which task ran it,
and how it ended, and the object tracks how many were in flight at once. Checks read
those facts instead of guessing from durations, and the report draws them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from grader.engine.exceptions import SourceFailed
from grader.engine.simulation import Operation, Simulation

__all__ = ["FakeIO", "SourceFailed"]


class FakeIO:
    """A family of fake operations sharing one in-flight counter."""

    def __init__(
        self,
        sim: Simulation,
        delays: Mapping[str, float] | None = None,
        *,
        default_delay: float = 1.0,
        failing: Mapping[str, BaseException] | None = None,
    ) -> None:
        self.sim = sim
        self.delays = dict(delays or {})
        self.default_delay = default_delay
        self.failing = dict(failing or {})
        self.operations: list[Operation] = []
        self.in_flight = 0
        self.peak = 0

    async def operation(self, label: str, delay: float, result: Any = None,
                        error: BaseException | None = None) -> Any:
        """Take ``delay`` simulated seconds, then return ``result`` or raise ``error``."""
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        op = Operation(
            label=label,
            start=loop.time(),
            task=task.get_name() if task else "",
            in_main_task=task is not None and task is self.sim.main_task,
            delay=delay,
        )
        self.operations.append(op)
        self.sim.operations.append(op)
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            await asyncio.sleep(delay)
            if error is not None:
                raise error
        except asyncio.CancelledError:
            op.outcome = "cancelled"
            raise
        except BaseException:
            op.outcome = "error"
            raise
        else:
            op.outcome = "ok"
            return result
        finally:
            op.end = loop.time()
            self.in_flight -= 1

    async def fetch(self, source: str) -> str:
        """The course's standard fake download: ``'data from <source>'`` after its delay."""
        delay = self.delays.get(source, self.default_delay)
        return await self.operation(
            source, delay, result=self.expected(source), error=self.failing.get(source)
        )

    @staticmethod
    def expected(source: str) -> str:
        return f"data from {source}"

    def calls(self, label: str | None = None) -> list[Operation]:
        return [op for op in self.operations if label is None or op.label == label]

    def finished(self) -> list[Operation]:
        return [op for op in self.operations if op.end is not None]
