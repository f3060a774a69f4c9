"""Exercise 17 reference solution: a ready deque, a heap of sleepers, a virtual clock."""

import heapq
import itertools
from collections import deque
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
        self.ready: deque[Task] = deque()
        self.sleepers: list[tuple[float, int, Task]] = []
        self._tie_breaker = itertools.count()

    def create_task(self, task: Task) -> None:
        """Task 1: a new task waits its turn at the back of the ready queue."""
        self.ready.append(task)

    def run(self) -> None:
        """Tasks 1 and 2: one step per turn; jump the clock when only sleepers are left."""
        while self.ready or self.sleepers:
            if not self.ready:
                wake_at, _, task = heapq.heappop(self.sleepers)
                self.now = max(self.now, wake_at)  # no real waiting: just move the clock
                self.ready.append(task)
            task = self.ready.popleft()
            try:
                request = task.send(None)
            except StopIteration:
                continue  # finished: it goes back nowhere
            if request is None:
                self.ready.append(task)
            else:
                _kind, seconds = request
                entry = (self.now + seconds, next(self._tie_breaker), task)
                heapq.heappush(self.sleepers, entry)


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
