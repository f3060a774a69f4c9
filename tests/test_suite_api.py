"""The hidden-suite API re-exports exactly what it documents."""

from __future__ import annotations

import grader.suite


def test_all_names_exist() -> None:
    for name in grader.suite.__all__:
        assert hasattr(grader.suite, name), name


def test_all_is_sorted_and_unique() -> None:
    """Sorted as ruff's RUF022 wants it: constants, then classes, then functions."""
    def group(name: str) -> tuple[int, str]:
        kind = 0 if name.isupper() else 1 if name[0].isupper() else 2
        return kind, name

    assert list(grader.suite.__all__) == sorted(set(grader.suite.__all__), key=group)
