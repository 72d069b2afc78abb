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

from course_utils import widgets
from course_utils.trace import TrainingTrace
from course_utils.widgets import (
    AugmentationExplorer,
    AugmentationSettings,
    FeatureMapExplorer,
    TraceExplorer,
    augment_image,
    augmentation_explorer,
    colorize,
    feature_map_explorer,
    feature_map_layers,
    pinned_layers,
    plot_augmentation,
    plot_trace_epoch,
    random_settings,
    trace_explorer,
    trace_metrics,
    widgets_available,
)


def _image(height=24, width=24):
    """A small image with structure: a horizontal and a vertical gradient and a bright block."""
    y, x = np.mgrid[0:height, 0:width]
    image = np.stack([x * 255 / (width - 1), y * 255 / (height - 1), np.full_like(x, 60.0)], -1)
    image[2:8, 3:9] = 250
    return image.astype(np.uint8)


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

    shell = type("Shell", (), {})()
    monkeypatch.setattr(IPython, "get_ipython", lambda: shell)
    monkeypatch.delenv(widgets.STATIC_ENV, raising=False)
    assert widgets_available() is False  # a terminal IPython
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    assert widgets_available() is True


def test_static_none_follows_detection(monkeypatch):
    monkeypatch.setattr(widgets, "widgets_available", lambda: True)
    assert isinstance(augmentation_explorer(_image()), AugmentationExplorer)
    monkeypatch.setattr(widgets, "widgets_available", lambda: False)
    assert isinstance(augmentation_explorer(_image()), Figure)


def test_static_must_be_bool_or_none():
    with pytest.raises(TypeError, match="static must be True, False or None; got str"):
        augmentation_explorer(_image(), static="yes")


# --------------------------------------------------------------------------- augment_image


def test_all_zero_is_the_identity():
    image = _image()
    result = augment_image(image)
    assert result.dtype == np.float32 and result.shape == image.shape
    np.testing.assert_array_equal(result, image.astype(np.float32))


def test_flip_mirrors_left_right():
    image = _image()
    np.testing.assert_array_equal(augment_image(image, flip=True), image[:, ::-1])


def test_rotation_turns_counter_clockwise():
    image = _image()
    # A fraction of a full turn, as RandomRotation's factor: 0.25 is 90 degrees.
    np.testing.assert_allclose(augment_image(image, rotation=0.25), np.rot90(image, 1), atol=1)
    np.testing.assert_allclose(augment_image(image, rotation=0.5), np.rot90(image, 2), atol=1)
    np.testing.assert_allclose(augment_image(image, rotation=-0.25), np.rot90(image, -1), atol=1)
    assert np.abs(augment_image(image, rotation=0.05) - image).mean() > 5


def test_rotation_and_zoom_are_the_keras_layers_pinned_to_the_value():
    image = _image(32, 32)
    batch = image[np.newaxis].astype(np.float32)
    rotate = keras.layers.RandomRotation((0.1, 0.1), fill_mode="reflect")
    np.testing.assert_allclose(
        augment_image(image, rotation=0.1), np.asarray(rotate(batch, training=True))[0], atol=1e-3
    )
    zoom = keras.layers.RandomZoom((0.3, 0.3), fill_mode="reflect")
    np.testing.assert_allclose(
        augment_image(image, zoom=0.3), np.asarray(zoom(batch, training=True))[0], atol=1e-3
    )


def test_brightness_adds_a_fraction_of_255_and_clips():
    assert augment_image(np.zeros((8, 8, 3), np.uint8), brightness=0.5).max() == 127.5
    assert augment_image(np.full((8, 8, 3), 255, np.uint8), brightness=0.2).min() == 255
    assert augment_image(np.full((8, 8, 3), 100, np.uint8), brightness=-1.0).max() == 0


def test_contrast_scales_the_deviation_from_the_mean():
    image = np.full((8, 8, 3), 100, np.uint8)
    image[:4] = 140
    flat = augment_image(image, contrast=-1.0)
    np.testing.assert_allclose(flat, np.full_like(flat, 120.0), atol=1e-3)
    stronger = augment_image(image, contrast=0.5)
    np.testing.assert_allclose(stronger[0, 0], [150, 150, 150], atol=1e-3)
    np.testing.assert_allclose(stronger[-1, 0], [90, 90, 90], atol=1e-3)


def test_zoom_has_the_keras_sign_negative_crops_positive_shows_more():
    image = np.zeros((32, 32, 3), np.uint8)
    image[12:20, 12:20] = 255  # a bright square in the middle
    zoomed_in = augment_image(image, zoom=-0.5)  # RandomZoom: negative zooms in
    zoomed_out = augment_image(image, zoom=0.5)  # positive zooms out
    assert zoomed_in.shape == zoomed_out.shape == image.shape
    bright = [int((x > 127).sum()) for x in (zoomed_in[..., 0], image[..., 0], zoomed_out[..., 0])]
    assert bright[0] > bright[1] * 2  # the square fills more of the frame
    assert bright[2] < bright[1] or (zoomed_out[:2, :2] > 127).any()  # smaller, or reflected
    assert zoomed_in[16, 16, 0] > 127 and zoomed_in[8, 8, 0] > 127  # the square grew outward


def test_gray_and_float_images():
    gray = np.linspace(0, 1, 64, dtype=np.float32).reshape(8, 8)
    result = augment_image(gray, brightness=0.1)
    assert result.shape == (8, 8, 1)
    np.testing.assert_allclose(result[..., 0], np.clip(gray * 255 + 25.5, 0, 255), atol=1e-3)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"rotation": 90}, ValueError, r"rotation must be in \[-0.5, 0.5\]; got 90"),
        ({"brightness": "0.1"}, TypeError, "brightness must be a number; got str"),
        ({"zoom": 0.95}, ValueError, r"zoom must be in \[-0.9, 0.9\]; got 0.95"),
        ({"contrast": float("nan")}, ValueError, "contrast must be in"),
        ({"flip": 1}, TypeError, "flip must be True or False; got int"),
    ],
)
def test_augment_image_rejects_bad_values(kwargs, error, message):
    with pytest.raises(error, match=message):
        augment_image(_image(), **kwargs)


def test_augment_image_rejects_bad_images():
    with pytest.raises(ValueError, match="image must have shape"):
        augment_image(np.zeros((2, 8, 8, 3)))
    with pytest.raises(ValueError, match="image must have 1 or 3 channels"):
        augment_image(np.zeros((8, 8, 4)))


# --------------------------------------------------------------------------- random_settings


def test_random_settings_are_seeded_and_within_strengths():
    draws = [random_settings(seed, rotation=0.1, brightness=0.2, zoom=0.3) for seed in range(40)]
    assert draws[3] == random_settings(3, rotation=0.1, brightness=0.2, zoom=0.3)
    assert len({d.rotation for d in draws}) > 10
    assert all(abs(d.rotation) <= 0.1 for d in draws)  # a fraction of a turn, as drawn
    assert all(abs(d.brightness) <= 0.2 and abs(d.zoom) <= 0.3 for d in draws)
    assert all(abs(d.contrast) <= 0.2 for d in draws)
    assert {d.flip for d in draws} == {True, False}
    assert not any(random_settings(s, flip=False).flip for s in range(20))


def test_random_settings_errors():
    with pytest.raises(TypeError, match="seed must be an int >= 0; got None"):
        random_settings(None)
    with pytest.raises(ValueError, match=r"rotation must be in \[0, 0.5\]; got 2"):
        random_settings(0, rotation=2)


def test_settings_text():
    assert str(AugmentationSettings()) == "unchanged"
    text = str(
        AugmentationSettings(rotation=0.1, brightness=0.1, zoom=-0.05, contrast=0.2, flip=True)
    )
    assert text == (
        "flipped, rotated +0.10 turn (+36 deg), zoom -0.05 (in), brightness +0.10, contrast +0.20"
    )
    assert "zoom +0.20 (out)" in str(AugmentationSettings(zoom=0.2))


def test_pinned_layers_names_each_layer_with_its_factor():
    assert pinned_layers(AugmentationSettings()) == "no layer"
    text = pinned_layers(AugmentationSettings(rotation=0.25, zoom=0.2, brightness=-0.1))
    assert text == (
        "RandomRotation((0.25, 0.25)), RandomZoom((0.2, 0.2)), RandomBrightness((-0.1, -0.1))"
    )
    contrast = pinned_layers(AugmentationSettings(contrast=0.5))
    assert "RandomContrast drawing the factor 1.5" in contrast
    with pytest.raises(TypeError, match="settings must be an AugmentationSettings; got dict"):
        pinned_layers({"rotation": 0.1})


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
    np.testing.assert_array_equal(shown, _image()[:, ::-1])


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
        ({"max_size": 4}, ValueError, "max_size must be at least 8 pixels; got 4"),
        ({"max_size": 2.5}, TypeError, "max_size must be an int or None; got float"),
    ],
)
def test_augmentation_explorer_errors(kwargs, error, message):
    with pytest.raises(error, match=message):
        augmentation_explorer(_image(), static=False, **kwargs)


# --------------------------------------------------------------------------- feature maps


def test_feature_map_layers(tiny_model):
    assert feature_map_layers(tiny_model) == ["conv_a", "pool_a", "conv_b"]


def test_feature_map_layers_skip_nested_models_and_unbuilt_layers():
    nested = keras.Sequential(
        [
            keras.Input((8, 8, 3)),
            keras.Sequential([keras.layers.RandomFlip()], name="augmentation"),
            keras.layers.Conv2D(2, 3, name="conv"),
        ]
    )
    assert feature_map_layers(nested) == ["conv"]

    class Subclassed(keras.Model):
        def __init__(self):
            super().__init__()
            self.conv = keras.layers.Conv2D(2, 3)

        def call(self, x):
            return self.conv(x)

    model = Subclassed()
    model(np.zeros((1, 8, 8, 3), np.float32))
    assert feature_map_layers(model) == []


def test_feature_map_layers_needs_a_model():
    with pytest.raises(TypeError, match="model must be a keras Model; got str"):
        feature_map_layers("model")


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
    assert html.escape(trace.observations[1]) in explorer.row.value
    assert "<th>epoch</th><th>loss</th><th>accuracy</th><th>val_loss</th>" in explorer.row.value


def test_missing_values_show_as_a_dash():
    explorer = trace_explorer({"loss": [1.0, 0.5], "val_loss": [None, 0.7]}, static=False)
    assert "<td>1</td><td>1</td><td>-</td>" in explorer.row.value


def test_trace_metrics_from_a_history_with_observations():
    metrics, notes = trace_metrics(_Recorded(HISTORY, ["starts", "learns"]))
    assert metrics["val_loss"] == HISTORY["val_loss"]
    assert notes == ["starts", "learns", "", ""]  # the trace's own remarks are kept
    assert trace_metrics(_Recorded({"loss": np.array([1.0, 2.0])}))[0] == {"loss": [1.0, 2.0]}


@pytest.mark.parametrize(
    ("trace", "error", "message"),
    [
        (42, TypeError, "trace must be a TrainingTrace, a keras History or a mapping"),
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


def test_trace_explorer_replays_epochs():
    explorer = trace_explorer(_Recorded(HISTORY, ["a", "b", "c", "overfits"]), static=False)
    assert isinstance(explorer, TraceExplorer)
    assert explorer.epoch.max == 4 and explorer.play.max == 4
    first = explorer.plot.value
    assert "<td>1</td><td>1.2</td>" in explorer.row.value
    explorer.epoch.value = 4
    assert explorer.plot.value != first
    assert "<td>4</td><td>0.5</td>" in explorer.row.value and "overfits" in explorer.row.value
    assert "image/png" in explorer._repr_mimebundle_()


def test_trace_explorer_static():
    fig = trace_explorer(HISTORY, static=True)
    assert isinstance(fig, Figure) and "epoch 4 of 4" in fig._suptitle.get_text()
