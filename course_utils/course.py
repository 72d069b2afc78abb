"""The course map: which notebook teaches what, and for how long.

A lesson's time is computed from its notebook by one stated reading model
(:data:`READING_MODEL`): words of prose, code cells and quiz questions shown.
Sections whose heading starts with ``Optional`` are counted apart, as optional
minutes; sections whose heading starts with ``Exercise`` state their own time,
``(N min)``, and are practice on top of the lesson.

The computed times are stored in ``lesson_times.json`` beside this module, so
that the map also works where only the package is installed (Colab);
``python -m course_utils.course --write`` refreshes them from ``notebooks/``
and ``tests/test_course_map.py`` checks that they, the README's map and the
notebooks agree.
"""

from __future__ import annotations

import argparse
import ast
import html
import json
import re
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

from course_utils._display import Table
from course_utils.environment import REPO_URL

#: The reading model: 180 words a minute of prose, 20 s per code cell, 35 s per quiz question.
READING_MODEL = {"words_per_minute": 180, "seconds_per_code_cell": 20, "seconds_per_question": 35}

TIMES_FILE = Path(__file__).with_name("lesson_times.json")

_HEADING = re.compile(r"^(#{1,6})\s+(.*)$")
_STATED = re.compile(r"\((\d+)\s*min(?:utes)?\)")
_LINK_TARGET = re.compile(r"\]\([^)]*\)")
_TAG = re.compile(r"<[^>]+>")


@dataclass(frozen=True)
class LessonTime:
    """What one notebook asks of a learner, by :data:`READING_MODEL`.

    Attributes
    ----------
    words, code_cells, questions : int
        Counted in the lesson's core (outside optional and exercise sections).
    optional_words, optional_code_cells : int
        Counted in sections whose heading starts with ``Optional``.
    exercises : list of (str, int)
        Each exercise heading and the minutes it states.
    """

    words: int = 0
    code_cells: int = 0
    questions: int = 0
    optional_words: int = 0
    optional_code_cells: int = 0
    exercises: list[tuple[str, int]] = field(default_factory=list)

    @staticmethod
    def _seconds(words: int, cells: int, questions: int = 0) -> float:
        model = READING_MODEL
        return (
            words * 60 / model["words_per_minute"]
            + cells * model["seconds_per_code_cell"]
            + questions * model["seconds_per_question"]
        )

    @property
    def minutes(self) -> int:
        """Core minutes, rounded to the nearest minute."""
        return _round_minutes(self._seconds(self.words, self.code_cells, self.questions))

    @property
    def optional_minutes(self) -> int:
        """Minutes of the optional sections."""
        return _round_minutes(self._seconds(self.optional_words, self.optional_code_cells))

    @property
    def exercise_minutes(self) -> int:
        """Minutes the exercises state, added up."""
        return sum(minutes for _, minutes in self.exercises)


def _round_minutes(seconds: float) -> int:
    return int(seconds / 60 + 0.5)


def _words(markdown: str) -> int:
    text = _TAG.sub(" ", _LINK_TARGET.sub("]", markdown))
    return len([token for token in text.split() if any(ch.isalnum() for ch in token)])


def _int_names(cells: list[dict]) -> dict[str, int]:
    """Integer literals assigned at the top level of the notebook's code cells."""
    names: dict[str, int] = {}
    for cell in cells:
        if cell["cell_type"] != "code":
            continue
        try:
            tree = ast.parse(_source(cell))
        except SyntaxError:  # IPython magics
            continue
        for node in tree.body:
            if (
                isinstance(node, ast.Assign)
                and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name)
                and isinstance(node.value, ast.Constant)
                and type(node.value.value) is int
            ):
                names[node.targets[0].id] = node.value.value
    return names


def _source(cell: dict) -> str:
    source = cell["source"]
    return "".join(source) if isinstance(source, list) else source


def _questions(code: str, names: dict[str, int]) -> int:
    """How many quiz questions a code cell shows."""
    if "quiz_widget(" not in code:
        return 0
    from course_utils.quiz import available_quizzes, load_quiz

    def value(token: str) -> int:
        return int(token) if token.isdigit() else names[token]

    sample = re.search(r"\.sample\(\s*(?:n\s*=\s*)?(\w+)", code)
    if sample:
        return value(sample.group(1))
    review = re.search(r"review_quiz\([^)]*per_lesson\s*=\s*(\w+)", code)
    if review:
        return value(review.group(1)) * len(available_quizzes())
    bank = re.search(r"quiz_widget\(\s*[\"']([^\"']+)[\"']", code)
    if bank:
        return len(load_quiz(bank.group(1)))
    raise ValueError(
        "a quiz_widget cell must show a bank by name, a .sample(n) of one, or a review_quiz; "
        f"got {code.strip()!r}"
    )


def reading_time(notebook: str | Path | dict) -> LessonTime:
    """Compute a notebook's time by :data:`READING_MODEL`.

    Parameters
    ----------
    notebook : str, Path or dict
        The notebook file, or its JSON already loaded.

    Returns
    -------
    LessonTime
        Words, code cells and quiz questions of the core, the optional sections and the
        exercises with their stated minutes.

    Raises
    ------
    ValueError
        If an exercise heading does not state its time as ``(N min)``.

    Examples
    --------
    >>> nb = {"cells": [
    ...     {"cell_type": "markdown",
    ...      "source": "# Title\\n\\nNine words of prose in this very short lesson."},
    ...     {"cell_type": "code", "source": "x = 1"},
    ...     {"cell_type": "markdown", "source": "## Exercise 1 · Try (5 min)\\n\\nDo it."},
    ...     {"cell_type": "code", "source": "# your code"}]}
    >>> time = reading_time(nb)
    >>> time.words, time.code_cells, time.exercises
    (10, 1, [('Exercise 1 · Try (5 min)', 5)])
    """
    if not isinstance(notebook, dict):
        notebook = json.loads(Path(notebook).read_text(encoding="utf-8"))
    cells = notebook["cells"]
    names = _int_names(cells)
    counts = {"core": [0, 0, 0], "optional": [0, 0, 0]}
    exercises: list[tuple[str, int]] = []
    stack: list[tuple[int, str]] = []  # (heading level, "optional" | "exercise")

    def kind() -> str:
        return stack[-1][1] if stack else "core"

    for cell in cells:
        source = _source(cell)
        if cell["cell_type"] == "markdown":
            for line in source.splitlines():
                match = _HEADING.match(line)
                if match:
                    level, text = len(match.group(1)), match.group(2).strip()
                    while stack and stack[-1][0] >= level:
                        stack.pop()
                    if text.lower().rstrip(":").strip() == "exercises":
                        stack.append((level, "exercise"))  # the section; each one states time
                    elif text.lower().startswith("exercise"):
                        stated = _STATED.search(text)
                        if not stated:
                            raise ValueError(
                                "an exercise heading must state its time as '(N min)'; "
                                f"got {text!r}"
                            )
                        exercises.append((text, int(stated.group(1))))
                        stack.append((level, "exercise"))
                    elif text.lower().startswith("optional") and kind() != "exercise":
                        stack.append((level, "optional"))
                if kind() != "exercise":
                    counts[kind()][0] += _words(line)
        elif cell["cell_type"] == "code" and kind() != "exercise":
            counts[kind()][1] += 1
            counts[kind()][2] += _questions(source, names)
    core, optional = counts["core"], counts["optional"]
    return LessonTime(
        words=core[0],
        code_cells=core[1],
        questions=core[2] + optional[2],
        optional_words=optional[0],
        optional_code_cells=optional[1],
        exercises=exercises,
    )


@dataclass(frozen=True)
class Lesson:
    """One notebook of the course.

    Attributes
    ----------
    notebook : str
        File name inside ``notebooks/``.
    title : str
        The notebook's title (its H1 heading, without the number).
    summary : str
        One line on what the learner does.
    """

    notebook: str
    title: str
    summary: str

    @property
    def time(self) -> LessonTime:
        """The lesson's computed time, from ``lesson_times.json``."""
        times = _stored_times()
        if self.notebook not in times:
            beside = Path(__file__).resolve().parents[1] / "notebooks" / self.notebook
            if beside.is_file():  # a checkout whose stored times lag behind: compute
                return reading_time(beside)
            raise ValueError(
                f"no computed time for {self.notebook}; run: python -m course_utils.course --write"
            )
        return times[self.notebook]

    @property
    def minutes(self) -> int:
        """Core minutes by :data:`READING_MODEL`."""
        return self.time.minutes

    @property
    def colab_url(self) -> str:
        """Open this notebook in Google Colab."""
        path = REPO_URL.removeprefix("https://github.com/")
        return (
            f"https://colab.research.google.com/github/{path}/blob/main/notebooks/{self.notebook}"
        )


LESSONS: tuple[Lesson, ...] = (
    Lesson(
        "00_welcome.ipynb",
        "Welcome",
        "How the course works and a check that your setup is ready.",
    ),
    Lesson(
        "01_data_flow.ipynb",
        "Data flow",
        "Write the tf.data chain that loads, shuffles, batches and augments images.",
    ),
    Lesson(
        "02_data_augmentation.ipynb",
        "Data augmentation",
        "Flips, rotations and brightness with Keras layers, in the model or in tf.data.",
    ),
    Lesson(
        "03_augmentation_on_the_fly.ipynb",
        "Augmentation on the fly",
        "Files untouched, memory measured, and the cat-lying-down experiment.",
    ),
    Lesson(
        "04_cnn_layers.ipynb",
        "CNN layers",
        "Build the CNN with keras.Sequential and derive every shape from 64x64x3 to 10.",
    ),
    Lesson(
        "05_training_trace.ipynb",
        "Training trace",
        "Train the CNN, read the epoch-by-epoch trace and spot overfitting.",
    ),
    Lesson(
        "06_prediction_trace.ipynb",
        "Prediction trace",
        "Follow one image through every layer to its 10 class probabilities.",
    ),
    Lesson(
        "07_modern_augmentation.ipynb",
        "Modern augmentation",
        "RandAugment, MixUp, CutMix and test-time augmentation, compared over three seeds.",
    ),
    Lesson(
        "08_scaling_up.ipynb",
        "Scaling up",
        "Photo-size input pipelines, one fused warp, and training on two devices and two workers.",
    ),
    Lesson(
        "09_capstone.ipynb",
        "Capstone",
        "A graded project: a CNN with augmentation that recognises shapes in any pose.",
    ),
    Lesson(
        "10_quiz.ipynb",
        "Course quiz",
        "Review the whole course with questions and explained answers.",
    ),
)


def _stored_times() -> dict[str, LessonTime]:
    if not TIMES_FILE.is_file():
        return {}
    raw = json.loads(TIMES_FILE.read_text(encoding="utf-8"))
    return {
        name: LessonTime(**{**value, "exercises": [tuple(e) for e in value["exercises"]]})
        for name, value in raw.items()
    }


def compute_times(notebooks_dir: str | Path) -> dict[str, LessonTime]:
    """Compute the time of every lesson of :data:`LESSONS` from ``notebooks_dir``."""
    folder = Path(notebooks_dir)
    return {lesson.notebook: reading_time(folder / lesson.notebook) for lesson in LESSONS}


def total_minutes() -> int:
    """The whole course, core and optional sections, in minutes (exercises not counted)."""
    return sum(lesson.time.minutes + lesson.time.optional_minutes for lesson in LESSONS)


def exercise_minutes() -> int:
    """The minutes all exercises state, added up."""
    return sum(lesson.time.exercise_minutes for lesson in LESSONS)


def _columns(lesson: Lesson) -> tuple[str, str, str]:
    time = lesson.time
    optional = f"+{time.optional_minutes}" if time.optional_minutes else ""
    exercises = f"{len(time.exercises)} ({time.exercise_minutes} min)" if time.exercises else ""
    return str(time.minutes), optional, exercises


def markdown_map() -> str:
    """The course map as a Markdown table (what the README shows)."""
    headers = ["#", "Notebook", "What you do", "Minutes", "Optional", "Exercises"]
    rows = [
        [lesson.notebook[:2], f"[{lesson.title}](notebooks/{lesson.notebook})", lesson.summary]
        + list(_columns(lesson))
        for lesson in LESSONS
    ]
    return Table(headers, rows).markdown()


def summary_line() -> str:
    """One sentence with the course total, the optional part and the exercises."""
    optional = sum(lesson.time.optional_minutes for lesson in LESSONS)
    text = f"The whole course takes about {total_minutes()} minutes"
    if optional:
        text += f" ({optional} of them in optional sections)"
    if exercise_minutes():
        text += f", plus about {exercise_minutes()} minutes of exercises"
    return text + "."


class CourseMap:
    """Rich display of :data:`LESSONS` for Jupyter (HTML) and terminals (text)."""

    def table(self, *, links: bool = False) -> Table:
        """One row per lesson; with ``links`` a last column of Colab links (HTML)."""
        headers = ["notebook", "lesson", "what you do", "minutes", "optional", "exercises"]
        rows = [
            [lesson.notebook, lesson.title, lesson.summary, *_columns(lesson)]
            + ([f'<a href="{lesson.colab_url}">Colab</a>'] if links else [])
            for lesson in LESSONS
        ]
        return Table(headers + [""] * links, rows, raw_columns=(6,) if links else ())

    def __str__(self) -> str:
        return f"{self.table().text()}\n{summary_line()}"

    def _repr_html_(self) -> str:
        model = READING_MODEL
        return self.table(links=True).html() + (
            f"<p>{html.escape(summary_line())} Reading model: "
            f"{model['words_per_minute']} words a minute, {model['seconds_per_code_cell']} s "
            f"per code cell, {model['seconds_per_question']} s per quiz question.</p>"
        )


def course_map() -> CourseMap:
    """Return the course map, which displays itself as a table."""
    return CourseMap()


def _write_readme_map(path: Path) -> None:
    start, end = "<!-- course-map -->", "<!-- /course-map -->"
    text = path.read_text(encoding="utf-8")
    if start not in text or end not in text:
        raise SystemExit(f"{path}: no {start} ... {end} markers to write the course map between")
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    path.write_text(f"{head}{start}\n{summary_line()}\n\n{markdown_map()}\n{end}{tail}", "utf-8")
    print(f"wrote the course map into {path}")


def main(argv: list[str] | None = None) -> int:
    """Print, check or write the computed lesson times."""
    parser = argparse.ArgumentParser(
        prog="python -m course_utils.course",
        description="Compute each lesson's time from its notebook by the course's reading model.",
    )
    parser.add_argument("--notebooks", default="notebooks", help="the notebooks folder")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--write", action="store_true", help=f"write {TIMES_FILE.name}")
    group.add_argument("--check", action="store_true", help=f"fail if {TIMES_FILE.name} is stale")
    parser.add_argument(
        "--readme",
        help="with --write: also rewrite the course map between the README's "
        "<!-- course-map --> and <!-- /course-map --> markers",
    )
    args = parser.parse_args(argv)
    folder = Path(args.notebooks)
    times = {}
    for path in sorted(folder.glob("[0-9][0-9]_*.ipynb")):
        time = reading_time(path)
        times[path.name] = time
        print(
            f"{path.name:<32} {time.minutes:>3} min core ({time.words} words, {time.code_cells} "
            f"cells, {time.questions} questions)  +{time.optional_minutes} optional  "
            f"{len(time.exercises)} exercises ({time.exercise_minutes} min)"
        )
    wanted = {
        lesson.notebook: times[lesson.notebook] for lesson in LESSONS if lesson.notebook in times
    }
    text = json.dumps({k: asdict(v) for k, v in wanted.items()}, indent=1, ensure_ascii=False)
    if args.write:
        TIMES_FILE.write_text(text + "\n", encoding="utf-8")
        print(f"wrote {TIMES_FILE}")
        if args.readme:
            _write_readme_map(Path(args.readme))
    elif args.check:
        stored = TIMES_FILE.read_text(encoding="utf-8") if TIMES_FILE.is_file() else ""
        if stored != text + "\n":
            print(f"{TIMES_FILE.name} is stale: run python -m course_utils.course --write")
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
