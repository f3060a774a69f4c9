"""Grading inside the platforms instructors already use: Gradescope, GitHub Classroom,
PrairieLearn and Exercism's test-runner contract.

Every adapter grades with the same engine as ``grade`` and ``grade bulk``
(:func:`grader.supervision.runner.grade_file`, same hidden suites, sandbox, judges and verdicts)
and differs only in two things, each kept in that platform's own module:

* **its results format**: a :class:`~grader.platforms.base.Platform` turns a
  :class:`~grader.platforms.base.Run` (one :class:`~grader.supervision.results.GradeResult` per
  exercise) into the document the platform reads. Nothing of a platform's format
  leaks into the engine, and the engine's data is never reshaped anywhere else;
* **its files**: the scripts, workflow or question files an instructor uploads,
  written by ``grade autograder <platform>`` and run by the platform as
  ``python -m grader.platforms.<platform>``.

Shared pieces: :mod:`~grader.platforms.submission` finds the student's modules in
whatever a platform hands over, :mod:`~grader.platforms.session` grades them one
exercise at a time (reporting after each, so a platform time-out still leaves
results), and :mod:`~grader.platforms.bundle` copies the grader and the chosen hidden
suites (never solutions) into what an instructor uploads.
"""

from __future__ import annotations

from grader.platforms.base import Platform, Run

__all__ = ["Platform", "Run"]
