"""What a check's code prints: kept per check in the child, bounded, cleaned in the parent,
shown for failing checks in the terminal and kept for every check in --json."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from rich.console import Console

from grader.child.plugin import CheckOutput
from grader.course.course import Exercise
from grader.render.terminal import print_grade
from grader.supervision.results import (
    OUTPUT_LIMIT,
    OUTPUT_LINES,
    CheckResult,
    GradeResult,
    clean_output,
)
from grader.supervision.runner import grade_file


def test_the_child_buffer_keeps_the_start_and_counts_the_rest() -> None:
    output = CheckOutput(limit=20)
    for number in range(1000):
        print(number, file=output.stream)
    text = output.text()
    assert text.startswith("0\n1\n2\n")
    assert len(text.split("\n… (")[0]) <= 20
    assert "more bytes printed" in text
    assert output.lines == 1000


def test_the_child_buffer_takes_bytes_and_survives_being_closed() -> None:
    output = CheckOutput()
    output.stream.buffer.write("héllo\n".encode())
    output.stream.write("no newline")
    output.stream.close()  # a student's sys.stdout.close()
    assert output.text() == "héllo\nno newline"
    assert output.lines == 2


@pytest.mark.parametrize("value", [
    "line\n" * 500, "x" * 50_000, ("y" * 300 + "\n") * 40, "\x1b[2Jclear\r\nfake 11/11\ud800",
    None, 12, "",
])
def test_clean_output_is_bounded_clean_and_idempotent(value: object) -> None:
    cleaned = clean_output(value)
    assert len(cleaned) <= OUTPUT_LIMIT
    assert cleaned.count("\n") < OUTPUT_LINES
    assert "\x1b" not in cleaned and "\r" not in cleaned and "\ud800" not in cleaned
    assert clean_output(cleaned) == cleaned


def test_clean_output_counts_the_lines_the_child_did_not_keep() -> None:
    printed = "".join(f"{n}\n" for n in range(100))
    assert clean_output(printed).endswith("… (71 more lines)")
    assert clean_output(printed, 300_000).endswith("… (299,971 more lines)")
    # A count that is not a number, or smaller than what arrived, changes nothing.
    assert clean_output(printed, "lots") == clean_output(printed, 3) == clean_output(printed)


def test_a_result_cleans_output_however_it_is_built() -> None:
    check = CheckResult.from_dict({"name": "c", "status": "failed",
                                   "output": "\x1b]0;pwned\x07" + "z\n" * 100})
    assert "pwned" not in check.output and check.output.count("\n") == OUTPUT_LINES - 1
    assert CheckResult.from_dict(check.to_dict()) == check


PRINTING = '''\
import asyncio

print("imported, hello")


async def fetch(source):
    await asyncio.sleep(1)
    return f"data from {source}"


async def fetch_all(sources):
    print("DEBUG fetch_all", sources)
    results = []
    for source in sources:
        results.append(await fetch(source))  # one after another: too slow
    print("\\x1b[2J\\rfake Score: 11/11")
    return results


async def fetch_all_safe(sources):
    results = await asyncio.gather(*(fetch(s) for s in sources), return_exceptions=True)
    await asyncio.to_thread(print, "from a worker thread")
    return [None if isinstance(r, Exception) else r for r in results]
'''


@pytest.fixture(scope="module")
def printed_result(exercise03: Exercise, tmp_path_factory: pytest.TempPathFactory) -> GradeResult:
    module = tmp_path_factory.mktemp("printing") / "fetcher.py"
    module.write_text(PRINTING)
    return grade_file(exercise03, module)


def test_each_check_gets_what_its_own_code_printed(printed_result: GradeResult) -> None:
    checks = {c.name: c for c in printed_result.checks}
    timing = checks["fetches_run_concurrently"]
    assert timing.status == "failed"
    assert "DEBUG fetch_all ['a', 'b', 'c']" in timing.output
    assert "imported, hello" not in timing.output  # the import belongs to the first check
    assert "imported, hello" in printed_result.checks[0].output
    assert "from a worker thread" in checks["failing_source_becomes_none"].output
    assert "DEBUG" not in checks["failing_source_becomes_none"].output
    # Escape sequences are gone and a carriage return is shown, not obeyed.
    assert "\x1b" not in timing.output and "\\rfake Score: 11/11" in timing.output


def test_json_has_every_checks_output_passed_or_not(printed_result: GradeResult) -> None:
    data = json.loads(printed_result.to_json())
    by_name = {c["name"]: c for c in data["checks"]}
    assert by_name["results_in_input_order"]["status"] == "passed"
    assert "DEBUG fetch_all" in by_name["results_in_input_order"]["output"]
    assert all("output" in c for c in data["checks"])


def _printed(result: GradeResult, *, width: int = 100) -> str:
    out = io.StringIO()
    print_grade(Console(file=out, width=width, no_color=True), result)
    return out.getvalue()


def test_the_terminal_shows_output_of_failing_checks_only(printed_result: GradeResult) -> None:
    text = _printed(printed_result)
    assert "Captured output" in text
    failing = sum(1 for c in printed_result.checks if not c.passed and c.output)
    assert text.count("Captured output") == failing
    assert "DEBUG fetch_all" in text


def test_the_record_and_the_report_keep_failing_checks_output(printed_result: GradeResult,
                                                              tmp_path: Path) -> None:
    from grader.render.report_html import render_report
    from grader.state.progress import build_progress
    from grader.state.progress_store import ProgressStore
    from helpers.progress_samples import copy_course

    course = copy_course(tmp_path)
    with ProgressStore.open(tmp_path / "p.db") as store:
        store.record_attempt(printed_result)
        (attempt,) = store.attempts()
        progress = build_progress(course, store.scores(), store.hints_seen())
    kept = {c.name: c.output for c in attempt.result.checks}
    assert "DEBUG fetch_all" in kept["fetches_run_concurrently"]
    assert kept["results_in_input_order"] == ""  # passed: nothing to debug, nothing kept
    html = render_report(progress, [attempt])
    assert "Captured output (your prints)" in html
    assert "DEBUG fetch_all [&#39;a&#39;, &#39;b&#39;, &#39;c&#39;]" in html
