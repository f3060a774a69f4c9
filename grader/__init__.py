"""async-grader: a self-paced async/await course graded by hidden tests on a virtual clock.

Kept empty on purpose: the ``grade`` command imports this package on every start, and
hidden suites import :mod:`grader.suite`, so nothing heavy belongs here.
"""

__version__ = "0.2.0"
