"""The question banks are valid, answerable and explained; scoring and the quiz widget."""

import copy
import sys

import pytest

from course_utils.course import LESSONS
from course_utils.quiz import (
    Quiz,
    QuizWidget,
    available_quizzes,
    check_answers,
    load_quiz,
    quiz_widget,
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


VALID = {
    "lesson": "99_demo",
    "title": "Demo",
    "objectives": {"one": "First objective", "two": "Second objective"},
    "questions": [
        {
            "id": "demo-a",
            "objective": "one",
            "prompt": "Pick b.",
            "choices": [
                {"text": "A", "why": "Not a."},
                {"text": "B", "why": "Yes, b.", "correct": True},
            ],
        },
        {
            "id": "demo-b",
            "objective": "two",
            "prompt": "Pick a and c.",
            "choices": [
                {"text": "A", "why": "Yes.", "correct": True},
                {"text": "B", "why": "No."},
                {"text": "C", "why": "Yes.", "correct": True},
            ],
        },
    ],
}


def _demo():
    bank = copy.deepcopy(VALID)
    return bank


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


def test_seed_questions_are_in_their_lessons():
    assert "augmentation" in load_quiz("02")["aug-why"].prompt
    conv = load_quiz("04")["cnn-conv-purpose"]
    assert conv.correct_keys == ("c",)
    assert "edges" in conv.choice("c").text


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
        (lambda b: b["questions"][0]["choices"].pop(), "at least two choices"),
        (lambda b: b["questions"][0]["choices"][0].update(text="B"), "same text"),
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
    path = tmp_path / "mine.toml"
    path.write_text(
        'lesson = "99_demo"\ntitle = "Demo"\n[objectives]\none = "x"\n'
        '[[questions]]\nid = "q1"\nobjective = "one"\nprompt = "p"\n'
        '[[questions.choices]]\ntext = "a"\nwhy = "w"\ncorrect = true\n'
        '[[questions.choices]]\ntext = "b"\nwhy = "w"\n',
        encoding="utf-8",
    )
    quiz = load_quiz(path)
    assert quiz.ids == ("q1",) and quiz.questions[0].correct_keys == ("a",)
    assert load_quiz(str(path)).ids == ("q1",)


def test_load_quiz_unknown_lesson():
    with pytest.raises(ValueError, match="lesson must be one of"):
        load_quiz("09")


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


def test_quiz_lookup():
    quiz = load_quiz("04")
    assert quiz["cnn-pool-shape"].choice("a").correct
    with pytest.raises(KeyError, match="no question 'nope'"):
        quiz["nope"]
    with pytest.raises(KeyError, match="no choice 'z'"):
        quiz["cnn-pool-shape"].choice("z")


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


# --------------------------------------------------------------------------- text output


def test_text_hides_the_answers():
    quiz = load_quiz("02")
    text = str(quiz)
    flat = " ".join(text.split())
    assert text.startswith("Quiz: Data augmentation (10 questions)")
    assert quiz.questions[0].prompt.split()[0] in text
    for question in quiz.questions:
        assert question.id in text
        for choice in question.choices:
            assert choice.text in flat
            assert choice.why not in flat
    assert "(pick all that apply)" in flat
    assert max(len(line) for line in text.splitlines()[:-1]) <= 88


def test_html_keeps_answers_behind_details():
    html = load_quiz("04")._repr_html_()
    assert html.count("<details>") == len(load_quiz("04"))
    assert "Show the answer" in html


# --------------------------------------------------------------------------- check_answers


def test_check_answers_scores_and_explains():
    result = check_answers(
        "02",
        {"aug-why": "a", "aug-flip": "B)", "aug-label-safe": ["c", "b", "a"], "aug-memory": "b"},
    )
    assert (result.score, result.total) == (3, 10)
    assert result.fraction == pytest.approx(0.3)
    assert len(result.unanswered) == 6
    wrong = result["aug-memory"]
    assert not wrong.is_correct
    assert wrong.chosen == ("b",) and wrong.correct_keys == ("a",)
    assert wrong.verdict == "Not quite: the answer is a"
    assert wrong.explanations[0].startswith("a) right:")
    assert wrong.explanations[1].startswith("b) wrong: Both need the same memory.")
    assert result["aug-why"].verdict == "Correct"
    assert result["aug-label-safe"].chosen == ("a", "b", "c")


def test_check_answers_accepts_choice_text():
    quiz = load_quiz("06")
    text = quiz["pred-softmax-sum"].choice("b").text
    assert check_answers(quiz, {"pred-softmax-sum": text}).score == 1


def test_partial_multiple_answer_is_wrong():
    result = check_answers("05", {"train-overfit-remedies": ["a", "b"]})
    assert result.score == 0
    assert result["train-overfit-remedies"].correct_keys == ("a", "b", "d")


def test_result_reports():
    result = check_answers("01", {"flow-order": "b", "flow-prefetch": "b"})
    text = str(result)
    assert text.startswith("Score: 1 / 10")
    assert "flow-prefetch: Not quite" in text and "Not answered: flow-augment-count" in text
    markdown = result.to_markdown()
    assert "| flow-order | b | b | correct |" in markdown
    assert "| flow-prefetch | b | a | wrong |" in markdown
    html = result._repr_html_()
    assert "Score: 1 / 10" in html and html.count("<tr>") == 3
    with pytest.raises(KeyError, match="no answer was given for 'flow-two-epochs'"):
        result["flow-two-epochs"]


def test_empty_quiz_scores_zero():
    result = check_answers(Quiz("none", "Nothing"), {})
    assert (result.score, result.total, result.fraction) == (0, 0, 0.0)
    assert str(result) == "Score: 0 / 0"


def test_check_answers_unknown_id():
    with pytest.raises(ValueError, match=r"answers: unknown question id\(s\) \['nope'\]"):
        check_answers("01", {"nope": "a"})


def test_check_answers_unknown_choice():
    with pytest.raises(ValueError, match=r"answers\['flow-order'\]: 'e' is not a choice"):
        check_answers("01", {"flow-order": "e"})


def test_check_answers_several_choices_for_one_answer():
    with pytest.raises(ValueError, match="this question has one answer; got 2 choices"):
        check_answers("01", {"flow-order": ["a", "b"]})


def test_check_answers_empty_choice_list():
    with pytest.raises(ValueError, match="no choice given"):
        check_answers("01", {"flow-order": []})


def test_check_answers_answer_of_wrong_type():
    with pytest.raises(TypeError, match=r"answers\['flow-order'\] must be a choice key"):
        check_answers("01", {"flow-order": 1})


def test_check_answers_needs_a_mapping():
    with pytest.raises(TypeError, match="answers must be a mapping"):
        check_answers("01", [("flow-order", "b")])


def test_check_answers_needs_a_quiz():
    with pytest.raises(TypeError, match="quiz must be a Quiz or a lesson name; got NoneType"):
        check_answers(None, {})


# --------------------------------------------------------------------------- the widget


def test_widget_one_question_at_a_time_with_feedback_and_score():
    widget = quiz_widget("02", static=False)
    assert isinstance(widget, QuizWidget)
    assert "question 1 of 10" in widget.header.value and "score 0 / 0" in widget.header.value
    assert widget.radio.options[0] == (f"a) {widget.question.choices[0].text}", "a")
    assert widget.feedback.value == ""
    widget.check()  # nothing picked yet
    assert "Pick an answer first" in widget.feedback.value
    widget.select("a")
    assert widget.feedback.value == ""
    feedback = widget.check()
    assert feedback.is_correct
    assert "Correct." in widget.feedback.value
    assert widget.question.choices[1].why in widget.feedback.value  # every choice explained
    assert "(your answer)" in widget.feedback.value
    assert "score 1 / 1" in widget.header.value
    assert widget.radio.disabled and widget.check_button.disabled

    widget.next_button.click()
    assert widget.index == 1 and not widget.radio.disabled and widget.radio.value is None
    widget.select("a")  # wrong: the answer is b
    widget.check_button.click()
    assert "Not quite." in widget.feedback.value and "The answer is b." in widget.feedback.value
    assert "score 1 / 2" in widget.header.value
    widget.select("b")  # changing the answer after checking does not change the score
    widget.check()
    assert widget.score == 1 and widget.answers["aug-flip"] == ("a",)


def test_widget_multiple_answers_use_checkboxes():
    widget = quiz_widget("02", static=False)
    widget.index = widget.quiz.ids.index("aug-label-safe") - 1
    widget.next()
    assert widget.question.multiple
    assert widget.radio.layout.display == "none"
    assert len(widget.checks) == 4
    assert "pick all that apply" in widget.prompt.value
    widget.select("a", "b", "c")
    assert widget.selected() == ("a", "b", "c")
    assert widget.check().is_correct
    assert all(box.disabled for box in widget.checks)


def test_widget_finishes_and_restarts():
    quiz = load_quiz("06").sample(2, seed=0)
    widget = quiz_widget(quiz, static=False)
    widget.select(*widget.question.correct_keys)
    widget.check()
    assert widget.next_button.description == "Next question"
    widget.next()
    assert widget.next_button.description == "See your score"
    widget.next()  # skip the last question
    assert "finished" in widget.header.value and "score 1 / 2" in widget.header.value
    assert "You skipped 1 question(s)" in widget.prompt.value
    assert not widget.done
    widget.restart_button.click()
    assert (widget.index, widget.score, widget.answers) == (0, 0, {})
    for _ in range(2):
        widget.select(*widget.question.correct_keys)
        widget.check()
        widget.next()
    assert widget.done and "You answered 2 of 2" in widget.prompt.value
    assert "skipped" not in widget.prompt.value


def test_widget_select_rejects_bad_keys():
    widget = quiz_widget("01", static=False)
    with pytest.raises(ValueError, match=r"keys: \['z'\] are not choices"):
        widget.select("z")
    with pytest.raises(ValueError, match="takes one choice; got 2"):
        widget.select("a", "b")


def test_widget_displays_as_text_without_a_widget_front_end():
    widget = quiz_widget("05", static=False)
    bundle = widget._repr_mimebundle_()
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == widget.box.model_id
    assert bundle["text/plain"] == str(load_quiz("05")) == str(widget)
    assert "<details>" in bundle["text/html"]


def test_quiz_widget_is_text_outside_a_kernel(monkeypatch):
    from course_utils import widgets

    monkeypatch.setattr(widgets, "widgets_available", lambda: False)
    assert quiz_widget("02") == load_quiz("02")
    assert isinstance(quiz_widget("02", static=False), QuizWidget)
    monkeypatch.setattr(widgets, "widgets_available", lambda: True)
    assert isinstance(quiz_widget("02"), QuizWidget)
    assert isinstance(quiz_widget("02", static=True), Quiz)


def test_widget_needs_questions():
    with pytest.raises(ValueError, match="quiz: 'none' has no questions"):
        quiz_widget(Quiz("none", "Nothing"), static=False)


def test_widget_controls_are_keyboard_reachable():
    import ipywidgets

    widget = quiz_widget("04", static=False)
    controls = [widget.radio, widget.check_button, widget.next_button, widget.restart_button]
    assert all(isinstance(c, ipywidgets.DOMWidget) for c in controls)
    assert all(c.tooltip for c in controls[1:])
