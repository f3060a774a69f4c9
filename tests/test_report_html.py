"""The HTML report: self-contained, structured, and the timeline pictures it draws."""

from __future__ import annotations

import itertools
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import pytest

from grader.course.course import Course
from grader.render.history_svg import HistoryPoint, history_svg
from grader.render.report_html import render_report, write_report
from grader.render.timeline_svg import nice_step, timeline_summary, timeline_svg
from grader.state.progress import build_progress
from grader.state.progress_store import Attempt, ProgressStore
from grader.supervision.results import GradeResult
from helpers.progress_samples import (
    CONCURRENT,
    SEQUENTIAL,
    exercise03_result,
    timeline,
    tiny_course,
)

SVG = "{http://www.w3.org/2000/svg}"


class _Page(HTMLParser):
    """Every start tag with its attributes, and the text of the page."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.text: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):  # type: ignore[no-untyped-def]
        self.tags.append((tag, {k: v or "" for k, v in attrs}))

    def handle_data(self, data):  # type: ignore[no-untyped-def]
        self.text.append(data)

    def find(self, tag: str, **attrs: str) -> list[dict[str, str]]:
        return [a for t, a in self.tags if t == tag
                and all(v in a.get(k.rstrip("_").replace("_", "-"), "").split()
                        for k, v in attrs.items())]

    @property
    def words(self) -> str:
        return " ".join("".join(self.text).split())


def _bars(svg: str) -> list[tuple[str, float, float]]:
    root = ET.fromstring(svg)
    return [(r.get("data-label"), float(r.get("x")), float(r.get("x")) + float(r.get("width")))
            for r in root.iter(f"{SVG}rect") if "op" in (r.get("class") or "").split()]


def _budget_x(svg: str) -> float:
    root = ET.fromstring(svg)
    (line,) = [e for e in root.iter(f"{SVG}line") if e.get("class") == "budget"]
    return float(line.get("x1"))


# -- the timeline picture ------------------------------------------------------------------


def test_a_sequential_attempt_draws_a_staircase() -> None:
    bars = _bars(timeline_svg(timeline(SEQUENTIAL)))
    assert [label for label, _, _ in bars] == ["a", "b", "c"]
    for (_, _, end), (_, start, _) in itertools.pairwise(bars):
        assert start == pytest.approx(end, abs=0.05)  # each starts where the last ended
    assert bars[0][1] < bars[1][1] < bars[2][1]


def test_a_concurrent_attempt_draws_overlapping_bars() -> None:
    bars = _bars(timeline_svg(timeline(CONCURRENT)))
    starts = {round(start, 2) for _, start, _ in bars}
    assert len(starts) == 1  # all start together
    widths = {label: end - start for label, start, end in bars}
    assert widths["a"] == pytest.approx(2 * widths["b"], rel=0.01)  # 1.0 s vs 0.5 s


def test_the_budget_line_sits_at_the_budget() -> None:
    svg = timeline_svg(timeline(SEQUENTIAL))
    bars = dict((label, (start, end)) for label, start, end in _bars(svg))
    zero, one = bars["a"]  # a runs from 0.0 s to 1.0 s
    assert _budget_x(svg) == pytest.approx(zero + 1.2 * (one - zero), abs=0.05)
    assert "budget 1.2 s" in svg and 'class="over-budget"' in svg
    concurrent = timeline_svg(timeline(CONCURRENT))
    assert max(end for _, _, end in _bars(concurrent)) < _budget_x(concurrent)


def test_failed_operations_are_hatched_and_labelled_in_words() -> None:
    svg = timeline_svg(timeline(SEQUENTIAL, failing="b"), id_prefix="x1")
    root = ET.fromstring(svg)
    (failed,) = [r for r in root.iter(f"{SVG}rect") if "op-error" in (r.get("class") or "")]
    assert failed.get("fill") == "url(#x1-hatch)"
    assert root.find(f".//{SVG}pattern[@id='x1-hatch']") is not None
    assert "0.5 s, raised" in svg


def test_the_picture_is_accessible_and_self_contained() -> None:
    svg = timeline_svg(timeline(SEQUENTIAL))
    root = ET.fromstring(svg)
    assert root.get("role") == "img"
    assert "one after another" in root.get("aria-label")
    assert root.find(f"{SVG}title").text == timeline_summary(timeline(SEQUENTIAL))
    assert "href=" not in svg.replace("url(#", "")


def test_labels_are_escaped() -> None:
    svg = timeline_svg(timeline([("<b>&", 0.0, 1.0)], budget=None))
    assert ET.fromstring(svg) is not None and "<b>&" not in svg


def test_summaries_say_what_the_picture_shows() -> None:
    assert timeline_summary(timeline(SEQUENTIAL)) == (
        "3 operations, one after another; finished after 2.3 s of simulated time, "
        "1.1 s over the 1.2 s budget.")
    assert timeline_summary(timeline(CONCURRENT)) == (
        "3 operations, some ran at the same time; finished after 1.0 s of simulated time, "
        "within the 1.2 s budget.")
    assert "No operations" in timeline_svg({"operations": [], "budget": 1.0, "elapsed": 0.0})


@pytest.mark.parametrize(("span", "step"), [(2.5, 0.5), (1.26, 0.2), (12.6, 2.0), (0.05, 0.01)])
def test_ticks_are_round(span: float, step: float) -> None:
    assert nice_step(span) == pytest.approx(step)


def test_the_history_has_one_column_per_attempt() -> None:
    points = [HistoryPoint("1", "t", 0, 11, True), HistoryPoint("2", "t", 7, 11, True),
              HistoryPoint("3", "t", 11, 11, False)]
    root = ET.fromstring(history_svg(points))
    columns = [r for r in root.iter(f"{SVG}rect") if "attempt" in r.get("class", "").split()]
    assert len(columns) == 3
    assert "other-file" in columns[2].get("class")
    heights = [float(c.get("height")) for c in columns]
    assert heights[0] < heights[1] < heights[2]


# -- the page ------------------------------------------------------------------------------


@pytest.fixture
def course03(tmp_path: Path) -> Course:
    from helpers.progress_samples import copy_course

    return copy_course(tmp_path)


def _attempts(*results: tuple[GradeResult, str]) -> list[Attempt]:
    return [Attempt(i, f"2024-05-02T10:{i:02d}:00+00:00", source, 0, result)
            for i, (result, source) in enumerate(results, start=1)]


def _report(course: Course, attempts: list[Attempt], hints=None) -> str:
    from grader.state.progress_store import AttemptScore

    scores = [AttemptScore(a.id, a.exercise, a.graded_at, a.source, a.result.score,
                           a.result.max_score, a.result.all_passed, a.hint_level)
              for a in attempts]
    return render_report(build_progress(course, scores, hints or {}), attempts)


def test_the_page_is_self_contained(course03: Course) -> None:
    html = _report(course03, _attempts((exercise03_result("sequential"), "stub")))
    page = _Page(html)
    assert not page.find("script") and not page.find("link") and not page.find("img")
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert "@import" not in html and "url(http" not in html
    (csp,) = page.find("meta", http_equiv="Content-Security-Policy")
    assert csp["content"].startswith("default-src 'none'")


def test_the_page_has_the_overview_and_a_section_per_graded_exercise(course03) -> None:
    attempts = _attempts((exercise03_result("stub"), "stub"),
                         (exercise03_result("sequential"), "stub"))
    page = _Page(_report(course03, attempts,
                         hints={"exercise-03-concurrent-fetch": [0]}))
    assert page.find("section", id="overview")
    assert [a["id"] for a in page.find("section", class_="exercise")] == ["exercise-03"]
    words = page.words
    assert "0 of 1 exercises done" in words
    assert "Next: exercise-03" in words and "grade hint exercise-03" in words
    assert "… in progress" in words and "7/11" in words
    # The latest attempt's checks, with their messages:
    assert "✗ FAIL Task 1 Three fetches (1.0 s, 0.5 s, 0.8 s) finish in under 1.2 s" in words
    assert "Why: `await` waits for that one operation" in words
    assert "Next: Start all of them first" in words
    # Score history: a chart and one table row per attempt.
    assert "Scores of 2 attempts, oldest first: 0/11, 7/11." in words
    assert len(page.find("table", class_="attempts")) == 1
    # Hints used:
    assert "Three `await fetch(...)` lines in a row wait three times." in words


def test_the_latest_attempts_timing_checks_get_a_timeline(course03: Course) -> None:
    html = _report(course03, _attempts((exercise03_result("concurrent"), "stub"),
                                       (exercise03_result("sequential"), "stub")))
    svgs = re.findall(r'<svg [^>]*class="timeline".*?</svg>', html, flags=re.S)
    assert len(svgs) == 2  # the two checks with a time budget, not the other four
    for svg in svgs:
        bars = _bars(svg)
        assert [b[0] for b in bars] == ["a", "b", "c"]
        assert bars[1][1] > bars[0][1]  # staircase: the sequential attempt came last
    ids = re.findall(r'<pattern id="([^"]+)"', html)
    assert len(ids) == len(set(ids))
    assert "Simulated timeline: 3 operations, one after another" in _Page(html).words


def test_a_concurrent_latest_attempt_shows_overlap(course03: Course) -> None:
    html = _report(course03, _attempts((exercise03_result("concurrent"), "stub")))
    (svg, *_) = re.findall(r'<svg [^>]*class="timeline".*?</svg>', html, flags=re.S)
    assert len({round(start, 2) for _, start, _ in _bars(svg)}) == 1
    assert "✓ done" in _Page(html).words


def test_other_files_are_tagged_and_repeated_problems_said_once(course03) -> None:
    html = _report(course03, _attempts(
        (exercise03_result("stub"), "stub"),
        (exercise03_result("stub", graded_file="elsewhere.py"), "file")))
    words = _Page(html).words
    assert "--file /course/exercises/exercise-03-concurrent-fetch/elsewhere.py" in words
    assert "don’t count towards your status" in words
    assert words.count("Not written yet") == 1
    assert words.count("Same problem as above.") == 5


def test_text_from_students_and_authors_is_escaped(course03: Course) -> None:
    result = exercise03_result("sequential")
    evil = GradeResult(result.exercise, result.title, "<script>alert(1)</script>.py",
                       result.checks, result.duration)
    html = _report(course03, _attempts((evil, "file")))
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_nothing_graded_yet(tmp_path: Path) -> None:
    page = _Page(_report(tiny_course(tmp_path), []))
    assert "Nothing graded yet. Start with grade exercise-01." in page.words
    assert not page.find("section", class_="exercise")


def test_reports_are_written_whole(tmp_path: Path, course03: Course) -> None:
    target = tmp_path / "out" / "report.html"
    html = _report(course03, [])
    assert write_report(target, html) == target
    assert target.read_text(encoding="utf-8") == html
    assert [p.name for p in target.parent.iterdir()] == ["report.html"]


def test_a_report_from_a_real_record(tmp_path: Path, course03: Course) -> None:
    with ProgressStore.open(tmp_path / "p.db") as store:
        store.record_attempt(exercise03_result("sequential"))
        store.mark_hints_seen("exercise-03-concurrent-fetch", [0])
        progress = build_progress(course03, store.scores(), store.hints_seen())
        html = render_report(progress, store.attempts())
    assert "Hints seen" in html and "7/11" in html


def test_a_long_history_stays_legible(course03: Course) -> None:
    results = [(exercise03_result("stub"), "stub")] * 30 + [
        (exercise03_result("sequential"), "stub")]
    html = _report(course03, _attempts(*results))
    page = _Page(html)
    assert "19 earlier attempts are in the chart above." in page.words
    history = re.search(r'<svg [^>]*class="history".*?</svg>', html, flags=re.S)[0]
    root = ET.fromstring(history)
    columns = [r for r in root.iter(f"{SVG}rect") if "attempt" in r.get("class", "").split()]
    labels = [t.text for t in root.iter(f"{SVG}text") if t.text and t.text.isdigit()]
    assert len(columns) == 31 and len(labels) < 31 and labels[-1] == "31"


# -- before and after, course order, labels clear of the budget line -------------------


def _svgs(html: str) -> list[str]:
    return re.findall(r'<svg [^>]*class="timeline".*?</svg>', html, flags=re.S)


def test_a_fixed_timing_check_keeps_its_last_failing_timeline_beside_the_passing_one(
        course03: Course) -> None:
    html = _report(course03, _attempts((exercise03_result("stub"), "stub"),
                                       (exercise03_result("sequential"), "stub"),
                                       (exercise03_result("concurrent"), "stub")))
    page = _Page(html)
    assert len(page.find("div", class_="before-after")) == 2  # both timing checks fixed
    svgs = _svgs(html)
    assert len(svgs) == 4
    before, after = _bars(svgs[0]), _bars(svgs[1])
    assert before[0][1] < before[1][1] < before[2][1]  # the staircase that failed
    assert len({round(start, 2) for _, start, _ in after}) == 1  # the overlap that passed
    words = page.words
    assert "Before: attempt #2, the last that failed this check." in words
    assert "After: attempt #3, passing." in words
    ids = re.findall(r'<pattern id="([^"]+)"', html)
    assert len(ids) == len(set(ids))


def test_a_check_still_failing_or_never_failed_has_one_picture(course03: Course) -> None:
    for kinds in (("concurrent", "sequential"), ("concurrent", "concurrent")):
        html = _report(course03, _attempts(*((exercise03_result(k), "stub") for k in kinds)))
        assert not _Page(html).find("div", class_="before-after")
        assert len(_svgs(html)) == 2


def test_exercises_are_in_course_order_not_most_recent_first(tmp_path: Path) -> None:
    from helpers.progress_samples import passing_result, tiny_result

    tiny = tiny_course(tmp_path)
    later_first = [Attempt(1, "2024-05-02T10:00:00+00:00", "stub", 0, tiny_result(tiny, "1")),
                   Attempt(2, "2024-05-02T11:00:00+00:00", "stub", 0,
                           passing_result(tiny.resolve("3"))),
                   Attempt(3, "2024-05-02T12:00:00+00:00", "stub", 0, tiny_result(tiny, "2"))]
    page = _Page(_report(tiny, later_first))
    assert [a["id"] for a in page.find("section", class_="exercise")] == [
        "exercise-01", "exercise-02", "exercise-03"]
    assert "in course order" in page.words


def test_a_duration_label_is_moved_off_the_budget_line() -> None:
    close = timeline([("a", 0.0, 1.0), ("b", 0.0, 0.5), ("c", 0.0, 1.15)])  # budget 1.2
    svg = timeline_svg(close)
    root = ET.fromstring(svg)
    notes = {e.text: float(e.get("x")) for e in root.iter(f"{SVG}text")
             if e.get("class") == "note"}
    budget = _budget_x(svg)
    assert notes["1.15 s"] > budget  # would have run through the line: moved past it
    assert notes["0.5 s"] < budget  # clear of it: left beside its bar
    (c_bar,) = [b for b in _bars(svg) if b[0] == "c"]
    assert notes["0.5 s"] == pytest.approx(_bars(svg)[1][2] + 5)
    assert c_bar[2] < budget < notes["1.15 s"]
