"""``grade watch exercise-03``: re-grade every time the student saves, like rustlings watch.

Decisions:

- **What is watched**: the exercise folder, not recursively, filtered to the stub's file
  name. Watching the folder (not the file) survives editors that save by writing a
  temporary file and renaming it over the original.
- **Debounce**: watchfiles groups the events of one save (an editor may write, truncate
  and rename within milliseconds) and yields once the folder has been quiet for
  ``STEP_MS``; a save made while a grading runs triggers one more grading afterwards.
- **Warm grading**: a watch grades dozens of times, so it keeps one warm sandbox for
  all of them (:func:`warm_grading`: :func:`grader.supervision.sandbox.shared_cells` with the
  owner ``"watch"``) and forks each grading from its PID 1; the judges' suites load
  once per process (:mod:`grader.supervision.judging`). Same sandbox, same limits, same verdicts
  as ``grade exercise-03``, without paying bubblewrap, Python and pytest start-up on
  every save (``benchmarks/bench_watch.py``).
- **A try per distinct content**: a save whose bytes hash to what was last graded is
  not graded or recorded again (editors save unchanged buffers; some touch the file),
  and a watch starting on a file unchanged since its last recorded grading shows the
  grade without recording it again. So "Tries" counts versions of the file, not saves.
- **The finish line**: once every check passes, the watch offers the next exercise not
  yet done, after this one in course order (rustlings does the same), and names it;
  Enter moves on and starts watching that exercise's file, ``q`` then Enter stops.
  Keys come from stdin on a terminal only; piped, the offer names the command instead.
- **Screen**: cleared before each grading (only on a terminal; rich writes no control
  codes into a pipe), then the usual grade output, then one status line.
- **Record**: each grading is recorded like ``grade exercise-03``. A record that can't
  be written is reported under the grade and watching goes on: the student's flow
  matters more than one lost attempt, and the next ``grade`` will show the error again.
- **Ctrl-C** ends the watch with a one-line goodbye, never a traceback, whether it
  arrives while waiting or in the middle of a grading (the runner kills its child).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import queue
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import watchfiles
from rich.console import Console
from rich.text import Text

from grader.course.course import Exercise
from grader.errors import GraderError
from grader.supervision.results import GradeResult

if TYPE_CHECKING:
    from grader.course.course import Course
    from grader.state.progress_store import Attempt, ProgressStore

__all__ = ["DEBOUNCE_MS", "STEP_MS", "WATCH_OWNER", "Commands", "content_hash",
           "pick_next", "run_watch", "status_line", "unchanged_since", "warm_grading",
           "watch_exercise"]

DEBOUNCE_MS = 500  # longest a burst of events is grouped before grading anyway
STEP_MS = 50  # quiet time that ends a burst: an editor's save takes a few ms
WATCH_OWNER = "watch"  # the warm sandbox's owner: one student, this process

Grade = Callable[[Exercise, Path], GradeResult]
Record = Callable[[GradeResult], None]
LatestAttempt = Callable[[Exercise], "Attempt | None"]
NextExercise = Callable[[Exercise], "Exercise | None"]


def status_line(exercise: Exercise, result: GradeResult | None, *, note: str = "",
                now: datetime | None = None, offer: Exercise | None = None) -> Text:
    """The one line under the grade: what is watched, the verdict, how to go on."""
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append(f"Watching {exercise.meta.module}", style="bold")
    text.append(f" · {(now or datetime.now()).strftime('%H:%M:%S')}")
    if result is not None:
        passed = sum(c.passed for c in result.checks)
        style = "bold green" if result.all_passed else "bold"
        text.append(" · ")
        text.append(f"{result.score}/{result.max_score}", style=style)
        text.append(f" ({passed} of {len(result.checks)} checks)")
    if note:
        text.append(f" · {note}", style="yellow")
    if offer is not None:
        text.append(f" · Enter: {offer.short_name}", style="bold cyan")
    text.append(" · Ctrl-C to stop", style="dim")
    return text


def _print_status(console: Console, line: Text) -> None:
    """One line, whatever the width: cut with an ellipsis rather than wrapped."""
    console.print(line, no_wrap=True, overflow="ellipsis")


def _shown_path(exercise: Exercise) -> str:
    """The watched file as the student reads it: from the course folder, not absolute."""
    try:
        return exercise.stub_file.relative_to(exercise.course_root).as_posix()
    except ValueError:
        return str(exercise.stub_file)


def content_hash(data: bytes) -> str:
    """What makes two saves the same try: their bytes, not their time."""
    return hashlib.sha256(data).hexdigest()


def unchanged_since(stub: Path, attempt: Attempt | None) -> bool:
    """Whether ``stub`` was last written before ``attempt`` read it for grading.

    The record keeps when a grading was saved, not the file's hash; the grading read
    the file about its duration earlier, so a file modified after that moment counts
    as changed (a save during the grading is never mistaken for a graded one).
    """
    if attempt is None or attempt.source != "stub":
        return False
    try:
        graded_at = datetime.fromisoformat(attempt.graded_at)
        modified = datetime.fromtimestamp(stub.stat().st_mtime, UTC)
    except (OSError, ValueError):
        return False
    if graded_at.tzinfo is None:
        graded_at = graded_at.replace(tzinfo=UTC)
    return modified < graded_at - timedelta(seconds=attempt.result.duration)


def pick_next(exercises: Sequence[Exercise], current: Exercise,
              done: set[str]) -> Exercise | None:
    """The exercise to offer after ``current``: the next not done in course order,
    wrapping round to earlier ones a student skipped; None when every one is done."""
    names = [e.name for e in exercises]
    start = names.index(current.name) + 1 if current.name in names else 0
    for exercise in [*exercises[start:], *exercises[:start]]:
        if exercise.name != current.name and exercise.name not in done:
            return exercise
    return None


class Commands:
    """What the student typed while watching, one line each (Enter, ``q``)."""

    def __init__(self, *, interactive: bool) -> None:
        self.interactive = interactive  # False: nobody can answer, so offers say commands
        self.arrived = threading.Event()
        self._lines: queue.SimpleQueue[str] = queue.SimpleQueue()

    def put(self, line: str) -> None:
        self._lines.put(line.strip().lower())
        self.arrived.set()

    def take(self) -> str | None:
        """The oldest line not taken yet, or None. Clear :attr:`arrived` before taking."""
        try:
            return self._lines.get_nowait()
        except queue.Empty:
            return None

    @classmethod
    def from_stdin(cls, stream: TextIO | None = None) -> Commands:
        """Lines from the terminal, read by a daemon thread; none from a pipe."""
        stream = stream if stream is not None else sys.stdin
        interactive = stream is not None and stream.isatty()
        commands = cls(interactive=interactive)
        if interactive:
            def read() -> None:
                for line in stream:
                    commands.put(line)

            threading.Thread(target=read, name="watch-keys", daemon=True).start()
        return commands


@dataclass
class _Either:
    """Set when either event is: watchfiles polls ``is_set`` to stop waiting."""

    first: threading.Event
    second: threading.Event

    def is_set(self) -> bool:
        return self.first.is_set() or self.second.is_set()


class _Session:
    """Watching one exercise: grade on start and on each save, until moved on or stopped."""

    def __init__(self, exercise: Exercise, *, console: Console, grade: Grade,
                 record: Record | None, latest_attempt: LatestAttempt | None,
                 next_exercise: NextExercise | None, commands: Commands) -> None:
        self.exercise, self.console, self.grade = exercise, console, grade
        self.record, self.commands = record, commands
        self.latest_attempt, self.next_exercise = latest_attempt, next_exercise
        self.gradings = 0
        self.graded_hash: str | None = None  # the content of the last grading shown
        self.offer: Exercise | None = None  # offered once every check passes

    def start(self) -> None:
        stub = self.exercise.stub_file
        known = False
        if self.latest_attempt is not None and stub.is_file():
            known = unchanged_since(stub, self.latest_attempt(self.exercise))
        self.regrade(first=True, already_recorded=known)

    def saved(self) -> None:
        """A save: graded only if the bytes differ from the last grading's."""
        try:
            data = self.exercise.stub_file.read_bytes()
        except OSError:
            data = None
        if data is not None and content_hash(data) == self.graded_hash:
            return
        self.regrade()

    def regrade(self, *, first: bool = False, already_recorded: bool = False) -> None:
        exercise, console, stub = self.exercise, self.console, self.exercise.stub_file
        console.clear()
        console.print(Text(f"Grading {exercise.short_name}…", style="dim"))
        self.offer = None
        try:
            data = stub.read_bytes()
        except OSError:
            self.graded_hash = None
            console.print(f"{stub.name} is missing from {exercise.folder}. Put it back, or "
                          f"restore the original with `grade reset {exercise.short_name}`.")
            _print_status(console, status_line(exercise, None, note="waiting for the file"))
            return
        try:
            result = self.grade(exercise, stub)
        except GraderError as exc:
            console.print(exc.format_message())
            _print_status(console, status_line(exercise, None, note="could not grade"))
            return
        self.gradings += 1
        self.graded_hash = content_hash(data)
        self.show(result, already_recorded=already_recorded)

    def show(self, result: GradeResult, *, already_recorded: bool) -> None:
        """The grade first, then what takes the record's time: the student reads sooner."""
        from grader.render.terminal import print_grade

        console = self.console
        console.clear()
        # With an offer to make, the offer is the closing line (it names what is next).
        print_grade(console, result, graded_file=_shown_path(self.exercise),
                    show_completion=self.next_exercise is None)
        note = ""
        if already_recorded:
            note = "unchanged since your last grading: not counted again"
        elif self.record is not None:
            try:
                self.record(result)
            except GraderError as exc:
                note = "attempt not recorded (see above)"
                console.print(Text(exc.format_message(), style="yellow"))
        if result.all_passed and self.next_exercise is not None:
            self.offer = self.next_exercise(self.exercise)
            console.print()
            console.print(self._offer_text())
        console.print()
        _print_status(console, status_line(
            self.exercise, result, note=note,
            offer=self.offer if self.commands.interactive else None))

    def _offer_text(self) -> Text:
        text = Text()
        text.append("All checks pass. ", style="bold green")
        if self.offer is None:
            text.append("That was the last exercise left: every one is done. ", style="bold")
            text.append("`grade` shows your progress; `grade report` writes it as a page.")
            return text
        text.append("\nNext: ", style="bold")
        text.append(f"{self.offer.short_name}  {self.offer.meta.title}", style="bold cyan")
        if self.commands.interactive:
            text.append(f"\nPress Enter to watch {self.offer.stub_file.name} there, "
                        "or keep editing this one (q then Enter stops).")
        else:
            text.append(f"\nRun `grade watch {self.offer.short_name}` to go on.")
        return text


def watch_exercise(
    exercise: Exercise,
    *,
    console: Console,
    grade: Grade,
    record: Record | None = None,
    stop_event: threading.Event | None = None,
    latest_attempt: LatestAttempt | None = None,
    next_exercise: NextExercise | None = None,
    commands: Commands | None = None,
) -> int:
    """Grade ``exercise``'s stub now and after every save; return the number of gradings.

    Runs until Ctrl-C, ``q`` (or ``stop_event`` is set, for tests and embedding). Once
    every check passes, ``next_exercise`` names the exercise to offer, and Enter in
    ``commands`` moves the watch there. ``latest_attempt`` (the last recorded grading)
    lets a watch starting on an unchanged file not count it as a new try.
    """
    stop = stop_event or threading.Event()
    commands = commands or Commands(interactive=False)
    gradings = 0
    current: Exercise | None = exercise
    try:
        while current is not None:
            session = _Session(current, console=console, grade=grade, record=record,
                               latest_attempt=latest_attempt, next_exercise=next_exercise,
                               commands=commands)
            try:
                session.start()
                current = _follow(session, stop, commands)
            finally:
                gradings += session.gradings
    except KeyboardInterrupt:
        console.print()
        console.print(f"Stopped watching {(current or exercise).short_name}. "
                      "Your attempts are saved: `grade` shows your progress.")
    return gradings


def _follow(session: _Session, stop: threading.Event, commands: Commands) -> Exercise | None:
    """Re-grade ``session`` on saves until it stops (None) or moves on (the next one)."""
    stub = session.exercise.stub_file
    while not stop.is_set():
        for _changes in watchfiles.watch(
            stub.parent,
            watch_filter=lambda _change, path: Path(path).name == stub.name,
            debounce=DEBOUNCE_MS,
            step=STEP_MS,
            stop_event=_Either(stop, commands.arrived),
            recursive=False,
            raise_interrupt=True,  # False would log a warning; we say goodbye ourselves
        ):
            session.saved()
        commands.arrived.clear()  # before taking: a line put from now on wakes us again
        while (line := commands.take()) is not None:
            if line in ("q", "quit", "exit"):
                raise KeyboardInterrupt  # the same goodbye as Ctrl-C
            if line in ("", "n", "next") and session.offer is not None:
                return session.offer
    return None


@contextlib.contextmanager
def warm_grading() -> Iterator[Grade]:
    """``grade_file`` with one warm sandbox kept for the whole watch (see the module doc)."""
    from grader.supervision.runner import grade_file
    from grader.supervision.sandbox import shared_cells

    with shared_cells(keep=1):
        yield functools.partial(grade_file, owner=WATCH_OWNER)


def run_watch(course: Course, exercise: Exercise, *, console: Console,
              open_store: Callable[[], ProgressStore], detail: str = "full",
              grade: Grade | None = None, commands: Commands | None = None) -> int:
    """``grade watch``: watch ``exercise`` with the progress record, moving on when done.

    ``detail`` is the feedback detail (:mod:`grader.render.feedback_detail`); ``grade`` and
    ``commands`` default to the warm grader and the terminal's keys.
    """
    from grader.render.feedback_detail import with_detail
    from grader.state.progress import build_progress

    with open_store():  # fail now, not after the first save, if it's broken
        pass

    def record(result: GradeResult) -> None:
        with open_store() as store:
            store.record_attempt(result, source="stub")

    def latest(target: Exercise) -> Attempt | None:
        with open_store() as store:
            return store.latest_attempt(target.name, source="stub")

    def following(current: Exercise) -> Exercise | None:
        with open_store() as store:
            progress = build_progress(course, store.scores(), store.hints_seen())
        done = {e.exercise for e in progress.exercises if e.status == "done"}
        return pick_next(course.exercises, current, done)

    with contextlib.ExitStack() as stack:
        if grade is None:
            grade = stack.enter_context(warm_grading())
        graded = grade

        def grade_with_detail(target: Exercise, path: Path) -> GradeResult:
            return with_detail(graded(target, path), detail)

        return watch_exercise(exercise, console=console, grade=grade_with_detail,
                              record=record, latest_attempt=latest, next_exercise=following,
                              commands=commands or Commands.from_stdin())
