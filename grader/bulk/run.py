"""``grade bulk``: read the submissions, grade what is new, write what instructors publish.

RESULTS holds the gradebook (``gradebook.sqlite``) next to the outputs, so re-running
the same command resumes: only student-exercises whose file or hidden suite changed
are graded, and the outputs are written again from the whole gradebook.

Outputs are written only after a run that was not interrupted, so a folder never mixes
a fresh ``grades.csv`` with a stale class summary; an interrupted run has still recorded
every grading that finished.
"""

from __future__ import annotations

import fcntl
import json
import os
import shlex
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from grader.bulk.class_report import write_class_report
from grader.bulk.classbook import ClassResults, collect_results
from grader.bulk.exports import (
    results_document,
    write_atomic,
    write_grades_csv,
    write_lms_gradebooks,
)
from grader.bulk.gradebook import Gradebook, suite_hash
from grader.bulk.intake import IntakeLimits, Submission, read_class
from grader.bulk.lms.columns import ColumnSpec, parse_columns
from grader.bulk.pipeline import (
    Executor,
    Listener,
    RunSummary,
    grade_jobs,
    interrupts_deferred,
    plan_gradings,
)
from grader.bulk.roster import Identity, Roster, identify, load_roster
from grader.course.course import Course, Exercise
from grader.errors import GraderError, SubmissionsError
from grader.supervision.sandbox import sandbox_problem
from grader.supervision.sanitize import clean_name

if TYPE_CHECKING:
    from grader.bulk.pristine import PristineStub
    from grader.bulk.shards import Shard
    from grader.bulk.similarity import CopyMatch

__all__ = ["GRADEBOOK_NAME", "BulkOutcome", "resume_command", "run_bulk"]

GRADEBOOK_NAME = "gradebook.sqlite"
LOCK_NAME = ".grade-bulk.lock"


@dataclass
class BulkOutcome:
    """What ``grade bulk`` did: the run, the class's results, the files written."""

    summary: RunSummary
    submissions: list[Submission]
    results: ClassResults | None = None  # None when the run was interrupted
    written: list[Path] = field(default_factory=list)
    suites_changed: list[str] = field(default_factory=list)  # short names, edited mid-run
    student_reports: str = ""  # why per-student reports were not written, if they weren't
    notes: list[str] = field(default_factory=list)  # roster, stray files, LMS imports
    identities: dict[str, Identity] = field(default_factory=dict)  # by student


def resume_command(submissions: Path, out: Path, exercises: Sequence[str],
                   extra: Sequence[str] = ()) -> str:
    """The command line that resumes this run; ``extra`` are further options, as given."""
    words = ["grade", "bulk", str(submissions), "--out", str(out)]
    if exercises:
        words += ["--exercises", ",".join(exercises)]
    return shlex.join([*words, *extra])


def _choose_exercises(course: Course, names: Sequence[str]) -> tuple[list[Exercise],
                                                                     list[Exercise]]:
    """(exercises to grade, every exercise of the course whose metadata loads)."""
    chosen = [course.resolve(n) for n in names] if names else list(course.exercises)
    chosen = list(dict.fromkeys(chosen))
    for exercise in chosen:
        _ = exercise.meta  # a broken metadata file stops the run here, named
    known = []
    for exercise in course.exercises:
        try:
            _ = exercise.meta
        except GraderError:
            continue
        known.append(exercise)
    return chosen, known


def _check_folders(submissions: Path, out: Path) -> None:
    if not submissions.is_dir():
        raise SubmissionsError(f"{submissions} is not a folder. Give the folder that holds "
                               "one folder or .zip per student.")
    inside = out.resolve()
    if inside == submissions.resolve() or submissions.resolve() in inside.parents:
        raise SubmissionsError(f"--out {out} is inside the submissions folder {submissions}; "
                               "put the results somewhere else, or it would be read as a "
                               "student.")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SubmissionsError(f"Can't create the results folder {out} ({exc.strerror}). "
                               "Choose another --out.") from None


@contextmanager
def _only_run(out: Path) -> Iterator[None]:
    """One ``grade bulk`` per results folder at a time; the OS frees the lock on any exit."""
    with open(out / LOCK_NAME, "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise SubmissionsError(f"Another grade bulk is writing to {out}. Wait for it to "
                                   "finish, or use another --out.") from None
        yield


def require_sandbox(unsafe_no_sandbox: bool) -> None:
    """Grades that count come only from sandboxed runs: refuse unless told otherwise."""
    problem = None if unsafe_no_sandbox else sandbox_problem()
    if problem:
        raise SubmissionsError(
            f"No grading sandbox on this machine: {problem}. Install bubblewrap, or pass "
            "--unsafe-no-sandbox to grade with student code unconfined (not for real grades).")


def run_bulk(*, course: Course, submissions: Path, out: Path, exercises: Sequence[str] = (),
             workers: int | None = None, regrade: bool = False,
             listener: Listener | None = None,
             limits: IntakeLimits | None = None,
             unsafe_no_sandbox: bool = False,
             roster: Path | None = None, lms: Sequence[str] = (),
             lms_columns: str | None = None, per_task: bool = False,
             students: Sequence[str] = (),
             cluster: str | None = None, shard: Shard | None = None) -> BulkOutcome:
    """Grade every submission in ``submissions`` into ``out``; see the module docstring.

    Without a working sandbox this refuses before touching anything, unless
    ``unsafe_no_sandbox``: grades that count are only given to sandboxed runs.
    ``students`` grades those students' files again (and nobody else's); the outputs
    still cover the whole class from the gradebook.
    ``cluster`` (a Dask scheduler address or ``local:N``) grades on Dask workers, each
    checked for the sandbox instead of this machine (:mod:`grader.bulk.cluster`);
    ``shard`` grades one slice of the class only (:mod:`grader.bulk.shards`).
    """
    if cluster is None:
        require_sandbox(unsafe_no_sandbox)
    _check_folders(submissions, out)
    chosen, known = _choose_exercises(course, exercises)
    # A bad roster or column mapping stops the run here, before anything is graded.
    class_roster = load_roster(roster) if roster is not None else None
    spec = parse_columns(lms_columns, course, chosen)
    sandbox = "off" if unsafe_no_sandbox else "require"
    with _only_run(out), Gradebook(out / GRADEBOOK_NAME) as gradebook, \
            _executor(cluster, course, chosen, sandbox) as executor:
        intake = read_class(submissions, chosen, course_exercises=known,
                            limits=limits or IntakeLimits())
        matched = identify(intake.submissions, class_roster)
        handed_in = matched.submissions
        shard_notes = []
        if shard is not None:
            from grader.bulk.shards import write_manifest

            everyone = len(handed_in)
            handed_in = [s for s in handed_in if shard.holds(s.student)]
            write_manifest(out, shard, submissions=submissions,
                           exercises=[e.name for e in chosen],
                           suite_hashes={e.name: suite_hash(e) for e in chosen},
                           students=[s.student for s in handed_in], roster=roster, lms=lms,
                           lms_columns=lms_columns, per_task=per_task)
            shard_notes.append(f"shard {shard}: {len(handed_in)} of the class's {everyone} "
                               "entries; join the shards with grade bulk-merge")
        plan = plan_gradings(_only(handed_in, students), chosen, gradebook,
                             regrade=regrade or bool(students))
        summary = grade_jobs(plan, gradebook, workers=workers or os.cpu_count() or 2,
                             listener=listener, sandbox=sandbox, executor=executor)
        outcome = BulkOutcome(summary, handed_in,
                              notes=[*intake.notes, *matched.notes, *shard_notes],
                              identities=matched.identities)
        # Verdicts are keyed by the suites as they were when planned; an edit during the
        # run means some may come from the new version, so the next run regrades them.
        outcome.suites_changed = [e.short_name for e in chosen
                                  if suite_hash(e) != plan.suite_hashes[e.name]]
        if summary.interrupted:
            return outcome
        with interrupts_deferred(summary):
            failed = {(student, exercise): why for student, exercise, why in summary.failed}
            outcome.results = collect_results(handed_in, chosen, gradebook,
                                              suite_hashes=plan.suite_hashes, failed=failed,
                                              wall_seconds=summary.seconds)
            _write_outputs(outcome, chosen, out,
                           _LmsRequest(lms, spec, per_task, class_roster))
    return outcome


def _executor(cluster: str | None, course: Course, exercises: list[Exercise],
              sandbox: str) -> AbstractContextManager[Executor | None]:
    """Where the gradings run: this machine's threads (None), or a checked Dask cluster."""
    if cluster is None:
        return nullcontext(None)
    from grader.bulk.cluster import open_cluster

    return open_cluster(cluster, course=course, exercises=exercises,
                        suite_hashes={e.name: suite_hash(e) for e in exercises},
                        sandbox=sandbox)


@dataclass(frozen=True)
class _LmsRequest:
    formats: Sequence[str]
    spec: ColumnSpec
    per_task: bool
    roster: Roster | None


def _only(submissions: list[Submission], students: Sequence[str]) -> list[Submission]:
    """The submissions of ``students`` (all when none are named); unknown names stop the
    run with one line naming the closest ones."""
    if not students:
        return submissions
    from grader.bulk.name_order import pick_students

    chosen = set(pick_students([s.student for s in submissions], students))
    return [s for s in submissions if s.student in chosen]


def _write_outputs(outcome: BulkOutcome, exercises: list[Exercise], out: Path,
                   lms: _LmsRequest | None = None) -> None:
    """Every output, students in name order, with the modes the umask gives new files."""
    from grader.bulk.file_modes import apply_umask
    from grader.bulk.name_order import by_name
    from grader.bulk.pristine import missing_note, pristine_stubs
    from grader.bulk.student_reports import write_student_reports

    assert outcome.results is not None
    results = outcome.results = by_name(outcome.results)
    stubs = pristine_stubs(exercises)
    missing = missing_note(stubs, {e.name: e.short_name for e in exercises})
    if missing:
        outcome.notes.append(missing)
    copying = _copying(outcome.submissions, results, stubs)
    write_grades_csv(results, out / "grades.csv")
    _write_results_json(results, copying, out / "results.json")
    outcome.written += [out / "grades.csv", out / "results.json"]
    if lms is not None and lms.formats:
        written, notes = write_lms_gradebooks(
            results, outcome.identities, formats=lms.formats, spec=lms.spec, out=out,
            per_task=lms.per_task, roster=lms.roster is not None)
        outcome.written += written
        outcome.notes += notes
    links = write_student_reports(results, exercises, out, identities=outcome.identities)
    if links:
        outcome.written.append(out / "students")
    write_class_report(results, out / "class-summary.html", links, outcome.notes, copying)
    outcome.written.append(out / "class-summary.html")
    apply_umask([*outcome.written, out / "students", out / GRADEBOOK_NAME])


def _copying(submissions: Sequence[Submission], results: ClassResults,
             stubs: Mapping[str, PristineStub]) -> list[CopyMatch]:
    """Possible copying among the files handed in, students listed in name order."""
    from grader.bulk.similarity import find_copying

    files: dict[str, dict[str, bytes]] = {}
    for submission in submissions:
        for exercise, module in submission.modules.items():
            files.setdefault(exercise, {})[submission.student] = module.content
    order = {s.student: n for n, s in enumerate(results.students)}
    graded = {info.name for info in results.exercises}
    return find_copying({e: f for e, f in files.items() if e in graded},
                        {name: stub.versions for name, stub in stubs.items()}, order=order)


def _write_results_json(results: ClassResults, copying: Sequence[CopyMatch],
                        path: Path) -> None:
    """``results.json``: :func:`results_document` plus ``possible_copying``."""
    from grader.bulk.similarity import MIN_OWN, THRESHOLD

    document = results_document(results)
    short = {info.name: info.short_name for info in results.exercises}
    document["possible_copying"] = {
        "threshold": THRESHOLD,
        "min_own_fingerprints": MIN_OWN,
        "matches": [{"exercise": short.get(m.exercise, m.exercise),
                     "kind": "identical" if m.identical else "similar",
                     "students": [clean_name(s) for s in m.first],
                     "other_students": [clean_name(s) for s in m.second],
                     "score": m.score, "own_fingerprints": m.own} for m in copying],
    }
    write_atomic(path, json.dumps(document, indent=2, allow_nan=False) + "\n")
