"""Every notebook follows the course skeleton and the committed-outputs policy.

Policy (README, "Notebook outputs"): notebooks are committed without outputs,
except code cells marked ``# NBVAL_CHECK_OUTPUT``, whose stored output is the
reference a fresh run must reproduce; no execution counts, no editor metadata.
"""

import re
import sys
from pathlib import Path

import nbformat
import pytest

from course_utils import REPO_URL
from course_utils.course import LESSONS

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import nbclean  # noqa: E402

NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
LESSON_NOTEBOOKS = [p for p in NOTEBOOKS if p.stem[3:] not in {"welcome", "quiz"}]


def _read(path):
    return nbformat.read(path, as_version=4)


def _markdown(nb):
    return "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")


def _headings(nb, level):
    return re.findall(rf"^{'#' * level} (.+)$", _markdown(nb), flags=re.M)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_normalized(path):
    original = path.read_text(encoding="utf-8")
    assert nbclean.dumps(nbclean.normalize(_read(path))) == original, (
        f"{path.name} is not normalized: run `make normalize`"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_only_checked_cells_keep_outputs(path):
    for cell in _read(path).cells:
        if cell.cell_type != "code":
            continue
        if nbclean.is_checked(cell):
            assert cell.outputs, f"{path.name}: checked cell has no reference output"
            assert cell.execution_count == nbclean.CHECKED_EXECUTION_COUNT
        else:
            assert not cell.outputs, f"{path.name}: unchecked cell keeps an output"
            assert cell.execution_count is None


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_skeleton(path):
    nb = _read(path)
    first = nb.cells[0]
    assert first.cell_type == "markdown" and first.source.startswith("# ")
    assert len(_headings(nb, 1)) == 1, "exactly one H1 title"
    colab = (
        f"https://colab.research.google.com/github/{REPO_URL.removeprefix('https://github.com/')}"
        f"/blob/main/notebooks/{path.name}"
    )
    assert colab in _markdown(nb), "Open-in-Colab badge pointing at this notebook"
    assert re.search(r"\d+ minutes", first.source), "the intro says how long the lesson takes"
    h2 = [h.lower() for h in _headings(nb, 2)]
    assert "setup" in h2
    assert any(h.startswith("recap") for h in h2)
    assert h2.index("setup") < [i for i, h in enumerate(h2) if h.startswith("recap")][0]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_colab_bootstrap_installs_from_the_course_repository(path):
    code = [c.source for c in _read(path).cells if c.cell_type == "code"]
    bootstrap = [s for s in code if "google.colab" in s and "pip install" in s]
    assert bootstrap, "a Colab bootstrap cell"
    assert f"git+{REPO_URL}" in bootstrap[0]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_helper_code_in_notebooks(path):
    for cell in _read(path).cells:
        if cell.cell_type == "code":
            assert not re.search(r"^\s*(def|class) ", cell.source, flags=re.M), (
                f"{path.name}: define helpers in course_utils, not in the notebook"
            )


@pytest.mark.parametrize("path", LESSON_NOTEBOOKS, ids=lambda p: p.name)
def test_lessons_have_parameters_seed_and_quiz(path):
    nb = _read(path)
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, "one cell tagged `parameters`"
    for name in ["DATASET", "FAST", "EPOCHS", "SEED"]:
        assert re.search(rf"^{name}\s*=", tagged[0].source, flags=re.M), f"parameter {name}"
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert "set_random_seed(SEED)" in code
    assert any(h.lower().startswith("quiz") for h in _headings(nb, 2))


def test_notebook_titles_match_the_course_map():
    for lesson in LESSONS:
        path = ROOT / "notebooks" / lesson.notebook
        if path.exists():
            title = _headings(_read(path), 1)[0]
            assert lesson.title.lower() in title.lower(), f"{path.name}: {title!r}"
