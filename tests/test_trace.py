"""Tests for course_utils.trace: the training trace callback and the prediction trace."""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest
from matplotlib.figure import Figure

from course_utils.augment import make_augmenter
from course_utils.models import build_course_cnn
from course_utils.plots import feature_maps
from course_utils.trace import (
    PATIENCE,
    EpochRow,
    TrainingTrace,
    ValidationTurn,
    epoch_observations,
    plot_trace_epoch,
    prediction_trace,
    trace_metrics,
    validation_turn,
)

L = keras.layers

#: The loss and accuracy numbers of the course's data-augmentation lesson sketch.
SEED_HISTORY = {"loss": [1.2, 0.9, 0.7, 0.55, 0.45], "accuracy": [0.55, 0.68, 0.75, 0.82, 0.87]}


# ---------------------------------------------------------------------------
# epoch_observations


def test_each_observation_rule_by_value():
    loss = [2.0, 1.5, 1.4, 1.39, 1.5, 1.2, float("nan"), 1.0]
    notes = epoch_observations(loss, accuracy=[0.25] + [0.5] * 7)
    keywords = [note.split(":")[0] for note in notes]
    assert keywords == [
        "starts learning",
        "improving",
        "slowing",
        "plateau",
        "unstable",
        "improving",
        "diverged",
        "loss 1",
    ]
    assert notes[0] == "starts learning: loss 2, accuracy 25%"
    assert notes[1] == "improving: loss -25%"
    assert notes[2] == "slowing: loss only -7%"


def oracle_keywords(loss, val_loss=None, patience=PATIENCE):
    """The documented rules, written out again without looking at the implementation."""
    words = []
    for n, now in enumerate(loss):
        before = loss[n - 1] if n else None
        if not math.isfinite(now):
            words.append("diverged")
            continue
        if n == 0:
            words.append("starts learning")
            continue
        if not math.isfinite(before) or before == 0:
            words.append("loss")
            continue
        change = (before - now) / abs(before)
        seen = [v for v in (val_loss or [])[: n + 1] if v is not None and math.isfinite(v)]
        lowest_at = val_loss.index(min(seen)) if seen else None
        if lowest_at is not None and n - lowest_at >= patience and now < loss[lowest_at]:
            words.append("overfitting")
        elif change >= 0.10:
            words.append("improving")
        elif "improving" not in words and change > -0.02 and now >= 0.75 * loss[0]:
            words.append("warming up")
        elif change >= 0.02:
            words.append("slowing")
        elif change > -0.02:
            words.append("plateau")
        else:
            words.append("unstable")
    return words


def keywords(notes):
    """The keyword of each observation ("loss 0.5", the bare number, reads as "loss")."""
    return [
        note.split(":")[0].split(" ")[0] if note.startswith("loss") else note.split(":")[0]
        for note in notes
    ]


# Synthetic runs, each with the keywords expected by hand (checked against the oracle too).
FALLING = [2.0, 1.6, 1.3, 1.05, 0.85, 0.7, 0.57, 0.46, 0.37, 0.3]
SYNTHETIC = {
    # warm-up: the loss stays near epoch 1's, then the fast phase, then it slows and stalls
    "warm-up": (
        [2.35, 2.3, 2.27, 2.2, 1.9, 1.5, 1.2, 1.15, 1.14],
        None,
        ["starts learning"] + ["warming up"] * 3 + ["improving"] * 3 + ["slowing", "plateau"],
    ),
    # single-epoch rises of the validation loss are wiggles, not overfitting
    "wiggles": (
        FALLING,
        [2.0, 1.8, 1.9, 1.6, 1.7, 1.5, 1.55, 1.4, 1.45, 1.35],
        ["starts learning"] + ["improving"] * 9,
    ),
    # both curves flat: a plateau, not overfitting (the training loss did not fall)
    "plateau": (
        [2.0, 1.5, 1.5, 1.5, 1.5, 1.5, 1.5, 1.5],
        [2.0, 1.6, 1.7, 1.7, 1.7, 1.7, 1.7, 1.7],
        ["starts learning", "improving"] + ["plateau"] * 6,
    ),
    # a real U-turn: lowest validation loss at epoch 5, then up; overfitting from epoch 10
    "u-turn": (
        FALLING,
        [2.0, 1.6, 1.3, 1.1, 1.0, 1.05, 1.1, 1.2, 1.3, 1.4],
        ["starts learning"] + ["improving"] * 8 + ["overfitting"],
    ),
}


@pytest.mark.parametrize("name", SYNTHETIC)
def test_observations_of_synthetic_runs_by_value(name):
    loss, val_loss, expected = SYNTHETIC[name]
    notes = epoch_observations(loss, val_loss=val_loss)
    assert keywords(notes) == expected
    assert keywords(notes) == oracle_keywords(loss, val_loss)


@pytest.mark.parametrize("seed", range(30))
def test_observations_agree_with_the_oracle_on_random_runs(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 30))
    loss = list(2.3 * np.cumprod(1 - rng.uniform(-0.05, 0.3, n)))
    val_loss = list(np.array(loss) + rng.uniform(0, 1.0) * np.linspace(0, 1, n) ** 2)
    val_loss = [v + rng.normal(0, 0.05) for v in val_loss]
    if n > 3:
        loss[int(rng.integers(1, n))] = float("nan")
        val_loss[int(rng.integers(0, n))] = float("nan")
    patience = int(rng.integers(1, 6))
    notes = epoch_observations(loss, val_loss=val_loss, patience=patience)
    assert keywords(notes) == oracle_keywords(loss, val_loss, patience)


def test_overfitting_is_judged_against_the_running_minimum_with_a_patience():
    loss, val_loss, _ = SYNTHETIC["u-turn"]
    notes = epoch_observations(loss, val_loss=val_loss, patience=3)
    assert keywords(notes)[-3:] == ["overfitting"] * 3  # epochs 8, 9, 10: 3 or more after 5
    assert notes[-1] == (
        "overfitting: no new lowest validation loss for 5 epochs (1 at epoch 5) while "
        "training loss fell 0.85 -> 0.3"
    )
    # a new minimum resets the count, as in keras.callbacks.EarlyStopping
    val_again = val_loss[:8] + [0.9, 1.0]
    assert keywords(epoch_observations(loss, val_again, patience=3))[-3:] == [
        "overfitting",
        "improving",
        "improving",
    ]


def test_warm_up_ends_at_the_first_fast_epoch_or_far_from_the_start():
    assert keywords(epoch_observations([2.3, 2.25, 1.8, 1.79]))[1:] == [
        "warming up",
        "improving",
        "plateau",  # after the fast phase a small change is a plateau again
    ]
    slow = [1.0, 0.95, 0.9, 0.85, 0.8, 0.74, 0.7]  # never fast; leaves the start by 25 %
    assert keywords(epoch_observations(slow))[1:] == ["warming up"] * 4 + ["slowing"] * 2
    assert epoch_observations([2.3, 2.27])[1] == "warming up: loss -1%, still near epoch 1"
    assert keywords(epoch_observations([2.3, 2.4]))[1] == "unstable"  # rising is not warm-up


def test_patience_is_checked():
    with pytest.raises(ValueError, match="patience must be >= 1"):
        epoch_observations([1.0], patience=0)
    with pytest.raises(TypeError, match="patience must be"):
        TrainingTrace(patience=2.5)


# ---------------------------------------------------------------------------
# validation_turn


def line_fit(values):
    """Least-squares line through (0, v0), (1, v1), ... by the normal equations."""
    n = len(values)
    x_mean, y_mean = (n - 1) / 2, sum(values) / n
    slope = sum((x - x_mean) * (y - y_mean) for x, y in enumerate(values)) / sum(
        (x - x_mean) ** 2 for x in range(n)
    )
    residuals = [y - (y_mean + slope * (x - x_mean)) for x, y in enumerate(values)]
    return slope * (n - 1), math.sqrt(sum(r * r for r in residuals) / n)


def test_a_real_u_turn_is_confirmed():
    val_loss = SYNTHETIC["u-turn"][1]
    turn = validation_turn(val_loss, patience=5)
    assert isinstance(turn, ValidationTurn)
    assert (turn.best_epoch, turn.best, turn.epochs_after) == (5, 1.0, 5)
    rise, wiggle = line_fit(val_loss[4:])
    assert (turn.rise, turn.wiggle) == (pytest.approx(rise), pytest.approx(wiggle))
    assert turn.rise > 0.35 and turn.wiggle < 0.03
    assert turn.confirmed
    assert str(turn).endswith("a real U-turn")


def test_noise_above_the_minimum_is_not_a_u_turn():
    # ends 6 % above its minimum (the old 1.05x margin would call this a U-turn), but the
    # epochs after the minimum only wiggle around it
    val_loss = [2.0, 1.5, 1.2, 1.10, 1.18, 1.12, 1.19, 1.12, 1.18, 1.13, 1.17]
    assert val_loss[-1] > 1.05 * min(val_loss)
    turn = validation_turn(val_loss, patience=5)
    assert turn.best_epoch == 4 and turn.epochs_after == 7
    rise, wiggle = line_fit(val_loss[3:])
    assert (turn.rise, turn.wiggle) == (pytest.approx(rise), pytest.approx(wiggle))
    assert turn.rise < 2 * turn.wiggle and not turn.confirmed
    assert str(turn).endswith("no confirmed U-turn")


def test_a_turn_needs_patience_epochs_after_the_minimum():
    short = [2.0, 1.2, 1.0, 1.5, 2.0]  # a steep rise, but only 2 epochs after the minimum
    assert not validation_turn(short, patience=3).confirmed
    assert validation_turn(short, patience=2).confirmed
    last = validation_turn([2.0, 1.5, float("nan"), 1.0])
    assert (last.best_epoch, last.epochs_after, last.rise, last.wiggle) == (4, 0, 0.0, 0.0)
    gap = validation_turn([1.0, None, 1.2, 1.3], patience=3)  # None skipped in the fit
    assert gap.epochs_after == 3 and gap.rise == pytest.approx(0.3) and gap.confirmed


def test_validation_turn_errors():
    with pytest.raises(ValueError, match="at least one finite number"):
        validation_turn([None, float("nan")])
    with pytest.raises(ValueError, match="the trace has no val_loss"):
        TrainingTrace.from_history({"loss": [1.0]}).validation_turn()


def test_trace_validation_turn_uses_its_patience():
    loss, val_loss, _ = SYNTHETIC["u-turn"]
    trace = TrainingTrace.from_history({"loss": loss, "val_loss": val_loss}, patience=6)
    assert trace.patience == 6
    assert trace.validation_turn() == validation_turn(val_loss, patience=6)
    assert not trace.validation_turn().confirmed  # 5 epochs after the minimum < 6
    assert "overfitting" not in keywords(trace.observations)


def test_previous_loss_of_zero_gives_only_the_number():
    assert epoch_observations([0.0, 0.0]) == ["starts learning: loss 0", "loss 0"]


# ---------------------------------------------------------------------------
# TrainingTrace from numbers


def test_from_history_dict_gives_rows_epochs_and_observations():
    trace = TrainingTrace.from_history(SEED_HISTORY)
    assert trace.epochs == [1, 2, 3, 4, 5] and len(trace) == 5
    assert trace.history == SEED_HISTORY
    assert trace.seconds == [None] * 5
    row = trace.rows[1]
    assert isinstance(row, EpochRow)
    assert (row.epoch, row.loss, row.accuracy, row.val_loss) == (2, 0.9, 0.68, None)
    assert row.observation == trace.observations[1] == "improving: loss -25%"
    with pytest.raises(AttributeError):
        row.__missing_dunder__  # noqa: B018


def test_text_chart_reproduces_the_course_sketch():
    chart = TrainingTrace.from_history(SEED_HISTORY).text_chart()
    assert chart.splitlines() == [
        " 1.2 |*",
        " 1.0 |  *",
        " 0.8 |    *",
        " 0.6 |      *",
        " 0.4 |        *",
        "     +----------",
        "      1 2 3 4 5",
        "      Epochs",
    ]


def test_text_chart_marks_validation_and_overlaps():
    trace = TrainingTrace.from_history({"loss": [1.0, 0.5], "val_loss": [1.0, 0.7]})
    chart = trace.text_chart()
    assert chart.splitlines()[0] == " 1.0 |#"
    assert "o" in chart and "(* loss, o val_loss)" in chart
    assert "o" not in trace.text_chart(validation=False).replace("Epochs", "")


def test_text_chart_of_a_flat_or_gappy_series():
    flat = TrainingTrace.from_history({"loss": [0.5, 0.5, 0.5]}).text_chart()
    assert flat.splitlines()[0] == " 0.5 |* * *"
    gappy = TrainingTrace.from_history({"loss": [3.0, float("nan"), 1.0]}).text_chart()
    assert gappy.splitlines()[0] == " 3.0 |*"
    assert sum(line.count("*") for line in gappy.splitlines()) == 2


def test_text_chart_errors():
    trace = TrainingTrace.from_history({"loss": [float("nan")], "accuracy": [0.5]})
    with pytest.raises(ValueError, match=r"metric must be one of \['accuracy', 'loss'\]"):
        trace.text_chart("val_loss")
    with pytest.raises(ValueError, match="height must be >= 2"):
        trace.text_chart(height=1)
    with pytest.raises(ValueError, match="no finite values"):
        trace.text_chart("loss")


def test_table_as_text_markdown_and_html():
    trace = TrainingTrace.from_history(
        {**SEED_HISTORY, "val_loss": [1.1, 1.0, 1.05, 0.9, 0.8], "val_accuracy": [0.5] * 5}
    )
    markdown = trace.to_markdown().splitlines()
    assert markdown[0] == (
        "| Epoch | Loss ↓ | Accuracy ↑ | Val loss ↓ | Val accuracy ↑ | Observation |"
    )
    assert markdown[4] == "| 3 | 0.7 | 0.75 | 1.05 | 0.5 | improving: loss -22% |"
    text = str(trace)
    assert "Observation" in text and "Epochs" in text
    html = trace._repr_html_()
    assert "<table>" in html and "<pre>" in html


def test_empty_trace_says_so_and_cannot_be_plotted():
    trace = TrainingTrace()
    assert str(trace) == "TrainingTrace: no epochs recorded yet"
    assert "no epochs" in trace._repr_html_()
    with pytest.raises(ValueError, match="no epochs yet"):
        trace.plot()


def test_legacy_acc_names_and_missing_keys():
    trace = TrainingTrace.from_history({"loss": [1.0, 0.5], "acc": [0.4, 0.6]})
    assert trace.observations[0] == "starts learning: loss 1, accuracy 40%"
    assert "Accuracy ↑" in trace.to_markdown()


@pytest.mark.parametrize(
    ("history", "error", "words"),
    [
        (None, TypeError, "history must be a keras History"),
        ([1.0, 0.5], TypeError, "history must be a keras History"),
        ({"accuracy": [0.5]}, ValueError, "must contain 'loss'"),
        ({"loss": [1.0, 0.5], "accuracy": [0.5]}, ValueError, "one value per epoch"),
    ],
)
def test_from_history_errors(history, error, words):
    with pytest.raises(error, match=words):
        TrainingTrace.from_history(history)


def test_plot_draws_loss_and_accuracy_with_validation():
    trace = TrainingTrace.from_history({**SEED_HISTORY, "val_loss": [1.0] * 5})
    fig = trace.plot()
    assert isinstance(fig, Figure)
    assert [ax.get_title() for ax in fig.axes] == ["Loss", "Accuracy"]
    assert len(fig.axes[0].lines) == 2 and len(fig.axes[1].lines) == 1
    np.testing.assert_allclose(fig.axes[0].lines[0].get_ydata(), SEED_HISTORY["loss"])


def test_plot_loss_only_into_a_given_figure_and_many_epochs():
    fig = Figure()
    trace = TrainingTrace.from_history({"loss": list(np.linspace(2, 1, 25))})
    assert trace.plot(fig=fig) is fig and [ax.get_title() for ax in fig.axes] == ["Loss"]
    with pytest.raises(TypeError, match="fig must be a matplotlib Figure"):
        trace.plot(fig="figure")


def test_plot_many_epochs_keeps_the_axis_on_whole_epochs():
    trace = TrainingTrace.from_history({"loss": list(np.linspace(2, 1, 30))})
    ax = trace.plot().axes[0]
    ax.figure.canvas.draw()
    low, high = ax.get_xlim()
    assert -1.5 < low < 1 and 30 < high < 32.5
    ticks = [t for t in ax.get_xticks() if low <= t <= high]
    assert ticks and all(float(t).is_integer() for t in ticks)


# ---------------------------------------------------------------------------
# TrainingTrace as a callback, and prediction_trace


@pytest.fixture(scope="module")
def trained():
    """The course CNN on 16x16 images, trained 2 epochs on 64 images with a trace."""
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (64, 16, 16, 3), dtype=np.uint8)
    labels = rng.integers(0, 3, 64)
    keras.utils.set_random_seed(0)
    model = build_course_cnn((16, 16, 3), 3, augmenter=make_augmenter(), dropout=0.2)
    trace = TrainingTrace()
    history = model.fit(
        images,
        labels,
        epochs=2,
        batch_size=16,
        validation_split=0.25,
        verbose=0,
        callbacks=[trace],
    )
    return model, trace, history, images


def test_callback_records_every_epoch_with_seconds(trained):
    model, trace, history, _ = trained
    assert trace.epochs == [1, 2]
    assert set(trace.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    for key, values in history.history.items():
        np.testing.assert_allclose(trace.history[key], values, rtol=1e-6)
    assert all(s is not None and s > 0 for s in trace.seconds)
    assert "Seconds" in trace.to_markdown()
    assert len(trace.observations) == 2


def test_history_object_gives_the_same_numbers(trained):
    _, trace, history, _ = trained
    from_history = TrainingTrace.from_history(history)
    assert from_history.history == trace.history
    assert from_history.observations == trace.observations


def test_callback_keeps_counting_over_several_fits():
    trace = TrainingTrace()
    for epoch in range(3):
        trace.on_epoch_begin(epoch)
        trace.on_epoch_end(epoch, {"loss": 1.0 / (epoch + 1)})
    trace.on_epoch_end(0, None)  # an epoch without a start and without logs
    assert trace.epochs == [1, 2, 3, 4]
    assert trace.seconds[3] is None and trace.history["loss"][3] is None
    assert trace.observations[3].startswith("diverged")


def test_prediction_trace_walks_every_layer_of_the_course_cnn(trained):
    model, _, _, images = trained
    trace = prediction_trace(model, images[0], class_names=["cat", "dog", "car"])
    assert [s.name for s in trace.steps] == [
        "input",
        "augmentation",
        "rescale",
        "conv1",
        "pool1",
        "conv2",
        "pool2",
        "flatten",
        "dense",
        "dropout",
        "probabilities",
    ]
    assert [s.index for s in trace.steps] == list(range(1, 12))
    by_name = {s.name: s for s in trace.steps}
    assert by_name["conv1"].output_shape == (14, 14, 32)
    maps = feature_maps(model, images[0], "conv1")
    assert by_name["conv1"].mean == pytest.approx(float(maps.mean()), rel=1e-5)
    assert by_name["conv1"].max == pytest.approx(float(maps.max()), rel=1e-5)
    assert by_name["conv1"].zero_fraction == pytest.approx(float(np.mean(maps == 0)))
    assert by_name["conv1"].picture.shape == (4, 14, 14)
    assert by_name["flatten"].picture is None
    assert by_name["input"].picture.shape == (1, 16, 16, 3)
    assert by_name["augmentation"].mean == pytest.approx(by_name["input"].mean)  # off
    expected = model.predict(images[:1], verbose=0)[0]
    np.testing.assert_allclose(trace.probabilities, expected, rtol=1e-5)
    assert trace.predicted == int(np.argmax(expected))
    assert trace.predicted_class == ["cat", "dog", "car"][trace.predicted]
    assert trace.confidence == pytest.approx(float(expected.max()), rel=1e-5)
    assert trace.top(2)[0] == (trace.predicted_class, pytest.approx(trace.confidence))
    assert trace.note == ""


def test_prediction_trace_shows_itself_as_text_markdown_html_and_figure(trained):
    model, _, _, images = trained
    trace = prediction_trace(model, images[1])
    text = str(trace)
    assert text.startswith("Prediction trace: 11 steps")
    assert f"Prediction: {trace.predicted_class} (" in text
    assert "| 4 | conv1 | Conv2D | 14x14x32 |" in trace.to_markdown()
    html = trace._repr_html_()
    # the input image, 3 channels of augmentation and rescale, 4 maps of each conv/pool
    assert html.count("<img") == 1 + 3 + 3 + 4 * 4
    fig = trace.plot()
    pictured = [s for s in trace.steps if s.picture is not None]
    assert len(fig.axes) == len(pictured) + 1
    assert fig.axes[0].get_title() == "1. input\n16x16x3"
    assert fig.axes[-1].get_title().startswith(trace.predicted_class)
    small = trace.plot(fig=Figure(), max_panels=3)
    assert len(small.axes) == 4
    assert [ax.get_title().split("\n")[0] for ax in small.axes[:3]] == [
        "1. input",
        "4. conv1",
        "7. pool2",
    ]


def test_prediction_trace_of_a_functional_residual_grayscale_model_with_logits():
    inputs = keras.Input((12, 12, 1))
    x = L.Conv2D(4, 3, padding="same", name="stem")(inputs)
    x = L.BatchNormalization(name="bn")(x)
    y = L.Conv2D(4, 3, padding="same", activation="relu", name="branch")(x)
    x = L.Add(name="skip")([x, y])
    x = L.GlobalAveragePooling2D(name="gap")(x)
    model = keras.Model(inputs, L.Dense(3, name="logits")(x))
    gray = np.linspace(0, 255, 144).reshape(12, 12)
    trace = prediction_trace(model, gray)
    assert [s.name for s in trace.steps] == [
        "input",
        "stem",
        "bn",
        "branch",
        "skip",
        "gap",
        "logits",
    ]
    by_name = {s.name: s for s in trace.steps}
    assert by_name["skip"].output_shape == (12, 12, 4)
    assert "residual" in by_name["skip"].description
    assert trace.note == "the model outputs logits: softmax applied"
    logits = np.asarray(model(gray[None, ..., None]))[0]
    expected = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
    np.testing.assert_allclose(trace.probabilities, expected, rtol=1e-5, atol=1e-12)
    assert trace.class_names == ["0", "1", "2"]
    assert "softmax applied" in str(trace) and "softmax applied" in trace._repr_html_()


def test_prediction_trace_of_a_100x150_photo_with_one_sigmoid_output():
    model = keras.Sequential(
        [L.Conv2D(2, 3), L.MaxPooling2D(), L.GlobalAveragePooling2D(), L.Dense(1, "sigmoid")]
    )  # no Input: built from the photo
    photo = np.random.default_rng(3).integers(0, 256, (100, 150, 3), dtype=np.uint8)
    trace = prediction_trace(model, photo, class_names=["no", "yes"])
    assert [s.output_shape for s in trace.steps[:3]] == [(100, 150, 3), (98, 148, 2), (49, 74, 2)]
    p = float(np.asarray(model(photo[None].astype("float32")))[0, 0])
    np.testing.assert_allclose(trace.probabilities, [1 - p, p], rtol=1e-5)
    assert trace.note.startswith("one sigmoid output")


def test_prediction_trace_of_one_logit_output():
    model = keras.Sequential([keras.Input((4, 4, 3)), L.Flatten(), L.Dense(1, name="logit")])
    model.get_layer("logit").set_weights([np.full((48, 1), 1.0), np.array([-5.0])])
    trace = prediction_trace(model, np.full((4, 4, 3), 1.0))  # logit 48 - 5 = 43
    assert trace.predicted == 1 and "sigmoid applied" in trace.note


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        ({"class_names": ["a", "b"]}, ValueError, r"one name per class \(3\)"),
        ({"class_names": "abc"}, TypeError, "class_names must be a sequence"),
        ({"image": np.zeros((16, 16, 1))}, ValueError, "3 channel"),
        ({"image": np.full((16, 16, 3), np.nan)}, ValueError, "finite"),
        ({"image": None}, TypeError, "image must be"),
        ({"model": "cnn"}, TypeError, "model must be a keras Model"),
    ],
)
def test_prediction_trace_rejects_bad_arguments(trained, kwargs, error, words):
    model, _, _, images = trained
    arguments = {"model": model, "image": images[0], **kwargs}
    with pytest.raises(error, match=words):
        prediction_trace(**arguments)


def test_prediction_trace_needs_class_scores_that_are_finite():
    feature_model = keras.Sequential([keras.Input((6, 6, 3)), L.Conv2D(2, 3)])
    with pytest.raises(ValueError, match=r"must output class scores \(N, K\)"):
        prediction_trace(feature_model, np.zeros((6, 6, 3)))
    broken = keras.Sequential([keras.Input((2, 2, 1)), L.Flatten(), L.Lambda(lambda t: t / 0.0)])
    with pytest.raises(ValueError, match="finite class scores"):
        prediction_trace(broken, np.zeros((2, 2, 1)))


def test_plot_settings_are_checked(trained):
    model, _, _, images = trained
    trace = prediction_trace(model, images[0])
    with pytest.raises(ValueError, match="max_panels must be >= 1"):
        trace.plot(max_panels=0)
    with pytest.raises(TypeError, match="fig must be a matplotlib Figure"):
        trace.plot(fig=1)


# --------------------------------------------------------------------------- replay

HISTORY = {
    "loss": [1.2, 0.9, 0.7, 0.5],
    "accuracy": [0.5, 0.6, 0.7, 0.8],
    "val_loss": [1.3, 1.0, 0.9, 0.95],
    "val_accuracy": [0.45, 0.55, 0.6, 0.62],
}


class _Recorded:
    """Looks like a TrainingTrace or a keras History: a ``history`` dict."""

    def __init__(self, history, observations=None):
        self.history = history
        if observations is not None:
            self.observations = observations


def test_trace_metrics_from_a_mapping():
    metrics, notes = trace_metrics(HISTORY)
    assert metrics == HISTORY
    assert notes == TrainingTrace.from_history(HISTORY).observations
    assert notes[3].startswith("improving")  # one epoch of higher val_loss is a wiggle
    assert trace_metrics({"accuracy": [0.5, 0.6]})[1] == ["", ""]  # no loss: no observations


def test_trace_metrics_from_a_training_trace():
    trace = TrainingTrace.from_history({"loss": [1.0, 0.8], "accuracy": [0.4, 0.6]})
    metrics, notes = trace_metrics(trace)
    assert metrics == {"loss": [1.0, 0.8], "accuracy": [0.4, 0.6]}
    assert notes == trace.observations


def test_trace_metrics_from_a_history_with_observations():
    metrics, notes = trace_metrics(_Recorded(HISTORY, ["starts", "learns"]))
    assert metrics["val_loss"] == HISTORY["val_loss"]
    assert notes == ["starts", "learns", "", ""]  # the trace's own remarks are kept
    assert trace_metrics(_Recorded({"loss": np.array([1.0, 2.0])}))[0] == {"loss": [1.0, 2.0]}


@pytest.mark.parametrize(
    ("trace", "error", "message"),
    [
        (42, TypeError, "trace must be a keras History"),
        ({"loss": "high"}, TypeError, r"trace\['loss'\] must be a list of numbers"),
        ({}, ValueError, "at least one epoch"),
        ({"loss": []}, ValueError, "at least one epoch"),
        ({"loss": [1.0, 0.5], "accuracy": [0.5]}, ValueError, "one value per epoch"),
    ],
)
def test_trace_metrics_errors(trace, error, message):
    with pytest.raises(error, match=message):
        trace_metrics(trace)


def test_plot_trace_epoch_structure():
    fig = plot_trace_epoch(HISTORY, epoch=2)
    assert [ax.get_title() for ax in fig.axes] == ["loss", "accuracy"]
    loss_ax = fig.axes[0]
    labels = [
        line.get_label() for line in loss_ax.get_lines() if not line.get_label().startswith("_")
    ]
    assert labels == ["loss", "val_loss"]
    replayed = [line for line in loss_ax.get_lines() if line.get_label() == "loss"][0]
    assert list(replayed.get_xdata()) == [1, 2]
    assert fig._suptitle.get_text() == "Training curves replayed up to epoch 2 of 4"


def test_plot_trace_epoch_other_metric_groups():
    assert [ax.get_title() for ax in plot_trace_epoch({"accuracy": [0.1]}, 1).axes] == ["accuracy"]
    assert [ax.get_title() for ax in plot_trace_epoch({"lr": [0.1] * 20}, 20).axes] == ["metric"]


def test_plot_trace_epoch_errors():
    with pytest.raises(ValueError, match="epoch must be between 1 and 4; got 5"):
        plot_trace_epoch(HISTORY, 5)
    with pytest.raises(TypeError, match="epoch must be an int; got float"):
        plot_trace_epoch(HISTORY, 1.0)
