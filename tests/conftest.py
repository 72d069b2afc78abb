"""Shared pytest set-up: quiet TensorFlow, a non-interactive matplotlib backend, and how
``pytest -n 2 --dist loadfile`` shares out the tests between its workers."""

import os
import re
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("MPLBACKEND", "Agg")

#: Test files shared out one lesson at a time rather than as a whole file: their tests of
#: different lessons' exercises share nothing, and together they take minutes.
BY_LESSON = {"test_exercises"}
_LESSON = re.compile(r"\[(?:.*-)?(\d\d)\.")


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """``--dist loadfile``, except that the files in BY_LESSON are split by lesson."""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class ByLesson(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            scope = super()._split_scope(nodeid)
            lesson = _LESSON.search(nodeid)
            if Path(scope).stem in BY_LESSON and lesson:
                return f"{scope}::{lesson.group(1)}"
            return scope

    return ByLesson(config, log)
