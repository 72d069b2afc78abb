"""Exercises that answer back: write the code, then ``check`` it.

Each lesson from 01 on ends with exercises. In an exercise cell you build a real
object (a ``tf.data.Dataset``, a Keras model, a function, an array), assign it to
``answer`` and call :func:`check`, which says at once what is right, what is wrong and
which concept to revisit. :func:`hint` gives more help; :func:`solution` shows a
reference solution, only when you ask for it.

>>> from course_utils.exercises import check, hint, solution
>>> print(check("01.train-chain"))  # doctest: +ELLIPSIS
Exercise 01.train-chain · ...: No answer yet.
...

The checks of each lesson live in ``course_utils/exercises/lesson_NN.py``; every
exercise carries its reference solution and typical wrong answers, and the tests run
them all.
"""

from __future__ import annotations

import pkgutil

from course_utils.exercises import _core
from course_utils.exercises._core import (
    CheckResult,
    Exercise,
    Report,
    WrongAnswer,
    check,
    exercise,
    exercises,
    get_exercise,
    hint,
    solution,
)

_core._LESSON_MODULES = tuple(
    sorted(m.name for m in pkgutil.iter_modules(__path__) if m.name.startswith("lesson_"))
)

__all__ = [
    "CheckResult",
    "Exercise",
    "Report",
    "WrongAnswer",
    "check",
    "exercise",
    "exercises",
    "get_exercise",
    "hint",
    "solution",
]
