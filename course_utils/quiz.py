"""Quizzes: the question banks (one TOML file per lesson), loading, validation and scoring.

A bank, ``course_utils/quizzes/NN_name.toml``, names the lesson's objectives; each question
has a prompt (which may hold a fenced code block), two or more choices keyed ``"a"``,
``"b"``, ... in the order written, one or more correct, and an explanation for *every* one::

    lesson = "02_data_augmentation"
    title = "Data augmentation"
    [objectives]
    why = "Explain why augmentation helps a model generalize"

    [[questions]]
    id = "aug-why"
    objective = "why"
    prompt = "Why does the training pipeline include data augmentation?"
    [[questions.choices]]
    text = "To show the model many varied versions of each training image"
    correct = true
    why = "Varied versions teach the model what stays the same ..."
    [[questions.choices]]
    text = "To make the data set smaller"
    why = "Augmentation never removes images ..."
"""

from __future__ import annotations

import getpass
import html
import itertools
import os
import random
import re
import sys
import textwrap
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any

from course_utils._display import Table

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

__all__ = [
    "Choice",
    "Feedback",
    "Question",
    "Quiz",
    "QuizResult",
    "available_quizzes",
    "check_answers",
    "is_code_reading",
    "learner_seed",
    "load_quiz",
    "review_quiz",
    "validate_bank",
]

_KEYS = "abcdefghij"
_ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_COURSE_NAMES = ("course", "all")
_WIDTH = 88
_MARKS = {True: "correct", False: "wrong"}


def _find(items: Iterable[Any], attr: str, value: str, missing: str) -> Any:
    """The first of ``items`` whose ``attr`` equals ``value``; KeyError(``missing``) if none."""
    for item in items:
        if getattr(item, attr) == value:
            return item
    raise KeyError(missing)


@dataclass(frozen=True)
class Choice:
    """One answer a learner can pick; ``why`` explains it once answered.

    Examples
    --------
    >>> load_quiz("01").questions[0].choices[0].key
    'a'
    """

    key: str
    text: str
    correct: bool
    why: str


@dataclass(frozen=True)
class Question:
    """One multiple-choice question; ``id`` is unique across all banks.

    Examples
    --------
    >>> load_quiz("02")["aug-why"].correct_keys
    ('a',)
    """

    id: str
    prompt: str
    choices: tuple[Choice, ...]
    objective: str = ""
    lesson: str = ""

    @property
    def correct_keys(self) -> tuple[str, ...]:
        """Keys of the correct choices, in order."""
        return tuple(choice.key for choice in self.choices if choice.correct)

    @property
    def multiple(self) -> bool:
        """True when more than one choice is correct (pick all that apply)."""
        return len(self.correct_keys) > 1

    def choice(self, key: str) -> Choice:
        """Return the choice with ``key`` (``"a"``, ``"b"``, ...)."""
        return _find(self.choices, "key", key, f"question {self.id!r} has no choice {key!r}")

    def to_text(self, number: int | None = None) -> str:
        """The question and its choices as plain text, answers hidden."""
        head = f"{number}. " if number is not None else ""
        hint = " (pick all that apply)" if self.multiple else ""
        prose = textwrap.TextWrapper(_WIDTH, subsequent_indent="   ")
        lines = []
        for i, (is_code, part) in enumerate(_prompt_parts(f"{self.prompt}{hint}")):
            lead = head if i == 0 else "   "
            lines.append(textwrap.indent(part, "       ") if is_code else prose.fill(lead + part))
        choice = textwrap.TextWrapper(_WIDTH, initial_indent="   ", subsequent_indent="      ")
        lines += [choice.fill(f"{c.key}) {c.text}") for c in self.choices]
        return "\n".join(lines)


_FENCE = re.compile(r"```[a-zA-Z]*\n(.*?)\n?```", re.DOTALL)


def _prompt_parts(prompt: str) -> list[tuple[bool, str]]:
    """Split a prompt into (is_code, text) parts: code verbatim, prose on one line."""
    parts = []
    for i, piece in enumerate(_FENCE.split(prompt)):  # prose, code, prose, code, ...
        if i % 2:
            parts.append((True, piece.rstrip()))
        elif piece.strip():
            parts.append((False, " ".join(piece.split())))
    return parts


def _prompt_html(question: Question) -> str:
    """A question's prompt as HTML (code blocks as ``<pre><code>``), with its pick-all hint."""
    parts = [
        f"<pre><code>{html.escape(part)}</code></pre>" if is_code else html.escape(part) + " "
        for is_code, part in _prompt_parts(question.prompt)
    ]
    hint = " <em>(pick all that apply)</em>" if question.multiple else ""
    return "".join(parts).strip() + hint


def _answers_html(question: Question, chosen: Iterable[str] = ()) -> str:
    """Every choice's explanation as an HTML list, marked right or wrong (and if picked)."""
    items = [
        f"<li><strong>{c.key}) {'&#10004;' if c.correct else '&#10008;'}</strong>"
        f"{' <em>(your answer)</em>' if c.key in chosen else ''} {html.escape(c.why)}</li>"
        for c in question.choices
    ]
    return f"<ul style='list-style: none; padding-left: 0'>{''.join(items)}</ul>"


def is_code_reading(question: Question) -> bool:
    """True when the question's prompt shows code for the learner to read.

    Examples
    --------
    >>> sum(is_code_reading(q) for q in load_quiz("01").questions) >= 2
    True
    """
    return any(is_code for is_code, _ in _prompt_parts(question.prompt))


@dataclass(frozen=True)
class Feedback:
    """What :func:`check_answers` says about one answer, with a line per choice picked or right.

    Examples
    --------
    >>> check_answers("02", {"aug-why": "a"})["aug-why"].verdict
    'Correct'
    """

    question_id: str
    chosen: tuple[str, ...]
    correct_keys: tuple[str, ...]
    is_correct: bool
    explanations: tuple[str, ...]

    @property
    def verdict(self) -> str:
        """``"Correct"`` or a short note on what was missed."""
        right = ", ".join(self.correct_keys)
        return "Correct" if self.is_correct else f"Not quite: the answer is {right}"

    def __str__(self) -> str:
        return "\n".join([f"{self.question_id}: {self.verdict}", *self.explanations])


@dataclass(frozen=True)
class QuizResult:
    """The score of :func:`check_answers`, one :class:`Feedback` per answer, unanswered ids.

    Examples
    --------
    >>> print(check_answers("02", {"aug-why": "a"}).to_markdown().splitlines()[-1])
    | aug-why | a | a | correct |
    """

    score: int
    total: int
    feedback: tuple[Feedback, ...]
    unanswered: tuple[str, ...] = ()

    @property
    def fraction(self) -> float:
        """Score as a fraction of all questions (0.0 for an empty quiz)."""
        return self.score / self.total if self.total else 0.0

    def __getitem__(self, question_id: str) -> Feedback:
        missing = f"no answer was given for {question_id!r}"
        return _find(self.feedback, "question_id", question_id, missing)

    def __str__(self) -> str:
        parts = [f"Score: {self.score} / {self.total}", *map(str, self.feedback)]
        if self.unanswered:
            parts.append("Not answered: " + ", ".join(self.unanswered))
        return "\n\n".join(parts)

    def table(self) -> Table:
        """One row per answered question: the answer given, the right one, the result."""
        rows = [
            [f.question_id, ", ".join(f.chosen), ", ".join(f.correct_keys), _MARKS[f.is_correct]]
            for f in self.feedback
        ]
        return Table(["question", "your answer", "right answer", "result"], rows)

    def to_markdown(self) -> str:
        """The score, then the result as a Markdown table."""
        return f"Score: {self.score} / {self.total}\n\n" + self.table().markdown()

    def _repr_html_(self) -> str:
        return f"<p><strong>Score: {self.score} / {self.total}</strong></p>" + self.table().html()


@dataclass(frozen=True)
class Quiz:
    """A lesson's question bank (the whole course's: ``lesson="course"``), objectives by key.

    Examples
    --------
    >>> quiz = load_quiz("02").sample(4, seed=0).shuffled(seed=1)  # as a lesson shows it
    >>> str(quiz).startswith("Quiz: Data augmentation (4 questions)")
    True
    """

    lesson: str
    title: str
    objectives: dict[str, str] = field(default_factory=dict)
    questions: tuple[Question, ...] = ()

    def __len__(self) -> int:
        return len(self.questions)

    def __getitem__(self, question_id: str) -> Question:
        missing = f"quiz {self.lesson!r} has no question {question_id!r}"
        return _find(self.questions, "id", question_id, missing)

    @property
    def ids(self) -> tuple[str, ...]:
        """Question ids in order."""
        return tuple(question.id for question in self.questions)

    def _with(self, questions: Iterable[Question]) -> Quiz:
        return Quiz(self.lesson, self.title, dict(self.objectives), tuple(questions))

    def sample(self, n: int, seed: int = 0) -> Quiz:
        """Return ``n`` questions (``1 <= n <= len(self)``) drawn by ``seed``, in bank order."""
        if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= len(self):
            raise ValueError(f"n must be an int between 1 and {len(self)}; got {n!r}")
        picked = set(random.Random(seed).sample(range(len(self)), n))
        return self._with(q for i, q in enumerate(self.questions) if i in picked)

    def shuffled(self, seed: int) -> Quiz:
        """Return the quiz with each question's choices in a seeded order, keyed again as shown.

        :func:`check_answers` on it then takes the keys a learner sees.
        """
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise TypeError(f"seed must be an int; got {type(seed).__name__}")
        questions = []
        for question in self.questions:
            order = list(question.choices)
            random.Random(f"{seed}:{question.id}").shuffle(order)
            choices = tuple(replace(c, key=_KEYS[i]) for i, c in enumerate(order))
            questions.append(replace(question, choices=choices))
        return self._with(questions)

    def __str__(self) -> str:
        head = f"Quiz: {self.title} ({len(self)} questions)"
        body = [question.to_text(i) for i, question in enumerate(self.questions, 1)]
        foot = "Answer in code with check_answers(quiz, {question_id: 'a'}); ids: "
        return "\n\n".join([head, *body, foot + ", ".join(self.ids)])

    def _repr_html_(self) -> str:
        items = []
        for question in self.questions:
            choices = "".join(f"<li>{c.key}) {html.escape(c.text)}</li>" for c in question.choices)
            items.append(
                f"<li><p>{_prompt_html(question)} <code>{html.escape(question.id)}</code></p>"
                f"<ul style='list-style: none'>{choices}</ul>"
                f"<details><summary>Show the answer</summary>{_answers_html(question)}"
                "</details></li>"
            )
        return (
            f"<div class='course-quiz'><h4>Quiz: {html.escape(self.title)}</h4>"
            f"<ol>{''.join(items)}</ol></div>"
        )


def validate_bank(data: Mapping[str, Any], source: str = "bank") -> list[str]:
    """List what is wrong with a bank as read by :mod:`tomllib` (empty list: it is valid).

    Every question needs a unique id, a known objective, a prompt, two or more distinct
    choices, a correct one and a ``why`` for each; every objective must be asked.
    ``source`` (e.g. the file name) starts each message.

    Examples
    --------
    >>> validate_bank({"lesson": "x", "title": "X", "objectives": {}, "questions": []})
    ['bank: no objectives', 'bank: no questions']
    """
    problems: list[str] = []
    for key in ("lesson", "title"):
        if not isinstance(data.get(key), str) or not data.get(key):
            problems.append(f"{source}: missing {key!r} (a non-empty string)")
    objectives = data.get("objectives")
    if not isinstance(objectives, Mapping) or not objectives:
        problems.append(f"{source}: no objectives")
        objectives = {}
    questions = data.get("questions")
    if not isinstance(questions, list) or not questions:
        problems.append(f"{source}: no questions")
        questions = []
    seen: set[str] = set()
    for index, question in enumerate(questions, 1):
        qid = question.get("id") if isinstance(question, Mapping) else None
        where = f"{source}: question {index} ({qid or 'no id'})"
        if not isinstance(question, Mapping):
            problems.append(f"{where}: not a table")
            continue
        if not isinstance(qid, str) or not _ID_PATTERN.match(qid):
            problems.append(f"{where}: id must be lowercase letters, digits, '-' or '_'")
        elif qid in seen:
            problems.append(f"{where}: duplicate id")
        else:
            seen.add(qid)
        if not str(question.get("prompt", "")).strip():
            problems.append(f"{where}: empty prompt")
        objective = question.get("objective")
        if objective not in objectives:
            problems.append(f"{where}: objective {objective!r} is not one of {list(objectives)}")
        choices = question.get("choices")
        if not isinstance(choices, list) or len(choices) < 2:
            problems.append(f"{where}: needs at least two choices")
            continue
        if len(choices) > len(_KEYS):
            problems.append(f"{where}: at most {len(_KEYS)} choices")
        tables = [c for c in choices if isinstance(c, Mapping)]
        texts = [str(c.get("text", "")).strip() for c in tables]
        if len(texts) != len(choices) or not all(texts):
            problems.append(f"{where}: every choice needs a text")
        elif len(set(texts)) != len(texts):
            problems.append(f"{where}: two choices have the same text")
        if any(not str(c.get("why", "")).strip() for c in tables):
            problems.append(f"{where}: every choice needs an explanation ('why')")
        flags = [c.get("correct", False) for c in tables]
        if any(not isinstance(flag, bool) for flag in flags):
            problems.append(f"{where}: 'correct' must be true or false")
        elif not any(flags):
            problems.append(f"{where}: no correct choice, so it cannot be answered")
    asked = {question.get("objective") for question in questions if isinstance(question, Mapping)}
    for key in objectives:
        if key not in asked:
            problems.append(f"{source}: objective {key!r} is not asked by any question")
    return problems


def _bank_files() -> dict[str, Any]:
    entries = sorted((resources.files("course_utils") / "quizzes").iterdir(), key=lambda e: e.name)
    return {e.name.removesuffix(".toml"): e for e in entries if e.name.endswith(".toml")}


def available_quizzes() -> list[str]:
    """Names of the packaged banks, one per lesson with a quiz.

    Examples
    --------
    >>> available_quizzes()[:2]
    ['01_data_flow', '02_data_augmentation']
    """
    return list(_bank_files())


def _parse(path: Any) -> Quiz:
    """Read, validate and build the bank at ``path`` (a Path or a package resource)."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise ValueError(f"{path.name} is not valid TOML: {error}") from error
    problems = validate_bank(data, path.name)
    if problems:
        raise ValueError("invalid question bank:\n" + "\n".join(problems))
    lesson = data["lesson"]
    questions = []
    for q in data["questions"]:
        choices = tuple(
            Choice(_KEYS[i], c["text"].strip(), c.get("correct", False), c["why"].strip())
            for i, c in enumerate(q["choices"])
        )
        questions.append(Question(q["id"], q["prompt"].strip(), choices, q["objective"], lesson))
    return Quiz(lesson, data["title"], dict(data["objectives"]), tuple(questions))


def _resolve(lesson: str | int, names: list[str]) -> str:
    text = str(lesson).strip().lower().removesuffix(".ipynb").removesuffix(".toml")
    if text.isdigit():
        text = f"{int(text):02d}"
    for name in names:
        if text in (name, name[:2], name[3:]):
            return name
    raise ValueError(f"lesson must be one of {names}, their number or 'course'; got {lesson!r}")


def load_quiz(lesson: str | int | Path) -> Quiz:
    """Load a lesson's question bank.

    ``lesson`` is a number (``2``, ``"02"``), a bank or notebook name (``"data_augmentation"``,
    ``"02_data_augmentation.ipynb"``), ``"course"`` for every bank in one quiz, or the path of
    your own ``.toml`` bank (else TypeError). An unknown name, or an invalid bank, is a
    ValueError that lists every problem.

    Examples
    --------
    >>> load_quiz("02").lesson
    '02_data_augmentation'
    """
    if isinstance(lesson, bool) or not isinstance(lesson, (str, int, Path)):
        raise TypeError(f"lesson must be a str, int or Path; got {type(lesson).__name__}")
    if isinstance(lesson, Path) or str(lesson).endswith(".toml") and Path(lesson).is_file():
        path = Path(lesson)
        if not path.is_file():
            raise ValueError(f"lesson: no question bank at {path}")
        return _parse(path)
    files = _bank_files()
    if str(lesson).strip().lower() in _COURSE_NAMES:  # objectives keyed "02.why" and so on
        objectives: dict[str, str] = {}
        questions: list[Question] = []
        for quiz in map(_parse, files.values()):
            number = quiz.lesson[:2]
            objectives |= {f"{number}.{key}": text for key, text in quiz.objectives.items()}
            questions += [replace(q, objective=f"{number}.{q.objective}") for q in quiz.questions]
        return Quiz("course", "The whole course", objectives, tuple(questions))
    return _parse(files[_resolve(lesson, list(files))])


def review_quiz(per_lesson: int = 3, seed: int = 0) -> Quiz:
    """A "Course review" quiz: ``per_lesson`` questions drawn by ``seed`` from each bank.

    ``per_lesson`` is at most the smallest bank's size; the questions come in course order.

    Examples
    --------
    >>> len(review_quiz(per_lesson=2)) == 2 * len(available_quizzes())
    True
    """
    course = load_quiz("course")
    banks = [
        Quiz(lesson, lesson, {}, tuple(questions))
        for lesson, questions in itertools.groupby(course.questions, key=lambda q: q.lesson)
    ]
    smallest = min(len(bank) for bank in banks)
    if isinstance(per_lesson, bool) or not isinstance(per_lesson, int):
        raise TypeError(f"per_lesson must be an int; got {type(per_lesson).__name__}")
    if not 1 <= per_lesson <= smallest:
        raise ValueError(f"per_lesson must be between 1 and {smallest}; got {per_lesson}")
    drawn = [bank.sample(per_lesson, seed + number) for number, bank in enumerate(banks)]
    questions = tuple(question for quiz in drawn for question in quiz.questions)
    return Quiz("course", "Course review", dict(course.objectives), questions)


def _as_quiz(quiz: Quiz | str | int) -> Quiz:
    if isinstance(quiz, Quiz):
        return quiz
    if isinstance(getattr(quiz, "quiz", None), Quiz):  # a QuizWidget: the order it showed
        return quiz.quiz
    if isinstance(quiz, (str, int, Path)) and not isinstance(quiz, bool):
        return load_quiz(quiz)
    raise TypeError(f"quiz must be a Quiz or a lesson name; got {type(quiz).__name__}")


def _normalize_choice(question: Question, answer: Any) -> tuple[str, ...]:
    """The sorted keys an answer names (keys such as ``"B)"`` or exact choice texts)."""
    where = f"answers[{question.id!r}]"
    items: Iterable[Any] = [answer] if isinstance(answer, str) else answer
    if not isinstance(items, Iterable):
        kind = type(answer).__name__
        raise TypeError(f"{where} must be a choice key like 'a' or a list of keys; got {kind}")
    keys = []
    for item in items:
        text = str(item).strip()
        key = text.lower().rstrip(")")
        match = [c.key for c in question.choices if c.key == key or c.text == text]
        if not match:
            valid = ", ".join(c.key for c in question.choices)
            raise ValueError(f"{where}: {item!r} is not a choice; expected one of {valid}")
        keys.append(match[0])
    if not keys:
        raise ValueError(f"{where}: no choice given")
    if len(keys) > 1 and not question.multiple:
        raise ValueError(f"{where}: this question has one answer; got {len(keys)} choices")
    return tuple(sorted(set(keys)))


def _feedback(question: Question, chosen: tuple[str, ...]) -> Feedback:
    right = question.correct_keys
    shown = [c for c in question.choices if c.key in chosen or c.correct]
    explanations = tuple(
        f"{c.key}) {'right' if c.correct else 'wrong'}: {c.text}. {c.why}" for c in shown
    )
    return Feedback(question.id, chosen, right, set(chosen) == set(right), explanations)


def check_answers(quiz: Quiz | str | int, answers: Mapping[str, Any]) -> QuizResult:
    """Score answers and explain each one.

    ``quiz`` is a Quiz, a ``quiz_widget`` (with the keys the learner saw) or a lesson for
    :func:`load_quiz`; ``answers`` maps question ids to a key (``"b"``), a choice's exact
    text, or a list of keys for pick-all-that-apply questions. Returns a
    :class:`QuizResult`. Answers not a mapping, or an answer neither a key nor a list: a
    TypeError; an unknown id or choice, or several for a one-answer question: ValueError.

    Examples
    --------
    >>> result = check_answers("02", {"aug-why": "a"})
    >>> result.score, result.total == len(load_quiz("02"))
    (1, True)
    """
    quiz = _as_quiz(quiz)
    if not isinstance(answers, Mapping):
        raise TypeError(
            f"answers must be a mapping {{question_id: choice}}; got {type(answers).__name__}"
        )
    unknown = [qid for qid in answers if qid not in quiz.ids]
    if unknown:
        raise ValueError(f"answers: unknown question id(s) {unknown}; this quiz has {quiz.ids}")
    feedback = tuple(
        _feedback(q, _normalize_choice(q, answers[q.id])) for q in quiz.questions if q.id in answers
    )
    unanswered = tuple(q.id for q in quiz.questions if q.id not in answers)
    return QuizResult(sum(f.is_correct for f in feedback), len(quiz), feedback, unanswered)


def learner_seed() -> int:
    """The seed of a learner's choice order: ``COURSE_QUIZ_SEED``, else one from the user name.

    Examples
    --------
    >>> learner_seed() == learner_seed()
    True
    """
    value = os.environ.get("COURSE_QUIZ_SEED", "").strip()
    if value:
        try:
            return int(value)
        except ValueError:
            raise ValueError(f"COURSE_QUIZ_SEED must be an integer; got {value!r}") from None
    try:
        name = getpass.getuser()
    except (KeyError, OSError):  # no user name (some containers)
        name = "learner"
    return zlib.crc32(name.encode("utf-8"))


def __getattr__(name: str) -> Any:
    """``quiz_widget`` and ``QuizWidget`` live in :mod:`course_utils.widgets` (imported on use)."""
    if name in ("quiz_widget", "QuizWidget"):
        from course_utils import widgets

        return getattr(widgets, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
