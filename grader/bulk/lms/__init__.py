"""What each learning management system (LMS) writes and reads, one module per LMS.

* reading an LMS's "download submissions" naming (:mod:`.canvas`, :mod:`.moodle`), which
  intake uses to turn flat files and per-student folders into one entry per student;
* writing a gradebook that LMS's grade importer accepts (:mod:`.canvas`, :mod:`.moodle`,
  :mod:`.blackboard`, :mod:`.plain`), from the class's results, the students' identities
  (:mod:`grader.bulk.roster`) and the columns the instructor named (:mod:`.columns`).

This package imports nothing of the grader at module level but :mod:`grader.supervision.sanitize`,
so intake can use the name parsers without an import cycle.
"""

from __future__ import annotations

__all__ = ["LMS_FORMATS"]

LMS_FORMATS = ("canvas", "moodle", "blackboard", "plain")
"""Values of ``grade bulk --lms``, in the order their files are written."""
