"""CPython's own asyncio tests, run with VirtualClockLoop as every new event loop.

Run as ``python -m helpers.asyncio_conformance [MODULE[.CLASS] ...]`` with ``tests`` on the
path (tests/test_conformance.py does this, once per Python). It prints one line per test
that did not pass and ends with ``conformance: N passed, N failed, N skipped`` plus the
tests left out on purpose, so a run reads the same in a log as in the test that parses it.

Every way a test makes a loop (``asyncio.new_event_loop``, ``asyncio.run``/``Runner``,
``IsolatedAsyncioTestCase``) ends in the default policy's ``_loop_factory``, so the
class of the default policy is given VirtualClockLoop as its factory; no policy is set
(policies are deprecated from Python 3.14, and the test modules reset the policy as
they finish, to a fresh instance of the same class). Tests that bring their own loop on
purpose (``test_utils.TestLoop``, test_runners' own policy of mocked loops) keep it:
they test asyncio, not this loop.
"""

from __future__ import annotations

import asyncio
import faulthandler
import importlib
import sys
import time
import unittest
from asyncio import events

from grader.engine.virtual_loop import VirtualClockLoop

MODULES = ("test_tasks", "test_futures", "test_locks", "test_queues", "test_taskgroups",
           "test_timeouts", "test_waitfor", "test_pep492", "test_runners", "test_threads")

EXCLUDED: dict[str, str] = {
    # test id (as unittest prints it, without the module prefix) -> why it is left out
}
"""Tests not run, each with the reason; kept empty unless a test cannot hold here."""

SLOWEST = 8  # the slowest tests are named in the output

HANG_LIMIT = 600.0
"""Real seconds after which a stuck run prints every thread's stack and exits."""


def _use_the_virtual_loop() -> None:
    policy = getattr(events, "_get_event_loop_policy", events.get_event_loop_policy)()
    type(policy)._loop_factory = VirtualClockLoop
    probe = asyncio.new_event_loop()
    probe.close()
    assert isinstance(probe, VirtualClockLoop), type(probe)


def _suite(names: list[str]) -> unittest.TestSuite:
    """Tests by module (``test_tasks``) or by class (``test_tasks.RunCoroutineThreadsafeTests``)."""
    loader = unittest.TestLoader()
    suite = unittest.TestSuite()
    for name in names:
        module_name, _, rest = name.partition(".")
        module = importlib.import_module(f"test.test_asyncio.{module_name}")
        suite.addTests(loader.loadTestsFromName(rest, module) if rest
                       else loader.loadTestsFromModule(module))
    return suite


def _without_excluded(suite: unittest.TestSuite) -> tuple[unittest.TestSuite, list[str]]:
    kept, left_out = unittest.TestSuite(), []
    for test in _flatten(suite):
        short = test.id().removeprefix("test.test_asyncio.")
        if short in EXCLUDED:
            left_out.append(short)
        else:
            kept.addTest(test)
    return kept, left_out


def _flatten(suite: unittest.TestSuite):  # type: ignore[no-untyped-def]
    for item in suite:
        if isinstance(item, unittest.TestSuite):
            yield from _flatten(item)
        else:
            yield item


_TIMINGS: list[tuple[float, str]] = []  # (seconds, test id) of every test run


class _TimedResult(unittest.TextTestResult):
    """Remembers how long each test took, to name the slowest."""

    def startTest(self, test: unittest.TestCase) -> None:
        self._started = time.perf_counter()
        super().startTest(test)

    def stopTest(self, test: unittest.TestCase) -> None:
        super().stopTest(test)
        _TIMINGS.append((time.perf_counter() - self._started, test.id()))


def main(argv: list[str]) -> int:
    modules = argv or list(MODULES)
    _use_the_virtual_loop()
    faulthandler.dump_traceback_later(HANG_LIMIT, exit=True)
    suite, left_out = _without_excluded(_suite(modules))
    started = time.perf_counter()
    runner = unittest.TextTestRunner(stream=sys.stderr, verbosity=0, resultclass=_TimedResult)
    result = runner.run(suite)
    seconds = time.perf_counter() - started
    for test, _ in [*result.failures, *result.errors]:
        print(f"not passed: {test.id()}")
    for test in result.unexpectedSuccesses:
        print(f"not passed (unexpected success): {test.id()}")
    failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    skipped = len(result.skipped) + len(result.expectedFailures)
    passed = result.testsRun - failed - skipped
    for seconds_taken, test_id in sorted(_TIMINGS, reverse=True)[:SLOWEST]:
        print(f"slow: {seconds_taken:.2f} s {test_id}")
    for short in left_out:
        print(f"left out: {short}: {EXCLUDED[short]}")
    print(f"Python {sys.version.split()[0]}: {', '.join(modules)} in {seconds:.1f} s")
    print(f"conformance: {passed} passed, {failed} failed, {skipped} skipped")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
