"""Bulk grading for instructors: ``grade bulk SUBMISSIONS --out RESULTS``.

One module per job: :mod:`~grader.bulk.intake` reads what students handed in,
:mod:`~grader.bulk.gradebook` records every verdict as it lands, :mod:`~grader.bulk.pipeline`
runs the gradings in parallel, :mod:`~grader.bulk.classbook` assembles the class's results,
:mod:`~grader.bulk.exports` and :mod:`~grader.bulk.class_report` write what an instructor
publishes, and :mod:`~grader.bulk.run` ties them together for the CLI.

Kept free of imports so ``import grader.bulk.intake`` stays cheap.
"""
