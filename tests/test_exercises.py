"""Every exercise: its reference solution passes, each typical mistake gets its own feedback,
and bad input gets a clear answer, never a traceback from inside the checker."""

from __future__ import annotations

import pytest

from course_utils.exercises import CheckResult, check, exercises, get_exercise, hint, solution

ALL = exercises()
IDS = [e.id for e in ALL]
#: Exercises whose reference solution is a full training run (minutes): the lesson run with
#: every exercise cell given its solution (``make variants``) requires their check to pass.
IN_LESSON_RUN = {"09.accuracy"}
SOLUTIONS = [
    pytest.param(
        e,
        id=e.id,
        marks=[pytest.mark.skip(reason="checked by the lesson's solutions run")]
        if e.id in IN_LESSON_RUN
        else [],
    )
    for e in ALL
]


def _run(item, code):
    namespace: dict = {}
    exec(item.setup, namespace)  # noqa: S102 - the exercise's own setup code
    exec(code, namespace)  # noqa: S102 - the reference solution or a typical mistake
    return check(item.id, namespace["answer"])


def test_every_lesson_from_01_has_three_exercises():
    from course_utils.course import LESSONS

    lessons = [lesson.notebook[:2] for lesson in LESSONS if lesson.notebook[3:-6] not in {
        "welcome", "quiz"}]
    missing = {n: len(exercises(n)) for n in lessons if len(exercises(n)) < 3}
    assert not missing, f"lessons with fewer than three exercises: {missing}"


@pytest.mark.parametrize("item", SOLUTIONS)
def test_reference_solution_passes(item):
    result = _run(item, item.solution)
    assert result.ok, str(result)
    assert not result.hint


def test_solutions_left_to_a_lesson_run_are_in_one():
    from lesson_variants import NOTEBOOKS, exercise_cells, variants

    solved = {v.notebook for v in variants() if v.solutions}
    in_runs = {e for name in solved for _, e in exercise_cells(NOTEBOOKS / name)}
    assert IN_LESSON_RUN <= in_runs, IN_LESSON_RUN - in_runs


@pytest.mark.parametrize("item", ALL, ids=IDS)
def test_typical_mistakes_each_get_their_own_feedback(item):
    assert len(item.wrong) >= 2, f"{item.id} needs at least two typical wrong answers"
    seen = set()
    for wrong in item.wrong:
        result = _run(item, wrong.code)
        assert result.status == "not yet", f"{item.id}: a wrong answer passed:\n{wrong.code}"
        assert wrong.expect in str(result), f"{item.id}: expected {wrong.expect!r} in\n{result}"
        assert result.hint, f"{item.id}: a failed check must come with a hint"
        seen.add((result.failed, result.hint))
    assert len(seen) == len(item.wrong), f"{item.id}: two mistakes got the same feedback"


@pytest.mark.parametrize("item", ALL, ids=IDS)
@pytest.mark.parametrize("bad", [42, "my answer", object(), [], {"a": 1}], ids=type)
def test_bad_input_gets_a_clear_answer(item, bad):
    result = check(item.id, bad)
    assert result.status == "not yet"
    assert result.failed and "got" in result.failed[-1], result.failed


@pytest.mark.parametrize("item", ALL, ids=IDS)
def test_unanswered_is_not_an_error(item):
    result = check(item.id)
    assert result.status == "unanswered" and not result
    assert item.task in str(result) and "No answer yet" in result._repr_html_()


@pytest.mark.parametrize("item", ALL, ids=IDS)
def test_hints_point_to_the_concept_not_the_solution(item):
    assert 1 <= len(item.hints) <= 4
    text = str(hint(item.id))
    code_lines = [line.strip() for line in item.solution.splitlines() if len(line.strip()) > 24]
    assert not [line for line in code_lines if line in text]
    assert item.solution in str(solution(item.id))
    assert str(hint(item.id, level=1)).count("Hint ") == 1
    assert 1 <= item.minutes <= 20


def test_check_results_show_themselves():
    result = CheckResult("01.x", "A title", "not yet", ("right",), ("wrong; got 1",), "Look here.")
    text = str(result)
    assert "✔ right" in text and "✘ wrong; got 1" in text and "Hint: Look here." in text
    assert 'hint("01.x")' in text
    html = result._repr_html_()
    assert "&#10004; right" in html and "&#10008; wrong; got 1" in html
    assert "Well done" in str(CheckResult("01.x", "A title", "passed", ("right",)))


def test_unknown_exercise_and_bad_id():
    with pytest.raises(ValueError, match="no exercise '99.nope'; the exercises are: "):
        check("99.nope", 1)
    with pytest.raises(TypeError, match="exercise_id must be a str"):
        get_exercise(1)


def test_strict_mode_raises_for_a_failed_check(monkeypatch):
    monkeypatch.setenv("COURSE_EXERCISES_STRICT", "1")
    with pytest.raises(AssertionError, match="No answer yet"):
        check(IDS[0])


def test_learner_code_that_raises_is_reported_not_raised():
    from course_utils.exercises import Report
    from course_utils.exercises._core import _Stop

    report = Report()
    with pytest.raises(_Stop):
        report.attempt("Calling your function", lambda: 1 / 0, hint="Check the divisor.")
    assert report.failed[0].startswith("Calling your function raised ZeroDivisionError")
    assert report.hints == ["Check the divisor."]
