"""compare(): set-ups trained over seeds, their spread, overlaps, table and plot.

The model is tiny (a few dozen 12x12 images, one epoch), so each run takes a
fraction of a second; values are checked against hand-computed statistics and
against the same run written out by hand.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf
from matplotlib.axes import Axes

from course_utils.compare import Comparison, Run, Spread, as_augment, compare
from course_utils.data import make_shapes

SIZE = 12
COMPILE = dict(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])


def _build():
    return keras.Sequential(
        [
            keras.Input((SIZE, SIZE, 3)),
            keras.layers.Rescaling(1 / 255),
            keras.layers.Conv2D(4, 3, activation="relu"),
            keras.layers.Flatten(),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )


@pytest.fixture(scope="module")
def data():
    x, y = make_shapes(48, image_size=SIZE, seed=0)
    xt, yt = make_shapes(20, image_size=SIZE, seed=1)
    return (x, y), {"test": (xt, yt), "again": (xt[:10], yt[:10])}


@pytest.fixture(scope="module")
def result(data):
    train, tests = data
    setups = {"none": None, "mixup": keras.layers.MixUp(), "flip": keras.layers.RandomFlip()}
    return compare(
        setups, _build, train, tests, seeds=(0, 1), epochs=1, batch_size=16, compile_args=COMPILE
    )


def _fake(values):
    """A Comparison with given accuracies: {setup: [acc per seed]} on test 't'."""
    runs = [
        Run(name, seed, {"t": acc}, 1.0, 0.5, 2.0, 2)
        for name, accs in values.items()
        for seed, acc in enumerate(accs)
    ]
    seeds = range(len(next(iter(values.values()))))
    return Comparison(runs, list(values), ["t"], list(seeds), epochs=2, batch_size=8)


# ------------------------------------------------------------------ statistics by value


def test_spread_by_value():
    comparison = _fake({"a": [0.5, 0.6, 0.7], "b": [0.65, 0.8, 0.9]})
    spread = comparison.spread("a", "t")
    assert spread == Spread(pytest.approx(0.6), pytest.approx(0.1), 0.5, 0.7, 3)
    assert spread.interval("range") == (0.5, 0.7)
    assert spread.interval("sd") == (pytest.approx(0.5), pytest.approx(0.7))
    np.testing.assert_allclose(comparison.accuracies("b", "t"), [0.65, 0.8, 0.9])
    assert "0.600 ± 0.100 (0.500 to 0.700)" == str(spread)


def test_overlaps_by_range_and_by_sd():
    comparison = _fake({"a": [0.5, 0.6, 0.7], "b": [0.65, 0.8, 0.9], "c": [0.75, 0.8, 0.85]})
    assert comparison.overlaps("a", "b", "t")  # 0.65 <= 0.7
    assert not comparison.overlaps("a", "c", "t")
    assert comparison.overlaps("c", "b", "t") and comparison.overlaps("b", "c", "t")
    # mean +- sd: a is 0.5..0.7, b is 0.783 -/+ 0.126 = 0.657..0.909
    assert comparison.overlaps("a", "b", "t", interval="sd")
    assert not comparison.overlaps("a", "c", "t", interval="sd")


def test_single_seed_has_zero_sd():
    spread = _fake({"a": [0.4]}).spread("a", "t")
    assert spread.sd == 0.0 and spread.low == spread.high == 0.4


# ------------------------------------------------------------------ real runs


def test_runs_cover_every_setup_and_seed(result):
    assert result.setups == ("none", "mixup", "flip")
    assert result.tests == ("test", "again")
    assert [(r.setup, r.seed) for r in result.runs] == [
        (s, seed) for s in result.setups for seed in (0, 1)
    ]
    for run in result.runs:
        assert set(run.accuracy) == {"test", "again"}
        assert all(0 <= v <= 1 for v in run.accuracy.values())
        assert run.epochs == 1 and run.seconds > 0 and np.isfinite(run.train_loss)
        # accuracies are counts over 20 and 10 test images
        assert round(run.accuracy["test"] * 20, 6) == int(round(run.accuracy["test"] * 20))
    assert len(result.records()) == 6 and result.records()[0]["setup"] == "none"
    assert result.seconds == pytest.approx(sum(r.seconds for r in result.runs))


def test_same_seeds_repeat_the_same_numbers(data, result):
    train, tests = data
    setups = {"none": None, "mixup": keras.layers.MixUp(), "flip": keras.layers.RandomFlip()}
    again = compare(
        setups, _build, train, tests, seeds=(0, 1), epochs=1, batch_size=16, compile_args=COMPILE
    )
    assert [r.accuracy for r in again.runs] == [r.accuracy for r in result.runs]
    assert [r.train_loss for r in again.runs] == pytest.approx([r.train_loss for r in result.runs])


def test_a_run_equals_the_chain_written_out(data, result):
    """compare's run for (mixup, seed 1) is the tf.data chain of its docstring, by hand."""
    (x, y), tests = data
    keras.utils.set_random_seed(1)
    mixup = keras.layers.MixUp()
    model = _build()
    model.compile(**COMPILE)
    ds = (
        tf.data.Dataset.from_tensor_slices(
            {"images": x.astype("float32"), "labels": np.eye(10, dtype="float32")[y]}
        )
        .shuffle(len(x), seed=1)
        .batch(16)
        .map(mixup)
        .map(lambda b: (b["images"], b["labels"]))
    )
    history = model.fit(ds, epochs=1, verbose=0, shuffle=False)
    xt, yt = tests["test"]
    accuracy = float(np.mean(model.predict(xt, verbose=0).argmax(axis=1) == yt))
    run = [r for r in result.runs if r.setup == "mixup" and r.seed == 1][0]
    assert run.accuracy["test"] == accuracy
    assert run.train_loss == pytest.approx(history.history["loss"][-1], rel=1e-5)


def test_mixed_labels_lower_the_reported_training_accuracy_floor(result):
    # With MixUp the targets are soft; the loss is computed on them and stays finite.
    assert all(np.isfinite(r.train_loss) for r in result.runs if r.setup == "mixup")


def test_callable_and_sequential_setups(data):
    train, tests = data
    flip = keras.layers.RandomFlip("horizontal")
    result = compare(
        {
            "function": lambda images, labels: (images[:, :, ::-1], labels),
            "sequential": keras.Sequential([flip]),
        },
        _build,
        train,
        {"test": tests["test"]},
        seeds=(3,),
        epochs=1,
        compile_args=COMPILE,
    )
    assert result.seeds == (3,) and len(result.runs) == 2


def test_as_augment_applies_a_layer_to_a_dict():
    images = np.zeros((4, SIZE, SIZE, 3), "float32")
    images[:2] = 255.0
    labels = np.eye(10, dtype="float32")[[0, 0, 1, 1]]
    keras.utils.set_random_seed(0)
    out_images, out_labels = as_augment(keras.layers.MixUp(alpha=1.0))(images, labels)
    np.testing.assert_allclose(np.sum(out_labels, axis=1), 1.0, rtol=1e-5)
    # the label weight of class 0 is the share of the white images in each blend
    np.testing.assert_allclose(
        np.asarray(out_images)[:, 0, 0, 0] / 255.0, np.asarray(out_labels)[:, 0], atol=1e-5
    )
    assert as_augment(None) is None


# ------------------------------------------------------------------ display


def test_text_markdown_html_and_plot(result):
    text = str(result)
    assert "2 seeds [0, 1], 1 epochs" in text and "mixup" in text
    markdown = result.to_markdown()
    assert "| set-up | test: mean ± sd | test: range |" in markdown
    assert markdown.count("\n| ") == 4  # header + 3 set-ups
    assert "<table>" in result._repr_html_() and "flip" in result._repr_html_()
    ax = result.plot()
    assert isinstance(ax, Axes)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["none", "mixup", "flip"]
    assert len(ax.collections) == 3 * 2 * 3  # per set-up and test: range line, mean bar, dots
    assert ax.get_legend() is not None
    assert "Comparison(3 set-ups x 2 seeds" in repr(result)


def test_plot_draws_on_a_given_axes():
    from matplotlib.figure import Figure

    ax = Figure().add_subplot()
    assert _fake({"a": [0.1, 0.2]}).plot(ax=ax) is ax
    with pytest.raises(TypeError, match="ax must be a matplotlib Axes"):
        _fake({"a": [0.1, 0.2]}).plot(ax="left")


# ------------------------------------------------------------------ bad input


def test_unknown_names_and_interval():
    comparison = _fake({"a": [0.5, 0.6]})
    with pytest.raises(KeyError, match="no set-up 'b'"):
        comparison.spread("b", "t")
    with pytest.raises(KeyError, match="no test set 'u'"):
        comparison.accuracies("a", "u")
    with pytest.raises(ValueError, match="interval must be one of"):
        comparison.overlaps("a", "a", "t", interval="ci")


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"setups": {}}, TypeError, "setups must be a non-empty dict"),
        ({"setups": {"x": 3}}, TypeError, r"setups\['x'\] must be None, a Keras layer"),
        ({"setups": {"": None}}, TypeError, "setups keys must be non-empty strings"),
        ({"build_model": "cnn"}, TypeError, "build_model must be a function"),
        (
            {"train": np.zeros((4, SIZE, SIZE, 3))},
            TypeError,
            r"train must be a pair \(images, labels\)",
        ),
        (
            {"train": (np.zeros((SIZE, SIZE)), [0])},
            ValueError,
            r"train images must have shape \(N, H, W, C\)",
        ),
        (
            {"train": (np.zeros((4, SIZE, SIZE, 3)), [0, 1])},
            ValueError,
            r"one label per image \(4\)",
        ),
        ({"tests": {}}, TypeError, "tests must be a non-empty dict"),
        ({"tests": {"t": (np.zeros((2, 8, 8, 3)), [0, 1])}}, ValueError, "training images' shape"),
        ({"seeds": 0}, TypeError, "seeds must be a non-empty sequence"),
        ({"seeds": (0, 0)}, ValueError, "seeds must be distinct"),
        ({"seeds": (-1,)}, ValueError, "each seed must be >= 0"),
        ({"epochs": 0}, ValueError, "epochs must be >= 1"),
        ({"compile_args": None}, ValueError, "not compiled"),
        (
            {"compile_args": dict(optimizer="adam", loss="sparse_categorical_crossentropy")},
            ValueError,
            'use loss="categorical_crossentropy"',
        ),
        ({"build_model": lambda: "model"}, TypeError, "must return a Keras model"),
    ],
)
def test_bad_input_gets_a_clear_error(data, kwargs, error, message):
    train, tests = data
    arguments = dict(
        setups={"none": None},
        build_model=_build,
        train=train,
        tests={"test": tests["test"]},
        seeds=(0,),
        epochs=1,
        compile_args=COMPILE,
    )
    arguments.update(kwargs)
    with pytest.raises(error, match=message):
        compare(**arguments)


def test_too_few_outputs_for_the_labels(data):
    train, tests = data
    small = lambda: keras.Sequential(  # noqa: E731
        [
            keras.Input((SIZE, SIZE, 3)),
            keras.layers.Flatten(),
            keras.layers.Dense(3, activation="softmax"),
        ]
    )
    with pytest.raises(ValueError, match="the model has 3 outputs but the labels need 10 classes"):
        compare({"none": None}, small, train, tests, seeds=(0,), epochs=1, compile_args=COMPILE)
