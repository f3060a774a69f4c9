"""Exercise 17: an event loop of your own, with a virtual clock. See README.md."""

import heapq  # noqa: F401  (you will need these)
import itertools  # noqa: F401
from collections import deque  # noqa: F401
from collections.abc import Generator
from typing import Any

Task = Generator[Any, None, None]


def sleep(seconds: float) -> tuple[str, float]:
    """Provided: what a task yields to be woken ``seconds`` later. Don't change this."""
    return ("sleep", seconds)


class TinyLoop:
    """Runs generator-based tasks one step at a time on a virtual clock."""

    def __init__(self) -> None:
        self.now = 0.0  # Provided: the loop's clock, in simulated seconds. Keep the name.
        # TODO(task 1): a deque of tasks that are ready to run.
        # TODO(task 2): a heap of sleeping tasks: (wake_at, counter, task) entries.

    def create_task(self, task: Task) -> None:
        """Task 1: schedule a generator to run."""
        # TODO(task 1): add it to the ready queue.
        raise NotImplementedError("create_task is not written yet")

    def run(self) -> None:
        """Tasks 1 and 2: run one step at a time until every task has finished."""
        # TODO(task 1): take a ready task, run one step, requeue it; drop finished tasks.
        # TODO(task 2): handle ("sleep", seconds); when nothing is ready, jump the clock.
        raise NotImplementedError("run is not written yet")


def ticker(loop: TinyLoop, name: str, pause: float, count: int) -> Task:
    """A demo task: prints the loop's clock, then sleeps, ``count`` times."""
    for tick in range(count):
        print(f"{loop.now:5.1f} s  {name} tick {tick}")
        yield sleep(pause)
    print(f"{loop.now:5.1f} s  {name} finished")


if __name__ == "__main__":
    demo = TinyLoop()
    demo.create_task(ticker(demo, "fast", 0.5, 4))
    demo.create_task(ticker(demo, "slow", 1.2, 2))
    demo.run()  # about 2.4 s of simulated time, over in an instant
