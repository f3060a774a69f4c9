"""Exercise 02: generators that take turns. See README.md for the tasks."""

from collections.abc import Iterator


def countdown(n: int) -> Iterator[int]:
    """Task 1: yield n, n - 1, ..., 1, one value each time the caller asks."""
    # TODO(task 1): a generator function: use `yield` inside a loop.
    raise NotImplementedError("countdown is not written yet")


def round_robin(*generators: Iterator) -> Iterator:
    """Task 2: advance the generators one step each, in turn, until all are exhausted."""
    # TODO(task 2): keep the generators that are still going; give each one a turn,
    # and drop a generator from the rotation when next() raises StopIteration.
    raise NotImplementedError("round_robin is not written yet")


if __name__ == "__main__":
    rocket = countdown(3)
    print("first value:", next(rocket))
    print("the rest:", list(rocket))
    for value in round_robin(countdown(3), countdown(1), countdown(2)):
        print(value, end=" ")
    print()
