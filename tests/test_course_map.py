"""The course map: computed lesson times, and agreement with the notebooks and the README."""

import json
import re
from html import escape as html_escape
from pathlib import Path

import pytest

from course_utils import course
from course_utils.course import (
    LESSONS,
    READING_MODEL,
    course_map,
    markdown_map,
    reading_time,
    summary_line,
    total_minutes,
)
from course_utils.quiz import available_quizzes, load_quiz

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
MAX_LESSON_MINUTES = 15


def _nb(*cells):
    return {"cells": [{"cell_type": kind, "source": source} for kind, source in cells]}


def test_every_lesson_is_a_notebook_and_every_notebook_a_lesson():
    on_disk = sorted(p.name for p in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    assert on_disk == [lesson.notebook for lesson in LESSONS]


def test_stored_times_are_the_computed_ones(capsys):
    assert course.main(["--check", "--notebooks", str(NOTEBOOKS)]) == 0, (
        "lesson_times.json is stale: run python -m course_utils.course --write"
    )


def test_readme_shows_the_course_map():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert markdown_map() in readme, "README's course map is stale: paste markdown_map()"
    assert summary_line() in readme


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda lesson: lesson.notebook)
def test_each_lesson_fits_its_time_and_states_it(lesson):
    time = reading_time(NOTEBOOKS / lesson.notebook)
    assert time.minutes <= MAX_LESSON_MINUTES, f"{lesson.notebook}: {time.minutes} min"
    intro = json.loads((NOTEBOOKS / lesson.notebook).read_text(encoding="utf-8"))["cells"][0]
    stated = re.search(r"\*\*Time:\*\* about (\d+) minutes", "".join(intro["source"]))
    assert stated, f"{lesson.notebook}: the first cell must state '**Time:** about N minutes'"
    assert int(stated.group(1)) == time.minutes, (
        f"{lesson.notebook} states {stated.group(1)} minutes; the reading model gives "
        f"{time.minutes}"
    )


def test_reading_model_counts_words_cells_and_questions():
    bank = available_quizzes()[0]
    nb = _nb(
        ("markdown", "# A title\n\n" + "word " * 178 + "[a link](https://example.org/x)"),
        ("code", "x = 1"),
        ("code", f'quiz_widget("{bank}")'),
    )
    time = reading_time(nb)
    assert (time.words, time.code_cells, time.questions) == (182, 2, len(load_quiz(bank)))
    seconds = 182 / 3 + 2 * 20 + time.questions * READING_MODEL["seconds_per_question"]
    assert time.minutes == int(seconds / 60 + 0.5)


def test_sampled_and_review_quizzes_count_what_they_show():
    sampled = _nb(("code", 'quiz_widget(load_quiz("01").sample(4, seed=SEED))'))
    assert reading_time(sampled).questions == 4
    review = _nb(
        ("code", "PER_LESSON = 2"),
        ("code", "review = review_quiz(per_lesson=PER_LESSON, seed=0)\nquiz_widget(review)"),
    )
    assert reading_time(review).questions == 2 * len(available_quizzes())
    with pytest.raises(ValueError, match="a quiz_widget cell must show a bank by name"):
        reading_time(_nb(("code", "quiz_widget(q)")))


def test_optional_and_exercise_sections_are_counted_apart():
    nb = _nb(
        ("markdown", "# Lesson\n\none two three"),
        ("code", "a = 1"),
        ("markdown", "## Optional: the details\n\n" + "word " * 360),
        ("code", "b = 2"),
        ("markdown", "### Still optional\n\nfour five"),
        ("markdown", "## Exercise 1 · Flip safely (5 min)\n\n" + "word " * 500),
        ("code", "# your code"),
        ("markdown", "### A hint (not a new section)\n\nmore"),
        ("markdown", "## Exercise 2 · Shapes (7 minutes)"),
        ("markdown", "## Recap\n\nsix"),
        ("code", "c = 3"),
    )
    time = reading_time(nb)
    assert (time.words, time.code_cells) == (6, 2)
    assert (time.optional_words, time.optional_code_cells) == (367, 1)
    assert time.exercises == [
        ("Exercise 1 · Flip safely (5 min)", 5),
        ("Exercise 2 · Shapes (7 minutes)", 7),
    ]
    assert time.exercise_minutes == 12 and time.optional_minutes == 2


def test_an_exercise_must_state_its_time():
    with pytest.raises(ValueError, match="must state its time as '\\(N min\\)'; got 'Exercise 1'"):
        reading_time(_nb(("markdown", "## Exercise 1")))


def test_course_map_renders():
    text = str(course_map())
    assert "00_welcome.ipynb" in text and text.endswith(summary_line())
    assert f"about {total_minutes()} minutes" in summary_line()
    html = course_map()._repr_html_()
    assert html.count("<tr>") == len(LESSONS) + 1  # the header and one row per lesson
    assert html.count("colab.research.google.com/github/") == len(LESSONS)
    assert html.count(">Colab</a>") == len(LESSONS)  # links are HTML, not escaped text
    assert html.index("</table>") < html.index(html_escape(summary_line()))
    assert f"{READING_MODEL['words_per_minute']} words a minute" in html


def test_a_lesson_without_a_stored_time_says_how_to_compute_it():
    lesson = course.Lesson("99_new.ipynb", "New", "Something new.")
    with pytest.raises(ValueError, match="python -m course_utils.course --write"):
        _ = lesson.minutes
