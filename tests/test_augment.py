"""Tests for course_utils.augment: the augmenter, its reproducibility and the legacy translation."""

from __future__ import annotations

import inspect
import math
import re

import keras
import numpy as np
import pytest
import tensorflow as tf
from matplotlib.figure import Figure

from course_utils.augment import (
    LEGACY_ARGUMENTS,
    AugmentationSettings,
    apply_augmenter,
    augment_image,
    augmented_variants,
    from_image_data_generator,
    make_augmenter,
    pinned_layers,
    plot_augmented,
    random_settings,
)


@pytest.fixture(scope="module")
def image() -> np.ndarray:
    """A 12x16 RGB image with structure (so flips and rotations change it)."""
    rng = np.random.default_rng(0)
    return rng.integers(20, 230, size=(12, 16, 3), dtype=np.uint8)


def layer_types(sequential: keras.Sequential) -> list[str]:
    return [layer.__class__.__name__ for layer in sequential.layers]


# ---------------------------------------------------------------------------
# make_augmenter


def test_default_augmenter_has_flip_rotation_brightness_on_the_0_255_scale():
    augmenter = make_augmenter()
    assert augmenter.name == "augmentation"
    assert layer_types(augmenter) == ["RandomFlip", "RandomRotation", "RandomBrightness"]
    flip, rotation, brightness = augmenter.layers
    assert flip.mode == "horizontal"
    assert rotation.factor == pytest.approx((-0.1, 0.1))
    assert brightness.factor == pytest.approx((-0.2, 0.2))
    assert list(brightness.value_range) == [0, 255]


def test_every_option_adds_its_layer_with_its_strength_and_seed():
    augmenter = make_augmenter(
        flip="vertical",
        rotation=0.05,
        brightness=0.1,
        zoom=0.2,
        contrast=0.3,
        translation=0.1,
        seed=5,
        fill_mode="constant",
    )
    assert layer_types(augmenter) == [
        "RandomFlip",
        "RandomRotation",
        "RandomZoom",
        "RandomTranslation",
        "RandomBrightness",
        "RandomContrast",
    ]
    configs = [layer.get_config() for layer in augmenter.layers]
    assert [c["seed"] for c in configs] == [5, 6, 7, 8, 9, 10]
    assert configs[0]["mode"] == "vertical"
    assert configs[2]["height_factor"] == 0.2 and configs[2]["fill_mode"] == "constant"
    assert configs[3]["width_factor"] == 0.1
    assert list(configs[5]["value_range"]) == [0, 255]


def test_none_and_zero_switch_transforms_off_and_the_empty_augmenter_is_identity(image):
    augmenter = make_augmenter(flip=None, rotation=0, brightness=None)
    assert augmenter.layers == []
    out = apply_augmenter(augmenter, image[np.newaxis], seed=1)
    np.testing.assert_array_equal(out.numpy()[0], image.astype(np.float32))


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        ({"flip": "diagonal"}, ValueError, "flip must be one of"),
        ({"rotation": -0.1}, ValueError, "rotation must be in [0, 1]"),
        ({"rotation": 2}, ValueError, "fraction of a full turn"),
        ({"brightness": "strong"}, TypeError, "brightness must be a number"),
        ({"zoom": 1.0}, ValueError, "zoom must be in [0, 1)"),
        ({"contrast": float("nan")}, ValueError, "contrast must be in"),
        ({"translation": 1.5}, ValueError, "translation must be in"),
        ({"fill_mode": "mirror"}, ValueError, "fill_mode must be one of"),
        ({"seed": -1}, ValueError, "seed must be >= 0"),
        ({"seed": 1.5}, TypeError, "seed must be an int"),
    ],
)
def test_make_augmenter_rejects_bad_settings(kwargs, error, words):
    with pytest.raises(error, match=re.escape(words)):
        make_augmenter(**kwargs)


# ---------------------------------------------------------------------------
# apply_augmenter and augmented_variants


def test_same_seed_gives_same_images_and_another_seed_other_images(image):
    augmenter = make_augmenter(zoom=0.2, contrast=0.2, translation=0.1)
    first = augmented_variants(image, augmenter, n=4, seed=3)
    again = augmented_variants(image, augmenter, n=4, seed=3)
    other = augmented_variants(image, augmenter, n=4, seed=4)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)
    assert first.dtype == np.float32 and first.shape == (4, 12, 16, 3)
    assert first.min() >= 0 and first.max() <= 255


def test_flip_only_gives_the_image_or_its_mirror(image):
    variants = augmented_variants(image, make_augmenter(rotation=None, brightness=None), n=16)
    mirrored = image[:, ::-1].astype(np.float32)
    kinds = []
    for variant in variants:
        if np.array_equal(variant, image.astype(np.float32)):
            kinds.append("same")
        else:
            np.testing.assert_array_equal(variant, mirrored)
            kinds.append("mirror")
    assert set(kinds) == {"same", "mirror"}


def test_brightness_only_adds_one_shift_per_image_within_the_strength():
    gray = np.full((6, 6, 3), 128, dtype=np.uint8)
    augmenter = make_augmenter(flip=None, rotation=None, brightness=0.2)
    variants = augmented_variants(gray, augmenter, n=8, seed=0)
    shifts = variants - 128.0
    per_image = shifts.reshape(8, -1)
    np.testing.assert_allclose(per_image, per_image[:, :1].repeat(per_image.shape[1], 1), atol=1e-3)
    assert np.abs(shifts).max() <= 0.2 * 255 + 1e-3
    assert np.unique(per_image[:, 0]).size > 1


def test_seed_tensor_is_the_same_as_the_int_seed(image):
    augmenter = make_augmenter()
    batch = np.repeat(image[np.newaxis], 3, axis=0)
    by_int = apply_augmenter(augmenter, batch, seed=7)
    by_tensor = apply_augmenter(augmenter, batch, seed=tf.constant([7, 0], dtype=tf.int64))
    np.testing.assert_array_equal(by_int.numpy(), by_tensor.numpy())


def test_a_keras_pipeline_is_seeded_layer_by_layer_like_a_sequential(image):
    layers = [keras.layers.RandomFlip("horizontal"), keras.layers.RandomRotation(0.2)]
    pipeline = keras.layers.Pipeline(layers)
    sequential = keras.Sequential(layers)
    batch = np.repeat(image[np.newaxis], 4, axis=0)
    first = apply_augmenter(pipeline, batch, seed=3).numpy()
    np.testing.assert_array_equal(first, apply_augmenter(pipeline, batch, seed=3).numpy())
    np.testing.assert_array_equal(first, apply_augmenter(sequential, batch, seed=3).numpy())
    assert not np.array_equal(first, apply_augmenter(pipeline, batch, seed=4).numpy())


def test_without_seed_layers_use_their_own_state_and_none_augmenter_only_casts(image):
    batch = image[np.newaxis]
    out = apply_augmenter(make_augmenter(seed=1), batch)
    assert out.shape == (1, 12, 16, 3) and out.dtype == tf.float32
    plain = apply_augmenter(None, batch)
    np.testing.assert_array_equal(plain.numpy(), batch.astype(np.float32))


def test_layers_without_seedable_randomness_are_called_in_training_mode(image):
    augmenter = keras.Sequential(
        [keras.layers.RandomFlip("horizontal", seed=0), keras.layers.Dropout(0.5, seed=1)]
    )
    out = apply_augmenter(augmenter, np.full((1, 8, 8, 3), 100.0), seed=0).numpy()
    assert (out == 0).any() and (out == 200).any()  # dropout active and rescaled by 1/(1-0.5)


def _all_transforms(**kwargs):
    return make_augmenter(
        flip="horizontal_and_vertical",
        rotation=0.1,
        brightness=0.2,
        zoom=0.2,
        contrast=0.3,
        translation=0.1,
        shear=0.2,
        **kwargs,
    )


# Golden values: seed 0 on the `image` fixture repeated 3 times. The random values are drawn
# with tf.random.stateless_uniform and applied by the layers' own transform_images, so they
# are the same on Keras 3.10 and 3.15; a Keras or TensorFlow upgrade that changes them fails
# here (check the new pictures, then update the numbers).
GOLDEN = {
    "default": ([61704.04, 89453.38, 47689.25], [31.15, 160.263, 65.634]),
    "all": ([69567.55, 61207.01, 69232.39], [64.713, 104.219, 84.051]),
    "fused": ([76972.76, 63099.13, 71109.66], [77.724, 115.836, 90.975]),
}


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_golden_values_of_a_fixed_seed(image, name):
    augmenter = {
        "default": make_augmenter(),
        "all": _all_transforms(),
        "fused": make_augmenter(zoom=0.2, contrast=0.3, translation=0.1, shear=0.2, fused=True),
    }[name]
    out = apply_augmenter(augmenter, np.repeat(image[np.newaxis], 3, axis=0), seed=0).numpy()
    sums, pixels = GOLDEN[name]
    np.testing.assert_allclose(out.reshape(3, -1).sum(axis=1), sums, rtol=1e-5)
    np.testing.assert_allclose(out[:, 5, 7, 0], pixels, atol=2e-3)


@pytest.mark.parametrize(
    "layer",
    [
        keras.layers.RandomRotation((0.1, 0.1), fill_mode="reflect"),
        keras.layers.RandomZoom((0.2, 0.2), (-0.1, -0.1)),
        keras.layers.RandomZoom((-0.3, -0.3)),
        keras.layers.RandomTranslation((0.1, 0.1), (-0.2, -0.2), fill_mode="nearest"),
        keras.layers.RandomBrightness((0.1, 0.1), value_range=(0, 255)),
    ],
    ids=lambda layer: layer.__class__.__name__,
)
def test_seeded_draws_have_the_units_and_signs_of_the_layer(image, layer):
    # With the factor pinned there is nothing random left: the seeded values must be the ones
    # the layer draws itself, so both give the same pixels.
    batch = np.repeat(image[np.newaxis], 2, axis=0).astype(np.float32)
    expected = np.asarray(layer(batch, training=True))
    np.testing.assert_allclose(apply_augmenter(layer, batch, seed=5).numpy(), expected, atol=1e-3)


def test_seeded_shear_and_contrast_stay_within_the_layer_range(image):
    batch = np.repeat(image[np.newaxis], 8, axis=0).astype(np.float32)
    shear = keras.layers.RandomShear(x_factor=(0.3, 0.3), y_factor=0.0)
    sheared = apply_augmenter(shear, batch, seed=1).numpy()
    both = [np.asarray(shear(batch[:1], training=True))[0] for _ in range(24)]  # either sign
    for variant in sheared:  # one of the two directions, as RandomShear draws it
        assert min(np.abs(variant - b).max() for b in both) < 1e-3
    contrast = apply_augmenter(keras.layers.RandomContrast(0.5), batch, seed=1).numpy()
    spread = contrast.std(axis=(1, 2)) / batch.std(axis=(1, 2))
    assert spread.min() >= 0.5 - 1e-3 and spread.max() <= 1.5 + 1e-3 and spread.std() > 0.01


def test_every_layer_of_the_chain_changes_the_batch_and_in_graph_mode_the_same(image):
    batch = np.repeat(image[np.newaxis], 2, axis=0)
    augmenter = _all_transforms()
    eager = apply_augmenter(augmenter, batch, seed=3).numpy()
    graph = tf.function(lambda x: apply_augmenter(augmenter, x, seed=[3, 0]))(batch)
    np.testing.assert_allclose(eager, graph.numpy(), atol=1e-3)
    assert not np.array_equal(eager[0], eager[1])  # one draw per image, not per batch


def test_the_augmenter_is_the_identity_at_prediction_time(image):
    batch = image[np.newaxis].astype(np.float32)
    for augmenter in (_all_transforms(), make_augmenter(zoom=0.2, shear=0.1, fused=True)):
        np.testing.assert_allclose(np.asarray(augmenter(batch, training=False)), batch, atol=1e-4)


def test_other_keras_image_layers_are_seeded_when_called_eagerly(image):
    erase = keras.Sequential([keras.layers.RandomErasing(factor=1.0, scale=(0.2, 0.4))])
    batch = np.repeat(image[np.newaxis], 4, axis=0)
    first = apply_augmenter(erase, batch, seed=2).numpy()
    np.testing.assert_array_equal(first, apply_augmenter(erase, batch, seed=2).numpy())
    assert not np.array_equal(first, apply_augmenter(erase, batch, seed=3).numpy())


def test_apply_augmenter_works_inside_a_parallel_tf_data_map(image):
    augmenter = make_augmenter()
    dataset = tf.data.Dataset.from_tensors(np.repeat(image[np.newaxis], 2, 0))
    mapped = dataset.map(
        lambda x: apply_augmenter(augmenter, x, seed=tf.constant([1, 2], tf.int64)),
        num_parallel_calls=tf.data.AUTOTUNE,
    )
    from_graph = next(iter(mapped)).numpy()
    eager = apply_augmenter(augmenter, np.repeat(image[np.newaxis], 2, 0), seed=[1, 2])
    np.testing.assert_allclose(from_graph, eager.numpy(), atol=1e-4)


def test_apply_augmenter_rejects_bad_augmenter_and_seed(image):
    with pytest.raises(TypeError, match="augmenter must be a keras Layer"):
        apply_augmenter("flip", image[np.newaxis])
    with pytest.raises(
        ValueError, match=r"seed must be an int or an integer tensor of shape \(2,\)"
    ):
        apply_augmenter(make_augmenter(), image[np.newaxis], seed=[1, 2, 3])


def test_grayscale_image_without_channel_axis_gets_one():
    gray = np.full((8, 8), 90, dtype=np.uint8)
    variants = augmented_variants(gray, make_augmenter(), n=2)
    assert variants.shape == (2, 8, 8, 1)


@pytest.mark.parametrize(
    ("bad", "error", "words"),
    [
        (None, TypeError, "image must be an image array"),
        (np.full((4, 4, 3), np.nan), ValueError, "image must be finite"),
        (np.zeros((2, 4, 4, 3)), ValueError, r"image must have shape \(H, W, C\)"),
        (np.zeros((0, 4, 3)), ValueError, "image must not be empty"),
        (np.full((4, 4, 3), 300.0), ValueError, "pixel values in 0-255"),
        (np.full((4, 4, 3), -1.0), ValueError, "pixel values in 0-255"),
        (np.array([["a"]]), TypeError, "numeric dtype"),
        (np.zeros((4, 4, 3), dtype=bool), TypeError, "numeric dtype"),
    ],
)
def test_augmented_variants_rejects_bad_images(bad, error, words):
    with pytest.raises(error, match=words):
        augmented_variants(bad, make_augmenter())


def test_augmented_variants_rejects_bad_n(image):
    with pytest.raises(ValueError, match="n must be >= 1"):
        augmented_variants(image, make_augmenter(), n=0)
    with pytest.raises(TypeError, match="n must be an int"):
        augmented_variants(image, make_augmenter(), n=2.0)


def test_augmented_variants_accepts_eager_tensors(image):
    variants = augmented_variants(tf.constant(image), make_augmenter(), n=2, seed=0)
    np.testing.assert_array_equal(variants, augmented_variants(image, make_augmenter(), n=2))


# ---------------------------------------------------------------------------
# augment_image: fixed values


def _image(height=24, width=24):
    """A small image with structure: a horizontal and a vertical gradient and a bright block."""
    y, x = np.mgrid[0:height, 0:width]
    image = np.stack([x * 255 / (width - 1), y * 255 / (height - 1), np.full_like(x, 60.0)], -1)
    image[2:8, 3:9] = 250
    return image.astype(np.uint8)


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


# ---------------------------------------------------------------------------
# random_settings, AugmentationSettings, pinned_layers


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


# ---------------------------------------------------------------------------
# plot_augmented


def test_plot_augmented_shows_the_original_and_n_variants(image):
    fig = plot_augmented(image, make_augmenter(), n=5)
    assert isinstance(fig, Figure)
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["original"] + [f"variant {i}" for i in range(1, 6)]
    assert all(len(ax.images) == 1 for ax in fig.axes)
    np.testing.assert_allclose(fig.axes[0].images[0].get_array(), image / 255.0, atol=1e-6)


def test_plot_augmented_draws_into_a_given_figure_in_rows(image):
    fig = Figure()
    fig.add_subplot()  # old content is cleared
    same = plot_augmented(image[..., :1], make_augmenter(), n=3, fig=fig, ncols=2)
    assert same is fig and len(fig.axes) == 4
    assert fig.axes[0].get_subplotspec().get_geometry()[:2] == (2, 2)


def test_plot_augmented_rejects_a_non_figure(image):
    with pytest.raises(TypeError, match="fig must be a matplotlib Figure"):
        plot_augmented(image, make_augmenter(), n=1, fig="figure")


# ---------------------------------------------------------------------------
# from_image_data_generator


def test_legacy_argument_list_matches_image_data_generator():
    image_module = pytest.importorskip("tf_keras.preprocessing.image")
    parameters = inspect.signature(image_module.ImageDataGenerator).parameters
    assert tuple(parameters) == LEGACY_ARGUMENTS


def test_classic_tutorial_configuration_translates_layer_by_layer():
    result = from_image_data_generator(
        rotation_range=36,
        width_shift_range=0.2,
        height_shift_range=0.1,
        shear_range=10,
        zoom_range=0.2,
        horizontal_flip=True,
        fill_mode="nearest",
        rescale=1.0 / 255,
    )
    assert layer_types(result.augmenter) == [
        "RandomFlip",
        "RandomRotation",
        "RandomTranslation",
        "RandomShear",
        "RandomZoom",
        "Rescaling",
    ]
    flip, rotation, translation, shear, zoom, rescale = result.augmenter.layers
    assert flip.mode == "horizontal"
    assert rotation.factor == pytest.approx((-0.1, 0.1))  # 36 degrees = 0.1 turn
    config = translation.get_config()
    assert (config["height_factor"], config["width_factor"]) == (0.1, 0.2)
    assert config["fill_mode"] == "nearest"
    assert shear.get_config()["x_factor"][1] == pytest.approx(math.tan(math.radians(10)))
    assert zoom.get_config()["height_factor"] == pytest.approx((-0.2, 0.2))
    assert zoom.get_config()["width_factor"] == pytest.approx((-0.2, 0.2))
    assert rescale.scale == pytest.approx(1 / 255)
    assert result.mapping["rotation_range"] == "RandomRotation(0.1)"
    assert result.mapping["rescale"] == "Rescaling(1/255)"
    assert result.mapping["width_shift_range"] == result.mapping["height_shift_range"]
    assert "RandomZoom" in result.mapping["fill_mode"]
    assert "36 degrees" in result.notes["rotation_range"]
    assert result.unsupported == {}
    out = apply_augmenter(result.augmenter, np.full((2, 8, 8, 3), 200.0), seed=0).numpy()
    assert out.shape == (2, 8, 8, 3) and 0 <= out.min() and out.max() <= 1.0 + 1e-6


def test_both_flips_brightness_channel_shift_and_constant_fill():
    result = from_image_data_generator(
        horizontal_flip=True,
        vertical_flip=True,
        brightness_range=[0.8, 1.3],
        channel_shift_range=25.5,
        rotation_range=10,
        fill_mode="constant",
        cval=7,
        interpolation_order=0,
        rescale=0.3,
    )
    layers = {layer.name: layer for layer in result.augmenter.layers}
    assert layers["flip"].mode == "horizontal_and_vertical"
    assert layers["brightness"].factor == pytest.approx((-0.2, 0.3))
    assert "approximate" in result.notes["brightness_range"]
    assert layers["channel_shift"].factor == pytest.approx((-0.1, 0.1))
    rotation = layers["rotation"].get_config()
    assert (rotation["fill_mode"], rotation["fill_value"], rotation["interpolation"]) == (
        "constant",
        7.0,
        "nearest",
    )
    assert result.mapping["cval"].startswith("fill_value=7")
    assert "nearest" in result.mapping["interpolation_order"]
    assert result.mapping["rescale"] == "Rescaling(0.3)"


def test_zoom_range_as_a_pair_and_cval_without_constant_fill():
    result = from_image_data_generator(zoom_range=[0.9, 1.3], cval=3, rotation_range=5)
    zoom = result.augmenter.layers[-1].get_config()
    assert zoom["height_factor"] == pytest.approx((-0.1, 0.3))
    assert "only used when fill_mode='constant'" in result.notes["cval"]


def test_arguments_without_equivalent_are_reported_with_a_reason():
    result = from_image_data_generator(
        featurewise_center=True,
        featurewise_std_normalization=True,
        samplewise_center=True,
        samplewise_std_normalization=True,
        zca_whitening=True,
        zca_epsilon=1e-5,
        preprocessing_function=lambda x: x,
        validation_split=0.2,
        data_format="channels_first",
        width_shift_range=4,
        height_shift_range=[-2, 0, 2],
        shear_range=60,
        interpolation_order=3,
        dtype="float32",
    )
    assert set(result.unsupported) == {
        "featurewise_center",
        "featurewise_std_normalization",
        "samplewise_center",
        "samplewise_std_normalization",
        "zca_whitening",
        "zca_epsilon",
        "preprocessing_function",
        "validation_split",
        "data_format",
        "width_shift_range",
        "height_shift_range",
        "shear_range",
        "interpolation_order",
    }
    assert "Normalization" in result.unsupported["featurewise_center"]
    assert "pixels" in result.unsupported["width_shift_range"]
    assert "45 degrees" in result.unsupported["shear_range"]
    assert "ignored" in result.notes["dtype"]
    assert result.augmenter.layers == []


def test_legacy_defaults_give_no_layers_and_say_so():
    result = from_image_data_generator(
        rotation_range=0, horizontal_flip=False, zoom_range=0.0, fill_mode="nearest"
    )
    assert result.augmenter.layers == [] and result.mapping == {}
    assert "no rotation" in result.notes["fill_mode"]
    assert str(from_image_data_generator()).startswith("No augmentation arguments given")


def test_translation_shows_itself_as_text_markdown_and_html():
    result = from_image_data_generator(rotation_range=18, samplewise_center=True)
    text = str(result)
    assert "rotation_range" in text and "RandomRotation(0.05)" in text
    assert "no equivalent" in text
    markdown = result.to_markdown()
    assert markdown.splitlines()[0] == "| ImageDataGenerator | Keras layers | note |"
    assert "<table>" in result._repr_html_() and "1 without an equivalent" in result._repr_html_()
    assert "RandomRotation" in repr(result)


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        ({"rotaton_range": 10}, TypeError, "ImageDataGenerator has no argument"),
        ({"rotation_range": -5}, ValueError, "rotation_range must be a finite number >= 0"),
        ({"rotation_range": 400}, ValueError, "at most 360 degrees"),
        ({"rotation_range": "10"}, TypeError, "rotation_range must be a number"),
        ({"fill_mode": "mirror"}, ValueError, "fill_mode must be one of"),
        ({"zoom_range": 1.5}, ValueError, "zoom_range must keep zoom factors above 0"),
        ({"zoom_range": [1.2, 0.8]}, ValueError, "lower <= upper"),
        ({"brightness_range": 0.5}, ValueError, r"brightness_range must be a pair"),
        ({"rescale": "1/255"}, TypeError, "rescale must be a number"),
    ],
)
def test_from_image_data_generator_rejects_bad_values(kwargs, error, words):
    with pytest.raises(error, match=words):
        from_image_data_generator(**kwargs)
