"""``grade autograder <platform>``: build what an instructor uploads, and write it.

One function per command's work (:func:`write_upload`), so the CLI only reads options.
Nothing an instructor already has is overwritten without ``--force``: the GitHub files
are meant to be written into a template repository's checkout, where a workflow of
the same name may be the instructor's own.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from grader.course.course import Course, Exercise
from grader.errors import GraderError
from grader.platforms import exercism, github, gradescope, prairielearn
from grader.platforms.bundle import Bundle

__all__ = ["PLATFORMS", "Upload", "choose_exercises", "write_upload"]

PLATFORMS = ("gradescope", "github", "prairielearn", "exercism")


@dataclass(frozen=True)
class Upload:
    """What was written: a zip, or files under a folder."""

    platform: str
    out: Path
    files: int
    exercises: tuple[str, ...]


def choose_exercises(course: Course, text: str) -> list[Exercise]:
    """``03,05`` (any names ``grade`` accepts) as exercises; empty means all of them."""
    names = [n.strip() for n in text.split(",") if n.strip()]
    chosen = [course.resolve(n) for n in names] if names else list(course.exercises)
    unique = list({e.name: e for e in chosen}.values())
    return sorted(unique, key=lambda e: e.number)


def write_upload(platform: str, *, course: Course, exercises: str, out: Path,
                 visibility: str = "", time_limit: float | None = None,
                 force: bool = False) -> Upload:
    """Build ``platform``'s upload for ``exercises`` and write it to ``out``."""
    if platform not in PLATFORMS:
        raise GraderError(f"No platform called '{platform}'; choose one of "
                          f"{', '.join(PLATFORMS)}.")
    if time_limit is not None and not time_limit > 0:
        raise GraderError("--time-limit must be a positive number of seconds.")
    chosen = choose_exercises(course, exercises)
    if visibility and platform != "gradescope":
        raise GraderError("--visibility is Gradescope's; drop it for this platform.")
    builders: dict[str, Callable[[], Bundle]] = {
        "gradescope": lambda: gradescope.build(
            course, chosen, visibility=gradescope.parse_visibility(visibility, chosen, course),
            time_limit=time_limit),
        "github": lambda: github.build(course, chosen, time_limit=time_limit),
        "prairielearn": lambda: prairielearn.build(course, chosen, time_limit=time_limit),
        "exercism": lambda: exercism.build(course, chosen, time_limit=time_limit),
    }
    bundle = builders[platform]()
    names = tuple(e.name for e in chosen)
    if platform == "gradescope":
        _write_zip(bundle, out, force=force)
    else:
        _write_folder(bundle, out, force=force)
    return Upload(platform, out, len(bundle.files), names)


def _write_zip(bundle: Bundle, out: Path, *, force: bool) -> None:
    if out.is_dir():
        raise GraderError(f"{out} is a folder; give --out a file name such as "
                          "autograder.zip.")
    if out.exists() and not force:
        raise GraderError(f"{out} already exists; choose another --out or add --force to "
                          "replace it.")
    out.parent.mkdir(parents=True, exist_ok=True)
    temporary = out.with_name(f".{out.name}.partial")
    temporary.write_bytes(bundle.zip_bytes())
    temporary.replace(out)


def _write_folder(bundle: Bundle, out: Path, *, force: bool) -> None:
    if out.exists() and not out.is_dir():
        raise GraderError(f"{out} is a file; give --out a folder.")
    clashes = _clashes(bundle, out)
    if clashes and not force:
        raise GraderError(f"{out / clashes[0]} already exists with other content "
                          f"({len(clashes)} such files); add --force to replace them.")
    bundle.write_folder(out)


def _clashes(bundle: Bundle, out: Path) -> Sequence[str]:
    return [name for name, content in sorted(bundle.files.items())
            if (out / name).exists() and ((out / name).is_dir()
                                          or (out / name).read_bytes() != content)]
