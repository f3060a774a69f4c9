"""Exercise 12: hand slow work to the right executor. See README.md for the tasks."""

import asyncio
import time
from concurrent.futures import (  # noqa: F401  (you will need these)
    Executor,
    ProcessPoolExecutor,
    ThreadPoolExecutor,
    as_completed,
)

# How long each demo photo takes to "download", in seconds.
PHOTO_SECONDS = {"cat": 0.3, "dog": 0.1, "owl": 0.2}


def count_primes(limit: int) -> int:
    """Provided: CPU-heavy work, counting the primes below ``limit``. Don't change it.

    It sits at the top level of the module on purpose: a process pool sends functions to
    its workers by module and name. The grader swaps it for an instrumented copy.
    """
    return sum(1 for n in range(2, limit) if all(n % d for d in range(2, int(n**0.5) + 1)))


def read_file(path: str) -> str:
    """Provided: a blocking read from a slow network drive. Don't change this function."""
    time.sleep(0.3)
    return f"contents of {path}"


def download(name: str) -> str:
    """Provided: a blocking download of one photo. Don't change this function."""
    time.sleep(PHOTO_SECONDS.get(name, 0.2))
    return f"photo of {name}"


async def count_all(limits: list[int]) -> list[int]:
    """Task 1: count_primes for every limit in a pool of two processes, in input order."""
    # TODO(task 1): loop.run_in_executor(<a ProcessPoolExecutor>, count_primes, limit)
    raise NotImplementedError("count_all is not written yet")


async def read_all(paths: list[str]) -> list[str]:
    """Task 2: read every path on worker threads, at most three at a time, in input order."""
    # TODO(task 2): a thread pool's max_workers is a ready-made limit.
    raise NotImplementedError("read_all is not written yet")


def download_in_order(pool: Executor, names: list[str]) -> list[str]:
    """Task 3: every photo through ``pool.map``, in the order of ``names``."""
    # TODO(task 3): pool.map keeps the input order.
    raise NotImplementedError("download_in_order is not written yet")


def download_as_ready(pool: Executor, names: list[str]) -> list[str]:
    """Task 3: every photo through ``pool.submit``, in the order the downloads finished."""
    # TODO(task 3): as_completed hands back each future as soon as it is done.
    raise NotImplementedError("download_as_ready is not written yet")


if __name__ == "__main__":  # process pools need this guard on macOS and Windows
    started = time.perf_counter()
    print(asyncio.run(count_all([20_000, 5_000, 10_000, 15_000])))
    print(asyncio.run(read_all([f"report-{n}.csv" for n in range(6)])))
    with ThreadPoolExecutor(max_workers=3) as photo_pool:
        print(download_in_order(photo_pool, list(PHOTO_SECONDS)))
        print(download_as_ready(photo_pool, list(PHOTO_SECONDS)))
    print(f"took {time.perf_counter() - started:.2f} s")
