"""The watch list of objects a verdict depends on must name things that exist."""

from __future__ import annotations

import grader.child.plugin  # noqa: F401  (the watch list covers the plugin's hooks)
from grader.child.integrity import Watchlist, missing_names


def test_every_watched_name_exists_on_this_python_and_pytest() -> None:
    # A name renamed upstream would silently leave a gap in the watch.
    assert missing_names() == []


def test_an_untouched_process_has_no_changes() -> None:
    assert Watchlist().changed() == []
