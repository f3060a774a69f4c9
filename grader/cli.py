"""The ``grade`` command. Each command reads its options, calls one function, prints.

``grade exercise-03`` works without a subcommand name: an argument that is not a
command is taken as an exercise to grade; ``grade`` alone shows the student's progress.

Commands that keep the progress record import sqlite3, rich and jinja2 inside their
bodies: ``grade`` starts for every grading, so module level stays light. It also stays
importable anywhere (no POSIX-only module), so that ``main`` can first refuse, in one
line, a system or Python the grader was never tested on (``platform_check``).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import click

from grader.course.course import Course, Exercise, course_line, find_course
from grader.errors import GraderError
from grader.platform_check import check_platform

if TYPE_CHECKING:
    from rich.console import Console

    from grader.state.progress import CourseProgress
    from grader.state.progress_store import ProgressStore

__all__ = ["main"]


class _UserError(click.ClickException):
    """A GraderError as click shows it: one line, exit status 2."""

    exit_code = 2


class _DefaultToCheck(click.Group):
    """Treat ``grade <exercise> ...`` as ``grade check <exercise> ...``.

    Also the one place where the grader's own errors become click's: every command runs
    inside :meth:`invoke`.
    """

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except GraderError as exc:
            raise _UserError(exc.format_message()) from None

    def resolve_command(self, ctx: click.Context, args: list[str]):
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["check", *args]
        return super().resolve_command(ctx, args)


@click.group(cls=_DefaultToCheck, invoke_without_command=True,
             context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="async-grader")
@click.option("--course", "course_path", type=click.Path(path_type=Path, file_okay=False),
              default=None, metavar="PATH",
              help="The course to act on (default: $GRADER_COURSE, else the folder with "
                   "course.toml at or above the current directory).")
@click.pass_context
def main(ctx: click.Context, course_path: Path | None) -> None:
    """Grade your async/await exercises: `grade exercise-03`, `grade` for your progress."""
    check_platform()  # before any command imports the runner (POSIX-only, asyncio-bound)
    ctx.meta["grader.course_path"] = course_path
    if ctx.invoked_subcommand is None:
        ctx.invoke(progress_command)


def _course() -> Course:
    """The course this command acts on, named in one line on a terminal's stderr.

    Only on a terminal: piped output (``--json``, CI logs, tests) stays exactly the
    command's own, and a student at a terminal always sees which checkout is graded.
    """
    course = find_course(explicit=click.get_current_context().meta.get("grader.course_path"))
    if _stderr_is_terminal():
        click.echo(course_line(course), err=True)
    return course


def _stderr_is_terminal() -> bool:
    stream = sys.stderr  # not click.get_text_stream: deprecated from click 8.3
    return stream is not None and stream.isatty()


def _instructor_only(course: Course, command: str) -> None:
    """Refuse, in one line, a command that needs what a student release leaves out."""
    if course.is_release:
        raise GraderError(f"grade {command} needs the instructor's copy of the course; "
                          f"{course.root} is a student release (course.toml: kind = "
                          '"release").')


_db_option = click.option(
    "--db", type=click.Path(path_type=Path, dir_okay=False), default=None,
    help="Progress record to use (default: $GRADER_PROGRESS_DB, else "
         "<course>/.progress/progress.db).",
)


def _open_progress(course: Course, db: Path | None, *, create: bool = True) -> ProgressStore:
    """Open the student's progress record, snapshotting pristine stubs on first use."""
    from grader.state.progress_store import ProgressStore, progress_db_path
    from grader.state.stub_snapshots import ensure_snapshots

    path = progress_db_path(course.root, db)
    ensure_snapshots(course, path.parent)
    return ProgressStore.open(path, create=create)


def _course_progress(course: Course, store: ProgressStore) -> CourseProgress:
    from grader.state.progress import build_progress

    return build_progress(course, store.scores(), store.hints_seen())


def _exercise(course: Course, typed: str) -> Exercise:
    """The exercise a name or a path (tab-completed module or folder) names."""
    from grader.course.exercise_args import exercise_from_argument

    return exercise_from_argument(course, typed)


def _exercise_or_current(course: Course, typed: str | None, db: Path | None,
                         command: str) -> Exercise:
    """``typed``'s exercise; none typed: the current one (the overview's "Next"), said in
    one line on stderr so the command's own output stays as it is."""
    if typed is not None:
        return _exercise(course, typed)
    with _open_progress(course, db, create=False) as store:
        upcoming = _course_progress(course, store).next_exercise
    if upcoming is None:
        raise GraderError(f"Every exercise is done, so there is no current one: name it, "
                          f"as in grade {command} exercise-03.")
    click.echo(f"{upcoming.short_name}  {upcoming.title}  (your current exercise; for "
               f"another: grade {command} NN)", err=True)
    return course.resolve(upcoming.short_name)


def _course_relative(course: Course, path: Path) -> str:
    """``path`` as the student reads it: from the course folder when inside it."""
    try:
        return path.resolve().relative_to(course.root).as_posix()
    except ValueError:
        return _display_path(path)


@contextlib.contextmanager
def _reader_may_stop() -> Iterator[None]:
    """``grade 5 | head -2``: a reader that stops early is not a failure of ours.

    Later output goes nowhere (stdout becomes /dev/null, so the final flush cannot fail
    either) and the command goes on to record the grading and exit with its own status.
    """
    try:
        yield
    except BrokenPipeError:
        with contextlib.suppress(OSError, ValueError, io.UnsupportedOperation):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            os.close(devnull)


def _refuse_empty(module: Path, shown: str, exercise: Exercise, *, own: bool) -> None:
    """An empty file is not graded: every check would only say a name is missing."""
    if module.stat().st_size and module.read_bytes().strip():
        return
    fix = (f" To start again from the original stub: grade reset {exercise.short_name} "
           "(the empty file is kept as a backup)." if own else "")
    raise GraderError(f"{shown} is empty: there is nothing to grade.{fix}")


_feedback_option = click.option(
    "--feedback", type=click.Choice(["full", "terse"]), default=None,
    help="How much a failing check says: full (what, why, what next) or terse (only what "
         "failed). Default: course.toml's [feedback] detail.",
)


@main.command("check")
@click.argument("exercise")
@click.option("--solution", is_flag=True, help="Grade the reference solution instead.")
@click.option("--file", "file_", type=click.Path(path_type=Path, dir_okay=False),
              help="Grade this file instead of the exercise's stub.")
@click.option("--json", "as_json", is_flag=True, help="Print the full result as JSON.")
@_db_option
@_feedback_option
def check_command(exercise: str, solution: bool, file_: Path | None, as_json: bool,
                  db: Path | None, feedback: str | None) -> None:
    """Grade EXERCISE (exercise-03, 03, 3 or its slug).

    Every grading of your exercise file (and of a --file, tagged with its path) is added
    to your progress record; gradings of the reference solution are not.
    """
    from grader.render.feedback_detail import with_detail
    from grader.supervision.runner import grade_file

    if solution and file_:
        raise click.UsageError("Use either --solution or --file, not both.")
    course = _course()
    target = _exercise(course, exercise)
    if solution and course.is_release and not target.solution_file.is_file():
        raise GraderError(f"This student copy has no reference solution for "
                          f"{target.short_name}" + (" yet: it is unlocked once your own file "
                          "passes every check." if target.locked_solution_file.is_file()
                          else "."))
    if file_ is not None and not file_.exists():
        # Not "run grade reset": that restores the exercise's own file, not this path.
        raise GraderError(f"{file_} does not exist. Check the path.")
    module = file_ or (target.solution_file if solution else target.stub_file)
    shown = _course_relative(course, module)
    if module.is_file():
        _refuse_empty(module, shown, target, own=not (file_ or solution))
    if not solution:
        # Before grading: the first grade run snapshots every pristine stub.
        _snapshot_stubs(course, db)
    result = with_detail(grade_file(target, module), feedback or course.info.feedback)
    if file_ is not None:
        result = result.naming_file(target.meta.module, file_.name)
    status = 0 if result.all_passed else 1
    recorded = not solution
    console = None
    with _reader_may_stop():
        if as_json:
            click.echo(json.dumps(result.to_dict(), indent=2))
        else:
            from grader.render.terminal import make_console, print_grade

            console = make_console()
            print_grade(console, result, graded_file=shown,
                        show_completion=not recorded or file_ is not None)
        # Before recording: the student never waits for the record (~2 ms, plus the
        # disk's flush), and a record that can't be written is reported under the grade.
        sys.stdout.flush()
    if not recorded:
        sys.exit(status)
    from grader.errors import ProgressStoreError

    upcoming, course_done, failure = None, False, ""
    try:
        with _open_progress(course, db) as store:
            store.record_attempt(result, source="file" if file_ else "stub")
            if result.all_passed and file_ is None:
                progress = _course_progress(course, store)
                nxt = progress.next_exercise
                upcoming, course_done = (nxt.short_name if nxt else None), nxt is None
    except ProgressStoreError as exc:
        failure = f"This grading was not saved: {exc.format_message()}"
        status = 2
    with _reader_may_stop():
        if console is not None and result.all_passed and file_ is None:
            from grader.render.terminal import print_completion

            print_completion(console, upcoming, course_done=course_done)
        if result.all_passed and file_ is None:
            _unlock_solution(course, target)
    if failure:
        click.echo(f"Error: {failure}", err=True)
    sys.exit(status)


def _snapshot_stubs(course: Course, db: Path | None) -> None:
    from grader.state.progress_store import progress_db_path
    from grader.state.stub_snapshots import ensure_snapshots

    ensure_snapshots(course, progress_db_path(course.root, db).parent)


def _unlock_solution(course: Course, exercise: Exercise) -> None:
    """In a release made with --unlock-solutions, show the solution once the stub passes."""
    from grader.course.solution_lock import unlock_solution

    unlocked = unlock_solution(exercise, course.root)
    if unlocked is not None:
        click.echo(f"Solved! The reference solution is now at {_display_path(unlocked)}: "
                   "compare it with yours.")


@main.command("list")
@_db_option
def list_command(db: Path | None) -> None:
    """List every exercise with its title, concepts and your status."""
    from rich.table import Table

    from grader.render.overview import status_text
    from grader.render.terminal import make_console

    course = _course()
    with _open_progress(course, db, create=False) as store:
        progress = _course_progress(course, store)
    console = make_console()
    table = Table(box=None, pad_edge=False)
    table.add_column("Exercise", no_wrap=True)
    table.add_column("Title")
    table.add_column("Concepts")
    table.add_column("Status", no_wrap=True)
    for entry in progress.exercises:
        table.add_row(entry.short_name, entry.title, ", ".join(entry.concepts),
                      status_text(entry.status, ascii_only=console.options.ascii_only))
    console.print(table)


@main.command("progress")
@_db_option
@click.option("--json", "as_json", is_flag=True, help="Print the overview as JSON.")
def progress_command(db: Path | None, as_json: bool) -> None:
    """Show your progress: exercises done, best scores, concepts, what to do next."""
    from grader.render.overview import print_overview
    from grader.render.terminal import make_console

    course = _course()
    with _open_progress(course, db, create=False) as store:
        store.check_integrity()
        progress = _course_progress(course, store)
        record = store.path
    if as_json:
        click.echo(json.dumps(progress.to_dict(), indent=2))
        return
    print_overview(make_console(), progress, record=_display_path(record))


def _display_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


@main.command("hint")
@click.argument("exercise", required=False)
@click.option("--all", "show_all", is_flag=True, help="Show every hint at once.")
@click.option("--yes", "-y", is_flag=True,
              help="Don't ask before showing a hint for an exercise you have finished.")
@_db_option
def hint_command(exercise: str | None, show_all: bool, yes: bool, db: Path | None) -> None:
    """Show the next hint for EXERCISE (default: your current one); it remembers which
    you have seen. Hints read after an exercise passes are not counted."""
    from grader.render.terminal import make_console
    from grader.state.hints import print_hints, reveal_hints

    course = _course()
    target = _exercise_or_current(course, exercise, db, "hint")
    with _open_progress(course, db) as store:
        done = store.has_passed(target.name)
        if done and not yes:
            click.echo(f"{target.short_name} is done: your file passes every check.")
            try:
                go_on = click.confirm("Show a hint anyway? It will not count", default=False)
            except click.Abort:  # no answer (stdin closed): as "no"
                go_on = False
                click.echo()
            if not go_on:
                click.echo(f"No hint shown. (grade hint {target.short_name} --yes shows one "
                           "without asking.)")
                return
        view = reveal_hints(target, store, reveal_all=show_all, count=not done)
    print_hints(make_console(), view)


@main.command("watch")
@click.argument("exercise", required=False)
@_db_option
@_feedback_option
def watch_command(exercise: str | None, db: Path | None, feedback: str | None) -> None:
    """Re-grade EXERCISE every time you save it; when it passes, move on. Ctrl-C to stop."""
    from grader.render.terminal import make_console
    from grader.watch import run_watch

    course = _course()
    run_watch(course, _exercise_or_current(course, exercise, db, "watch"),
              console=make_console(),
              open_store=lambda: _open_progress(course, db),
              detail=feedback or course.info.feedback)


@main.command("reset")
@click.argument("exercise", required=False)
@_db_option
def reset_command(exercise: str | None, db: Path | None) -> None:
    """Put EXERCISE's original file back (default: your current exercise's); your
    version is kept as a backup."""
    from grader.state.progress_store import progress_db_path
    from grader.state.reset import reset_exercise
    from grader.state.stub_snapshots import ensure_snapshots

    course = _course()
    target = _exercise_or_current(course, exercise, db, "reset")
    state = progress_db_path(course.root, db).parent
    ensure_snapshots(course, state)
    outcome = reset_exercise(target, state=state)
    if not outcome.changed:
        click.echo(f"{_display_path(outcome.stub)} already is the original; nothing to do.")
        return
    if outcome.backup is not None:
        click.echo(f"Your version is saved as {_display_path(outcome.backup)}")
    click.echo(f"Restored the original {_display_path(outcome.stub)} "
               f"(from {outcome.original_from}).")


@main.command("report")
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Where to write the HTML file (default: report.html beside the record).")
@click.option("--open", "open_", is_flag=True, help="Open the report in your web browser.")
@_db_option
def report_command(out: Path | None, open_: bool, db: Path | None) -> None:
    """Write your progress as one HTML page, with timelines of your timing checks."""
    from grader.render.report_html import render_report, write_report

    course = _course()
    with _open_progress(course, db, create=False) as store:
        store.check_integrity()
        progress = _course_progress(course, store)
        attempts = store.attempts()
        target = out or store.path.parent / "report.html"
    try:
        written = write_report(target, render_report(progress, attempts))
    except OSError as exc:
        raise GraderError(f"Can't write the report to {target} ({exc.strerror}). "
                          "Choose another place with --out PATH.") from None
    click.echo(f"Report written to {_display_path(written)}")
    click.echo(f"Open it in your browser: {written.resolve().as_uri()}")
    if open_:
        import webbrowser

        webbrowser.open(written.resolve().as_uri())


@main.command("verify")
@click.argument("exercises", nargs=-1)
@click.option("--workers", type=click.IntRange(1, 64), default=None,
              help="Gradings to run at once (default: CPU count).")
def verify_command(exercises: tuple[str, ...], workers: int | None) -> None:
    """Check every exercise's content: stub, solution, variants, tasks, files."""
    import time

    from rich.table import Table

    from grader.render.terminal import make_console

    course = _course()
    _instructor_only(course, "verify")  # before importing what a release leaves out
    from grader.verify import verify_course

    chosen = [course.resolve(e) for e in exercises] if exercises else list(course.exercises)
    started = time.perf_counter()
    reports = verify_course(chosen, workers=workers)
    table = Table(box=None, pad_edge=False)
    table.add_column("Exercise")
    table.add_column("Gradings", justify="right")
    table.add_column("Result")
    for report in reports:
        verdict = "ok" if report.ok else "\n".join(f"PROBLEM: {p}" for p in report.problems)
        table.add_row(report.exercise.short_name, str(report.gradings), verdict)
    console = make_console()
    console.print(table)
    bad = [r for r in reports if not r.ok]
    console.print(f"{len(reports) - len(bad)}/{len(reports)} exercises ok "
                  f"in {time.perf_counter() - started:.1f} s")
    if bad:
        sys.exit(1)


@main.command("bulk")
@click.argument("submissions", type=click.Path(path_type=Path, file_okay=False, exists=True))
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), required=True,
              help="Results folder: gradebook, grades.csv, results.json, HTML reports.")
@click.option("--exercises", default="", metavar="03,05",
              help="Comma-separated exercises to grade (default: all).")
@click.option("--workers", type=click.IntRange(1, 256), default=None,
              help="Gradings to run at once (default: CPU count).")
@click.option("--regrade", is_flag=True,
              help="Grade everything again instead of resuming from the gradebook.")
@click.option("--unsafe-no-sandbox", is_flag=True,
              help="Grade without the bubblewrap sandbox (student code unconfined).")
@click.option("--roster", type=click.Path(path_type=Path, dir_okay=False, exists=True),
              default=None, help="Class roster CSV: names entries after students, lists "
                                 "who handed in nothing. See docs/bulk-grading.md.")
@click.option("--lms", "lms", multiple=True,
              type=click.Choice(["canvas", "moodle", "blackboard", "plain"]),
              help="Also write grades-<lms>.csv for that LMS's grade import (repeatable).")
@click.option("--lms-columns", default=None, metavar="TEMPLATE|FILE",
              help="LMS column titles: a template ('Exercise {number}: {title}') or a file "
                   "of 'exercise-03 = Title (assignment id)' lines.")
@click.option("--per-task", is_flag=True,
              help="In LMS files, also one column per task of each exercise.")
@click.option("--students", default="", metavar="alice,bob",
              help="Grade only these students, again (names as grades.csv lists them); "
                   "the outputs keep everyone else's recorded verdicts.")
@click.option("--cluster", default=None, metavar="ADDRESS|local:N",
              help="Grade on a Dask cluster: a scheduler address (tcp://host:8786), or "
                   "local:N to start N worker processes here. Needs the cluster extra.")
@click.option("--shard", default=None, metavar="K/N",
              help="Grade slice K of N of the class only (K from 0), for job arrays; join "
                   "the slices with grade bulk-merge.")
def bulk_command(submissions: Path, out: Path, exercises: str, workers: int | None,
                 regrade: bool, unsafe_no_sandbox: bool, roster: Path | None,
                 lms: tuple[str, ...], lms_columns: str | None, per_task: bool, students: str,
                 cluster: str | None, shard: str | None) -> None:
    """Grade every student's entry (folder or .zip) in SUBMISSIONS into --out.

    Re-running the same command grades only what changed. See docs/bulk-grading.md.
    """
    _instructor_only(_course(), "bulk")
    from rich.console import Console

    from grader.bulk.progress import BulkProgress, print_outcome
    from grader.bulk.run import require_sandbox, resume_command, run_bulk
    from grader.render.terminal import make_console

    if cluster is not None:
        from grader.bulk.cluster import parse_cluster, require_dask

        parse_cluster(cluster)
        require_dask()  # one line saying how to install it, before anything is read
        if workers is not None:
            raise click.UsageError("--workers sets this machine's gradings at once; with "
                                   "--cluster the workers' threads do (local:N starts N).")
    else:
        require_sandbox(unsafe_no_sandbox)
    from grader.bulk.shards import parse_shard

    slice_ = parse_shard(shard) if shard is not None else None
    if (lms_columns or per_task) and not lms:
        raise click.UsageError("--lms-columns and --per-task shape the LMS files: add --lms "
                               "canvas (or moodle, blackboard, plain).")
    names = [n.strip() for n in exercises.split(",") if n.strip()]
    picked = [n.strip() for n in students.split(",") if n.strip()]
    extra = [*(["--roster", str(roster)] if roster else []),
             *(w for name in lms for w in ("--lms", name)),
             *(["--lms-columns", lms_columns] if lms_columns else []),
             *(["--per-task"] if per_task else []),
             *(["--students", students] if students else []),
             *(["--cluster", cluster] if cluster else []),
             *(["--shard", shard] if shard else [])]
    with BulkProgress(Console(stderr=True, highlight=False)) as progress:
        outcome = run_bulk(course=_course(), submissions=submissions, out=out,
                           exercises=names, workers=workers, regrade=regrade,
                           listener=progress, unsafe_no_sandbox=unsafe_no_sandbox,
                           roster=roster, lms=lms, lms_columns=lms_columns, per_task=per_task,
                           students=picked,
                           cluster=cluster, shard=slice_)
    console = make_console()
    print_outcome(console, outcome, out=out,
                  resume=resume_command(submissions, out, names, extra))
    _print_notes(console, outcome.notes)
    if outcome.summary.interrupted:
        sys.exit(130)
    if outcome.summary.failed:
        sys.exit(1)


@main.command("bulk-merge")
@click.argument("shards", nargs=-1, required=True,
                type=click.Path(path_type=Path, file_okay=False, exists=True))
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), required=True,
              help="The merged results folder: gradebook and every usual output.")
@click.option("--submissions", type=click.Path(path_type=Path, file_okay=False, exists=True),
              default=None, help="The class folder, if not where the shards read it.")
def bulk_merge_command(shards: tuple[Path, ...], out: Path, submissions: Path | None) -> None:
    """Join the results folders of grade bulk --shard K/N runs into --out.

    Conflicts (two shards with different verdicts for the same file) are listed, and
    so are missing shards; either makes the exit status 1. See docs/bulk-grading.md.
    """
    course = _course()
    _instructor_only(course, "bulk-merge")
    from rich.text import Text

    from grader.bulk.shards import merge_shards
    from grader.render.terminal import make_console
    from grader.supervision.sanitize import clean_name

    merged = merge_shards(course=course, folders=list(shards), out=out,
                          submissions=submissions)
    console = make_console()
    console.print(f"Merged {len(merged.manifests)} shard(s): {merged.rows} verdict(s) copied, "
                  f"{len(merged.conflicts)} conflict(s).")
    for conflict in merged.conflicts:
        console.print(Text("Conflict: " + clean_name(conflict.describe(), 2000)),
                      soft_wrap=True)  # one line each, for grep
    bulk = merged.bulk
    for path in getattr(bulk, "written", []):
        console.print(Text(f"Wrote {clean_name(str(path))}"))
    described = {c.describe() for c in merged.conflicts}  # printed above already
    _print_notes(console, [n for n in getattr(bulk, "notes", []) if n not in described])
    if merged.conflicts or merged.missing or merged.unfinished:
        sys.exit(1)


def _print_notes(console: Console, notes: list[str]) -> None:
    """Roster matches, stray files and LMS import steps, one cleaned line each."""
    from rich.text import Text

    from grader.supervision.sanitize import clean_name

    for note in notes:
        console.print(Text("Note: " + clean_name(note, 2000)))


@main.command("release")
@click.argument("out", type=click.Path(path_type=Path))
@click.option("--unlock-solutions/--no-unlock-solutions", default=None,
              help="Ship each reference solution locked, shown once the student's file "
                   "passes (a convenience, not a secret). Default: course.toml's "
                   "[release] unlock_solutions.")
def release_command(out: Path, unlock_solutions: bool | None) -> None:
    """Write the student course to OUT (a new or empty folder outside the course).

    No solutions/, no instructor fixtures, benchmarks or tooling; hidden suites, pristine
    stubs and a student-side test set included. See docs/bulk-grading.md, "Release".
    """
    course = _course()
    _instructor_only(course, "release")
    from grader.course.release import release_course

    outcome = release_course(course, out, unlock_solutions=unlock_solutions)
    click.echo(f"Released {course.info.title!r}: {outcome.exercises} exercises, "
               f"{outcome.files} files ({outcome.size / 1024:.0f} KiB) in {outcome.out}")
    click.echo("Left out: " + ", ".join(outcome.left_out))
    click.echo("Solutions: " + ("locked, each unlocked once the student's file passes (a "
                                "convenience, not a secret)" if outcome.unlock_solutions
                                else "not shipped"))
    click.echo(f"Try it: cd {outcome.out} && python3 -m venv .venv && . .venv/bin/activate "
               "&& pip install -e . && grade exercise-03")


@main.command("submit")
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), default=None,
              metavar="NAME.zip",
              help="Where to write the zip (default: <course>-<you>.zip here).")
@click.option("--with-progress", is_flag=True,
              help="Add your progress record (scores, hints used) to the zip.")
@_db_option
def submit_command(out: Path | None, with_progress: bool, db: Path | None) -> None:
    """Pack your exercise files into one zip to hand in (the layout grade bulk reads)."""
    from grader.state.progress_store import progress_db_path
    from grader.state.stub_snapshots import ensure_snapshots
    from grader.state.submit import default_zip_name, write_submission

    course = _course()
    record = progress_db_path(course.root, db)
    ensure_snapshots(course, record.parent)
    outcome = write_submission(course, out or Path(default_zip_name(course)),
                               state=record.parent,
                               progress=record if with_progress else None)
    click.echo(f"Packed {len(outcome.packed)} exercise files into "
               f"{_display_path(outcome.zip_path)}:")
    width = max(len(entry.path) for entry in outcome.packed)
    for entry in outcome.packed:
        click.echo(f"  {entry.exercise:<12} {entry.path:<{width}}  {entry.state}")
    if outcome.progress:
        click.echo(f"  and your progress record, as {outcome.progress}")
    if outcome.missing:
        click.echo("Missing (not packed): " + ", ".join(outcome.missing))
    if outcome.unchanged:
        click.echo(f"Still unchanged from the stub ({len(outcome.unchanged)}): "
                   + ", ".join(outcome.unchanged))
    else:
        click.echo("Every exercise file differs from its stub.")


@main.group("autograder")
def autograder_group() -> None:
    """Build what a grading platform runs: Gradescope, GitHub Classroom, PrairieLearn,
    Exercism. Same suites, sandbox and verdicts as `grade`; see docs/platforms.md."""


def _autograder_options(function):
    function = click.option("--force", is_flag=True,
                            help="Replace files that already exist at --out.")(function)
    function = click.option("--time-limit", type=float, default=None, metavar="SECONDS",
                            help="Real-time limit per check (default: each exercise's "
                                 "own).")(function)
    return click.option("--exercises", default="", metavar="03,05",
                        help="Comma-separated exercises (default: all).")(function)


def _write_autograder(platform: str, out: Path, exercises: str, time_limit: float | None,
                      force: bool, visibility: str = "") -> None:
    course = _course()
    _instructor_only(course, f"autograder {platform}")  # a release has no grader/platforms
    from grader.platforms.uploads import write_upload

    upload = write_upload(platform, course=course, exercises=exercises, out=out,
                          visibility=visibility, time_limit=time_limit, force=force)
    count = len(upload.exercises)
    click.echo(f"Wrote {upload.files} files for {count} exercise{'s' * (count != 1)} to "
               f"{_display_path(upload.out)}. Next steps: docs/platforms.md ({platform}).")


@autograder_group.command("gradescope")
@click.option("--out", type=click.Path(path_type=Path), required=True, metavar="FILE.zip",
              help="The autograder zip to upload to Gradescope.")
@click.option("--visibility", default="", metavar="03=visible,05=after_due_date",
              help="When students see each exercise's checks: visible (default), "
                   "after_due_date, after_published, hidden.")
@_autograder_options
def autograder_gradescope_command(out: Path, visibility: str, exercises: str,
                                  time_limit: float | None, force: bool) -> None:
    """Write Gradescope's autograder zip (setup.sh, run_autograder, grader, suites)."""
    _write_autograder("gradescope", out, exercises, time_limit, force, visibility)


@autograder_group.command("github")
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), required=True,
              metavar="DIR", help="The template repository's folder to write into.")
@_autograder_options
def autograder_github_command(out: Path, exercises: str, time_limit: float | None,
                              force: bool) -> None:
    """Write a GitHub Classroom workflow (.github/workflows/classroom.yml, .autograder/)."""
    _write_autograder("github", out, exercises, time_limit, force)


@autograder_group.command("prairielearn")
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), required=True,
              metavar="DIR", help="Folder for serverFilesCourse/, questions/ and image/.")
@_autograder_options
def autograder_prairielearn_command(out: Path, exercises: str, time_limit: float | None,
                                    force: bool) -> None:
    """Write a PrairieLearn external grader: image, entry point, one question each."""
    _write_autograder("prairielearn", out, exercises, time_limit, force)


@autograder_group.command("exercism")
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), required=True,
              metavar="DIR", help="Folder for the test runner (bin/run.sh, Dockerfile).")
@_autograder_options
def autograder_exercism_command(out: Path, exercises: str, time_limit: float | None,
                                force: bool) -> None:
    """Write an Exercism test runner: run.sh SLUG SOLUTION_DIR OUTPUT_DIR."""
    _write_autograder("exercism", out, exercises, time_limit, force)

if __name__ == "__main__":  # python -m grader.cli, e.g. from a course that is not installed
    main()
