"""Explorers: the pure transforms by value, the widgets headless, the static fallbacks."""

import base64
import html
import io
import sys
import types

import ipywidgets
import keras
import numpy as np
import pytest
from matplotlib.figure import Figure
from PIL import Image
from test_quiz import demo_quiz

from course_utils import widgets
from course_utils.augment import AugmentationSettings, augment_image, random_settings
from course_utils.quiz import Quiz, check_answers, learner_seed
from course_utils.trace import TrainingTrace
from course_utils.widgets import (
    AugmentationExplorer,
    FeatureMapExplorer,
    QuizWidget,
    TraceExplorer,
    augmentation_explorer,
    colorize,
    feature_map_explorer,
    plot_augmentation,
    quiz_widget,
    trace_explorer,
    widgets_available,
)


def _image(height=24, width=24):
    """A small image with structure: a horizontal and a vertical gradient and a bright block."""
    y, x = np.mgrid[0:height, 0:width]
    image = np.stack([x * 255 / (width - 1), y * 255 / (height - 1), np.full_like(x, 60.0)], -1)
    image[2:8, 3:9] = 250
    return image.astype(np.uint8)


def _row(explorer) -> str:
    """The trace explorer's table row, without cell styles."""
    return explorer.row.value.replace(' style="text-align:left"', "")


def _decode(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)))


@pytest.fixture(scope="module")
def tiny_model():
    model = keras.Sequential(
        [
            keras.Input((16, 16, 3)),
            keras.layers.Rescaling(1 / 255),
            keras.layers.Conv2D(4, 3, activation="relu", name="conv_a"),
            keras.layers.MaxPooling2D(name="pool_a"),
            keras.layers.Conv2D(6, 3, activation="relu", name="conv_b"),
            keras.layers.Flatten(),
            keras.layers.Dense(3, activation="softmax"),
        ]
    )
    return model


@pytest.fixture
def demo(tmp_path):
    return demo_quiz(tmp_path)


HISTORY = {
    "loss": [1.2, 0.9, 0.7, 0.5],
    "accuracy": [0.5, 0.6, 0.7, 0.8],
    "val_loss": [1.3, 1.0, 0.9, 0.95],
    "val_accuracy": [0.45, 0.55, 0.6, 0.62],
}


# --------------------------------------------------------------------------- detection


def test_widgets_unavailable_outside_a_kernel(monkeypatch):
    monkeypatch.delenv(widgets.STATIC_ENV, raising=False)
    assert widgets_available() is False


def test_widgets_available_in_a_kernel(monkeypatch):
    import IPython

    kernel = type("ZMQInteractiveShell", (), {})()
    monkeypatch.setattr(IPython, "get_ipython", lambda: kernel)
    monkeypatch.delenv(widgets.STATIC_ENV, raising=False)
    assert widgets_available() is True
    monkeypatch.setenv(widgets.STATIC_ENV, "1")
    assert widgets_available() is False


def test_widgets_available_in_colab(monkeypatch):
    import IPython

    terminal = type("TerminalInteractiveShell", (), {})()
    monkeypatch.setattr(IPython, "get_ipython", lambda: terminal)
    monkeypatch.delenv(widgets.STATIC_ENV, raising=False)
    assert widgets_available() is False  # a terminal IPython, even with Colab's modules
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    assert widgets_available() is False
    # Colab's shell subclasses ipykernel's ZMQInteractiveShell
    colab = type("Shell", (type("ZMQInteractiveShell", (), {}),), {})()
    monkeypatch.setattr(IPython, "get_ipython", lambda: colab)
    assert widgets_available() is True


def test_static_none_follows_detection(monkeypatch):
    monkeypatch.setattr(widgets, "widgets_available", lambda: True)
    assert isinstance(augmentation_explorer(_image()), AugmentationExplorer)
    monkeypatch.setattr(widgets, "widgets_available", lambda: False)
    assert isinstance(augmentation_explorer(_image()), Figure)


def test_static_must_be_bool_or_none():
    with pytest.raises(TypeError, match="static must be True, False or None; got str"):
        augmentation_explorer(_image(), static="yes")


# --------------------------------------------------------------------------- plot_augmentation


def test_plot_augmentation_default_shows_four_draws():
    fig = plot_augmentation(_image())
    assert isinstance(fig, Figure) and len(fig.axes) == 5
    assert fig.axes[0].get_title() == "original"
    assert fig.axes[1].get_title() == str(random_settings(0)).replace(", ", "\n")
    assert "augmented" in fig._suptitle.get_text()
    assert len(fig.axes[1].images) == 1


def test_plot_augmentation_one_setting_into_a_given_figure():
    fig = Figure()
    out = plot_augmentation(_image(), AugmentationSettings(flip=True), fig=fig)
    assert out is fig and [ax.get_title() for ax in fig.axes] == ["original", "flipped"]
    shown = fig.axes[1].images[0].get_array()
    np.testing.assert_allclose(shown, _image()[:, ::-1] / 255, atol=1e-6)  # drawn in [0, 1]


def test_plot_augmentation_errors():
    with pytest.raises(TypeError, match="settings must be an AugmentationSettings"):
        plot_augmentation(_image(), [{"rotation": 3}])
    with pytest.raises(TypeError, match="fig must be a matplotlib Figure or None"):
        plot_augmentation(_image(), fig="figure")


# --------------------------------------------------------------------------- augmentation explorer


def test_explorer_starts_with_the_original():
    explorer = augmentation_explorer(_image(), static=False)
    assert isinstance(explorer, AugmentationExplorer)
    assert isinstance(explorer.box, ipywidgets.VBox)
    assert explorer.result_image.value == explorer.original_image.value
    assert "unchanged" in explorer.caption.value
    assert "RandomRotation(0.1)" in explorer.code.value and "RandomZoom(0.2)" in explorer.code.value


def test_moving_a_slider_changes_the_result_image():
    explorer = augmentation_explorer(_image(), static=False)
    before = explorer.result_image.value
    explorer.rotation.value = 0.125  # an eighth of a turn, as RandomRotation's factor
    assert explorer.result_image.value != before
    np.testing.assert_array_equal(explorer.result, augment_image(_image(), rotation=0.125))
    assert "rotated +0.12 turn (+45 deg)" in explorer.caption.value
    assert "RandomRotation((0.125, 0.125))" in explorer.caption.value
    shown = _decode(explorer.result_image.value)
    assert shown.shape[0] >= 192  # small images are enlarged for display
    explorer.brightness.value = 0.3
    assert explorer.settings == AugmentationSettings(rotation=0.125, brightness=0.3)


def test_sliders_use_the_keras_units_and_say_so():
    explorer = augmentation_explorer(_image(), static=False)
    assert (explorer.rotation.min, explorer.rotation.max) == (-0.5, 0.5)
    assert "turns" in explorer.rotation.description
    assert "fraction of a full turn" in explorer.rotation.tooltip
    assert "+ out" in explorer.zoom.description and "positive zooms out" in explorer.zoom.tooltip
    explorer.zoom.value = 0.3
    zoom = keras.layers.RandomZoom((0.3, 0.3), fill_mode="reflect")
    expected = np.asarray(zoom(_image()[np.newaxis].astype(np.float32), training=True))[0]
    np.testing.assert_allclose(explorer.result, expected, atol=1e-3)
    assert "zoom +0.30 (out)" in explorer.caption.value


def test_flip_toggle_mirrors_the_result():
    explorer = augmentation_explorer(_image(), static=False)
    explorer.flip.value = True
    np.testing.assert_array_equal(explorer.result, _image()[:, ::-1])


def test_new_random_draw_sets_the_controls():
    explorer = augmentation_explorer(_image(), seed=5, static=False)
    explorer.draw_button.click()
    expected = random_settings(6)
    assert explorer.settings == expected
    assert explorer.rotation.value == expected.rotation
    np.testing.assert_array_equal(explorer.result, augment_image(_image(), **vars(expected)))
    second = explorer.new_draw()
    assert second == random_settings(7) and explorer.draws == 2
    explorer.reset_button.click()
    assert explorer.settings == AugmentationSettings()
    assert explorer.result_image.value == explorer.original_image.value


def test_explorer_shrinks_large_images():
    explorer = augmentation_explorer(np.zeros((64, 32, 3), np.uint8), max_size=16, static=False)
    assert explorer.image.shape == (16, 8, 3)
    assert augmentation_explorer(_image(), max_size=None, static=False).image.shape == (24, 24, 3)


def test_explorer_falls_back_to_a_static_image():
    explorer = augmentation_explorer(_image(), static=False)
    bundle = explorer._repr_mimebundle_()
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == explorer.box.model_id
    png = base64.b64decode(bundle["image/png"])
    assert png.startswith(b"\x89PNG")
    assert 'alt="The original image and 3 augmented version(s)' in bundle["text/html"]
    assert bundle["text/plain"].startswith("AugmentationExplorer: The original image")
    explorer.rotation.value = 0.1
    assert len(explorer.static_figure().axes) == 5


def test_large_images_are_shown_at_their_size_and_figures_have_alt_text():
    explorer = augmentation_explorer(np.zeros((200, 220, 3), np.uint8), static=False)
    assert _decode(explorer.result_image.value).shape == (200, 220, 3)
    fig = Figure()
    assert widgets._alt(fig) == "figure"
    fig.add_subplot().set_title("loss")
    assert widgets._alt(fig) == "loss"


def test_explorer_static_figure():
    fig = augmentation_explorer(_image(), static=True)
    assert isinstance(fig, Figure) and len(fig.axes) == 5


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"rotation": 0.8}, ValueError, r"rotation must be in \[0, 0.5\]"),
        ({"flip": "horizontal"}, TypeError, "flip must be True or False; got str"),
        ({"seed": None}, TypeError, "seed must be an int >= 0; got None"),
        ({"max_size": 4}, ValueError, "max_size must be >= 8; got 4"),
        ({"max_size": 2.5}, TypeError, "max_size must be an int; got float"),
    ],
)
def test_augmentation_explorer_errors(kwargs, error, message):
    with pytest.raises(error, match=message):
        augmentation_explorer(_image(), static=False, **kwargs)


# --------------------------------------------------------------------------- feature maps


def test_colorize_uses_viridis_from_weak_to_strong():
    from matplotlib import colormaps

    rgb = colorize(np.array([[0.0, 0.5], [1.0, 2.0]]))
    assert rgb.shape == (2, 2, 3) and rgb.dtype == np.uint8
    low, high = (np.round(np.array(colormaps["viridis"](v)[:3]) * 255) for v in (0.0, 1.0))
    np.testing.assert_array_equal(rgb[0, 0], low)
    np.testing.assert_array_equal(rgb[1, 1], high)
    np.testing.assert_array_equal(colorize(np.ones((3, 3)))[2, 2], low)


def test_colorize_errors():
    with pytest.raises(ValueError, match=r"feature_map must have shape \(H, W\)"):
        colorize(np.zeros((2, 2, 2)))
    with pytest.raises(ValueError, match="feature_map must be finite"):
        colorize(np.array([[np.nan, 1.0]]))


def test_feature_map_explorer_switches_channel_and_layer(tiny_model):
    image = _image(16, 16)
    explorer = feature_map_explorer(tiny_model, image, static=False)
    assert isinstance(explorer, FeatureMapExplorer)
    assert list(explorer.layer.options) == ["conv_a", "pool_a", "conv_b"]
    assert explorer.maps.shape == (14, 14, 4) and explorer.channel.max == 3
    assert "output 14x14x4" in explorer.caption.value
    shown = {}
    for channel in range(4):
        explorer.channel.value = channel
        shown[channel] = explorer.map_image.value
        np.testing.assert_array_equal(
            _decode(shown[channel])[::14, ::14], colorize(explorer.maps[..., channel])
        )
    assert len({png for png in shown.values()} | {b""}) >= 3
    explorer.layer.value = "conv_b"
    assert explorer.maps.shape == (5, 5, 6) and explorer.channel.max == 5
    assert "<code>conv_b</code>: output 5x5x6" in explorer.caption.value
    explorer.layer.value = "pool_a"  # cached maps are reused
    assert explorer.maps.shape == (7, 7, 4)
    bundle = explorer._repr_mimebundle_()
    assert "image/png" in bundle


def test_feature_map_explorer_static(tiny_model):
    fig = feature_map_explorer(tiny_model, _image(16, 16), layer="conv_b", static=True)
    assert isinstance(fig, Figure)
    assert "conv_b" in widgets._alt(fig)


def test_feature_map_explorer_unknown_layer(tiny_model):
    with pytest.raises(ValueError, match=r"layer must be one of \['conv_a', 'pool_a', 'conv_b'\]"):
        feature_map_explorer(tiny_model, _image(16, 16), layer="dense", static=False)


def test_feature_map_explorer_needs_a_model():
    with pytest.raises(TypeError, match="model must be a keras Model"):
        feature_map_explorer(None, _image(16, 16))


# --------------------------------------------------------------------------- training trace


class _Recorded:
    """Looks like a TrainingTrace or a keras History: a ``history`` dict."""

    def __init__(self, history, observations=None):
        self.history = history
        if observations is not None:
            self.observations = observations


def test_trace_explorer_after_a_real_fit():
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    trace = TrainingTrace()
    x = np.random.default_rng(0).random((16, 4)).astype("float32")
    y = (x[:, 0] > 0.5).astype("int64")
    model.fit(x, y, epochs=2, batch_size=8, validation_split=0.25, verbose=0, callbacks=[trace])
    explorer = trace_explorer(trace, static=False)
    assert explorer.epoch.max == 2
    assert set(explorer.metrics) >= {"loss", "accuracy", "val_loss", "val_accuracy"}
    explorer.epoch.value = 2
    assert html.escape(trace.observations[1]) in _row(explorer)
    assert "<th>epoch</th><th>loss</th><th>accuracy</th><th>val_loss</th>" in _row(explorer)


def test_missing_values_show_as_a_dash():
    explorer = trace_explorer({"loss": [1.0, 0.5], "val_loss": [None, 0.7]}, static=False)
    assert "<td>1</td><td>1</td><td>-</td>" in _row(explorer)


def test_trace_explorer_replays_epochs():
    explorer = trace_explorer(_Recorded(HISTORY, ["a", "b", "c", "overfits"]), static=False)
    assert isinstance(explorer, TraceExplorer)
    assert explorer.epoch.max == 4 and explorer.play.max == 4
    first = explorer.plot.value
    assert "<td>1</td><td>1.2</td>" in _row(explorer)
    explorer.epoch.value = 4
    assert explorer.plot.value != first
    assert "<td>4</td><td>0.5</td>" in _row(explorer) and "overfits" in _row(explorer)
    assert "image/png" in explorer._repr_mimebundle_()


def test_trace_explorer_static():
    fig = trace_explorer(HISTORY, static=True)
    assert isinstance(fig, Figure) and "epoch 4 of 4" in fig._suptitle.get_text()


def test_widget_and_text_show_the_learners_order(demo, monkeypatch):
    monkeypatch.setenv("COURSE_QUIZ_SEED", "5")
    assert learner_seed() == 5
    shown = quiz_widget(demo, static=True)
    assert shown == demo.shuffled(5)
    widget = quiz_widget(demo, static=False)
    assert widget.quiz == demo.shuffled(5)
    right = shown["demo-a"].correct_keys
    assert check_answers(shown, {"demo-a": right}).score == 1
    assert check_answers(widget, {"demo-a": right}).score == 1
    monkeypatch.setenv("COURSE_QUIZ_SEED", "five")
    with pytest.raises(ValueError, match="COURSE_QUIZ_SEED must be an integer; got 'five'"):
        learner_seed()
    monkeypatch.delenv("COURSE_QUIZ_SEED")
    assert learner_seed() == learner_seed()


# --------------------------------------------------------------------------- the widget


def test_widget_one_question_at_a_time_with_feedback_and_score(demo):
    widget = quiz_widget(demo, static=False, seed=0)
    quiz = demo.shuffled(0)
    assert isinstance(widget, QuizWidget)
    assert "question 1 of 3" in widget.header.value and "score 0 / 0" in widget.header.value
    assert widget.radio.options[0] == (f"a) {quiz.questions[0].choices[0].text}", "a")
    assert widget.feedback.value == ""
    widget.check()  # nothing picked yet
    assert "Pick an answer first" in widget.feedback.value
    right = quiz["demo-a"].correct_keys[0]
    wrong = next(c.key for c in quiz["demo-a"].choices if not c.correct)
    widget.select(right)
    assert widget.feedback.value == ""
    feedback = widget.check()
    assert feedback.is_correct
    assert "Correct." in widget.feedback.value
    assert all(c.why in widget.feedback.value for c in quiz["demo-a"].choices)
    assert "(your answer)" in widget.feedback.value
    assert "score 1 / 1" in widget.header.value
    assert widget.radio.disabled and widget.check_button.disabled

    widget.next_button.click()  # demo-b: pick all that apply
    assert widget.index == 1 and widget.question.multiple
    assert widget.radio.layout.display == "none" and len(widget.checks) == 3
    assert "pick all that apply" in widget.prompt.value
    widget.select(*quiz["demo-b"].correct_keys)
    assert widget.selected() == quiz["demo-b"].correct_keys
    assert widget.check().is_correct
    assert all(box.disabled for box in widget.checks)

    widget.next()  # demo-c: a code-reading question, answered wrongly
    assert "<pre><code>print(len([1, 2, 3]))</code></pre>" in widget.prompt.value
    not_three = next(c.key for c in widget.question.choices if not c.correct)
    widget.select(not_three)
    widget.check_button.click()
    answer = quiz["demo-c"].correct_keys[0]
    assert "Not quite." in widget.feedback.value
    assert f"The answer is {answer}." in widget.feedback.value
    assert "score 2 / 3" in widget.header.value
    widget.select(answer)  # changing the answer after checking does not change the score
    widget.check()
    assert widget.score == 2 and widget.answers["demo-c"] == (not_three,)
    assert wrong != right


def test_widget_finishes_and_restarts(demo):
    quiz = demo.sample(2, seed=0)
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


def test_widget_select_rejects_bad_keys(demo):
    widget = quiz_widget(demo, static=False)
    with pytest.raises(ValueError, match=r"keys: \['z'\] are not choices"):
        widget.select("z")
    with pytest.raises(ValueError, match="takes one choice; got 2"):
        widget.select("a", "b")


def test_widget_displays_as_text_without_a_widget_front_end(demo):
    widget = quiz_widget(demo, static=False, seed=1)
    bundle = widget._repr_mimebundle_()
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == widget.box.model_id
    assert bundle["text/plain"] == str(demo.shuffled(1)) == str(widget)
    assert "<details>" in bundle["text/html"]


def test_quiz_widget_is_text_outside_a_kernel(demo, monkeypatch):
    monkeypatch.setattr(widgets, "widgets_available", lambda: False)
    assert quiz_widget(demo, seed=2) == demo.shuffled(2)
    assert isinstance(quiz_widget(demo, static=False), QuizWidget)
    monkeypatch.setattr(widgets, "widgets_available", lambda: True)
    assert isinstance(quiz_widget(demo), QuizWidget)
    assert isinstance(quiz_widget(demo, static=True), Quiz)


def test_widget_needs_questions():
    with pytest.raises(ValueError, match="quiz: 'none' has no questions"):
        quiz_widget(Quiz("none", "Nothing"), static=False)


def test_quiz_widget_is_keyboard_reachable(demo):
    """Every control is a focusable ipywidgets control with a label, in the order Tab visits."""
    widget = quiz_widget(demo, static=False, seed=0)
    children = list(widget.box.children)
    controls = [widget.radio, widget.checks_box, widget.buttons]
    assert [children.index(c) for c in controls] == sorted(children.index(c) for c in controls)
    assert children.index(widget.prompt) < children.index(widget.radio)  # read, then pick
    buttons = list(widget.buttons.children)
    assert buttons == [widget.check_button, widget.next_button, widget.restart_button]
    for button in buttons:
        assert isinstance(button, ipywidgets.Button) and button.description and button.tooltip
    assert isinstance(widget.radio, ipywidgets.RadioButtons) and not widget.radio.disabled
    assert all(label.startswith(f"{key}) ") for label, key in widget.radio.options)
    widget.next()  # a pick-all-that-apply question: one labelled checkbox per choice
    assert widget.radio.layout.display == "none"
    assert all(isinstance(box, ipywidgets.Checkbox) for box in widget.checks)
    assert [box.description[:3] for box in widget.checks] == ["a) ", "b) ", "c) "]
    assert list(widget.checks_box.children) == widget.checks and not any(
        box.disabled for box in widget.checks
    )
