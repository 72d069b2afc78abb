"""Tests for course_utils.models: the course CNN and the layer table."""

from __future__ import annotations

import re

import keras
import numpy as np
import pytest

from course_utils.augment import make_augmenter
from course_utils.models import (
    LayerTable,
    build_course_cnn,
    describe_layer,
    feature_map_layers,
    layer_table,
    model_differences,
)

L = keras.layers


def residual_model() -> keras.Model:
    """A Functional model the course does not use: BatchNorm, a residual block, grayscale."""
    inputs = keras.Input((12, 12, 1), name="gray")
    x = L.Conv2D(4, 3, padding="same", name="stem")(inputs)
    x = L.BatchNormalization(name="bn")(x)
    y = L.Conv2D(4, 3, padding="same", activation="relu", name="branch")(x)
    x = L.Add(name="skip")([x, y])
    x = L.GlobalAveragePooling2D(name="gap")(x)
    outputs = L.Dense(3, activation="softmax", name="out")(x)
    return keras.Model(inputs, outputs, name="residual")


def summary_rows(model: keras.Model) -> list[tuple[str, str, str, int]]:
    """Parse ``model.summary()`` into (name, type, output shape, params) rows.

    The caller sets ``COLUMNS`` wide enough that rich does not cut the table.
    """
    lines: list[str] = []
    model.summary(line_length=250, print_fn=lambda text, **_: lines.append(text))
    rows = []
    for line in "\n".join(lines).splitlines():
        if not line.startswith("│"):
            continue
        cells = [cell.strip() for cell in line.strip("│").split("│")]
        match = re.fullmatch(r"(\S+) \((\w+)\)", cells[0])
        assert match, line
        rows.append((match[1], match[2], cells[1], int(cells[2].replace(",", ""))))
    return rows


# ---------------------------------------------------------------------------
# build_course_cnn


def test_course_cnn_has_the_seed_architecture_and_shapes():
    model = build_course_cnn((64, 64, 3), num_classes=10)
    assert [layer.__class__.__name__ for layer in model.layers] == [
        "Rescaling",
        "Conv2D",
        "MaxPooling2D",
        "Conv2D",
        "MaxPooling2D",
        "Flatten",
        "Dense",
        "Dense",
    ]
    shapes = [tuple(layer.output.shape[1:]) for layer in model.layers]
    assert shapes == [
        (64, 64, 3),
        (62, 62, 32),
        (31, 31, 32),
        (29, 29, 64),
        (14, 14, 64),
        (12544,),
        (128,),
        (10,),
    ]
    conv1, conv2 = model.get_layer("conv1"), model.get_layer("conv2")
    assert (conv1.filters, tuple(conv1.kernel_size), conv2.filters) == (32, (3, 3), 64)
    assert model.get_layer("dense").activation.__name__ == "relu"
    assert model.get_layer("probabilities").activation.__name__ == "softmax"
    assert model.get_layer("rescale").scale == pytest.approx(1 / 255)
    assert model.count_params() == 896 + 18_496 + 1_605_760 + 1_290


def test_course_cnn_is_compiled_for_integer_labels():
    model = build_course_cnn((16, 16, 3), num_classes=4)
    assert isinstance(model.optimizer, keras.optimizers.Adam)
    assert model.loss == "sparse_categorical_crossentropy"
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (32, 16, 16, 3), dtype=np.uint8)
    history = model.fit(images, rng.integers(0, 4, 32), epochs=1, batch_size=16, verbose=0)
    assert set(history.history) == {"loss", "accuracy"}
    probabilities = model.predict(images[:2], verbose=0)
    assert probabilities.shape == (2, 4)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


def test_augmenter_comes_first_and_only_acts_while_training():
    augmenter = make_augmenter(seed=0)
    keras.utils.set_random_seed(1)
    with_aug = build_course_cnn((16, 16, 3), num_classes=3, augmenter=augmenter)
    plain = build_course_cnn((16, 16, 3), num_classes=3)
    plain.set_weights(with_aug.get_weights())
    assert with_aug.layers[0] is augmenter
    images = np.random.default_rng(1).uniform(0, 255, (4, 16, 16, 3)).astype("float32")
    inference = with_aug(images, training=False).numpy()
    np.testing.assert_allclose(inference, plain(images, training=False).numpy(), rtol=1e-5)
    training = with_aug(images, training=True).numpy()
    assert not np.allclose(training, inference)


def test_dropout_goes_before_the_output_and_an_empty_augmenter_is_skipped():
    model = build_course_cnn(
        (16, 16, 1), num_classes=2, dropout=0.25, augmenter=make_augmenter(None, None, None)
    )
    names = [layer.name for layer in model.layers]
    assert names[0] == "rescale"
    assert names[-2:] == ["dropout", "probabilities"]
    assert model.get_layer("dropout").rate == 0.25


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        ({"input_shape": (8, 8, 3)}, ValueError, "at least 10x10"),
        ({"input_shape": (64, 64)}, ValueError, r"input_shape must be \(height, width, channels\)"),
        ({"input_shape": (64, "64", 3)}, ValueError, "positive ints"),
        ({"input_shape": (64, 64, 0)}, ValueError, "positive ints"),
        ({"num_classes": 1}, ValueError, "num_classes must be >= 2"),
        ({"num_classes": 2.0}, TypeError, "num_classes must be an int"),
        ({"dropout": 1.0}, ValueError, r"dropout must be in \[0, 1\)"),
        ({"augmenter": "flip"}, TypeError, "augmenter must be a keras Layer"),
    ],
)
def test_build_course_cnn_rejects_bad_arguments(kwargs, error, words):
    with pytest.raises(error, match=words):
        build_course_cnn(**kwargs)


# ---------------------------------------------------------------------------
# layer_table


@pytest.mark.parametrize(
    "make",
    [
        lambda: build_course_cnn((64, 64, 3), augmenter=make_augmenter(), dropout=0.5),
        residual_model,
    ],
    ids=["course_cnn", "functional_residual"],
)
def test_layer_table_agrees_with_model_summary(make, monkeypatch):
    monkeypatch.setenv("COLUMNS", "260")
    model = make()
    table = layer_table(model)
    assert [(r.name, r.type, r.output_shape, r.params) for r in table.rows] == summary_rows(model)
    assert table.total_params == model.count_params()
    assert sum(row.params for row in table.rows) == model.count_params()


def test_layer_table_of_the_course_cnn_reads_like_the_seed():
    table = layer_table(build_course_cnn((64, 64, 3)))
    rows = {row.name: row for row in table.rows}
    assert rows["conv1"].output_shape == "(None, 62, 62, 32)"
    assert rows["flatten"].output_shape == "(None, 12544)"
    assert rows["conv1"].description.startswith("32 filters of 3x3")
    assert "halves height and width" in rows["pool1"].description
    assert rows["probabilities"].description == "turns scores into probabilities for 10 classes"
    assert rows["rescale"].description == "scales pixels from 0-255 to 0-1"
    assert len(table) == 8


def test_layer_table_counts_non_trainable_batchnorm_weights():
    table = layer_table(residual_model())
    assert table.total_params - table.trainable_params == 8  # moving mean and variance of 4
    assert table.rows[0].type == "InputLayer" and table.rows[0].output_shape == "(None, 12, 12, 1)"
    assert "residual" in {row.name: row for row in table.rows}["skip"].description


def test_layer_table_shows_itself_as_text_markdown_and_html():
    table = layer_table(build_course_cnn((16, 16, 3), num_classes=3))
    text = str(table)
    assert text.splitlines()[0] == "Model 'course_cnn'"
    assert "conv1" in text and "Total params:" in text
    markdown = table.to_markdown()
    assert markdown.startswith("| Layer | Type | Output shape | Params | What it does |")
    assert "| conv1 | Conv2D | (None, 14, 14, 32) | 896 |" in markdown
    html = table._repr_html_()
    assert html.count("<tr>") == 1 + len(table)


def test_layer_table_of_a_sequential_built_by_hand_and_a_multi_output_layer():
    model = keras.Sequential([L.Conv2D(2, 3), L.Flatten(), L.Dense(2)])
    model.build((None, 8, 8, 3))
    assert [row.output_shape for row in layer_table(model).rows][0] == "(None, 6, 6, 2)"
    inputs = keras.Input((4,))
    parts = L.Lambda(lambda t: [t[:, :2], t[:, 2:]], name="split")(inputs)
    model = keras.Model(inputs, parts)
    row = {r.name: r for r in layer_table(model).rows}["split"]
    assert row.output_shape == "[(None, 2), (None, 2)]"


def test_layer_table_rejects_unbuilt_models_and_non_models():
    with pytest.raises(ValueError, match="not built yet"):
        layer_table(keras.Sequential([L.Dense(2)]))
    with pytest.raises(TypeError, match="model must be a keras Model"):
        layer_table("model")


def test_an_empty_layer_table_still_renders_its_totals():
    table = LayerTable("empty")
    assert len(table) == 0
    assert str(table).splitlines() == [
        "Model 'empty'",
        "Layer  Type  Output shape  Params  What it does",
        "-----  ----  ------------  ------  ------------",
        "Total params: 0 (trainable: 0, non-trainable: 0)",
    ]
    assert table.to_markdown().endswith(
        "|---|---|---|---|---|\n\nTotal params: 0 (trainable: 0, non-trainable: 0)"
    )
    assert table._repr_html_().count("<tr>") == 1


@pytest.mark.parametrize(
    ("layer", "phrase"),
    [
        (L.Conv2D(8, 5, strides=2, activation="relu"), "8 filters of 5x5 slide"),
        (L.Conv2D(8, 3), "stride"),
        (L.DepthwiseConv2D(3), "one 3x3 filter per input channel"),
        (L.SeparableConv2D(4, 3), "per-channel and 1x1 steps"),
        (L.AveragePooling2D(2), "averages each 2x2 window: halves"),
        (L.MaxPooling2D(3), "largest value of each 3x3 window"),
        (L.GlobalAveragePooling2D(), "its average"),
        (L.GlobalMaxPooling2D(), "its maximum"),
        (L.Dense(5, activation="relu"), "5 neurons, each connected to every input; relu"),
        (L.Dense(5), "5 neurons, each connected to every input"),
        (L.Dropout(0.3), "zeroes 30% of the values"),
        (L.BatchNormalization(), "normalizes each channel"),
        (L.Activation("tanh"), "applies tanh to every value"),
        (L.ReLU(), "negative values to 0"),
        (L.Concatenate(), "joins its inputs"),
        (L.Resizing(8, 6), "resizes images to 8x6"),
        (L.Rescaling(2.0, offset=-1.0), "multiplies pixels by 2 and adds -1"),
        (L.RandomZoom(0.1), "random zoom, active only while training"),
        (L.LayerNormalization(), "a LayerNormalization layer"),
        (keras.Sequential([L.Dense(2), L.Dense(3)]), "a nested model of 2 layers"),
        (L.InputLayer(shape=(4,)), "receives the input images"),
    ],
)
def test_describe_layer_phrases(layer, phrase):
    text = describe_layer(layer)
    if phrase == "stride":
        assert "stride" not in text
    else:
        assert phrase in text


def test_layer_table_of_a_subclassed_model_marks_unknown_shapes():
    class Tiny(keras.Model):
        def __init__(self):
            super().__init__(name="tiny")
            self.dense = L.Dense(2, name="dense")

        def call(self, inputs):
            return self.dense(inputs)

    model = Tiny()
    model(np.zeros((1, 3), "float32"))
    (row,) = layer_table(model).rows
    assert (row.name, row.output_shape, row.params) == ("dense", "?", 8)


@pytest.mark.parametrize("module", ["augment", "models", "pipeline", "plots", "trace"])
def test_docstring_examples_run(module):
    import doctest
    import importlib

    result = doctest.testmod(
        importlib.import_module(f"course_utils.{module}"), optionflags=doctest.ELLIPSIS
    )
    assert result.attempted > 0 and result.failed == 0


# ---------------------------------------------------------------------------
# model_differences


def written_out_cnn(kernel_size: int = 3, num_classes: int = 10) -> keras.Sequential:
    """The course CNN as a lesson writes it, with Keras' default layer names."""
    model = keras.Sequential(
        [
            keras.Input(shape=(64, 64, 3)),
            L.Rescaling(1.0 / 255),
            L.Conv2D(32, kernel_size, activation="relu"),
            L.MaxPooling2D(2),
            L.Conv2D(64, kernel_size, activation="relu"),
            L.MaxPooling2D(2),
            L.Flatten(),
            L.Dense(128, activation="relu"),
            L.Dense(num_classes, activation="softmax"),
        ]
    )
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=0.001),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def test_the_written_out_cnn_is_the_course_cnn():
    assert model_differences(written_out_cnn(), build_course_cnn((64, 64, 3), 10)) == []


def test_model_differences_names_settings_shapes_params_and_compile():
    found = model_differences(written_out_cnn(kernel_size=5), build_course_cnn((64, 64, 3), 10))
    assert found[0] == "layers[1] (Conv2D): kernel_size=(5, 5) (reference: (3, 3))"
    assert "layers[1] (Conv2D): output (None, 60, 60, 32) (reference: (None, 62, 62, 32))" in found
    assert "layers[1] (Conv2D): 2,432 parameters (reference: 896)" in found
    other = written_out_cnn(num_classes=5)
    other.compile(optimizer=keras.optimizers.Adam(0.01), loss="categorical_crossentropy")
    found = model_differences(other, build_course_cnn((64, 64, 3), 10))
    assert "optimizer (Adam): learning_rate=0.01 (reference: 0.001)" in found
    assert any(line.startswith("compile: loss='categorical_crossentropy'") for line in found)
    assert any("units=5 (reference: 10)" in line for line in found)


def test_model_differences_counts_layers_types_input_and_compilation():
    small = keras.Sequential([keras.Input((16, 16, 3)), L.Flatten(), L.Dense(2)])
    found = model_differences(small, build_course_cnn((64, 64, 3), 10))
    assert found[:3] == [
        "input shape (None, 16, 16, 3) (reference: (None, 64, 64, 3))",
        "2 layers (reference: 8)",
        "layers[0]: Flatten (reference: Rescaling)",
    ]
    assert found[-1] == "model is not compiled"
    assert model_differences(build_course_cnn((16, 16, 3)), small)[-1] == (
        "reference is not compiled"
    )


def test_model_differences_rejects_non_models_and_unbuilt_models():
    with pytest.raises(TypeError, match="reference must be a keras Model"):
        model_differences(build_course_cnn((16, 16, 3)), "cnn")
    with pytest.raises(ValueError, match="model 'sequential.*' is not built yet"):
        model_differences(keras.Sequential([L.Dense(2)]), build_course_cnn((16, 16, 3)))


def test_feature_map_layers_is_one_rule_for_sequential_and_functional_models():
    model = build_course_cnn((16, 16, 3), augmenter=make_augmenter())
    assert feature_map_layers(model) == ["conv1", "pool1", "conv2", "pool2"]
    assert feature_map_layers(residual_model()) == ["stem", "bn", "branch", "skip"]
    sized = keras.Sequential([keras.Input((8, 8, 3)), L.Resizing(6, 6), L.Conv2D(2, 3, name="c")])
    assert feature_map_layers(sized) == ["c"]
    with pytest.raises(TypeError, match="model must be a keras Model; got str"):
        feature_map_layers("model")
