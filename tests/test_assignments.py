"""The teacher's kit end to end: otter assign builds the assignments, otter run grades them.

``tools/make_assignments.py`` turns a lesson's exercise cells into otter questions. The
fast tests check the master notebook and the leak check; the slow ones build the capstone
and one lesson with ``otter assign`` and grade submissions with ``otter run`` (no Docker,
offline): the reference solutions score 100%, an untouched student notebook 0, a half-done
one with a cell that raises gets partial credit, and one that loops forever is reported as
timed out while the grader carries on.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import make_assignments as kit  # noqa: E402

CAPSTONE = ROOT / "notebooks" / "09_capstone.ipynb"


def _other_lesson() -> Path | None:
    """The lesson graded beside the capstone: 01 when it has exercises, else the first that has."""
    lessons = [p for p in kit.lessons_with_exercises() if p.name != CAPSTONE.name]
    preferred = [p for p in lessons if p.name.startswith("01_")]
    return (preferred or lessons or [None])[0]


def _with_cells(path: Path, out: Path, replace: dict[str, str]) -> Path:
    """A copy of a notebook whose exercise cells (by exercise id) get new code."""
    notebook = nbformat.read(path, as_version=4)
    for index, exercise_id in kit.exercise_cells(notebook):
        if exercise_id in replace:
            notebook.cells[index].source = replace[exercise_id]
    nbformat.write(notebook, out)
    return out


def _solved(exercise_id: str) -> str:
    from course_utils.exercises import get_exercise

    return f'{get_exercise(exercise_id).solution}\ncheck("{exercise_id}", answer)\n'


# --------------------------------------------------------------------------- fast


def test_master_notebook_has_one_question_per_exercise():
    master = kit.master_notebook(CAPSTONE)
    assert master.cells[0].cell_type == "raw"
    assert master.cells[0].source.startswith("# ASSIGNMENT CONFIG")
    raw = [c.source for c in master.cells if c.cell_type == "raw"]
    questions = [s for s in raw if s.startswith("# BEGIN QUESTION")]
    exercises = kit.exercise_cells(nbformat.read(CAPSTONE, as_version=4))
    assert len(questions) == len(exercises) == 3
    for (_, exercise_id), config in zip(exercises, questions, strict=True):
        assert f"name: {kit.question_name(exercise_id)}" in config
        assert f"points: {kit.POINTS.get(exercise_id, 1)}" in config
    tests = [c.source for c in master.cells if c.cell_type == "code" and ".ok" in c.source]
    assert [t.split('"')[1] for t in tests] == [e for _, e in exercises]
    # every other cell of the lesson is kept as it is
    lesson = nbformat.read(CAPSTONE, as_version=4)
    kept = [c.source for c in master.cells]
    others = [c for c in lesson.cells if "exercise" not in c.metadata.get("tags", [])]
    assert all(c.source in kept for c in others)


def test_a_lesson_without_exercises_is_refused(tmp_path):
    empty = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])
    path = tmp_path / "99_nothing.ipynb"
    nbformat.write(empty, path)
    with pytest.raises(ValueError, match="has no exercise cells"):
        kit.master_notebook(path)


def test_the_leak_check_finds_a_solution(tmp_path):
    clean = kit.leaked_solutions(CAPSTONE, CAPSTONE)
    assert clean == [], "the lesson as committed shows no solution"
    leaky = _with_cells(CAPSTONE, tmp_path / "leaky.ipynb", {"09.pipeline": _solved("09.pipeline")})
    leaks = kit.leaked_solutions(leaky, CAPSTONE)
    assert any("augment_batch" in line for line in leaks), leaks


# --------------------------------------------------------------------------- slow


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("assignments")
    lessons = [CAPSTONE] + [p for p in [_other_lesson()] if p is not None]
    return {path.stem: kit.build(path, out) for path in lessons}


@pytest.mark.slow
def test_student_notebooks_are_the_lessons_without_solutions(built):
    for name, assignment in built.items():
        lesson = nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", as_version=4)
        student = nbformat.read(assignment.student, as_version=4)
        assert [c.source for c in student.cells] == [c.source for c in lesson.cells], name
        assert kit.leaked_solutions(assignment.student, ROOT / "notebooks" / f"{name}.ipynb") == []
        assert assignment.autograder_zip.is_file()


@pytest.mark.slow
def test_capstone_grading_round_trip(built, tmp_path):
    assignment = built["09_capstone"]
    zip_path = assignment.autograder_zip
    reference = assignment.autograder_zip.parent / "09_capstone.ipynb"  # otter's solutions
    untouched = assignment.student
    half = _with_cells(untouched, tmp_path / "half.ipynb", {
        "09.model": _solved("09.model"),
        "09.pipeline": _solved("09.pipeline"),
        "09.accuracy": 'model.fit(train_ds, epochs="twelve")  # raises TypeError\n'
        'answer = model\ncheck("09.accuracy", answer)',
    })
    forever = {"09.model": "while True:\n    pass\n"}
    loops = _with_cells(untouched, tmp_path / "loops.ipynb", forever)

    full = kit.grade(zip_path, reference)
    assert full.score == full.possible == sum(kit.POINTS[e] for e in assignment.questions), full
    print(full)

    zero = kit.grade(zip_path, untouched)
    assert zero.score == 0 and zero.possible == full.possible, zero
    print(zero)

    partial = kit.grade(zip_path, half)
    assert partial.score == kit.POINTS["09.model"] + kit.POINTS["09.pipeline"], partial
    assert partial.questions["q09_accuracy"] == 0
    print(partial)

    stuck = kit.grade(zip_path, loops, timeout=45)
    assert stuck.score is None and "timed out after 45 s" in stuck.error, stuck
    assert stuck.seconds < 75
    print(stuck)


@pytest.mark.slow
def test_lesson_grading_round_trip(built, tmp_path):
    lesson = _other_lesson()
    if lesson is None:
        pytest.skip("no lesson other than the capstone has exercise cells yet")
    assignment = built[lesson.stem]
    answers = {exercise_id: _solved(exercise_id) for exercise_id in assignment.questions}
    reference = _with_cells(assignment.student, tmp_path / lesson.name, answers)
    full = kit.grade(assignment.autograder_zip, reference)
    assert full.score == full.possible == sum(assignment.questions.values()), full
    print(full)  # the untouched, half-done and looping cases are the capstone's above
