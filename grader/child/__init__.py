"""The grading child: the process that imports student code and runs a hidden suite.

Everything here runs on the untrusted side of the boundary: :mod:`grader.child.entry`
(``python -m grader.child``), the pytest plugin that reports each check, the sandbox's
first process (:mod:`grader.child.zygote`) with its system-call filter, and the child's
own confinement. It imports the engine and the shared contract (:mod:`grader.protocol`,
:mod:`grader.budgets`), never the parent's supervision, storage or rendering.

Kept free of imports: the zygote imports this package before any student code exists.
"""
