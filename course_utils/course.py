"""The course map: which notebook teaches what, and for how long.

The welcome notebook shows this table and ``tests/test_course_map.py`` checks
that the README's map and the ``notebooks/`` folder agree with it, so the
three never drift apart.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from course_utils.environment import REPO_URL


@dataclass(frozen=True)
class Lesson:
    """One notebook of the course.

    Attributes
    ----------
    notebook : str
        File name inside ``notebooks/``.
    title : str
        The notebook's title (its H1 heading, without the number).
    minutes : int
        Planned reading-and-doing time for a learner.
    summary : str
        One line on what the learner does.
    """

    notebook: str
    title: str
    minutes: int
    summary: str

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
        5,
        "How the course works and a check that your setup is ready.",
    ),
    Lesson(
        "01_data_flow.ipynb",
        "Data flow",
        12,
        "Load, augment, shuffle and batch images with tf.data, stage by stage.",
    ),
    Lesson(
        "02_data_augmentation.ipynb",
        "Data augmentation",
        12,
        "Flips, rotations and brightness on the fly, and the cat-lying-down experiment.",
    ),
    Lesson(
        "04_cnn_layers.ipynb",
        "CNN layers",
        12,
        "Build the CNN layer by layer and derive every shape from 64x64x3 to 10.",
    ),
    Lesson(
        "05_training_trace.ipynb",
        "Training trace",
        12,
        "Train the CNN, read the epoch-by-epoch trace and spot overfitting.",
    ),
    Lesson(
        "06_prediction_trace.ipynb",
        "Prediction trace",
        12,
        "Follow one image through every layer to its 10 class probabilities.",
    ),
    Lesson(
        "09_quiz.ipynb",
        "Course quiz",
        10,
        "Review the whole course with questions and explained answers.",
    ),
)


def total_minutes() -> int:
    """Planned time for the whole course, in minutes."""
    return sum(lesson.minutes for lesson in LESSONS)


def markdown_map() -> str:
    """The course map as a Markdown table (what the README shows)."""
    lines = ["| # | Notebook | What you do | Minutes |", "|---|---|---|---|"]
    for lesson in LESSONS:
        number = lesson.notebook[:2]
        lines.append(
            f"| {number} | [{lesson.title}](notebooks/{lesson.notebook}) "
            f"| {lesson.summary} | {lesson.minutes} |"
        )
    return "\n".join(lines)


class CourseMap:
    """Rich display of :data:`LESSONS` for Jupyter (HTML) and terminals (text)."""

    def __str__(self) -> str:
        rows = [
            f"{lesson.notebook:<28} {lesson.minutes:>3} min  {lesson.summary}" for lesson in LESSONS
        ]
        return "\n".join([*rows, f"{'total':<28} {total_minutes():>3} min"])

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td>{html.escape(lesson.notebook)}</td><td>{html.escape(lesson.title)}</td>"
            f"<td>{html.escape(lesson.summary)}</td><td>{lesson.minutes}</td>"
            f'<td><a href="{lesson.colab_url}">Colab</a></td></tr>'
            for lesson in LESSONS
        )
        return (
            "<table><thead><tr><th>notebook</th><th>lesson</th><th>what you do</th>"
            f"<th>minutes</th><th></th></tr></thead><tbody>{rows}</tbody>"
            f"<tfoot><tr><td colspan='3'>total</td><td>{total_minutes()}</td><td></td></tr>"
            "</tfoot></table>"
        )


def course_map() -> CourseMap:
    """Return the course map, which displays itself as a table."""
    return CourseMap()
