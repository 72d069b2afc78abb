"""Silence what TensorFlow's C++ core prints while it loads."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator


@contextlib.contextmanager
def quiet_startup() -> Iterator[None]:
    """Hide the log lines TensorFlow's C++ core writes while it is imported.

    Importing TensorFlow prints lines such as ``All log messages before
    absl::InitializeLog() is called are written to STDERR`` and ``Could not find cuda
    drivers`` straight to the process's stderr, before ``TF_CPP_MIN_LOG_LEVEL`` takes
    effect, so Jupyter shows them under the import cell. Inside this block the
    process-level stderr goes to the null device; Python errors still raise as usual,
    and stderr is restored when the block ends. It also sets ``TF_CPP_MIN_LOG_LEVEL=3``
    (unless already set) for TensorFlow's later log lines.

    Examples
    --------
    >>> from course_utils import quiet_startup
    >>> with quiet_startup():
    ...     import tensorflow as tf
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no file descriptor 2 (some embedded interpreters)
        yield
        return
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            try:
                yield
            finally:
                sys.stderr.flush()
                os.dup2(saved, 2)
    finally:
        os.close(saved)
