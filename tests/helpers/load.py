"""Every core kept busy, to show that a verdict does not depend on machine load."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterator
from contextlib import contextmanager


def _hog() -> None:
    while True:
        pass


@contextmanager
def cores_busy() -> Iterator[None]:
    """Two CPU-bound processes per core for the duration of the block."""
    hogs = [multiprocessing.get_context("fork").Process(target=_hog, daemon=True)
            for _ in range((os.cpu_count() or 2) * 2)]
    for hog in hogs:
        hog.start()
    try:
        yield
    finally:
        for hog in hogs:
            hog.kill()
            hog.join()
