"""Exercises of lesson 02, the augmentation layers: label-safe choices, value_range, placement."""

from __future__ import annotations

from typing import Any

import numpy as np

from course_utils._validation import describe
from course_utils.exercises._checks import need, pair
from course_utils.exercises._core import Report, exercise

_SETUP = """
import keras
import numpy as np
import tensorflow as tf
from course_utils.data import load_dataset
from course_utils.models import build_course_cnn

SEED = 0
IMAGE_SIZE = 32
ROTATION = 0.1
splits = load_dataset("shapes", image_size=IMAGE_SIZE, seed=SEED, n_train=32, n_val=8, n_test=8)
"""

_CONTAINER_HINT = (
    "Give real layer objects, for example keras.layers.RandomRotation(0.05), in a list, a "
    "keras.layers.Pipeline or a keras.Sequential."
)


def _flat_layers(value: Any) -> list[Any]:
    """The layers of a list, tuple, Pipeline or model, nested containers opened, in order."""
    import keras

    if isinstance(value, (list, tuple)):
        return [layer for item in value for layer in _flat_layers(item)]
    if isinstance(value, keras.layers.InputLayer):
        return []
    if isinstance(value, (keras.layers.Pipeline, keras.Model)) and hasattr(value, "layers"):
        return [layer for item in value.layers for layer in _flat_layers(item)]
    return [value]


def _kind(layer: Any) -> str:
    return type(layer).__name__


def _turns(layer: Any) -> tuple[float, float]:
    """A RandomRotation's (lower, upper) angles in turns, as Keras stores its factor."""
    factor = layer.factor
    if isinstance(factor, (int, float)):
        return -abs(float(factor)), abs(float(factor))
    return float(factor[0]), float(factor[1])


def _largest(factor: Any) -> float:
    """The largest magnitude of a factor given as a number or a (lower, upper) pair."""
    if factor is None:
        return 0.0
    if isinstance(factor, (int, float)):
        return abs(float(factor))
    return max(abs(float(f)) for f in factor)


def _augmenter_layers(value: Any, name: str, report: Report) -> list[Any]:
    import keras

    is_container = isinstance(value, (list, tuple, keras.layers.Pipeline, keras.Model))
    need(
        report,
        is_container,
        f"{name} must be a list of Keras layers, a keras.layers.Pipeline or a keras.Sequential; "
        f"got {describe(value)}",
        _CONTAINER_HINT,
    )
    layers = _flat_layers(value)
    for layer in layers:
        if isinstance(layer, type):
            report.fail(
                f"{name}: got the class {layer.__name__}, not a layer; create one with "
                f"{layer.__name__}(...) and its factor",
                "A class is the recipe; calling it with its settings makes the layer.",
                stop=True,
            )
        need(
            report,
            isinstance(layer, keras.layers.Layer),
            f"{name}: every item must be a Keras layer; got {describe(layer)}",
            _CONTAINER_HINT,
        )
    report.require(
        bool(layers),
        f"{name}: {len(layers)} layer{'s' if len(layers) > 1 else ''}",
        f"{name} must hold at least one augmentation layer; got {describe(value)}",
        "Augmentation needs at least one random layer; choose those that keep the label true.",
    )
    return layers


def _rotation_label(layer: Any) -> str:
    lower, upper = _turns(layer)
    if lower == -upper:
        return f"RandomRotation({upper:g})"
    return f"RandomRotation(({lower:g}, {upper:g}))"


#: Shifts and zooms a digit survives: (largest factor, right, wrong, what cuts it off).
_DIGIT_LIMITS = {
    "RandomTranslation": (
        0.2,
        "RandomTranslation shifts by at most {:g} of the image",
        "RandomTranslation shifts by up to {:g} of the image size; a digit shifted that far "
        "loses strokes over the border (keep it to 0.2 or less)",
        "a large shift",
    ),
    "RandomZoom": (
        0.3,
        "RandomZoom by at most {:g}",
        "RandomZoom zooms by up to {:.0%}; zoomed in that far, strokes leave the frame (keep it "
        "to 0.3 or less)",
        "a strong zoom in",
    ),
}


def _check_digits(layers: list[Any], report: Report) -> None:
    for layer in layers:
        if _kind(layer) == "RandomFlip":
            report.fail(
                f"digits: RandomFlip({layer.mode!r}) mirrors digits: a mirrored 2, 3 or 7 is no "
                "digit at all, and both flips together make a half turn, which turns a 6 into a 9",
                "A transform is label-safe when a person would still give the image the same "
                "label. Would you still read a mirrored 7 as a 7?",
            )
    rotations = [layer for layer in layers if _kind(layer) == "RandomRotation"]
    report.expect(
        bool(rotations),
        "digits: a RandomRotation is there",
        "digits: no RandomRotation; handwriting slants a little either way, and a small random "
        "tilt is label-safe",
        "People write digits tilted by a few degrees; RandomRotation's factor is a fraction of "
        "a full turn.",
    )
    for layer in rotations:
        largest = max(abs(a) for a in _turns(layer))
        degrees = largest * 360
        if largest > 0.05 + 1e-9:
            report.fail(
                f"digits: {_rotation_label(layer)} turns up to {degrees:g} degrees; beyond "
                "about 18 degrees (0.05 of a turn) a digit leans further than people write, "
                "and half a turn makes a 6 a 9",
                "Keep the tilt to what handwriting shows: at most 0.05 of a turn either way.",
            )
        elif largest == 0:
            report.fail(
                f"digits: {_rotation_label(layer)} never turns the image (a factor of 0)",
                "A factor of 0 draws an angle of 0: give a small positive fraction of a turn.",
            )
        else:
            report.expect(
                True,
                f"digits: {_rotation_label(layer)} tilts by at most {degrees:g} degrees, as "
                "handwriting does",
                "",
            )
    for layer in layers:
        if _kind(layer) in _DIGIT_LIMITS:
            limit, right, wrong, cut = _DIGIT_LIMITS[_kind(layer)]
            value = max(_largest(layer.height_factor), _largest(layer.width_factor))
            report.expect(
                value <= limit + 1e-9,
                "digits: " + right.format(value),
                "digits: " + wrong.format(value),
                f"A digit fills most of its small image: {cut} cuts part of it off.",
            )


def _check_aerial(layers: list[Any], report: Report) -> None:
    modes = {layer.mode for layer in layers if _kind(layer) == "RandomFlip"}
    horizontal = bool(modes & {"horizontal", "horizontal_and_vertical"})
    vertical = bool(modes & {"vertical", "horizontal_and_vertical"})
    seen_from_above = (
        "Seen from above a scene has no up and no left: a field, a road or a roof is just as "
        "true mirrored either way."
    )
    if horizontal and vertical:
        report.expect(True, "aerial: flips in both directions", "")
    elif horizontal or vertical:
        done, missing = (
            ("horizontally", "vertically") if horizontal else ("vertically", "horizontally")
        )
        report.fail(
            f"aerial: flips only {done}; a photo taken from above is just as true flipped "
            f"{missing}, so flip in both directions",
            seen_from_above,
        )
    else:
        report.fail(
            "aerial: no RandomFlip; a photo taken from above is just as true mirrored, in both "
            "directions",
            seen_from_above,
        )
    rotations = [layer for layer in layers if _kind(layer) == "RandomRotation"]
    report.expect(
        bool(rotations),
        "aerial: a RandomRotation is there",
        "aerial: no RandomRotation; a camera above the ground can face any direction, so any "
        "angle is label-safe",
        "An aerial photo turned by any angle is still a photo of the same place.",
    )
    for layer in rotations:
        lower, upper = _turns(layer)
        largest = max(abs(lower), abs(upper))
        if upper - lower < 1 - 1e-9:
            report.fail(
                f"aerial: {_rotation_label(layer)} turns at most {largest * 360:g} degrees; "
                "seen from above every angle is as true, and 0.5 (-180 to +180 degrees) "
                "reaches them all",
                "The range of a rotation is upper - lower turns: a full turn covers every angle.",
            )
        else:
            report.expect(True, f"aerial: {_rotation_label(layer)} reaches every angle", "")


@exercise(
    "02.label-safe",
    title="Label-safe augmentations for digits and for aerial photos",
    minutes=6,
    task=(
        "answer = (digits, aerial): two lists of Keras augmentation layers, one that keeps "
        "handwritten digits readable (tilts of at most 18 degrees) and one for aerial photos "
        "taken from straight above."
    ),
    hints=(
        "Ask of each transform: would a person still give the transformed image the same "
        "label? A digit has an up and a left; a field seen from above has neither.",
        "RandomRotation's factor is a fraction of a full turn: 0.25 is a quarter turn, "
        "90 degrees; 18 degrees is 0.05.",
        "RandomFlip's mode names the mirror: 'horizontal', 'vertical' or "
        "'horizontal_and_vertical' (its default).",
    ),
    setup=_SETUP,
    solution="""
    digits = [
        keras.layers.RandomRotation(0.04, fill_mode="constant", seed=SEED),  # up to 14.4 degrees
        keras.layers.RandomTranslation(0.1, 0.1, fill_mode="constant", seed=SEED + 1),
    ]
    aerial = [
        keras.layers.RandomFlip("horizontal_and_vertical", seed=SEED),
        keras.layers.RandomRotation(0.5, fill_mode="reflect", seed=SEED + 1),  # any angle
        keras.layers.RandomBrightness(0.2, seed=SEED + 2),
    ]
    answer = (digits, aerial)
    """,
    wrong=(
        (
            """
            digits = [keras.layers.RandomFlip("horizontal"), keras.layers.RandomRotation(0.05)]
            aerial = [keras.layers.RandomFlip(), keras.layers.RandomRotation(0.5)]
            answer = (digits, aerial)
            """,
            "a mirrored 2, 3 or 7 is no digit",
        ),
        (
            """
            digits = [keras.layers.RandomRotation(0.3)]  # 18 degrees in radians
            aerial = [keras.layers.RandomFlip(), keras.layers.RandomRotation(0.5)]
            answer = (digits, aerial)
            """,
            "turns up to 108 degrees",
        ),
        (
            """
            digits = [keras.layers.RandomRotation(0.05)]
            aerial = [keras.layers.RandomFlip("horizontal"), keras.layers.RandomRotation(0.5)]
            answer = (digits, aerial)
            """,
            "flips only horizontally",
        ),
        (
            """
            digits = [keras.layers.RandomRotation(0.05)]
            aerial = [keras.layers.RandomFlip(), keras.layers.RandomRotation(0.1)]
            answer = (digits, aerial)
            """,
            "turns at most 36 degrees",
        ),
    ),
)
def _label_safe(answer: Any, report: Report) -> None:
    digits, aerial = pair(answer, report, ("digits", "aerial"), "lists of Keras layers", "choices")
    digits = _augmenter_layers(digits, "digits", report)
    aerial = _augmenter_layers(aerial, "aerial", report)
    _check_digits(digits, report)
    _check_aerial(aerial, report)


# ---------------------------------------------------------------------------
# 02.value-range


def _test_images(shape: tuple[int, ...] = (6, 16, 16, 3), seed: int = 0) -> np.ndarray:
    """Smooth float32 images on the 0-255 scale, away from black and white (60 to 195)."""
    rng = np.random.default_rng(seed)
    n, height, width, channels = shape
    rows = np.linspace(0, 1, height)[None, :, None, None]
    cols = np.linspace(0, 1, width)[None, None, :, None]
    a, b, c = (rng.uniform(0, 1, (n, 1, 1, channels)) for _ in range(3))
    pattern = (a * rows + b * cols + c) / 3.0  # 0 to 1
    return (60 + 135 * pattern).astype("float32")


def _value_ranges(layers: list[Any]) -> list[tuple[Any, tuple[float, float], bool]]:
    """(layer, the range its input has, after Rescaling?) for each brightness/contrast layer."""
    low, high, rescaled, found = 0.0, 255.0, False, []
    for layer in layers:
        if _kind(layer) == "Rescaling":
            scale, offset = float(np.asarray(layer.scale)), float(np.asarray(layer.offset))
            low, high = sorted((low * scale + offset, high * scale + offset))
            rescaled = True
        elif _kind(layer) in {"RandomBrightness", "RandomContrast"}:
            found.append((layer, (low, high), rescaled))
    return found


def _span(values: tuple[float, float]) -> str:
    return f"{values[0]:g} to {values[1]:g}"


@exercise(
    "02.value-range",
    title="Fix the value_range bug",
    minutes=6,
    task=(
        "answer = a corrected version of keras.Sequential([Rescaling(1/255), "
        "RandomBrightness(0.2), RandomContrast(0.2)]): the same three layers, 0-255 pixels in, "
        "0-1 pixels out, brightness and contrast changed without saturating the images."
    ),
    hints=(
        "RandomBrightness and RandomContrast clip their output to value_range, and size the "
        "brightness shift by its width. What range do the pixels have when they reach them?",
        "value_range describes the pixels the layer receives, not the files: after "
        "Rescaling(1/255) they run from 0 to 1.",
        "There are two fixes: tell the two layers the range they really get, or let them work "
        "on 0-255 pixels before the Rescaling, with their default range.",
    ),
    setup=_SETUP,
    solution="""
    answer = keras.Sequential(
        [
            keras.layers.Rescaling(1 / 255),
            keras.layers.RandomBrightness(0.2, value_range=(0, 1), seed=SEED),
            keras.layers.RandomContrast(0.2, value_range=(0, 1), seed=SEED + 1),
        ]
    )
    """,
    wrong=(
        (
            """
            answer = keras.Sequential([
                keras.layers.Rescaling(1 / 255),
                keras.layers.RandomBrightness(0.2),
                keras.layers.RandomContrast(0.2),
            ])
            """,
            "RandomBrightness receives pixels from 0 to 1",
        ),
        (
            """
            answer = keras.Sequential([
                keras.layers.Rescaling(1 / 255),
                keras.layers.RandomBrightness(0.2, value_range=(0, 1)),
                keras.layers.RandomContrast(0.2),
            ])
            """,
            "RandomContrast receives pixels from 0 to 1",
        ),
        (
            """
            answer = keras.Sequential([
                keras.layers.RandomBrightness(0.2, value_range=(0, 1)),
                keras.layers.RandomContrast(0.2, value_range=(0, 1)),
                keras.layers.Rescaling(1 / 255),
            ])
            """,
            "RandomBrightness receives pixels from 0 to 255",
        ),
        (
            """
            answer = keras.layers.Pipeline([
                keras.layers.RandomBrightness(0.2, value_range=(0, 1)),
                keras.layers.RandomContrast(0.2, value_range=(0, 1)),
            ])
            """,
            "no Rescaling layer",
        ),
    ),
)
def _value_range(answer: Any, report: Report) -> None:
    import keras

    report.require(
        isinstance(answer, keras.layers.Layer),
        "answer is a Keras layer or model",
        f"answer must be a keras.Sequential (or keras.layers.Pipeline) of the three layers; "
        f"got {describe(answer)}",
        "Write the three layers in keras.Sequential([...]), in the order that works.",
    )
    layers = _flat_layers(answer)
    kinds = [_kind(layer) for layer in layers]
    for kind in ("RandomBrightness", "RandomContrast"):
        report.require(
            kind in kinds,
            f"a {kind} layer is there",
            f"no {kind} layer: the task keeps it; got the layers {kinds}",
            "Keep the three layers of the broken model and change their settings or order.",
        )
    rescalings = [layer for layer in layers if _kind(layer) == "Rescaling"]
    report.require(
        len(rescalings) == 1,
        "one Rescaling layer",
        f"no Rescaling layer: the model must still turn 0-255 pixels into 0-1; got the layers "
        f"{kinds}"
        if not rescalings
        else f"{len(rescalings)} Rescaling layers: the pixels are divided by 255 more than "
        f"once; got the layers {kinds}",
        "The CNN after this model expects pixels from 0 to 1, so one Rescaling(1/255) stays.",
    )
    for layer, received, rescaled in _value_ranges(layers):
        given = tuple(float(v) for v in layer.value_range)
        where = "after" if rescaled else "before"
        report.expect(
            np.allclose(given, received, atol=1e-6),
            f"{_kind(layer)}: value_range ({_span(given)}) is the range it receives",
            f"{_kind(layer)} receives pixels from {_span(received)} ({where} Rescaling) but its "
            f"value_range is ({given[0]:g}, {given[1]:g})",
            "value_range is the range of the pixels that reach the layer: it sizes the shift "
            "and sets where the values are clipped.",
        )

    images = _test_images()
    expected = images / 255.0
    plain = report.attempt(
        "Calling your model with training=False",
        lambda: np.asarray(answer(images, training=False)),
    )
    report.require(
        plain.shape == images.shape and np.allclose(plain, expected, atol=1e-5),
        "with training=False the output is the images divided by 255",
        f"with training=False the output must be the images divided by 255 (0.24 to 0.76 "
        f"here); got values from {plain.min():.3g} to {plain.max():.3g}",
        "Outside training the random layers hand the images back; only Rescaling acts.",
    )
    augmented = report.attempt(
        "Calling your model with training=True",
        lambda: np.asarray(answer(images, training=True)),
    )
    low, high = float(augmented.min()), float(augmented.max())
    report.expect(
        low >= -1e-5 and high <= 1 + 1e-5,
        "augmented pixels stay between 0 and 1",
        f"augmented pixels must stay between 0 and 1; got values from {low:.3g} to {high:.3g}",
        "A layer clips to its value_range: with the wrong range it clips in the wrong place.",
    )
    saturated = float(np.mean((augmented <= 1e-6) | (augmented >= 1 - 1e-6)))
    report.expect(
        saturated < 0.25,
        f"not saturated: {saturated:.0%} of the values are at 0 or 1",
        f"saturated: {saturated:.0%} of the augmented values are at 0 or 1 (black or white); a "
        "shift of 0.2 of the range leaves most pixels of these mid-grey images inside it",
        "A shift sized for 0-255 is 255 times too large for 0-1 pixels.",
    )
    report.expect(
        not np.allclose(augmented, expected, atol=1e-4),
        "with training=True the images change",
        "with training=True the images come back unchanged: the layers must augment",
        "Keep the factors of the task, 0.2 for both layers.",
    )


# ---------------------------------------------------------------------------
# 02.inside-model

_RANDOM_LAYERS = {"Dropout", "SpatialDropout2D", "GaussianNoise", "GaussianDropout", "AlphaDropout"}


def _is_augmentation(layer: Any) -> bool:
    return _kind(layer).startswith("Random") or _kind(layer) in {"RandAugment", "AugMix"}


def _input_batch(model: Any, report: Report) -> np.ndarray:
    try:
        shape = tuple(model.inputs[0].shape)
    except (AttributeError, IndexError, TypeError, ValueError):
        shape = ()
    report.require(
        len(shape) == 4 and all(isinstance(n, int) for n in shape[1:]),
        f"the model takes images of shape {shape[1:]}",
        f"the model must start with keras.Input((height, width, channels)); got input shape "
        f"{shape or 'unknown (no keras.Input)'}",
        "Begin the Sequential with keras.Input(splits.image_shape), so the model knows its input.",
    )
    rng = np.random.default_rng(0)
    return rng.uniform(0, 255, (4, *shape[1:])).astype("float32")


@exercise(
    "02.inside-model",
    title="Augmentation inside the model, skipped by predict",
    minutes=5,
    task=(
        "answer = a keras.Sequential that starts with keras.Input, then augmentation layers, "
        "then the course CNN: random while it trains, unchanged images in predict and evaluate."
    ),
    hints=(
        "A Keras augmentation layer is random only in training mode; fit passes "
        "training=True, predict and evaluate pass training=False.",
        "The augmentation must act on the images, so it comes before any layer that learns.",
        "Only a layer that reads the training flag can be switched off: Keras' Random... "
        "layers do, a tf.image random function in a Lambda layer does not.",
    ),
    setup=_SETUP,
    solution="""
    answer = keras.Sequential(
        [
            keras.Input(splits.image_shape),
            keras.layers.RandomFlip("horizontal", seed=SEED),
            keras.layers.RandomRotation(ROTATION, fill_mode="reflect", seed=SEED + 1),
            build_course_cnn(splits.image_shape, len(splits.class_names)),
        ]
    )
    """,
    wrong=(
        (
            """
            answer = build_course_cnn(splits.image_shape, len(splits.class_names))
            """,
            "training=True gives the same output on every call",
        ),
        (
            """
            answer = keras.Sequential([
                keras.Input(splits.image_shape),
                keras.layers.Dropout(0.2),
                build_course_cnn(splits.image_shape, len(splits.class_names)),
            ])
            """,
            "Dropout is random in training too, but it",
        ),
        (
            """
            answer = keras.Sequential([
                keras.Input(splits.image_shape),
                keras.layers.Lambda(lambda images: tf.image.random_flip_left_right(images)),
                build_course_cnn(splits.image_shape, len(splits.class_names)),
            ])
            """,
            "predict gives other outputs for the same images",
        ),
        (
            """
            answer = keras.Sequential([
                keras.Input(splits.image_shape),
                keras.layers.Conv2D(8, 3, activation="relu"),
                keras.layers.RandomRotation(ROTATION),
                keras.layers.Flatten(),
                keras.layers.Dense(len(splits.class_names), activation="softmax"),
            ])
            """,
            "RandomRotation comes after Conv2D",
        ),
    ),
)
def _inside_model(answer: Any, report: Report) -> None:
    import keras

    report.require(
        isinstance(answer, keras.Model),
        "answer is a Keras model",
        f"answer must be a Keras model (keras.Sequential) with the augmentation inside; got "
        f"{describe(answer)}",
        "Write keras.Sequential([keras.Input(...), augmentation layers..., the CNN]).",
    )
    images = _input_batch(answer, report)
    training = [
        report.attempt(
            "Calling your model with training=True",
            lambda: np.asarray(answer(images, training=True)),
        )
        for _ in range(3)
    ]
    inference = [
        report.attempt(
            "Calling your model with training=False",
            lambda: np.asarray(answer(images, training=False)),
        )
        for _ in range(2)
    ]
    predicted = [
        report.attempt("Calling your model's predict", lambda: answer.predict(images, verbose=0))
        for _ in range(2)
    ]
    changes = any(not np.allclose(t, training[0], atol=1e-6) for t in training[1:])
    report.expect(
        changes,
        "with training=True the output changes from call to call: something random runs",
        "training=True gives the same output on every call: nothing random runs in the model "
        "while it trains",
        "fit calls the model with training=True: the augmentation layers must be inside it.",
    )
    report.expect(
        np.allclose(inference[0], inference[1], atol=1e-6),
        "with training=False the output is the same on every call",
        "with training=False the output changes from call to call: something in the model "
        "stays random outside training",
        "Use Keras' augmentation layers: they read the training flag.",
    )
    same_predict = np.allclose(predicted[0], predicted[1], atol=1e-6) and np.allclose(
        predicted[0], inference[0], atol=1e-5
    )
    report.expect(
        same_predict,
        "predict gives the same outputs as training=False: it skips the augmentation",
        "predict gives other outputs for the same images on each call: the model augments at "
        "inference too",
        "A tf.image random function in a Lambda layer ignores the training flag; Keras' "
        "RandomFlip or RandomRotation layers do not.",
    )

    layers = _flat_layers(answer)
    augmenting = [layer for layer in layers if _is_augmentation(layer)]
    noise = [_kind(layer) for layer in layers if _kind(layer) in _RANDOM_LAYERS]
    if not augmenting:
        report.fail(
            f"no augmentation layer in the model: {noise[0]} is random in training too, but it "
            "changes the activations, not the images"
            if noise
            else f"no augmentation layer (RandomFlip, RandomRotation, ...) in the model; got the "
            f"layers {[_kind(layer) for layer in layers]}",
            "Put Keras' augmentation layers (RandomFlip, RandomRotation, ...) right after "
            "keras.Input.",
        )
        return
    first = layers.index(augmenting[0])
    learning = [layer for layer in layers[:first] if layer.weights]
    report.expect(
        not learning,
        f"{_kind(augmenting[0])} comes first, before any layer that learns",
        f"{_kind(augmenting[0])} comes after {_kind(learning[0]) if learning else ''}: it then "
        "transforms feature maps, not the images",
        "The augmentation changes the images the network sees: it goes first, before the "
        "first Conv2D.",
    )
