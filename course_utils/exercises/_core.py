"""The machinery of the exercises: a registry, checks that answer back, hints and solutions.

An exercise is a function that inspects the learner's real object (a dataset, a model,
a function, an array) and records what is right and what is wrong on a :class:`Report`.
:func:`check` runs it and never lets an exception escape: a missing answer, a wrong
type or an error raised by the learner's own code all come back as a clear result.
"""

from __future__ import annotations

import html
import os
import textwrap
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from course_utils._validation import describe

#: Lesson modules that define exercises, imported on first use.
_LESSON_MODULES: tuple[str, ...] = ()
_REGISTRY: dict[str, Exercise] = {}
_LOADED = False


class _Stop(Exception):
    """Raised by :meth:`Report.require` to end a check at its first blocking failure."""


@dataclass(frozen=True)
class WrongAnswer:
    """A typical mistake, kept with the exercise so the tests can show it is caught.

    Attributes
    ----------
    code : str
        Code that sets ``answer`` the way a learner might get it wrong.
    expect : str
        Text the check's feedback must contain for this mistake.

    Examples
    --------
    >>> get_exercise("01.train-chain").wrong[0].expect
    'shuffle comes before batch'
    """

    code: str
    expect: str


@dataclass(frozen=True)
class Exercise:
    """One exercise of a lesson.

    Attributes
    ----------
    id : str
        ``"<lesson number>.<name>"``, for example ``"01.train-chain"``.
    title : str
        A short title, shown above the feedback.
    minutes : int
        The time the exercise states for a learner.
    task : str
        What to do, in one or two sentences (the notebook says it at more length).
    checker : callable
        ``checker(answer, report)`` inspects the answer and records on ``report``.
    hints : tuple of str
        From gentle to precise; they point to the concept, never to the solution.
    solution : str
        Code that sets ``answer``; the tests execute it, so it cannot rot.
    setup : str
        Code run before the solution or a wrong answer in the tests (what the lesson's
        earlier cells provide: imports, data).
    wrong : tuple of WrongAnswer
        Typical mistakes and the feedback each must get.

    Examples
    --------
    >>> item = get_exercise("01.train-chain")
    >>> item.lesson, item.minutes
    ('01', 8)
    """

    id: str
    title: str
    minutes: int
    task: str
    checker: Callable[[Any, Report], None]
    hints: tuple[str, ...]
    solution: str
    setup: str = ""
    wrong: tuple[WrongAnswer, ...] = ()

    @property
    def lesson(self) -> str:
        """The lesson number, ``"01"``."""
        return self.id.split(".", 1)[0]


@dataclass
class Report:
    """What a check found: passed items, failed items and the hint that goes with a failure.

    Examples
    --------
    >>> report = Report()
    >>> report.expect(2 + 2 == 4, "sum right", "sum wrong; got 5")
    True
    >>> report.expect(False, "", "batch size 16; got 16, the task asks for 32", "Read .batch().")
    False
    >>> report.passed, report.failed, report.hints
    (['sum right'], ['batch size 16; got 16, the task asks for 32'], ['Read .batch().'])
    """

    passed: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    hints: list[str] = field(default_factory=list)

    def expect(self, ok: bool, right: str, wrong: str, hint: str | None = None) -> bool:
        """Record one fact: ``right`` when ``ok``, else ``wrong`` and its ``hint``."""
        if ok:
            self.passed.append(right)
        else:
            self.failed.append(wrong)
            if hint:
                self.hints.append(hint)
        return bool(ok)

    def require(self, ok: bool, right: str, wrong: str, hint: str | None = None) -> None:
        """Like :meth:`expect`, but stop the check when it fails (later facts need it)."""
        if not self.expect(ok, right, wrong, hint):
            raise _Stop

    def fail(self, wrong: str, hint: str | None = None, *, stop: bool = False) -> None:
        """Record ``wrong`` and its ``hint``; with ``stop=True`` end the check there."""
        self.expect(False, "", wrong, hint)
        if stop:
            raise _Stop

    def attempt(self, what: str, function: Callable[[], Any], hint: str | None = None) -> Any:
        """Call the learner's code; an exception becomes a failed item, not a traceback."""
        try:
            return function()
        except Exception as error:  # the learner's own code failed: report it, do not raise
            last = traceback.extract_tb(error.__traceback__)[-1:]
            where = f" (line {last[0].lineno})" if last else ""
            self.fail(f"{what} raised {type(error).__name__}{where}: {error}", hint)
            raise _Stop from None


@dataclass(frozen=True)
class CheckResult:
    """The answer of :func:`check`: displays itself in Jupyter and as text.

    Attributes
    ----------
    exercise_id, title : str
        Which exercise was checked.
    status : str
        ``"passed"``, ``"not yet"`` (something is wrong) or ``"unanswered"``.
    passed, failed : tuple of str
        What is right and what is wrong.
    hint : str
        The first hint that goes with what is wrong ("" when all is right).

    Examples
    --------
    >>> result = CheckResult("01.x", "A title", "not yet", ("right",), ("wrong; got 1",), "Look.")
    >>> print(result)
    Exercise 01.x · A title: Not yet: some things need another look.
      ✔ right
      ✘ wrong; got 1
    Hint: Look.
    More help: hint("01.x"); then solution("01.x").
    >>> bool(result)
    False
    """

    exercise_id: str
    title: str
    status: str
    passed: tuple[str, ...] = ()
    failed: tuple[str, ...] = ()
    hint: str = ""

    @property
    def ok(self) -> bool:
        """True when every check passed."""
        return self.status == "passed"

    def __bool__(self) -> bool:
        return self.ok

    def __str__(self) -> str:
        head = {
            "passed": "Well done: everything checked is right.",
            "not yet": "Not yet: some things need another look.",
            "unanswered": "No answer yet.",
        }[self.status]
        lines = [f"Exercise {self.exercise_id} · {self.title}: {head}"]
        lines += [f"  ✔ {item}" for item in self.passed]
        lines += [f"  ✘ {item}" for item in self.failed]
        if self.hint:
            lines.append(textwrap.fill(f"Hint: {self.hint}", 88, subsequent_indent="      "))
        if not self.ok:
            lines.append(
                f'More help: hint("{self.exercise_id}"); then solution("{self.exercise_id}").'
            )
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        colour = {"passed": "#1b7837", "not yet": "#b35806", "unanswered": "#5e5e5e"}[self.status]
        items = "".join(f"<li>&#10004; {html.escape(p)}</li>" for p in self.passed)
        items += "".join(f"<li>&#10008; {html.escape(f)}</li>" for f in self.failed)
        hint = f"<p><strong>Hint:</strong> {html.escape(self.hint)}</p>" if self.hint else ""
        head = html.escape(str(self).splitlines()[0])
        return (
            f"<div class='course-exercise' role='status' style='border-left: 4px solid {colour};"
            f" padding-left: 0.6em'><p><strong>{head}</strong></p>"
            f"<ul style='list-style: none; padding-left: 0'>{items}</ul>{hint}</div>"
        )


def exercise(
    id: str,
    *,
    title: str,
    minutes: int,
    task: str,
    hints: tuple[str, ...] | list[str],
    solution: str,
    setup: str = "",
    wrong: tuple[tuple[str, str], ...] | list[tuple[str, str]] = (),
) -> Callable[[Callable[[Any, Report], None]], Callable[[Any, Report], None]]:
    """Register the decorated ``checker(answer, report)`` as an exercise.

    The keywords are the fields of :class:`Exercise`; ``wrong`` holds
    ``(code, text its feedback must contain)`` pairs. Each lesson module
    ``lesson_NN.py`` registers its exercises this way, at import.

    Examples
    --------
    >>> @exercise(
    ...     "99.double",
    ...     title="Double a number",
    ...     minutes=1,
    ...     task="answer = a function that doubles its argument.",
    ...     hints=("Multiply by 2.",),
    ...     solution="answer = lambda x: 2 * x",
    ...     wrong=(("answer = lambda x: x + 2", "double(3)"), ("answer = abs", "double(3)")),
    ... )
    ... def _double(answer, report):
    ...     got = report.attempt("double(3)", lambda: answer(3))
    ...     report.expect(got == 6, "double(3) is 6", f"double(3) must be 6; got {got!r}")
    >>> check("99.double", lambda x: x * 2).ok
    True
    >>> print(check("99.double", lambda x: x + 2).failed[0])
    double(3) must be 6; got 5
    >>> del _REGISTRY["99.double"]  # the example leaves the course's exercises as they were
    """

    def register(checker: Callable[[Any, Report], None]) -> Callable[[Any, Report], None]:
        if id in _REGISTRY:
            raise ValueError(f"exercise {id!r} is defined twice")
        _REGISTRY[id] = Exercise(
            id=id,
            title=title,
            minutes=minutes,
            task=task,
            checker=checker,
            hints=tuple(hints),
            solution=textwrap.dedent(solution).strip() + "\n",
            setup=textwrap.dedent(setup).strip() + "\n" if setup else "",
            wrong=tuple(WrongAnswer(textwrap.dedent(c).strip() + "\n", e) for c, e in wrong),
        )
        return checker

    return register


def _load() -> None:
    global _LOADED
    if not _LOADED:
        import importlib

        for name in _LESSON_MODULES:
            importlib.import_module(f"course_utils.exercises.{name}")
        _LOADED = True


def exercises(lesson: str | None = None) -> list[Exercise]:
    """Every exercise, or those of one lesson (``"01"``), in course order.

    Examples
    --------
    >>> [item.id for item in exercises("01")]
    ['01.cache-place', '01.folder-split', '01.train-chain']
    """
    _load()
    found = sorted(_REGISTRY.values(), key=lambda e: e.id)
    return [e for e in found if lesson is None or e.lesson == str(lesson).zfill(2)[:2]]


def get_exercise(exercise_id: str) -> Exercise:
    """The exercise with this id; a clear error lists the ids when there is none.

    Examples
    --------
    >>> get_exercise("01.train-chain").title
    'Write the training and validation pipelines'
    """
    _load()
    if not isinstance(exercise_id, str):
        raise TypeError(
            f"exercise_id must be a str like '01.train-chain'; got {describe(exercise_id)}"
        )
    if exercise_id not in _REGISTRY:
        known = ", ".join(sorted(_REGISTRY)) or "none"
        raise ValueError(f"no exercise {exercise_id!r}; the exercises are: {known}")
    return _REGISTRY[exercise_id]


def check(exercise_id: str, answer: Any = None) -> CheckResult:
    """Check an answer and say what is right, what is wrong and where to look.

    Parameters
    ----------
    exercise_id : str
        For example ``"01.train-chain"``; each exercise cell names its own.
    answer : object
        Your object: a ``tf.data.Dataset``, a Keras model, a function, an array, as the
        exercise asks. ``None`` (the default in an exercise cell) means "not answered yet".

    Returns
    -------
    CheckResult
        Shows itself as a coloured box in Jupyter and as text elsewhere; ``result.ok``
        is True when everything checked is right. It never raises for a wrong answer.
        With the environment variable ``COURSE_EXERCISES_STRICT=1`` (used by the tests
        that run the lessons with their solutions) a failed check raises AssertionError.

    Examples
    --------
    >>> result = check("01.train-chain")  # nothing answered yet
    >>> result.status
    'unanswered'
    """
    item = get_exercise(exercise_id)
    if answer is None:
        result = CheckResult(
            item.id,
            item.title,
            "unanswered",
            failed=(f"The task: {item.task}",),
            hint="Set `answer` in the exercise cell to your object and run the cell again.",
        )
    else:
        report = Report()
        try:
            item.checker(answer, report)
        except _Stop:
            pass
        status = "not yet" if report.failed else "passed"
        result = CheckResult(
            item.id,
            item.title,
            status,
            tuple(report.passed),
            tuple(report.failed),
            report.hints[0] if report.hints else "",
        )
    if os.environ.get("COURSE_EXERCISES_STRICT") == "1" and not result.ok:
        raise AssertionError(str(result))
    return result


class _Text(str):
    """A string that shows itself as text in Jupyter (so code keeps its line breaks)."""

    def __repr__(self) -> str:
        return str(self)


def hint(exercise_id: str, level: int | None = None) -> str:
    """The exercise's hints, up to ``level`` (all of them by default); never the solution.

    Examples
    --------
    >>> print(hint("01.train-chain", level=1))  # doctest: +ELLIPSIS
    Hint 1: Order matters: the shuffle must mix single images, so it comes before batch; ...
    """
    item = get_exercise(exercise_id)
    shown = item.hints if level is None else item.hints[: max(1, int(level))]
    return _Text("\n".join(f"Hint {i}: {text}" for i, text in enumerate(shown, 1)))


def solution(exercise_id: str) -> str:
    """The reference solution's code (try the hints first). Copy it into the exercise cell.

    Examples
    --------
    >>> print(solution("01.cache-place").splitlines()[0])
    # A solution for exercise 01.cache-place · Put cache() where it belongs
    """
    item = get_exercise(exercise_id)
    return _Text(f"# A solution for exercise {item.id} · {item.title}\n{item.solution}")
