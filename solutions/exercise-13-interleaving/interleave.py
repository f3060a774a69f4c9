"""Exercise 13 reference solution: await between steps, start every task before waiting."""

import asyncio


def record(name: str, step: int) -> None:
    """Provided: note that task ``name`` just finished step ``step``. Don't change this."""
    print(f"{name}: step {step} done")


def fingerprint(text: str) -> int:
    """Provided: a deliberately slow, CPU-only checksum of ``text``. Don't change this."""
    value = 17
    for _ in range(20_000):
        for char in text:
            value = (value * 31 + ord(char)) % 1_000_003
    return value


async def factorial(name: str, n: int, pause: float) -> int:
    """Task 1: each await hands the loop to the other tasks until the pause is over."""
    product = 1
    for i in range(1, n + 1):
        product *= i
        record(name, i)
        await asyncio.sleep(pause)
    return product


async def run_factorials(jobs: list[tuple[str, int, float]]) -> list[int]:
    """Task 2: gather starts them all at once, so their pauses overlap."""
    return list(await asyncio.gather(*(factorial(*job) for job in jobs)))


async def fingerprint_all(texts: list[str]) -> list[int]:
    """Task 3: one short CPU step per text, then a turn for everybody else."""
    prints = []
    for text in texts:
        prints.append(fingerprint(text))
        await asyncio.sleep(0)
    return prints


if __name__ == "__main__":
    import time

    started = time.perf_counter()
    print(asyncio.run(run_factorials([("A", 4, 0.3), ("B", 3, 0.5), ("C", 2, 0.7)])))
    print(f"took {time.perf_counter() - started:.2f} s (the longest job alone is 1.5 s)")
    print(asyncio.run(fingerprint_all(["event", "loop"])))
