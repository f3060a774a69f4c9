"""The hidden-suite API re-exports exactly what it documents."""

from __future__ import annotations

import grader.suite


def test_all_names_exist() -> None:
    for name in grader.suite.__all__:
        assert hasattr(grader.suite, name), name


def test_all_is_sorted_and_unique() -> None:
    assert list(grader.suite.__all__) == sorted(set(grader.suite.__all__))
