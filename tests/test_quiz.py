"""The question banks are valid, answerable and explained; scoring and the quiz widget."""

import re
import sys

import pytest

from course_utils.course import LESSONS
from course_utils.quiz import (
    Quiz,
    available_quizzes,
    check_answers,
    is_code_reading,
    load_quiz,
    review_quiz,
    validate_bank,
)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

BANKS = available_quizzes()
LESSON_NAMES = [lesson.notebook.removesuffix(".ipynb") for lesson in LESSONS]


def _bank(name):
    from importlib import resources

    path = resources.files("course_utils") / "quizzes" / f"{name}.toml"
    return tomllib.loads(path.read_text(encoding="utf-8"))


DEMO_TOML = """
lesson = "99_demo"
title = "Demo"

[objectives]
one = "First objective"
two = "Second objective"

[[questions]]
id = "demo-a"
objective = "one"
prompt = "Pick the second."
[[questions.choices]]
text = "First"
why = "Not this one."
[[questions.choices]]
text = "Second"
correct = true
why = "Yes, the second."
[[questions.choices]]
text = "Third"
why = "Not this one either."

[[questions]]
id = "demo-b"
objective = "two"
prompt = "Pick the first and the third."
[[questions.choices]]
text = "First"
correct = true
why = "Yes."
[[questions.choices]]
text = "Second"
why = "No."
[[questions.choices]]
text = "Third"
correct = true
why = "Yes."

[[questions]]
id = "demo-c"
objective = "one"
prompt = \"\"\"What does this print?

```python
print(len([1, 2, 3]))
```
\"\"\"
[[questions.choices]]
text = "3"
correct = true
why = "len counts the three items."
[[questions.choices]]
text = "6"
why = "That is the sum, not the length."
"""


def _demo():
    """The demo bank (:data:`DEMO_TOML`) as parsed TOML, a fresh copy each time."""
    return tomllib.loads(DEMO_TOML)


def demo_quiz(folder):
    """The demo bank written to ``folder`` and loaded as a Quiz (the fixture of quiz tests)."""
    path = folder / "99_demo.toml"
    path.write_text(DEMO_TOML, encoding="utf-8")
    return load_quiz(path)


@pytest.fixture
def demo(tmp_path):
    return demo_quiz(tmp_path)


# --------------------------------------------------------------------------- the banks


def test_one_bank_per_lesson():
    expected = [name for name in LESSON_NAMES if name[3:] not in {"welcome", "quiz"}]
    assert BANKS == expected


@pytest.mark.parametrize("name", BANKS)
def test_bank_is_valid(name):
    assert validate_bank(_bank(name), name) == []


@pytest.mark.parametrize("name", BANKS)
def test_bank_names_its_lesson(name):
    quiz = load_quiz(name)
    assert quiz.lesson == name
    assert quiz.title in {lesson.title for lesson in LESSONS}


@pytest.mark.parametrize("name", BANKS)
def test_bank_size_and_objectives(name):
    quiz = load_quiz(name)
    assert len(quiz) >= 7
    assert len(quiz.objectives) >= 4
    asked = {q.objective for q in quiz.questions}
    assert asked == set(quiz.objectives)


@pytest.mark.parametrize("name", BANKS)
def test_every_question_is_answerable_and_explained(name):
    quiz = load_quiz(name)
    for question in quiz.questions:
        assert question.correct_keys, question.id
        assert all(choice.why.strip() for choice in question.choices), question.id
        result = check_answers(quiz, {question.id: list(question.correct_keys)})
        assert result.score == 1
        wrong = [c.key for c in question.choices if not c.correct]
        assert wrong, f"{question.id} has no wrong choice"
        assert check_answers(quiz, {question.id: wrong[0]}).score == 0


def test_ids_are_unique_across_the_course():
    course = load_quiz("course")
    assert len(course.ids) == len(set(course.ids))
    assert len(course) == sum(len(load_quiz(name)) for name in BANKS)
    assert all("." in q.objective and q.objective in course.objectives for q in course.questions)


def test_correct_answers_are_not_always_in_the_same_place():
    positions = {q.correct_keys[0] for q in load_quiz("course").questions if not q.multiple}
    assert len(positions) >= 3


# --------------------------------------------------------------------------- validation


def test_validate_accepts_a_valid_bank():
    assert validate_bank(_demo()) == []


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda b: b.pop("lesson"), "missing 'lesson'"),
        (lambda b: b.update(title=""), "missing 'title'"),
        (lambda b: b.update(objectives={}), "no objectives"),
        (lambda b: b.update(questions=[]), "no questions"),
        (lambda b: b["questions"][1].update(id="demo-a"), "duplicate id"),
        (lambda b: b["questions"][0].update(id="Demo A"), "id must be"),
        (lambda b: b["questions"][0].update(prompt=" "), "empty prompt"),
        (lambda b: b["questions"][0].update(objective="three"), "objective 'three' is not"),
        (lambda b: b["questions"][1].update(objective="one"), "'two' is not asked"),
        (lambda b: b["questions"][2]["choices"].pop(), "at least two choices"),
        (lambda b: b["questions"][0]["choices"][0].update(text="Second"), "same text"),
        (lambda b: b["questions"][0]["choices"][0].pop("text"), "needs a text"),
        (lambda b: b["questions"][0]["choices"][0].update(why=""), "needs an explanation"),
        (lambda b: b["questions"][0]["choices"][1].pop("correct"), "cannot be answered"),
        (lambda b: b["questions"][0]["choices"][1].update(correct="yes"), "true or false"),
        (lambda b: b["questions"].append("oops"), "not a table"),
        (
            lambda b: b["questions"][0].update(
                choices=[{"text": str(i), "why": "w", "correct": True} for i in range(11)]
            ),
            "at most 10 choices",
        ),
    ],
)
def test_validate_reports_each_problem(edit, message):
    bank = _demo()
    edit(bank)
    problems = validate_bank(bank, "demo.toml")
    assert any(message in p for p in problems), problems
    assert all(p.startswith("demo.toml") for p in problems)


# --------------------------------------------------------------------------- loading


@pytest.mark.parametrize(
    "name",
    [2, "2", "02", "02_data_augmentation", "data_augmentation", "02_data_augmentation.ipynb"],
)
def test_load_quiz_accepts_lesson_spellings(name):
    assert load_quiz(name).lesson == "02_data_augmentation"


def test_load_quiz_from_a_file(tmp_path):
    quiz = demo_quiz(tmp_path)  # loaded from a Path
    assert quiz.lesson == "99_demo" and quiz.ids == ("demo-a", "demo-b", "demo-c")
    assert quiz["demo-a"].correct_keys == ("b",) and quiz["demo-b"].correct_keys == ("a", "c")
    assert load_quiz(str(tmp_path / "99_demo.toml")) == quiz


def test_load_quiz_unknown_lesson():
    with pytest.raises(ValueError, match="lesson must be one of"):
        load_quiz("99")


def test_load_quiz_wrong_type():
    with pytest.raises(TypeError, match="lesson must be a str, int or Path; got float"):
        load_quiz(2.0)


def test_load_quiz_missing_file(tmp_path):
    with pytest.raises(ValueError, match="no question bank at"):
        load_quiz(tmp_path / "nothing.toml")


def test_load_quiz_invalid_toml(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("lesson = \n", encoding="utf-8")
    with pytest.raises(ValueError, match="bad.toml is not valid TOML"):
        load_quiz(path)


def test_load_quiz_invalid_bank(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('lesson = "x"\ntitle = "X"\n', encoding="utf-8")
    with pytest.raises(ValueError, match="invalid question bank:\nbad.toml: no objectives"):
        load_quiz(path)


def test_quiz_lookup(demo):
    assert demo["demo-a"].choice("b").correct
    with pytest.raises(KeyError, match="no question 'nope'"):
        demo["nope"]
    with pytest.raises(KeyError, match="no choice 'z'"):
        demo["demo-a"].choice("z")


def test_sample_is_seeded_and_keeps_order():
    quiz = load_quiz("course")
    first = quiz.sample(5, seed=1)
    assert first.ids == quiz.sample(5, seed=1).ids
    assert len(first) == 5 and len(set(first.ids)) == 5
    order = [quiz.ids.index(i) for i in first.ids]
    assert order == sorted(order)
    assert first.ids != quiz.sample(5, seed=2).ids


def test_review_quiz_draws_evenly_from_every_lesson():
    review = review_quiz(per_lesson=3, seed=4)
    assert review.title == "Course review" and len(review) == 3 * len(BANKS)
    lessons = [q.lesson for q in review.questions]
    assert lessons == sorted(lessons) and all(lessons.count(b) == 3 for b in BANKS)
    assert review.ids == review_quiz(per_lesson=3, seed=4).ids
    assert review.ids != review_quiz(per_lesson=3, seed=5).ids


@pytest.mark.parametrize(
    ("per_lesson", "error"), [(0, ValueError), (99, ValueError), (1.5, TypeError)]
)
def test_review_quiz_rejects_bad_sizes(per_lesson, error):
    with pytest.raises(error, match="per_lesson must be"):
        review_quiz(per_lesson=per_lesson)


@pytest.mark.parametrize("n", [0, 10_000, 2.5, True])
def test_sample_rejects_bad_n(n):
    with pytest.raises(ValueError, match="n must be an int between 1 and"):
        load_quiz("01").sample(n)


# --------------------------------------------------------------------------- shuffling


def test_shuffled_keeps_each_choice_with_its_explanation_and_rekeys(demo):
    for seed in range(20):
        mixed = demo.shuffled(seed)
        assert mixed.ids == demo.ids
        for before, after in zip(demo.questions, mixed.questions, strict=True):
            assert [c.key for c in after.choices] == list("abc"[: len(after.choices)])
            assert {(c.text, c.correct, c.why) for c in after.choices} == {
                (c.text, c.correct, c.why) for c in before.choices
            }
    assert demo.shuffled(3) == demo.shuffled(3)
    orders = {tuple(c.text for c in demo.shuffled(s)["demo-a"].choices) for s in range(30)}
    assert len(orders) == 6  # every order of three choices occurs


def test_shuffled_rejects_a_bad_seed(demo):
    with pytest.raises(TypeError, match="seed must be an int; got str"):
        demo.shuffled("1")


# --------------------------------------------------------------------------- the banks' shape


def test_correct_choice_is_the_longest_in_at_most_40_percent_of_each_bank():
    for name in BANKS:
        quiz = load_quiz(name)
        longest = 0
        for question in quiz.questions:
            lengths = [len(c.text) for c in question.choices]
            best = max(lengths)
            if any(c.correct and len(c.text) == best for c in question.choices) and (
                lengths.count(best) == 1
            ):
                longest += 1
        assert longest <= 0.4 * len(quiz), f"{name}: the right choice is the longest in {longest}"


@pytest.mark.parametrize("name", BANKS)
def test_each_bank_has_two_code_reading_questions(name):
    quiz = load_quiz(name)
    assert sum(is_code_reading(q) for q in quiz.questions) >= 2, name


@pytest.mark.parametrize("name", BANKS)
def test_no_choice_points_at_another_by_position(name):
    pattern = re.compile(
        r"\b(both|all|none) of (the )?(above|these)\b"
        r"|\b(both|either|neither) [a-e] (and|or|nor) [a-e]\b"
        r"|\b[a-e]\) and [a-e]\)",
        re.IGNORECASE,
    )
    for question in load_quiz(name).questions:
        for choice in question.choices:
            assert not pattern.search(choice.text), (question.id, choice.text)


# --------------------------------------------------------------------------- text output


def test_text_hides_the_answers(demo):
    text = str(demo)
    flat = " ".join(text.split())
    assert text.startswith("Quiz: Demo (3 questions)")
    for question in demo.questions:
        assert question.id in text
        for choice in question.choices:
            assert choice.text in flat
            assert choice.why not in flat
    assert "(pick all that apply)" in flat
    assert "\n       print(len([1, 2, 3]))\n" in text  # code kept verbatim, indented
    assert max(len(line) for line in text.splitlines()[:-1]) <= 88


def test_every_bank_prints_within_88_columns():
    for name in BANKS:
        text = str(load_quiz(name))
        assert max(len(line) for line in text.splitlines()[:-1]) <= 88, name


def test_html_keeps_answers_behind_details(demo):
    html = demo._repr_html_()
    assert html.count("<details>") == len(demo)
    assert "Show the answer" in html
    assert "<pre><code>print(len([1, 2, 3]))</code></pre>" in html


# --------------------------------------------------------------------------- check_answers


def test_check_answers_scores_and_explains(demo):
    result = check_answers(demo, {"demo-a": "B)", "demo-b": ["c", "a"]})
    assert (result.score, result.total) == (2, 3)
    assert result.fraction == pytest.approx(2 / 3)
    assert result.unanswered == ("demo-c",)
    wrong = check_answers(demo, {"demo-a": "a"})["demo-a"]
    assert not wrong.is_correct
    assert wrong.chosen == ("a",) and wrong.correct_keys == ("b",)
    assert wrong.verdict == "Not quite: the answer is b"
    assert wrong.explanations[0] == "a) wrong: First. Not this one."
    assert wrong.explanations[1] == "b) right: Second. Yes, the second."
    assert result["demo-b"].chosen == ("a", "c")


def test_check_answers_accepts_choice_text(demo):
    assert check_answers(demo, {"demo-a": "Second"}).score == 1


def test_partial_multiple_answer_is_wrong(demo):
    result = check_answers(demo, {"demo-b": ["a"]})
    assert result.score == 0
    assert result["demo-b"].correct_keys == ("a", "c")


def test_result_reports(demo):
    result = check_answers(demo, {"demo-a": "b", "demo-c": "b"})
    text = str(result)
    assert text.startswith("Score: 1 / 3")
    assert "demo-c: Not quite" in text and "Not answered: demo-b" in text
    markdown = result.to_markdown()
    assert "| demo-a | b | b | correct |" in markdown
    assert "| demo-c | b | a | wrong |" in markdown
    html = result._repr_html_()
    assert "Score: 1 / 3" in html and html.count("<tr>") == 3
    with pytest.raises(KeyError, match="no answer was given for 'demo-b'"):
        result["demo-b"]


def test_empty_quiz_scores_zero():
    result = check_answers(Quiz("none", "Nothing"), {})
    assert (result.score, result.total, result.fraction) == (0, 0, 0.0)
    assert str(result) == "Score: 0 / 0"


def test_check_answers_unknown_id(demo):
    with pytest.raises(ValueError, match=r"answers: unknown question id\(s\) \['nope'\]"):
        check_answers(demo, {"nope": "a"})


def test_check_answers_unknown_choice(demo):
    with pytest.raises(ValueError, match=r"answers\['demo-a'\]: 'e' is not a choice"):
        check_answers(demo, {"demo-a": "e"})


def test_check_answers_several_choices_for_one_answer(demo):
    with pytest.raises(ValueError, match="this question has one answer; got 2 choices"):
        check_answers(demo, {"demo-a": ["a", "b"]})


def test_check_answers_empty_choice_list(demo):
    with pytest.raises(ValueError, match="no choice given"):
        check_answers(demo, {"demo-a": []})


def test_check_answers_answer_of_wrong_type(demo):
    with pytest.raises(TypeError, match=r"answers\['demo-a'\] must be a choice key"):
        check_answers(demo, {"demo-a": 1})


def test_check_answers_needs_a_mapping(demo):
    with pytest.raises(TypeError, match="answers must be a mapping"):
        check_answers(demo, [("demo-a", "b")])


def test_check_answers_needs_a_quiz():
    with pytest.raises(TypeError, match="quiz must be a Quiz or a lesson name; got NoneType"):
        check_answers(None, {})
