"""Exercise 02 reference solution: a countdown generator and a round-robin scheduler."""

from collections import deque
from collections.abc import Iterator


def countdown(n: int) -> Iterator[int]:
    """Task 1: yield n, n - 1, ..., 1; each value is computed only when asked for."""
    while n > 0:
        yield n
        n -= 1


def round_robin(*generators: Iterator) -> Iterator:
    """Task 2: one step of each running generator in turn, until every one is done."""
    running = deque(generators)
    while running:
        generator = running.popleft()
        try:
            value = next(generator)
        except StopIteration:
            continue  # finished: leave it out of the rotation
        yield value
        running.append(generator)


if __name__ == "__main__":
    rocket = countdown(3)
    print("first value:", next(rocket))
    print("the rest:", list(rocket))
    for value in round_robin(countdown(3), countdown(1), countdown(2)):
        print(value, end=" ")
    print()
