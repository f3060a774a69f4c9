"""Exercise 12 reference solution: processes for CPU work, threads for blocking I/O."""

import asyncio
import time
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor, as_completed

PHOTO_SECONDS = {"cat": 0.3, "dog": 0.1, "owl": 0.2}


def count_primes(limit: int) -> int:
    """Provided: CPU-heavy work, counting the primes below ``limit``. Don't change it."""
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
    """Task 1: each count runs in a worker process; gather keeps the input order."""
    loop = asyncio.get_running_loop()
    with ProcessPoolExecutor(max_workers=2) as pool:
        jobs = [loop.run_in_executor(pool, count_primes, limit) for limit in limits]
        return list(await asyncio.gather(*jobs))


async def read_all(paths: list[str]) -> list[str]:
    """Task 2: a pool of three threads never runs more than three reads at once."""
    loop = asyncio.get_running_loop()
    with ThreadPoolExecutor(max_workers=3) as pool:
        jobs = [loop.run_in_executor(pool, read_file, path) for path in paths]
        return list(await asyncio.gather(*jobs))


def download_in_order(pool: Executor, names: list[str]) -> list[str]:
    """Task 3: map submits every download at once and yields results in input order."""
    return list(pool.map(download, names))


def download_as_ready(pool: Executor, names: list[str]) -> list[str]:
    """Task 3: as_completed yields each future as soon as its download finishes."""
    futures = [pool.submit(download, name) for name in names]
    return [future.result() for future in as_completed(futures)]


if __name__ == "__main__":  # process pools need this guard on macOS and Windows
    started = time.perf_counter()
    print(asyncio.run(count_all([20_000, 5_000, 10_000, 15_000])))
    print(asyncio.run(read_all([f"report-{n}.csv" for n in range(6)])))
    with ThreadPoolExecutor(max_workers=3) as photo_pool:
        print(download_in_order(photo_pool, list(PHOTO_SECONDS)))
        print(download_as_ready(photo_pool, list(PHOTO_SECONDS)))
    print(f"took {time.perf_counter() - started:.2f} s")
