"""The course map agrees with the notebooks folder and the README."""

from pathlib import Path

from course_utils.course import LESSONS, course_map, markdown_map, total_minutes

ROOT = Path(__file__).resolve().parents[1]


def test_every_lesson_is_a_notebook_and_every_notebook_a_lesson():
    on_disk = sorted(p.name for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    assert on_disk == [lesson.notebook for lesson in LESSONS]


def test_readme_shows_the_course_map():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert markdown_map() in readme, "README's course map is stale: paste markdown_map()"
    assert f"{total_minutes()} minutes" in readme


def test_course_map_renders():
    text = str(course_map())
    assert "00_welcome.ipynb" in text and f"{total_minutes()} min" in text
    html = course_map()._repr_html_()
    assert html.count("<tr>") == len(LESSONS) + 2
    assert "colab.research.google.com/github/" in html
