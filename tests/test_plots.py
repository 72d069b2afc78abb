"""Tests for course_utils.plots on the course CNN and on models the course does not use."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from numpy.lib.stride_tricks import sliding_window_view

from course_utils.models import build_course_cnn
from course_utils.plots import (
    DiagramStage,
    confusion_matrix,
    diagram_stages,
    feature_maps,
    filter_images,
    plot_confusion_matrix,
    plot_feature_maps,
    plot_filters,
    plot_model_diagram,
    plot_top_mistakes,
    show_images,
    top_mistakes,
)

L = keras.layers


@pytest.fixture(scope="module")
def cnn() -> keras.Model:
    keras.utils.set_random_seed(0)
    return build_course_cnn((16, 16, 3), num_classes=3)


@pytest.fixture(scope="module")
def residual_gray() -> keras.Model:
    """Functional, grayscale input, BatchNorm, Dropout and a residual (Add) block."""
    keras.utils.set_random_seed(0)
    inputs = keras.Input((12, 12, 1))
    x = L.Conv2D(4, 3, padding="same", name="stem")(inputs)
    x = L.BatchNormalization(name="bn")(x)
    y = L.Conv2D(4, 3, padding="same", activation="relu", name="branch")(x)
    x = L.Add(name="skip")([x, y])
    x = L.Dropout(0.2, name="drop")(x)
    x = L.GlobalAveragePooling2D(name="gap")(x)
    outputs = L.Dense(2, activation="softmax", name="out")(x)
    return keras.Model(inputs, outputs, name="residual_gray")


@pytest.fixture(scope="module")
def any_size() -> keras.Model:
    """A fully convolutional Functional model that takes RGB images of any size."""
    inputs = keras.Input((None, None, 3))
    x = L.Conv2D(3, 3, name="c")(inputs)
    x = L.MaxPooling2D(2, name="p")(x)
    x = L.GlobalMaxPooling2D()(x)
    return keras.Model(inputs, L.Dense(2, activation="softmax")(x))


@pytest.fixture(scope="module")
def image16() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (16, 16, 3), dtype=np.uint8)


def conv_by_hand(image: np.ndarray, layer: keras.layers.Layer) -> np.ndarray:
    """Valid 3x3 convolution + bias + ReLU in numpy, for an independent check."""
    kernel, bias = (np.asarray(w) for w in layer.get_weights())
    windows = sliding_window_view(image, (3, 3), axis=(0, 1))  # (H-2, W-2, C, 3, 3)
    out = np.einsum("hwcij,ijco->hwo", windows, kernel) + bias
    return np.maximum(out, 0)


# ---------------------------------------------------------------------------
# feature_maps


def test_feature_maps_default_to_the_first_convolution_and_match_a_hand_computation(cnn, image16):
    maps = feature_maps(cnn, image16)
    assert maps.shape == (14, 14, 32) and maps.dtype == np.float32
    expected = conv_by_hand(image16.astype(np.float64) / 255, cnn.get_layer("conv1"))
    np.testing.assert_allclose(maps, expected, atol=1e-5)


def test_feature_maps_of_a_pooling_layer_by_name_and_by_object(cnn, image16):
    conv = feature_maps(cnn, image16, "conv1")
    pooled = feature_maps(cnn, image16, "pool1")
    assert pooled.shape == (7, 7, 32)
    np.testing.assert_allclose(pooled, conv.reshape(7, 2, 7, 2, 32).max(axis=(1, 3)), atol=1e-6)
    np.testing.assert_array_equal(feature_maps(cnn, image16, cnn.get_layer("pool1")), pooled)


def test_feature_maps_accept_eager_tensors_and_float_images(cnn, image16):
    from_tensor = feature_maps(cnn, tf.constant(image16), "conv2")
    from_float = feature_maps(cnn, image16.astype(np.float32), "conv2")
    assert from_tensor.shape == (5, 5, 64)
    np.testing.assert_allclose(from_tensor, from_float)


def test_feature_maps_of_a_functional_residual_grayscale_model(residual_gray):
    gray = np.linspace(0, 255, 144).reshape(12, 12)  # no channel axis: one is added
    assert feature_maps(residual_gray, gray).shape == (12, 12, 4)  # "stem"
    skip = feature_maps(residual_gray, gray, "skip")
    bn = feature_maps(residual_gray, gray, "bn")
    branch = feature_maps(residual_gray, gray, "branch")
    np.testing.assert_allclose(skip, bn + branch, atol=1e-5)
    assert feature_maps(residual_gray, gray, "drop").shape == (12, 12, 4)


def test_feature_maps_of_a_100x150_photo_on_a_model_of_any_input_size(any_size):
    photo = np.random.default_rng(1).integers(0, 256, (100, 150, 3), dtype=np.uint8)
    assert feature_maps(any_size, photo).shape == (98, 148, 3)
    assert feature_maps(any_size, photo, "p").shape == (49, 74, 3)


def test_feature_maps_build_a_sequential_model_that_has_no_input_yet():
    model = keras.Sequential([L.Conv2D(2, 3, name="c"), L.Flatten(), L.Dense(2)])
    maps = feature_maps(model, np.zeros((8, 8, 3), np.uint8))
    assert maps.shape == (6, 6, 2)
    assert tuple(model.inputs[0].shape) == (None, 8, 8, 3)


def test_unknown_layer_name_lists_the_valid_ones(cnn, image16):
    with pytest.raises(ValueError, match=r"got 'conv9'.*'conv1', 'pool1', 'conv2', 'pool2'"):
        feature_maps(cnn, image16, "conv9")


def test_layer_without_feature_maps_is_refused(cnn, image16):
    with pytest.raises(ValueError, match=r"'dense' outputs \(None, 128\), not feature maps"):
        feature_maps(cnn, image16, "dense")


def test_preprocessing_and_augmentation_layers_have_no_feature_maps(image16):
    from course_utils.augment import make_augmenter

    model = build_course_cnn((16, 16, 3), num_classes=3, augmenter=make_augmenter())
    valid = r"\['conv1', 'pool1', 'conv2', 'pool2'\]"
    for name in ("augmentation", "rescale"):
        with pytest.raises(ValueError, match=rf"'{name}' prepares the input.*{valid}"):
            feature_maps(model, image16, name)


def test_layer_of_another_model_and_wrong_layer_type_are_refused(cnn, residual_gray, image16):
    with pytest.raises(ValueError, match="is not a layer of model"):
        feature_maps(cnn, image16, residual_gray.get_layer("stem"))
    with pytest.raises(TypeError, match="layer must be a layer name"):
        feature_maps(cnn, image16, 3)


def test_model_without_convolution_is_refused():
    model = keras.Sequential([keras.Input((8, 8, 3)), L.Flatten(), L.Dense(2)])
    with pytest.raises(ValueError, match="has no convolution layer"):
        feature_maps(model, np.zeros((8, 8, 3)))


@pytest.mark.parametrize(
    ("bad", "error", "words"),
    [
        (None, TypeError, "image must be an image array"),
        (np.zeros((1, 16, 16, 3)), ValueError, "rank 3"),
        (np.zeros((16, 16, 1)), ValueError, r"3 channel\(s\) for this model"),
        (np.zeros((20, 20, 3)), ValueError, "must be 16x16 for this model; got 20x20; resize"),
        (np.full((16, 16, 3), np.nan), ValueError, "finite"),
        (np.zeros((0, 16, 3)), ValueError, "empty"),
        (np.full((16, 16, 3), 256.0), ValueError, "0-255"),
        (np.full((16, 16, 3), "x"), TypeError, "numeric dtype"),
    ],
)
def test_feature_maps_reject_bad_images(cnn, bad, error, words):
    with pytest.raises(error, match=words):
        feature_maps(cnn, bad)


def test_rgb_image_on_a_grayscale_model_suggests_converting(residual_gray):
    with pytest.raises(ValueError, match="convert it to grayscale"):
        feature_maps(residual_gray, np.zeros((12, 12, 3)))


def test_models_that_do_not_take_one_image_input_are_refused():
    class Subclassed(keras.Model):
        def __init__(self):
            super().__init__()
            self.conv = L.Conv2D(2, 3)

        def call(self, inputs):
            return self.conv(inputs)

    with pytest.raises(ValueError, match="no defined inputs"):
        feature_maps(Subclassed(), np.zeros((8, 8, 3)))
    a, b = keras.Input((8, 8, 3)), keras.Input((8, 8, 3))
    two = keras.Model([a, b], L.Add()([L.Conv2D(2, 3)(a), L.Conv2D(2, 3)(b)]))
    with pytest.raises(ValueError, match="one image input"):
        feature_maps(two, np.zeros((8, 8, 3)))
    vector = keras.Sequential([keras.Input((4,)), L.Dense(2)])
    with pytest.raises(ValueError, match=r"must take images \(N, H, W, C\)"):
        feature_maps(vector, np.zeros((4, 4, 3)))
    with pytest.raises(TypeError, match="model must be a keras Model"):
        feature_maps("model", np.zeros((4, 4, 3)))


# ---------------------------------------------------------------------------
# plot_feature_maps


def test_plot_feature_maps_draws_one_axes_per_map_with_a_titled_grid(cnn, image16):
    fig = plot_feature_maps(cnn, image16, "pool2", max_maps=10, ncols=4)
    assert isinstance(fig, Figure) and len(fig.axes) == 10
    assert [ax.get_title() for ax in fig.axes][:3] == ["map 0", "map 1", "map 2"]
    assert fig.get_suptitle() == "pool2: output 2x2x64 (first 10 of 64 maps)"
    assert fig.axes[0].get_subplotspec().get_geometry()[:2] == (3, 4)


def test_plot_feature_maps_shows_all_maps_when_fewer_than_max_into_a_given_figure(residual_gray):
    fig = Figure()
    same = plot_feature_maps(residual_gray, np.zeros((12, 12)), "skip", fig=fig)
    assert same is fig and len(fig.axes) == 4
    assert fig.get_suptitle().startswith("skip: output 12x12x4")


def test_plot_feature_maps_rejects_bad_settings(cnn, image16):
    with pytest.raises(ValueError, match="max_maps must be >= 1"):
        plot_feature_maps(cnn, image16, max_maps=0)
    with pytest.raises(TypeError, match="fig must be a matplotlib Figure"):
        plot_feature_maps(cnn, image16, fig=object())


# ---------------------------------------------------------------------------
# filters


def test_filter_images_of_an_rgb_first_layer_are_colour_and_scaled(cnn):
    images = filter_images(cnn)
    assert images.shape == (32, 3, 3, 3)
    kernel = np.asarray(cnn.get_layer("conv1").kernel)[..., 5]
    expected = (kernel - kernel.min()) / (kernel.max() - kernel.min())
    np.testing.assert_allclose(images[5], expected, atol=1e-6)
    assert images.min() == 0 and images.max() == pytest.approx(1)


def test_filter_images_of_other_layers_average_the_input_channels(cnn, residual_gray):
    assert filter_images(residual_gray).shape == (4, 3, 3, 1)
    deeper = filter_images(cnn.get_layer("conv2"))
    kernel = np.asarray(cnn.get_layer("conv2").kernel).mean(axis=2)[..., 0]
    expected = (kernel - kernel.min()) / (kernel.max() - kernel.min())
    assert deeper.shape == (64, 3, 3, 1)
    np.testing.assert_allclose(deeper[0, ..., 0], expected, atol=1e-6)
    depthwise = L.DepthwiseConv2D(3)
    depthwise.build((None, 8, 8, 3))
    assert filter_images(depthwise).shape == (3, 3, 3, 1)
    transpose = L.Conv2DTranspose(5, 3)
    transpose.build((None, 8, 8, 3))
    assert filter_images(transpose).shape == (5, 3, 3, 3)


def test_filter_images_errors():
    with pytest.raises(ValueError, match="must be a convolution layer; got a Dense"):
        filter_images(L.Dense(2))
    with pytest.raises(ValueError, match="not built yet"):
        filter_images(L.Conv2D(2, 3))
    with pytest.raises(ValueError, match="no convolution layer"):
        filter_images(keras.Sequential([keras.Input((3,)), L.Dense(2)]))
    with pytest.raises(TypeError, match="model_or_layer must be a keras Model or Layer"):
        filter_images(np.zeros((3, 3, 3, 8)))


def test_plot_filters_draws_the_first_layer_kernels(cnn, residual_gray):
    fig = plot_filters(cnn, max_filters=12)
    assert len(fig.axes) == 12
    assert fig.axes[3].get_title() == "filter 3"
    assert fig.get_suptitle() == "conv1: 32 filters of 3x3x3 (colour)"
    gray = plot_filters(residual_gray.get_layer("branch"), fig=Figure())
    assert len(gray.axes) == 4 and "mean over input channels" in gray.get_suptitle()


def test_depthwise_and_separable_filters_read_one_channel_each():
    depthwise = L.DepthwiseConv2D(3, depth_multiplier=2, name="dw")
    depthwise.build((None, 8, 8, 3))
    kernel = np.asarray(depthwise.kernel)  # (3, 3, channels, multiplier)
    images = filter_images(depthwise)
    assert images.shape == (6, 3, 3, 1)
    expected = kernel[:, :, 1, 0]  # channel 1, multiplier 0 is filter 2
    expected = (expected - expected.min()) / (expected.max() - expected.min())
    np.testing.assert_allclose(images[2, ..., 0], expected, atol=1e-6)
    fig = plot_filters(depthwise)
    assert len(fig.axes) == 6
    assert fig.get_suptitle() == "dw: 6 filters of 3x3x1 (grey)"

    model = keras.Sequential([keras.Input((8, 8, 3)), L.SeparableConv2D(5, 3, name="sep")])
    separable = model.get_layer("sep")
    images = filter_images(model)
    assert images.shape == (3, 3, 3, 1)  # the depthwise step: one 3x3 filter per channel
    expected = np.asarray(separable.depthwise_kernel)[:, :, 0, 0]
    expected = (expected - expected.min()) / (expected.max() - expected.min())
    np.testing.assert_allclose(images[0, ..., 0], expected, atol=1e-6)
    assert plot_filters(model).get_suptitle() == "sep: 3 filters of 3x3x1 (grey)"


def test_transposed_convolution_filters_are_titled_with_the_channels_they_read():
    transpose = L.Conv2DTranspose(5, 3, name="up")
    transpose.build((None, 8, 8, 3))
    assert plot_filters(transpose).get_suptitle() == "up: 5 filters of 3x3x3 (colour)"


# ---------------------------------------------------------------------------
# show_images


def test_show_images_titles_with_class_names_or_numbers():
    images = np.zeros((5, 8, 8, 3), np.uint8)
    fig = show_images(images, [0, 2, 1, 1, 0], ["cat", "dog", "bird"], ncols=3)
    assert [ax.get_title() for ax in fig.axes] == ["cat", "bird", "dog", "dog", "cat"]
    assert fig.axes[0].get_subplotspec().get_geometry()[:2] == (2, 3)
    numbered = show_images(images, np.array([3, 1, 0, 0, 0]))
    assert numbered.axes[0].get_title() == "3"


def test_show_images_without_labels_grayscale_and_a_limit():
    fig = show_images(np.zeros((20, 6, 6)), max_images=7)
    assert len(fig.axes) == 7 and all(ax.get_title() == "" for ax in fig.axes)
    assert fig.axes[0].images[0].get_array().shape == (6, 6)


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        ({"labels": [0, 1]}, ValueError, r"one label per image \(3\)"),
        ({"labels": [0, 1, 2], "class_names": ["a", "b"]}, ValueError, "3 needed"),
        ({"labels": [0, 1, 1], "class_names": "ab"}, TypeError, "sequence of str"),
        ({"labels": [0, -1, 1]}, ValueError, ">= 0"),
        ({"labels": [0.5, 1, 1]}, TypeError, "whole-number"),
        ({"ncols": 0}, ValueError, "ncols must be >= 1"),
    ],
)
def test_show_images_rejects_bad_labels_and_settings(kwargs, error, words):
    with pytest.raises(error, match=words):
        show_images(np.zeros((3, 4, 4, 3)), **kwargs)


def test_show_images_rejects_two_channel_images():
    with pytest.raises(ValueError, match="1 or 3 channels"):
        show_images(np.zeros((3, 4, 4, 2)))


# ---------------------------------------------------------------------------
# confusion matrix


def test_confusion_matrix_counts_true_rows_and_predicted_columns():
    matrix = confusion_matrix([0, 0, 1, 2, 2, 2], [0, 1, 1, 2, 0, 2], num_classes=4)
    expected = np.array([[1, 1, 0, 0], [0, 1, 0, 0], [1, 0, 2, 0], [0, 0, 0, 0]])
    np.testing.assert_array_equal(matrix, expected)
    assert matrix.dtype == np.int64


@pytest.mark.parametrize(
    ("args", "error", "words"),
    [
        (([0, 1], [0], 2), ValueError, "one label per image"),
        (([0, 3], [0, 1], 3), ValueError, "below num_classes=3"),
        (([], [], 2), ValueError, "must not be empty"),
        (([0], [0], 0), ValueError, "num_classes must be >= 1"),
        ((None, [0], 2), TypeError, "y_true must be"),
        (([[0, 1]], [0, 1], 2), ValueError, r"shape \(N,\)"),
    ],
)
def test_confusion_matrix_errors(args, error, words):
    with pytest.raises(error, match=words):
        confusion_matrix(*args)


def test_plot_confusion_matrix_annotates_every_cell():
    ax = plot_confusion_matrix([0, 0, 1, 2], [0, 1, 1, 2], class_names=["a", "b", "c"])
    assert isinstance(ax, Axes)
    assert [t.get_text() for t in ax.texts] == ["1", "1", "0", "0", "1", "0", "0", "0", "1"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b", "c"]
    assert ax.get_title() == "Confusion matrix (accuracy 75.0%)"
    assert ax.get_ylabel() == "true class"
    assert len(ax.figure.axes) == 2  # the matrix and its colorbar


def test_plot_confusion_matrix_into_given_axes_with_inferred_or_given_class_count():
    fig = Figure()
    ax = fig.add_subplot()
    same = plot_confusion_matrix(np.array([0, 3]), np.array([1, 3]), ax=ax)
    assert same is ax and len(ax.texts) == 16
    wider = plot_confusion_matrix([0, 1], [1, 1], num_classes=5)
    assert len(wider.texts) == 25
    with pytest.raises(TypeError, match="ax must be a matplotlib Axes"):
        plot_confusion_matrix([0], [0], ax=fig)


# ---------------------------------------------------------------------------
# mistakes


PROBS = np.array(
    [
        [0.9, 0.1, 0.0],  # true 0: right
        [0.2, 0.7, 0.1],  # true 0: wrong, 0.7
        [0.1, 0.1, 0.8],  # true 1: wrong, 0.8
        [0.5, 0.4, 0.1],  # true 2: wrong, 0.5
        [0.2, 0.7, 0.1],  # true 2: wrong, 0.7 (tie with row 1: earlier first)
    ]
)
TRUE = np.array([0, 0, 1, 2, 2])


def test_top_mistakes_orders_wrong_predictions_by_confidence():
    np.testing.assert_array_equal(top_mistakes(TRUE, PROBS, k=8), [2, 1, 4, 3])
    np.testing.assert_array_equal(top_mistakes(TRUE, PROBS, k=2), [2, 1])
    assert top_mistakes([0, 1], [[0.9, 0.1], [0.2, 0.8]]).size == 0


@pytest.mark.parametrize(
    ("probabilities", "error", "words"),
    [
        (PROBS * 10, ValueError, "not logits"),
        (PROBS[:3], ValueError, "one row per label"),
        (PROBS[:, 0], ValueError, r"shape \(N, K\)"),
        (np.where(PROBS > 0.85, np.nan, PROBS), ValueError, "finite"),
        (None, TypeError, "probabilities must be"),
    ],
)
def test_top_mistakes_rejects_bad_probabilities(probabilities, error, words):
    with pytest.raises(error, match=words):
        top_mistakes(TRUE, probabilities)


def test_top_mistakes_rejects_labels_beyond_the_classes():
    with pytest.raises(ValueError, match="below num_classes=3"):
        top_mistakes([0, 0, 1, 2, 5], PROBS)


def test_plot_top_mistakes_titles_true_and_predicted_class_with_confidence():
    images = np.zeros((5, 6, 6, 3), np.uint8)
    fig = plot_top_mistakes(images, TRUE, PROBS, class_names=["cat", "dog", "car"], k=3)
    assert [ax.get_title() for ax in fig.axes] == [
        "true: dog\npred: car (80%)",
        "true: cat\npred: dog (70%)",
        "true: car\npred: dog (70%)",
    ]
    assert fig.get_suptitle() == "The 3 most confident mistakes"


def test_plot_top_mistakes_without_mistakes_says_so():
    fig = plot_top_mistakes(np.zeros((2, 4, 4)), [0, 1], [[0.9, 0.1], [0.2, 0.8]], fig=Figure())
    assert len(fig.axes) == 1 and fig.axes[0].texts[0].get_text() == "no mistakes"


def test_plot_top_mistakes_rejects_too_few_class_names():
    with pytest.raises(ValueError, match="3 needed"):
        plot_top_mistakes(np.zeros((5, 4, 4, 3)), TRUE, PROBS, class_names=["a", "b"])


# ---------------------------------------------------------------------------
# diagram_stages and plot_model_diagram


def test_diagram_stages_of_the_course_cnn_read_from_the_model():
    stages = diagram_stages(build_course_cnn((64, 64, 3), num_classes=10))
    assert [s.kind for s in stages] == [
        "Input",
        "Rescaling",
        "Conv2D",
        "MaxPooling2D",
        "Conv2D",
        "MaxPooling2D",
        "Flatten",
        "Dense",
        "Dense",
    ]
    assert [s.output_shape for s in stages] == [
        (64, 64, 3),
        (64, 64, 3),
        (62, 62, 32),
        (31, 31, 32),
        (29, 29, 64),
        (14, 14, 64),
        (12544,),
        (128,),
        (10,),
    ]
    assert [s.detail for s in stages][1:4] == ["x 1/255", "32 @ 3x3, relu", "2x2"]
    assert stages[-1].detail == "10, softmax"
    assert [s.number for s in stages] == list(range(1, 10))
    assert sum(s.params for s in stages) == 1_626_442


def test_diagram_stages_of_a_functional_model_skip_its_input_layer(residual_gray):
    stages = diagram_stages(residual_gray)
    assert stages[0] == DiagramStage(1, "input", "Input", "", (12, 12, 1), 0)
    assert [s.name for s in stages[1:]] == [
        layer.name for layer in residual_gray.layers if layer.name != residual_gray.layers[0].name
    ]
    assert stages[-1].output_shape == (2,) and stages[-1].detail == "2, softmax"
    assert {s.name: s for s in stages}["drop"].detail == "rate 0.2"


def test_plot_model_diagram_draws_one_labelled_box_per_stage(residual_gray):
    model = build_course_cnn((64, 64, 3), num_classes=5)
    fig = plot_model_diagram(model)
    assert isinstance(fig, Figure) and len(fig.axes) == 1
    ax = fig.axes[0]
    boxes = [p for p in ax.patches if isinstance(p, Rectangle)]
    assert len(boxes) == 9
    texts = [t.get_text() for t in ax.texts]
    assert (
        "62x62x32\n896 params" in texts
        and "14x14x64" in texts
        and "3. Conv2D\n32 @ 3x3, relu" in texts
    )
    assert texts[-1] == "5\n645 params"
    assert ax.get_title() == f"course_cnn: 9 stages, {model.count_params():,} parameters"
    heights = [box.get_height() for box in boxes]
    assert heights[2] > heights[3] > heights[4] > heights[5]  # 62 > 31 > 29 > 14
    again = plot_model_diagram(residual_gray, fig=fig)
    assert again is fig and len(fig.axes) == 1


def test_diagram_stages_reject_non_models_and_unbuilt_models():
    with pytest.raises(TypeError, match="model must be a keras Model"):
        diagram_stages("cnn")
    with pytest.raises(ValueError, match="not built yet"):
        diagram_stages(keras.Sequential([L.Dense(2)]))
