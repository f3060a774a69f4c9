"""Exercise 13: CPU steps and waits that take turns. See README.md for the tasks."""

import asyncio


def record(name: str, step: int) -> None:
    """Provided: note that task ``name`` just finished step ``step``. Don't change this.

    The grader swaps it for a copy that also notes the simulated time of each step.
    """
    print(f"{name}: step {step} done")


def fingerprint(text: str) -> int:
    """Provided: a deliberately slow, CPU-only checksum of ``text``. Don't change this.

    It stands in for real number crunching; the grader swaps in a copy of its own.
    """
    value = 17
    for _ in range(20_000):
        for char in text:
            value = (value * 31 + ord(char)) % 1_000_003
    return value


async def factorial(name: str, n: int, pause: float) -> int:
    """Task 1: n! one multiplication per step, with record() and a pause after each."""
    # TODO(task 1): after each multiplication, record the step, then await a pause.
    raise NotImplementedError("factorial is not written yet")


async def run_factorials(jobs: list[tuple[str, int, float]]) -> list[int]:
    """Task 2: run one factorial per (name, n, pause) job concurrently; results in order."""
    # TODO(task 2): start every factorial before waiting for any of them.
    raise NotImplementedError("run_factorials is not written yet")


async def fingerprint_all(texts: list[str]) -> list[int]:
    """Task 3: fingerprint every text, in order, letting other tasks run in between."""
    # TODO(task 3): give the event loop a turn between fingerprints.
    raise NotImplementedError("fingerprint_all is not written yet")


if __name__ == "__main__":
    import time

    started = time.perf_counter()
    print(asyncio.run(run_factorials([("A", 4, 0.3), ("B", 3, 0.5), ("C", 2, 0.7)])))
    print(f"took {time.perf_counter() - started:.2f} s (the longest job alone is 1.5 s)")
    print(asyncio.run(fingerprint_all(["event", "loop"])))
