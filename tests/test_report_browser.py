"""The HTML report in a real browser: headless Chromium loads it without a single console
message (so nothing was blocked, fetched or broken), lays out what we expect, prints,
and takes the screenshot kept in docs/ for the README.

Skipped when no Chromium is installed; CI installs Debian's (``apt-get install -y
chromium``), and there (``$CI`` set) a missing browser fails instead of skipping.
``UPDATE_DOCS_SCREENSHOT=1 pytest tests/test_report_browser.py`` refreshes
``docs/report-screenshot.png``.
"""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from grader.course.course import Course
from grader.course.metadata import load_metadata
from grader.errors import MetadataError
from grader.render.report_html import render_report
from grader.state.progress import build_progress
from grader.state.progress_store import ProgressStore
from helpers import REPO
from helpers.progress_samples import EX03, exercise03_result, passing_result

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
SCREENSHOT = REPO / "docs" / "report-screenshot.png"
WINDOW = (1200, 1600)


def _browser() -> str | None:
    wanted = os.environ.get("GRADER_BROWSER")
    if wanted:
        return shutil.which(wanted) or wanted
    return next((found for name in BROWSERS if (found := shutil.which(name))), None)


BROWSER = _browser()
if BROWSER is None and os.environ.get("CI"):
    pytest.fail("CI must install a browser for the report test: apt-get install -y chromium",
                pytrace=False)
pytestmark = pytest.mark.skipif(
    BROWSER is None,
    reason="no Chromium found (apt-get install -y chromium, or set GRADER_BROWSER); "
    "the report's browser test needs one",
)


def _course_snapshot(root: Path) -> Course:
    """The course's metadata as it is now, minus any exercise someone is half-way through
    writing: the report needs titles, concepts, checks and hints, not a finished course."""
    for meta in sorted((REPO / "exercises").glob("exercise-*/.meta/exercise.toml")):
        try:
            load_metadata(meta)
        except MetadataError:
            continue
        target = root / "exercises" / meta.parent.parent.name / ".meta" / "exercise.toml"
        target.parent.mkdir(parents=True)
        shutil.copyfile(meta, target)
    (root / "solutions").mkdir()
    return Course(root)


def _run_browser(profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert BROWSER is not None
    return subprocess.run(
        [BROWSER, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--disable-extensions", "--hide-scrollbars",
         f"--user-data-dir={profile}", *args],
        capture_output=True, text=True, timeout=120, check=False,
    )


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A student who finished two exercises and is stuck on exercise 03's concurrency."""
    folder = tmp_path_factory.mktemp("browser")
    course = _course_snapshot(folder / "course")
    others = [e for e in course.exercises if e.name != EX03][:2]
    with ProgressStore.open(folder / "progress.db") as store:
        minute = 0
        for exercise in others:
            minute += 7
            store.record_attempt(passing_result(exercise),
                                 graded_at=f"2024-05-02T09:{minute:02d}:00+00:00")
        store.record_attempt(exercise03_result("stub"), graded_at="2024-05-02T10:02:00+00:00")
        store.mark_hints_seen(EX03, [0])
        store.record_attempt(exercise03_result("sequential"),
                             graded_at="2024-05-02T10:15:00+00:00")
        progress = build_progress(course, store.scores(), store.hints_seen())
        html = render_report(progress, store.attempts(), title="Your progress")
    page = folder / "report.html"
    page.write_text(html, encoding="utf-8")
    return page


def test_the_report_loads_without_console_messages(report: Path, tmp_path: Path) -> None:
    done = _run_browser(tmp_path / "profile", "--enable-logging=stderr", "--v=0",
                        "--dump-dom", report.as_uri())
    assert done.returncode == 0, done.stderr[-2000:]
    console = [line for line in done.stderr.splitlines()
               if ":CONSOLE" in line or "Uncaught" in line or "Refused to" in line]
    assert not console, "\n".join(console)
    dom = done.stdout
    assert '<section id="overview"' in dom
    assert re.search(r'<section class="exercise" id="exercise-03"', dom)
    assert dom.count('class="timeline"') == 2
    assert dom.count('class="op op-ok"') + dom.count('class="op op-error"') == 6
    assert "Hints used" in dom and "Three `await fetch(...)` lines" in dom


def test_the_screenshot_shows_a_laid_out_page(report: Path, tmp_path: Path) -> None:
    shot = tmp_path / "report.png"
    # Paint everything before the capture: on a busy machine the last tiles can lag.
    done = _run_browser(tmp_path / "profile", f"--window-size={WINDOW[0]},{WINDOW[1]}",
                        "--run-all-compositor-stages-before-draw",
                        "--virtual-time-budget=5000", f"--screenshot={shot}", report.as_uri())
    assert done.returncode == 0 and shot.is_file(), done.stderr[-2000:]
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == WINDOW
    assert len(data) > 50_000  # a blank or error page compresses to a few kilobytes
    if os.environ.get("UPDATE_DOCS_SCREENSHOT"):
        shutil.copyfile(shot, SCREENSHOT)


def test_the_report_prints(report: Path, tmp_path: Path) -> None:
    pdf = tmp_path / "report.pdf"
    done = _run_browser(tmp_path / "profile", "--no-pdf-header-footer",
                        f"--print-to-pdf={pdf}", report.as_uri())
    assert done.returncode == 0 and pdf.is_file(), done.stderr[-2000:]
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF")
    pages = len(re.findall(rb"/Type\s*/Page\b", data))
    assert pages >= 2  # the overview, then each graded exercise from a new page
