"""The ``grade`` command. Each command reads its options, calls one function, prints.

``grade exercise-03`` works without a subcommand name: an argument that is not a
command is taken as an exercise to grade.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from grader.course import Course, find_course
from grader.errors import GraderError

__all__ = ["main"]


class _DefaultToCheck(click.Group):
    """Treat ``grade <exercise> ...`` as ``grade check <exercise> ...``."""

    def resolve_command(self, ctx: click.Context, args: list[str]):  # type: ignore[override]
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["check", *args]
        return super().resolve_command(ctx, args)


@click.group(cls=_DefaultToCheck, invoke_without_command=True,
             context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="async-grader")
@click.pass_context
def main(ctx: click.Context) -> None:
    """Grade your async/await exercises: `grade exercise-03`, `grade list`."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(list_command)


def _course() -> Course:
    return find_course()


@main.command("check")
@click.argument("exercise")
@click.option("--solution", is_flag=True, help="Grade the reference solution instead.")
@click.option("--file", "file_", type=click.Path(path_type=Path, dir_okay=False),
              help="Grade this file instead of the exercise's stub.")
@click.option("--json", "as_json", is_flag=True, help="Print the full result as JSON.")
def check_command(exercise: str, solution: bool, file_: Path | None, as_json: bool) -> None:
    """Grade EXERCISE (exercise-03, 03, 3 or its slug)."""
    from grader.runner import grade_file

    if solution and file_:
        raise click.UsageError("Use either --solution or --file, not both.")
    target = _course().resolve(exercise)
    module = file_ or (target.solution_file if solution else target.stub_file)
    result = grade_file(target, module)
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=2))
    else:
        from grader.terminal import make_console, print_grade

        print_grade(make_console(), result)
    sys.exit(0 if result.all_passed else 1)


@main.command("list")
def list_command() -> None:
    """List every exercise with its title and concepts."""
    from rich.table import Table

    from grader.terminal import make_console

    course = _course()
    table = Table(box=None, pad_edge=False)
    table.add_column("Exercise")
    table.add_column("Title")
    table.add_column("Concepts")
    for exercise in course.exercises:
        meta = exercise.meta
        table.add_row(exercise.short_name, meta.title, ", ".join(meta.concepts))
    make_console().print(table)


@main.command("verify")
@click.argument("exercises", nargs=-1)
@click.option("--workers", type=click.IntRange(1, 64), default=None,
              help="Gradings to run at once (default: CPU count).")
def verify_command(exercises: tuple[str, ...], workers: int | None) -> None:
    """Check every exercise's content: stub, solution, variants, tasks, files."""
    import time

    from rich.table import Table

    from grader.terminal import make_console
    from grader.verify import verify_course

    course = _course()
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


def run() -> None:  # pragma: no cover - console entry helper
    try:
        main()
    except GraderError as exc:
        exc.show()
        sys.exit(exc.exit_code)
