"""Data augmentation with Keras preprocessing layers, on the 0-255 scale.

The course's augmenter (random while training, so stored images never change), applied
reproducibly from a seed; fixed values as the explorer widget applies them; and the legacy
``ImageDataGenerator`` arguments as layers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from matplotlib.figure import Figure

from course_utils import _display
from course_utils._validation import as_fraction, as_images, as_int, as_number, as_seed, describe
from course_utils.fused import FLIP_MODES, FusedAugmentation, rotation_matrices

__all__ = [
    "LEGACY_ARGUMENTS",
    "AugmentationSettings",
    "LegacyTranslation",
    "apply_augmenter",
    "augment_image",
    "augmented_variants",
    "from_image_data_generator",
    "make_augmenter",
    "pinned_layers",
    "plot_augmented",
    "random_settings",
]

FILL_MODES = ("reflect", "wrap", "constant", "nearest")

#: Every argument of the legacy ``ImageDataGenerator`` (Keras 2 /
#: ``tf_keras.preprocessing.image``), in its signature order.
LEGACY_ARGUMENTS: tuple[str, ...] = tuple(
    "featurewise_center samplewise_center featurewise_std_normalization "
    "samplewise_std_normalization zca_whitening zca_epsilon rotation_range width_shift_range "
    "height_shift_range brightness_range shear_range zoom_range channel_shift_range fill_mode "
    "cval horizontal_flip vertical_flip rescale preprocessing_function data_format "
    "validation_split interpolation_order dtype".split()
)


def make_augmenter(
    flip: str | None = "horizontal",
    rotation: float | None = 0.1,
    brightness: float | None = 0.2,
    zoom: float | None = None,
    contrast: float | None = None,
    translation: float | None = None,
    seed: int | None = None,
    fill_mode: str = "reflect",
    shear: float | None = None,
    fused: bool = False,
) -> keras.Sequential | FusedAugmentation:
    """Build the course's augmenter from Keras preprocessing layers.

    Random only with ``training=True`` (in ``model.fit`` or :func:`apply_augmenter`); at
    prediction time images pass through. ``None`` or ``0`` switches a transform off.

    Parameters
    ----------
    flip : {"horizontal", "vertical", "horizontal_and_vertical"} or None
        Random mirror images (``RandomFlip``).
    rotation : float or None
        Largest turn, a fraction of a full turn in [0, 1]: 0.1 is up to 36 degrees either way.
    brightness : float or None
        Largest shift, a fraction of 0-255 in [0, 1]: 0.2 adds up to +-51, then clips.
    zoom, translation : float or None
        Largest zoom in or out (in [0, 1)), or shift of both axes (in [0, 1]), as a fraction
        of the size.
    contrast : float or None
        In [0, 1]: contrast scaled by a factor in [1, 1 + contrast] (``RandomContrast``,
        whose lower bound for one number is ``max(-contrast, 0)``).
    seed : int or None
        Seed of the layers' own random state (layer ``i`` gets ``seed + i``).
    fill_mode : {"reflect", "wrap", "constant", "nearest"}
        How the geometric layers fill uncovered pixels (``"wrap"`` only without ``fused``).
    shear : float or None
        Largest horizontal shear, in [0, 1]: row ``y`` moves by up to ``shear * y`` pixels.
    fused : bool
        Return one :class:`course_utils.fused.FusedAugmentation` instead: the same
        transforms, the geometric ones as one warp per image.

    Returns
    -------
    keras.Sequential or FusedAugmentation
        Named ``"augmentation"``: float images ``(N, H, W, C)`` on 0-255 in, float32 out.

    Examples
    --------
    >>> [layer.__class__.__name__ for layer in make_augmenter(rotation=0.1, seed=0).layers]
    ['RandomFlip', 'RandomRotation', 'RandomBrightness']
    """
    if flip is not None and flip is not False and flip not in FLIP_MODES:
        raise ValueError(f"flip must be one of {FLIP_MODES} or None; got {flip!r}")
    if fill_mode not in FILL_MODES:
        raise ValueError(f"fill_mode must be one of {FILL_MODES}; got {fill_mode!r}")
    strengths = {  # in the order the layers are applied
        "rotation": as_fraction(rotation, "rotation", meaning=" (fraction of a full turn)"),
        "zoom": as_fraction(zoom, "zoom", meaning=" (fraction of the size)", inclusive=False),
        "translation": as_fraction(translation, "translation", meaning=" (fraction of the size)"),
        "shear": as_fraction(shear, "shear"),
        "brightness": as_fraction(brightness, "brightness", meaning=" (fraction of 0-255)"),
        "contrast": as_fraction(contrast, "contrast"),
    }
    seed = as_seed(seed)
    if fused:
        options = dict(fill_mode=fill_mode, seed=seed, value_range=(0, 255), name="augmentation")
        return FusedAugmentation(flip=flip or None, **strengths, **options)
    L, fill, color = keras.layers, {"fill_mode": fill_mode}, {"value_range": (0, 255)}
    builders = {  # name: the layer for a strength
        "flip": L.RandomFlip,
        "rotation": partial(L.RandomRotation, **fill),
        "zoom": partial(L.RandomZoom, **fill),
        "translation": lambda v, **k: L.RandomTranslation(v, v, **fill, **k),
        "shear": lambda v, **k: L.RandomShear(x_factor=v, **fill, **k),
        "brightness": partial(L.RandomBrightness, **color),
        "contrast": partial(L.RandomContrast, **color),
    }
    layers: list[keras.layers.Layer] = []
    for name, value in {"flip": flip, **strengths}.items():
        if value:
            layer_seed = None if seed is None else seed + len(layers)
            layers.append(builders[name](value, seed=layer_seed, name=name))
    return keras.Sequential(layers, name="augmentation")


def _flat_layers(augmenter: keras.layers.Layer) -> list[keras.layers.Layer]:
    if isinstance(augmenter, (keras.Sequential, keras.layers.Pipeline)):
        return [leaf for layer in augmenter.layers for leaf in _flat_layers(layer)]
    return [augmenter]


def _seed_tensor(seed: int | tf.Tensor) -> tf.Tensor:
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        return tf.constant([int(seed), 0], dtype=tf.int64)
    seed = tf.convert_to_tensor(seed)
    if seed.shape.rank != 1 or seed.shape[0] != 2 or not seed.dtype.is_integer:
        raise ValueError(f"seed must be an int or an integer tensor of shape (2,); got {seed}")
    return tf.cast(seed, tf.int64)


def _transformation(layer: keras.layers.Layer, images: tf.Tensor, seed: tf.Tensor) -> Any:
    """One layer's random values for a batch from ``seed`` (None: not seedable here)."""
    if isinstance(layer, FusedAugmentation):
        return layer.get_random_transformation(images, training=True, seed=seed)
    shape = tf.shape(images)
    n, height, width = shape[0], tf.cast(shape[1], tf.float32), tf.cast(shape[2], tf.float32)
    seeds = tf.random.experimental.stateless_split(seed, 3)

    def uniform(i: int, low: float, high: float, *rest: int) -> tf.Tensor:
        return tf.random.stateless_uniform(tf.stack([n, *rest]), seeds[i], low, high)

    if isinstance(layer, keras.layers.RandomFlip):
        return {"flips": uniform(0, 0, 1, 1, 1, 1) <= 0.5, "input_shape": shape}
    if isinstance(layer, keras.layers.RandomRotation):
        angle = uniform(0, layer.factor[0] * 360, layer.factor[1] * 360)
        rows = tf.reshape(rotation_matrices(angle, height, width)[:, :2], (-1, 6))
        return {"rotation_matrix": tf.concat([rows, tf.zeros((n, 2))], axis=1)}
    if isinstance(layer, keras.layers.RandomZoom):
        zoom = 1 + uniform(0, layer.height_lower, layer.height_upper, 1)
        width_zoom = zoom  # without a width_factor the width follows the height
        if layer.width_factor is not None:
            width_zoom = 1 + uniform(1, layer.width_lower, layer.width_upper, 1)
        return {"height_zoom": zoom, "width_zoom": width_zoom, "input_shape": shape}
    if isinstance(layer, keras.layers.RandomTranslation):
        dy = uniform(0, layer.height_lower, layer.height_upper, 1) * height
        dx = uniform(1, layer.width_lower, layer.width_upper, 1) * width
        return {"translations": tf.concat([dx, dy], axis=1), "input_shape": shape}
    if isinstance(layer, keras.layers.RandomShear):
        sign = tf.where(uniform(0, 0, 1, 1) > 0.5, -1.0, 1.0)
        factor = tf.concat([uniform(1, *layer.x_factor, 1), uniform(2, *layer.y_factor, 1)], 1)
        return {"shear_factor": factor * sign, "input_shape": shape}
    if isinstance(layer, keras.layers.RandomBrightness):
        span = layer.value_range[1] - layer.value_range[0]
        return {"rgb_delta": uniform(0, *layer.factor, 1, 1, 1) * span}
    if isinstance(layer, keras.layers.RandomContrast):
        return {"contrast_factor": uniform(0, 1 - layer.factor[0], 1 + layer.factor[1], 1, 1, 1)}
    if tf.executing_eagerly() and hasattr(layer, "get_random_transformation"):
        generator = keras.random.SeedGenerator(int(seed[0]) % 2**31)  # other image layers
        return layer.get_random_transformation(images, training=True, seed=generator)
    return None


def apply_augmenter(
    augmenter: keras.layers.Layer | None,
    images: Any,
    seed: int | tf.Tensor | None = None,
) -> tf.Tensor:
    """Augment a batch in training mode, reproducibly when a seed is given.

    Works eagerly and in ``tf.data`` (also a parallel ``map``). Layer ``i`` of the flattened
    augmenter draws its values from seed ``i`` of ``stateless_split(seed)`` and applies them
    with its public ``transform_images`` (a ``FusedAugmentation`` takes the seed itself; other
    image layers get a ``SeedGenerator`` made from it, when called eagerly).

    Parameters
    ----------
    augmenter : keras.layers.Layer or None
        A layer, or a ``keras.Sequential``/``keras.layers.Pipeline``; None only casts.
    images : tensor or array, shape (N, H, W, C)
        Images on the 0-255 scale, any numeric dtype.
    seed : int, int tensor of shape (2,), or None
        Same seed, same result. Without one (and for other layers inside a graph) layers are
        called with ``training=True`` and use their own state.

    Returns
    -------
    tf.Tensor
        float32 images ``(N, H', W', C)`` (other sizes only if a layer crops).

    Examples
    --------
    >>> images = np.full((2, 8, 8, 3), 100, dtype=np.uint8)
    >>> first = apply_augmenter(make_augmenter(), images, seed=0)
    >>> bool(np.array_equal(first, apply_augmenter(make_augmenter(), images, seed=0)))
    True
    """
    if augmenter is not None and not isinstance(augmenter, keras.layers.Layer):
        raise TypeError(
            f"augmenter must be a keras Layer/Sequential or None; got {describe(augmenter)}"
        )
    layers = [] if augmenter is None else _flat_layers(augmenter)
    # The fused warp reads a uint8 batch as it is (a quarter of the bytes of float32).
    fused_first = bool(layers) and isinstance(layers[0], FusedAugmentation)
    x = tf.convert_to_tensor(images) if fused_first else tf.cast(images, tf.float32)
    if seed is not None:
        seeds = tf.random.experimental.stateless_split(_seed_tensor(seed), max(len(layers), 1))
    for i, layer in enumerate(layers):
        drawn = None if seed is None else _transformation(layer, x, seeds[i])
        x = layer(x, training=True) if drawn is None else layer.transform_images(x, drawn)
        x = tf.cast(x, tf.float32)
    return x


def augmented_variants(
    image: Any, augmenter: keras.layers.Layer | None, n: int = 8, seed: int = 0
) -> np.ndarray:
    """Return ``n`` random variants of one image (the pure part of :func:`plot_augmented`).

    Parameters
    ----------
    image : array-like, shape (H, W, C) or (H, W)
        uint8 or float image on the 0-255 scale.
    augmenter : keras.layers.Layer or None
        E.g. from :func:`make_augmenter`.
    n, seed : int
        Number of variants (at least 1); same seed, same variants.

    Returns
    -------
    numpy.ndarray
        float32 ``(n, H, W, C)`` on the 0-255 scale.

    Examples
    --------
    >>> augmented_variants(np.full((8, 8, 3), 100, np.uint8), make_augmenter(), n=4).shape
    (4, 8, 8, 3)
    """
    image = as_images(image, "image", batch=False, channels=None)
    n = as_int(n, "n", minimum=1)
    seed = as_seed(seed)
    batch = np.repeat(image[np.newaxis], n, axis=0)
    return np.asarray(apply_augmenter(augmenter, batch, seed=seed))


def plot_augmented(
    image: Any,
    augmenter: keras.layers.Layer | None,
    n: int = 8,
    seed: int = 0,
    fig: Figure | None = None,
    ncols: int | None = None,
) -> Figure:
    """Show the original image beside ``n`` random variants.

    Parameters
    ----------
    image, augmenter, n, seed
        As for :func:`augmented_variants` (same seed, same picture).
    fig : matplotlib.figure.Figure, optional
        Figure to draw into (cleared first).
    ncols : int, optional
        Images per row; by default all on one row up to 9 images.

    Returns
    -------
    matplotlib.figure.Figure
        ``n + 1`` image axes titled ``"original"``, ``"variant 1"``, ...

    Examples
    --------
    >>> len(plot_augmented(np.full((8, 8, 3), 100, np.uint8), make_augmenter(), n=3).axes)
    4
    """
    variants = augmented_variants(image, augmenter, n=n, seed=seed)
    original = as_images(image, "image", batch=False, channels=None)
    total = len(variants) + 1
    ncols = min(total, 9) if ncols is None else as_int(ncols, "ncols")
    fig, axes = _display.image_grid(total, ncols=ncols, fig=fig)
    titles = ["original"] + [f"variant {i + 1}" for i in range(len(variants))]
    for ax, title, picture in zip(axes, titles, [original, *variants], strict=True):
        _display.show_image(ax, np.clip(picture, 0, 255) / 255.0, title)
    return fig


# --------------------------------------------------------------------------- fixed values

#: Ranges of the fixed values: (min, max, step), in the units of AugmentationSettings.
_BOUNDS = {
    "rotation": (-0.5, 0.5, 0.01),
    "brightness": (-1.0, 1.0, 0.05),
    "zoom": (-0.9, 0.9, 0.05),
    "contrast": (-1.0, 1.0, 0.05),
}


@dataclass(frozen=True)
class AugmentationSettings:
    """One fixed set of transform values (one draw of an augmenter), in the Keras layers' units.

    Attributes
    ----------
    rotation : float
        Fraction of a full turn, -0.5 to 0.5; positive turns counter-clockwise.
    brightness : float
        Added to every pixel as a fraction of the 0-255 range; -1 to 1.
    zoom : float
        As ``RandomZoom``'s ``height_factor``: positive zooms out, negative in; -0.9 to 0.9.
    contrast : float
        Contrast is multiplied by ``1 + contrast``; -1 (flat grey) to 1.
    flip : bool
        Mirror left to right.

    Examples
    --------
    >>> print(AugmentationSettings(rotation=0.25, flip=True))
    flipped, rotated +0.25 turn (+90 deg)
    """

    rotation: float = 0.0
    brightness: float = 0.0
    zoom: float = 0.0
    contrast: float = 0.0
    flip: bool = False

    def __str__(self) -> str:
        parts = {
            "flip": "flipped",
            "rotation": f"rotated {self.rotation:+.2f} turn ({self.rotation * 360:+.0f} deg)",
            "zoom": f"zoom {self.zoom:+.2f} ({'out' if self.zoom > 0 else 'in'})",
            "brightness": f"brightness {self.brightness:+.2f}",
            "contrast": f"contrast {self.contrast:+.2f}",
        }
        return ", ".join(text for key, text in parts.items() if getattr(self, key)) or "unchanged"


def pinned_layers(settings: AugmentationSettings) -> str:
    """The Keras layers, each factor pinned, that :func:`augment_image` applies, as text.

    Examples
    --------
    >>> pinned_layers(AugmentationSettings(rotation=0.25, zoom=0.1))
    'RandomRotation((0.25, 0.25)), RandomZoom((0.1, 0.1))'
    """
    if not isinstance(settings, AugmentationSettings):
        raise TypeError(f"settings must be an AugmentationSettings; got {describe(settings)}")
    calls = ['a flip as RandomFlip("horizontal") draws it'] if settings.flip else []
    for key in ("rotation", "zoom", "brightness"):
        value = getattr(settings, key)
        if value:
            calls.append(f"Random{key.title()}(({value:g}, {value:g}))")
    if settings.contrast:
        calls.append(f"RandomContrast drawing the factor {1 + settings.contrast:g}")
    return ", ".join(calls) or "no layer"


def _checked(values: tuple, strengths: bool = False) -> list[float]:
    """The four values in ``_BOUNDS`` order, checked against it (strengths: from 0 up)."""
    return [
        as_number(value, key, low=0 if strengths else low, high=high)
        for (key, (low, high, _)), value in zip(_BOUNDS.items(), values, strict=True)
    ]


def _image_0_255(image: Any, name: str = "image") -> np.ndarray:
    """One image as float32 (H, W, C) on the 0-255 scale (floats up to 1 are scaled)."""
    array = as_images(image, name, batch=False, channels=(1, 3))
    if np.issubdtype(array.dtype, np.floating) and array.max() <= 1.0:
        array = array * 255.0
    return array.astype(np.float32)


def augment_image(
    image: Any,
    rotation: float = 0.0,
    brightness: float = 0.0,
    zoom: float = 0.0,
    contrast: float = 0.0,
    flip: bool = False,
) -> np.ndarray:
    """Apply fixed values of the course's transforms to one image, with Keras layers.

    Each value is pinned in its layer's own units and sign (see :func:`pinned_layers`), so the
    result is deterministic; the order is that of :func:`make_augmenter`, and 0 (or
    ``flip=False``) leaves a transform out.

    Parameters
    ----------
    image : array-like, shape (H, W, C) or (H, W)
        uint8 or float 0-255 (floats of at most 1 are taken as 0-1); 1 or 3 channels.
    rotation, brightness, zoom, contrast : float
        In the units and ranges of :class:`AugmentationSettings`; rotation and zoom fill
        uncovered corners by reflection (a positive zoom shows more, a negative one crops),
        brightness clips to 0-255.
    flip : bool
        Mirror left to right.

    Returns
    -------
    numpy.ndarray
        float32 ``(H, W, C)`` on the 0-255 scale.

    Examples
    --------
    >>> float(augment_image(np.zeros((8, 8, 3), np.uint8), brightness=0.5).mean())
    127.5
    """
    x = _image_0_255(image)
    rotation, brightness, zoom, contrast = _checked((rotation, brightness, zoom, contrast))
    if not isinstance(flip, (bool, np.bool_)):
        raise TypeError(f"flip must be True or False; got {describe(flip)}")
    if flip:
        x = x[:, ::-1]
    steps = [
        rotation and keras.layers.RandomRotation((rotation, rotation), fill_mode="reflect"),
        zoom and keras.layers.RandomZoom((zoom, zoom), fill_mode="reflect"),  # width follows
        brightness and keras.layers.RandomBrightness((brightness,) * 2, value_range=(0, 255)),
    ]
    batch = x[np.newaxis]
    for layer in filter(None, steps):
        batch = np.asarray(layer(batch, training=True), dtype=np.float32)
    if contrast:  # RandomContrast sorts a factor pair, so the factor is handed over as drawn
        factor = {"contrast_factor": np.full((1, 1, 1, 1), 1.0 + contrast, np.float32)}
        layer = keras.layers.RandomContrast(0.0, value_range=(0, 255))
        batch = np.asarray(layer.transform_images(batch, factor), dtype=np.float32)
    return np.ascontiguousarray(batch[0], dtype=np.float32)


def random_settings(
    seed: int,
    rotation: float = 0.1,
    brightness: float = 0.2,
    zoom: float = 0.2,
    contrast: float = 0.2,
    flip: bool = True,
) -> AugmentationSettings:
    """Draw one :class:`AugmentationSettings` the way ``make_augmenter`` with these strengths would.

    Each value is drawn uniformly in ``[-strength, strength]`` (strengths in
    :func:`make_augmenter`'s units, at most the ranges of :class:`AugmentationSettings`), then
    rounded to the explorer's slider steps; with ``flip`` a coin decides a left-right flip. The
    same ``seed`` gives the same draw.

    Examples
    --------
    >>> abs(random_settings(0).rotation) <= 0.1
    True
    """
    seed = as_seed(seed)
    if seed is None:
        raise TypeError("seed must be an int >= 0; got None")
    strengths = _checked((rotation, brightness, zoom, contrast), strengths=True)
    rng = np.random.default_rng(seed)
    drawn = {key: float(rng.uniform(-v, v)) for key, v in zip(_BOUNDS, strengths, strict=True)}
    flipped = bool(rng.random() < 0.5) and bool(flip)
    rounded = {
        key: round(round(v / _BOUNDS[key][2]) * _BOUNDS[key][2], 4) for key, v in drawn.items()
    }
    return AugmentationSettings(flip=flipped, **rounded)


_LISTS = (list, tuple, np.ndarray)


@dataclass
class LegacyTranslation:
    """Keras layers equivalent to a legacy ``ImageDataGenerator`` configuration.

    Attributes
    ----------
    augmenter : keras.Sequential
        The equivalent preprocessing layers (named ``"augmentation"``).
    mapping : dict of str to str
        Legacy argument -> the Keras layer (as code) that now does its job.
    notes : dict of str to str
        Legacy argument -> how its value was converted, or where the layer only approximates it.
    unsupported : dict of str to str
        Legacy argument -> why it has no layer equivalent and what to do instead.

    Examples
    --------
    >>> print(from_image_data_generator(horizontal_flip=True).to_markdown())
    | ImageDataGenerator | Keras layers | note |
    |---|---|---|
    | horizontal_flip | RandomFlip("horizontal") |  |
    """

    augmenter: keras.Sequential
    mapping: dict[str, str] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)
    unsupported: dict[str, str] = field(default_factory=dict)

    def table(self) -> _display.Table:
        """The translation as a :class:`course_utils._display.Table` (text, Markdown, HTML)."""
        rows = [(arg, code, self.notes.get(arg, "")) for arg, code in self.mapping.items()]
        rows += [(arg, "no equivalent", reason) for arg, reason in self.unsupported.items()]
        caption = (
            f"{len(self.mapping)} argument(s) translated, "
            f"{len(self.unsupported)} without an equivalent"
        )
        return _display.Table(("ImageDataGenerator", "Keras layers", "note"), rows, caption)

    def to_markdown(self) -> str:
        """The translation as a Markdown table."""
        return self.table().markdown()

    def __str__(self) -> str:
        if not self.mapping and not self.unsupported:
            return "No augmentation arguments given: the augmenter has no layers."
        return str(self.table())

    def _repr_html_(self) -> str:
        return self.table().html()

    def __repr__(self) -> str:
        layers = ", ".join(layer.__class__.__name__ for layer in self.augmenter.layers)
        return (
            f"LegacyTranslation(layers=[{layers}], mapped={sorted(self.mapping)}, "
            f"unsupported={sorted(self.unsupported)})"
        )

    def _add(self, layer: keras.layers.Layer, args: Any, code: str, note: str = "") -> None:
        """Append ``layer`` as the translation of ``args`` (one name or several)."""
        self.augmenter.add(layer)
        for arg in [args] if isinstance(args, str) else args:
            self.mapping[arg] = code
        if note:
            self.notes[args] = note


def _pair(value: Any, name: str) -> tuple[float, float]:
    if isinstance(value, _LISTS) and len(value) == 2:
        low, high = (as_number(v, name, low=0) for v in value)
        if low > high:
            raise ValueError(f"{name} must be [lower, upper] with lower <= upper; got {value}")
        return low, high
    raise ValueError(f"{name} must be a pair [lower, upper]; got {describe(value)}")


def _given(value: Any) -> bool:
    """Whether a legacy argument is set: not its default (None, 0, False); a list always is."""
    return isinstance(value, _LISTS) or bool(value)


# Per-argument translators, listed in _TRANSLATORS in the order of the layers they add: each
# reads its arguments from the legacy keyword arguments ``kw``, builds its layer with the
# ``geometry`` keyword arguments (fill_mode, fill_value, interpolation) where it moves pixels,
# and adds it to ``out``.
def _flip(kw: dict, geometry: dict, out: LegacyTranslation) -> None:
    flips = [m for m in ("horizontal", "vertical") if kw[f"{m}_flip"]]
    mode = "horizontal_and_vertical" if len(flips) == 2 else flips[0]
    code = f'RandomFlip("{mode}")'
    out._add(keras.layers.RandomFlip(mode, name="flip"), [f"{m}_flip" for m in flips], code)


def _rotation(kw: dict, geometry: dict, out: LegacyTranslation) -> None:
    degrees = as_number(kw["rotation_range"], "rotation_range", low=0)
    if degrees > 360:
        raise ValueError(f"rotation_range must be at most 360 degrees; got {degrees:g}")
    factor = degrees / 360.0
    layer = keras.layers.RandomRotation(factor, name="rotation", **geometry)
    note = f"{degrees:g} degrees = {factor:.4g} of a full turn"
    out._add(layer, "rotation_range", f"RandomRotation({factor:.4g})", note)


def _shift(kw: dict, geometry: dict, out: LegacyTranslation) -> None:
    shifts: dict[str, float] = {}
    for axis in ("width", "height"):
        name, value = f"{axis}_shift_range", kw[f"{axis}_shift_range"]
        if not _given(value):
            continue
        if isinstance(value, _LISTS):
            out.unsupported[name] = (
                "a list of allowed shifts has no layer equivalent; give the largest shift "
                "as a fraction of the size instead"
            )
        elif as_number(value, name, low=0) >= 1:
            out.unsupported[name] = (
                f"{value:g} is a shift in pixels, which depends on the image size; give it as a "
                f"fraction of the {axis} instead (e.g. 4 pixels of 32 -> 0.125)"
            )
        else:
            shifts[axis] = float(value)
    if shifts:
        height, width = shifts.get("height", 0.0), shifts.get("width", 0.0)
        layer = keras.layers.RandomTranslation(height, width, name="translation", **geometry)
        code = f"RandomTranslation(height_factor={height:g}, width_factor={width:g})"
        out._add(layer, [f"{axis}_shift_range" for axis in shifts], code)


def _shear(kw: dict, geometry: dict, out: LegacyTranslation) -> None:
    degrees = as_number(kw["shear_range"], "shear_range", low=0)
    if degrees > 45:
        out.unsupported["shear_range"] = (
            f"{degrees:g} degrees is beyond RandomShear's largest shear (45 degrees)"
        )
        return
    factor = math.tan(math.radians(degrees))
    note = (
        f"{degrees:g} degrees -> a shear of tan({degrees:g} degrees) = {factor:.4g} "
        "of the image, in a random direction"
    )
    layer = keras.layers.RandomShear(x_factor=factor, name="shear", **geometry)
    out._add(layer, "shear_range", f"RandomShear(x_factor={factor:.4g})", note)


def _zoom(kw: dict, geometry: dict, out: LegacyTranslation) -> None:
    value = kw["zoom_range"]
    if isinstance(value, _LISTS):
        low, high = _pair(value, "zoom_range")
    else:
        z = as_number(value, "zoom_range", low=0)
        low, high = 1 - z, 1 + z
    if low <= 0:
        raise ValueError(f"zoom_range must keep zoom factors above 0; got {value}")
    if (low, high) == (1.0, 1.0):
        return
    span = (low - 1, min(high - 1, 1.0))
    note = (
        f"legacy factors {low:g}-{high:g} (above 1 shows a smaller image) -> Keras "
        f"{span[0]:.3g} to {span[1]:.3g} (positive zooms out), height and width "
        "drawn separately as before"
    )
    layer = keras.layers.RandomZoom(span, span, name="zoom", **geometry)
    out._add(layer, "zoom_range", f"RandomZoom(({span[0]:.3g}, {span[1]:.3g}))", note)


def _brightness(kw: dict, geometry: dict, out: LegacyTranslation) -> None:
    low, high = _pair(kw["brightness_range"], "brightness_range")
    span = (max(low - 1, -1.0), min(high - 1, 1.0))
    note = (
        "approximate: the legacy argument multiplied pixels by a factor in "
        f"[{low:g}, {high:g}]; RandomBrightness adds a shift of {span[0]:.3g} to "
        f"{span[1]:.3g} of the 0-255 range"
    )
    layer = keras.layers.RandomBrightness(span, value_range=(0, 255), name="brightness")
    code = f"RandomBrightness(({span[0]:.3g}, {span[1]:.3g}), value_range=(0, 255))"
    out._add(layer, "brightness_range", code, note)


def _channel_shift(kw: dict, geometry: dict, out: LegacyTranslation) -> None:
    shift = as_number(kw["channel_shift_range"], "channel_shift_range", low=0)
    factor = min(shift / 255.0, 1.0)
    note = (
        f"a random shift of up to {shift:g} pixel values, the same for all channels "
        "of an image, as before"
    )
    layer = keras.layers.RandomBrightness(factor, value_range=(0, 255), name="channel_shift")
    code = f"RandomBrightness({factor:.4g}, value_range=(0, 255))"
    out._add(layer, "channel_shift_range", code, note)


def _rescale(kw: dict, geometry: dict, out: LegacyTranslation) -> None:
    scale = as_number(kw["rescale"], "rescale")
    inverse = round(1 / scale) if scale else 0
    shown = f"1/{inverse}" if inverse and abs(1 / scale - inverse) < 1e-6 else f"{scale:.4g}"
    note = (
        "placed after the random layers, as before; the course model already starts "
        "with Rescaling(1/255), so do not rescale twice"
    )
    out._add(keras.layers.Rescaling(scale, name="rescale"), "rescale", f"Rescaling({shown})", note)


_TRANSLATORS = (  # (legacy arguments, translator)
    (("horizontal_flip", "vertical_flip"), _flip),
    (("rotation_range",), _rotation),
    (("width_shift_range", "height_shift_range"), _shift),
    (("shear_range",), _shear),
    (("zoom_range",), _zoom),
    (("brightness_range",), _brightness),
    (("channel_shift_range",), _channel_shift),
    (("rescale",), _rescale),
)

#: Arguments without a layer equivalent, with what to use instead.
_NO_EQUIVALENT = {
    "featurewise_center": "needs the mean of the training set: use "
    "keras.layers.Normalization and adapt() it on the training images",
    "featurewise_std_normalization": "needs the statistics of the training set: use "
    "keras.layers.Normalization and adapt() it on the training images",
    "samplewise_center": "per-image centring has no layer; use a Lambda layer with "
    "x - mean(x) or tf.image.per_image_standardization",
    "samplewise_std_normalization": "per-image standardisation has no layer; use "
    "tf.image.per_image_standardization in the pipeline",
    "zca_whitening": "no layer equivalent; ZCA whitening is rarely used with CNNs today",
    "preprocessing_function": "call your function in the tf.data map step or wrap it "
    "in a keras.layers.Lambda",
    "validation_split": "split the data instead, e.g. with "
    "keras.utils.image_dataset_from_directory(validation_split=..., subset=...)",
}


def from_image_data_generator(**legacy_kwargs: Any) -> LegacyTranslation:
    """Translate legacy ``ImageDataGenerator`` arguments into Keras preprocessing layers.

    Arguments left at their legacy default (0, False, None) are skipped; an argument
    ``ImageDataGenerator`` does not have raises TypeError, a value it would reject (e.g. a
    negative range) ValueError.

    =========================  ===========================================================
    legacy argument            Keras layer
    =========================  ===========================================================
    rotation_range=20          ``RandomRotation(20 / 360)`` (degrees -> fraction of a turn)
    width/height_shift_range   ``RandomTranslation`` (fractions of the size only)
    shear_range=10             ``RandomShear(x_factor=tan(10 degrees))``, at most 45 degrees
    zoom_range=0.2             ``RandomZoom((-0.2, 0.2), (-0.2, 0.2))``
    horizontal/vertical_flip   ``RandomFlip``
    brightness_range=[a, b]    ``RandomBrightness((a - 1, b - 1))``, approximate: a shift
    channel_shift_range=r      ``RandomBrightness(r / 255)`` (one random shift per image)
    fill_mode, cval, order     ``fill_mode``, ``fill_value``, ``interpolation`` (0 or 1)
    rescale=1/255              ``Rescaling(1/255)``, after the random layers
    =========================  ===========================================================

    The others (statistics, per-image standardisation, ``preprocessing_function``,
    ``validation_split``) have no layer equivalent; ``unsupported`` says what to use instead.

    Parameters
    ----------
    **legacy_kwargs
        Any arguments of ``ImageDataGenerator`` (see :data:`LEGACY_ARGUMENTS`).

    Returns
    -------
    LegacyTranslation
        Shows itself as a table.

    Examples
    --------
    >>> result = from_image_data_generator(rotation_range=40, featurewise_center=True)
    >>> [layer.__class__.__name__ for layer in result.augmenter.layers], sorted(result.unsupported)
    (['RandomRotation'], ['featurewise_center'])
    """
    unknown = sorted(set(legacy_kwargs) - set(LEGACY_ARGUMENTS))
    if unknown:
        raise TypeError(
            f"ImageDataGenerator has no argument(s) {unknown}; its arguments are "
            f"{', '.join(LEGACY_ARGUMENTS)}"
        )
    kw = {name: legacy_kwargs.get(name) for name in LEGACY_ARGUMENTS}
    fill_mode = "nearest" if kw["fill_mode"] is None else kw["fill_mode"]
    if fill_mode not in FILL_MODES:
        raise ValueError(f"fill_mode must be one of {FILL_MODES}; got {fill_mode!r}")
    cval = 0.0 if kw["cval"] is None else as_number(kw["cval"], "cval", low=0)
    out = LegacyTranslation(keras.Sequential([], name="augmentation"))
    order = kw["interpolation_order"]
    if order not in (None, 0, 1):
        out.unsupported["interpolation_order"] = (
            f"order {order} has no layer equivalent; layers offer 0 (nearest) and "
            "1 (bilinear), which is used"
        )
    interpolation = "nearest" if order == 0 else "bilinear"
    geometry = {"fill_mode": fill_mode, "fill_value": cval, "interpolation": interpolation}
    if kw["brightness_range"] is not None:  # ImageDataGenerator refuses 0 here as well
        _pair(kw["brightness_range"], "brightness_range")
    for names, translate in _TRANSLATORS:
        if any(_given(kw[name]) for name in names):
            translate(kw, geometry, out)

    moving = [x for x in out.augmenter.layers if hasattr(x, "fill_mode")]  # they move pixels
    targets = ", ".join(x.__class__.__name__ for x in moving)
    if targets:
        if kw["fill_mode"] is not None:
            out.mapping["fill_mode"] = f"fill_mode={fill_mode!r} on {targets}"
        if kw["cval"]:
            out.mapping["cval"] = f"fill_value={cval:g} on {targets}"
            if fill_mode != "constant":
                out.notes["cval"] = "only used when fill_mode='constant', as before"
        if order == 0:
            out.mapping["interpolation_order"] = f"interpolation='nearest' on {targets}"
    else:
        for name in ("fill_mode", "cval"):
            if kw[name] is not None and kw[name] != 0:
                out.notes[name] = "no rotation, shift, shear or zoom to apply it to"
    out.unsupported.update({name: why for name, why in _NO_EQUIVALENT.items() if kw[name]})
    if kw["zca_epsilon"] is not None and kw["zca_whitening"]:
        out.unsupported["zca_epsilon"] = "belongs to zca_whitening, which has no equivalent"
    if kw["data_format"] not in (None, "channels_last"):
        out.unsupported["data_format"] = (
            f"{kw['data_format']!r}: the course's layers use channels_last (N, H, W, C)"
        )
    if kw["dtype"] is not None:
        out.notes["dtype"] = "ignored: the layers compute in float32"
    return out
