"""``python -m grader.child``: see :mod:`grader.child.entry`."""

from grader.child.entry import main

main()
