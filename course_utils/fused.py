"""One fused augmentation layer: every geometric transform as one affine warp.

A chain of Keras geometric layers (``RandomFlip``, ``RandomRotation``,
``RandomZoom``, ``RandomTranslation``, ``RandomShear``) resamples every image
once per layer: each resampling costs a full pass over the batch and blurs the
image a little more. :class:`FusedAugmentation` draws the same random
parameters, with the same meaning, but multiplies the five 3x3 matrices into
one per image and resamples once; brightness and contrast are applied in one
elementwise step. The warp is written with gathers, so the whole layer
compiles with XLA (Keras' ``ImageProjectiveTransformV3`` kernel does not).

How the matrices compose. Every Keras geometric layer maps an *output* pixel
``p = (x, y, 1)`` to the *input* position it reads, ``M @ p``. The chain
flip -> rotation -> zoom -> translation -> shear therefore reads the original
image at ``F @ R @ Z @ T @ S @ p``: :func:`compose_matrices` returns that
product, and :func:`warp` resamples an image at it once.

The matrices (``cx = (W - 1) / 2``, ``cy = (H - 1) / 2``, as in Keras)::

    flip (horizontal)   [[-1, 0, W - 1], [0, 1, 0], [0, 0, 1]]
    rotation by a       [[cos a, -sin a, cx - cx cos a + cy sin a],
                         [sin a,  cos a, cy - cx sin a - cy cos a], [0, 0, 1]]
    zoom by z           [[z, 0, cx (1 - z)], [0, z, cy (1 - z)], [0, 0, 1]]
    translation dx, dy  [[1, 0, -dx], [0, 1, -dy], [0, 0, 1]]
    shear by s          [[1, s, 0], [0, 1, 0], [0, 0, 1]]   (about the top-left corner)
"""

from __future__ import annotations

import math
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from course_utils._validation import as_fraction, as_seed, describe

__all__ = [
    "FusedAugmentation",
    "compose_matrices",
    "flip_matrices",
    "rotation_matrices",
    "shear_matrices",
    "translation_matrices",
    "warp",
    "zoom_matrices",
]

FLIP_MODES = ("horizontal", "vertical", "horizontal_and_vertical")
FILL_MODES = ("reflect", "constant", "nearest")
INTERPOLATIONS = ("bilinear", "nearest")
#: The keys of a transformation (see :meth:`FusedAugmentation.sample_parameters`).
PARAMETERS = ("flip", "angle", "zoom", "shift", "shear", "brightness", "contrast")


def _rows(*entries: tf.Tensor) -> tf.Tensor:
    """Stack 9 per-image entries (N,) into matrices (N, 3, 3)."""
    return tf.reshape(tf.stack(entries, axis=-1), (-1, 3, 3))


def _size(value: Any) -> tf.Tensor:
    return tf.cast(value, tf.float32)


def flip_matrices(flip: tf.Tensor, height: Any, width: Any, mode: str = "horizontal") -> tf.Tensor:
    """Mirror matrices, shape (N, 3, 3), for the images where ``flip`` is 1.

    ``flip`` is a float (N,) of 0 and 1. ``"horizontal_and_vertical"`` flips
    both axes of the same images, as ``keras.layers.RandomFlip`` does.

    Examples
    --------
    >>> flip_matrices(tf.constant([1.0]), 4, 4)[0].numpy()[0]
    array([-1.,  0.,  3.], dtype=float32)
    """
    flip = tf.cast(flip, tf.float32)
    zero, one = tf.zeros_like(flip), tf.ones_like(flip)
    fx = flip if mode in ("horizontal", "horizontal_and_vertical") else zero
    fy = flip if mode in ("vertical", "horizontal_and_vertical") else zero
    w1, h1 = _size(width) - 1.0, _size(height) - 1.0
    return _rows(one - 2 * fx, zero, fx * w1, zero, one - 2 * fy, fy * h1, zero, zero, one)


def rotation_matrices(angle: tf.Tensor, height: Any, width: Any) -> tf.Tensor:
    """Rotation matrices about the image centre, (N, 3, 3); ``angle`` in degrees (N,).

    The same matrix as ``keras.layers.RandomRotation`` for that angle.

    Examples
    --------
    >>> rotation_matrices(tf.constant([90.0]), 3, 3)[0].numpy().round(3)[:2] + 0.0
    array([[ 0., -1.,  2.],
           [ 1.,  0.,  0.]], dtype=float32)
    """
    radians = tf.cast(angle, tf.float32) * (math.pi / 180.0)
    cos, sin = tf.cos(radians), tf.sin(radians)
    cx, cy = (_size(width) - 1.0) / 2.0, (_size(height) - 1.0) / 2.0
    zero, one = tf.zeros_like(cos), tf.ones_like(cos)
    return _rows(
        cos, -sin, cx - cx * cos + cy * sin, sin, cos, cy - cx * sin - cy * cos, zero, zero, one
    )


def zoom_matrices(zoom: tf.Tensor, height: Any, width: Any) -> tf.Tensor:
    """Zoom matrices about the centre, (N, 3, 3), as ``keras.layers.RandomZoom``.

    ``zoom`` (N,) is ``1 + factor``: above 1 the output shows a larger part of
    the image (zoomed out), below 1 a smaller part (zoomed in).
    """
    z = tf.cast(zoom, tf.float32)
    cx, cy = (_size(width) - 1.0) / 2.0, (_size(height) - 1.0) / 2.0
    zero, one = tf.zeros_like(z), tf.ones_like(z)
    return _rows(z, zero, cx * (1.0 - z), zero, z, cy * (1.0 - z), zero, zero, one)


def translation_matrices(shift: tf.Tensor) -> tf.Tensor:
    """Translation matrices, (N, 3, 3); ``shift`` (N, 2) is (dx, dy) in pixels.

    Positive ``dx`` moves the content right, as ``keras.layers.RandomTranslation``.
    """
    shift = tf.cast(shift, tf.float32)
    dx, dy = shift[:, 0], shift[:, 1]
    zero, one = tf.zeros_like(dx), tf.ones_like(dx)
    return _rows(one, zero, -dx, zero, one, -dy, zero, zero, one)


def shear_matrices(shear: tf.Tensor) -> tf.Tensor:
    """Horizontal shear matrices, (N, 3, 3), as ``keras.layers.RandomShear(x_factor=...)``.

    Like Keras, the shear is about the top-left corner (row ``y`` moves by
    ``shear * y`` pixels).
    """
    s = tf.cast(shear, tf.float32)
    zero, one = tf.zeros_like(s), tf.ones_like(s)
    return _rows(one, s, zero, zero, one, zero, zero, zero, one)


def compose_matrices(
    transformation: dict[str, tf.Tensor], height: Any, width: Any, flip_mode: str = "horizontal"
) -> tf.Tensor:
    """The one matrix per image of the chain flip, rotation, zoom, translation, shear.

    Parameters
    ----------
    transformation : dict
        The parameters from :meth:`FusedAugmentation.sample_parameters` (only
        ``flip``, ``angle``, ``zoom``, ``shift`` and ``shear`` are used).
    height, width : int or scalar tensor
        Image size in pixels.
    flip_mode : {"horizontal", "vertical", "horizontal_and_vertical"}
        Which axis ``flip`` mirrors.

    Returns
    -------
    tf.Tensor
        float32 (N, 3, 3): output pixel ``(x, y, 1)`` -> input position read,
        ``F @ R @ Z @ T @ S``.

    Examples
    --------
    >>> t = {"flip": tf.constant([1.0]), "angle": tf.constant([0.0]), "zoom": tf.constant([1.0]),
    ...      "shift": tf.constant([[0.0, 0.0]]), "shear": tf.constant([0.0])}
    >>> compose_matrices(t, 4, 4).shape
    TensorShape([1, 3, 3])
    """
    m = flip_matrices(transformation["flip"], height, width, flip_mode)
    m = m @ rotation_matrices(transformation["angle"], height, width)
    m = m @ zoom_matrices(transformation["zoom"], height, width)
    m = m @ translation_matrices(transformation["shift"])
    return m @ shear_matrices(transformation["shear"])


def _reflect(coord: tf.Tensor, size: tf.Tensor) -> tf.Tensor:
    """TensorFlow's REFLECT fill mode (d c b a | a b c d | d c b a) for continuous coordinates."""
    n = _size(size)
    twice = 2.0 * n
    neg = twice * tf.floor(-coord / twice) + coord
    neg = tf.where(neg < -n, neg + twice, -neg - 1.0)
    pos = coord - twice * tf.floor(coord / twice)
    pos = tf.where(pos >= n, twice - pos - 1.0, pos)
    mapped = tf.where(coord < 0, neg, tf.where(coord > n - 1.0, pos, coord))
    mapped = tf.clip_by_value(mapped, 0.0, tf.maximum(n - 1.0, 0.0))
    return tf.where(n <= 1.0, tf.zeros_like(mapped), mapped)


def warp(
    images: Any,
    matrices: Any,
    interpolation: str = "bilinear",
    fill_mode: str = "reflect",
    fill_value: float = 0.0,
) -> tf.Tensor:
    """Resample each image once at ``matrices @ (x, y, 1)``, with gathers (XLA-friendly).

    Computes what ``keras.ops.image.affine_transform`` computes (the same
    interpolation and fill modes as TensorFlow's ``ImageProjectiveTransformV3``),
    without that kernel, so it also compiles under ``jit_compile=True``.

    Parameters
    ----------
    images : tensor, shape (N, H, W, C)
        Any numeric dtype. The gathers read the images in their own dtype (a
        uint8 batch moves a quarter of the bytes of a float32 one) and the
        interpolation is computed in float32.
    matrices : tensor, shape (N, 3, 3)
        Output pixel -> input position (only the first two rows are used).
    interpolation : {"bilinear", "nearest"}
    fill_mode : {"reflect", "constant", "nearest"}
        What is read outside the image: the image mirrored about its edge
        (``d c b a | a b c d``), ``fill_value``, or the nearest edge pixel.
    fill_value : float
        Used with ``fill_mode="constant"``.

    Returns
    -------
    tf.Tensor
        float32, shape (N, H, W, C).

    Examples
    --------
    >>> image = tf.reshape(tf.range(16.0), (1, 4, 4, 1))
    >>> identity = tf.eye(3)[tf.newaxis]
    >>> bool(tf.reduce_all(warp(image, identity) == image))
    True
    """
    if interpolation not in INTERPOLATIONS:
        raise ValueError(f"interpolation must be one of {INTERPOLATIONS}; got {interpolation!r}")
    if fill_mode not in FILL_MODES:
        raise ValueError(f"fill_mode must be one of {FILL_MODES}; got {fill_mode!r}")
    images = tf.convert_to_tensor(images)
    matrices = tf.cast(matrices, tf.float32)
    shape = tf.shape(images)
    n, h, w, c = shape[0], shape[1], shape[2], shape[3]
    hf, wf = _size(h), _size(w)
    ys, xs = tf.meshgrid(tf.range(hf), tf.range(wf), indexing="ij")
    grid = tf.stack([tf.reshape(xs, [-1]), tf.reshape(ys, [-1]), tf.ones([h * w])], axis=0)
    source = tf.matmul(matrices[:, :2, :], grid[tf.newaxis])  # (N, 2, H*W)
    sx, sy = source[:, 0], source[:, 1]

    if fill_mode == "reflect":
        sx, sy = _reflect(sx, w), _reflect(sy, h)
    elif fill_mode == "nearest":
        sx = tf.clip_by_value(sx, 0.0, wf - 1.0)
        sy = tf.clip_by_value(sy, 0.0, hf - 1.0)
    else:  # constant: far-away reads are clipped to one pixel outside, which reads fill_value
        sx = tf.clip_by_value(sx, -1.0, wf)
        sy = tf.clip_by_value(sy, -1.0, hf)
    # Gathers read the images directly (no padded copy); indices are clamped into the image
    # and reads outside it are replaced by fill_value through their weight.
    flat = tf.reshape(images, [-1, c])
    base = tf.reshape(tf.range(n) * h * w, [-1, 1])
    last_x, last_y = w - 1, h - 1

    def read(xi: tf.Tensor, yi: tf.Tensor) -> tf.Tensor:
        xc = tf.clip_by_value(xi, 0, last_x)
        yc = tf.clip_by_value(yi, 0, last_y)
        return tf.cast(tf.gather(flat, tf.reshape(base + yc * w + xc, [-1])), tf.float32)

    def inside(xi: tf.Tensor, yi: tf.Tensor) -> tf.Tensor:
        ok = (xi >= 0) & (xi <= last_x) & (yi >= 0) & (yi <= last_y)
        return tf.reshape(tf.cast(ok, tf.float32), [-1, 1])

    if interpolation == "nearest":
        xi = tf.cast(tf.floor(sx + 0.5), tf.int32)
        yi = tf.cast(tf.floor(sy + 0.5), tf.int32)
        out = read(xi, yi)
        if fill_mode == "constant":
            keep = inside(xi, yi)
            out = out * keep + fill_value * (1.0 - keep)
        return tf.reshape(out, shape)

    xf, yf = tf.floor(sx), tf.floor(sy)
    fx = tf.reshape(sx - xf, [-1, 1])
    fy = tf.reshape(sy - yf, [-1, 1])
    x0, y0 = tf.cast(xf, tf.int32), tf.cast(yf, tf.int32)
    x1, y1 = x0 + 1, y0 + 1
    v00, v01 = read(x0, y0), read(x1, y0)
    v10, v11 = read(x0, y1), read(x1, y1)
    if fill_mode == "constant":
        weights = [
            (1.0 - fx) * (1.0 - fy) * inside(x0, y0),
            fx * (1.0 - fy) * inside(x1, y0),
            (1.0 - fx) * fy * inside(x0, y1),
            fx * fy * inside(x1, y1),
        ]
        out = weights[0] * v00 + weights[1] * v01 + weights[2] * v10 + weights[3] * v11
        out = out + fill_value * (1.0 - weights[0] - weights[1] - weights[2] - weights[3])
        return tf.reshape(out, shape)
    top = v00 + fx * (v01 - v00)
    bottom = v10 + fx * (v11 - v10)
    return tf.reshape(top + fy * (bottom - top), shape)


def _seed_pair(seed: Any) -> tf.Tensor:
    """An int or (2,) integer tensor, or the next seed of a ``keras.random.SeedGenerator``."""
    if hasattr(seed, "next"):
        seed = seed.next()
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        return tf.constant([int(seed), 0], dtype=tf.int64)
    seed = tf.convert_to_tensor(seed)
    if seed.shape.rank != 1 or seed.shape[0] != 2 or not seed.dtype.is_integer:
        raise ValueError(
            f"seed must be an int, an integer tensor of shape (2,) or a "
            f"keras.random.SeedGenerator; got {describe(seed)}"
        )
    return tf.cast(seed, tf.int64)


@keras.saving.register_keras_serializable(package="course_utils")
class FusedAugmentation(keras.layers.Layer):
    """Flip, rotation, zoom, translation and shear as one warp; brightness and contrast in one step.

    Each argument means what it means for the Keras layer named beside it, so
    that ``make_augmenter(..., fused=True)`` draws the same transforms as the
    chain of layers ``make_augmenter(...)`` builds, with one resampling instead
    of one per geometric layer. ``0`` (or ``None``) switches a transform off.

    Parameters
    ----------
    flip : {"horizontal", "vertical", "horizontal_and_vertical"} or None
        Mirror half of the images (``RandomFlip``; both axes flip together).
    rotation : float
        Largest rotation as a fraction of a full turn, in [0, 1]: the angle is
        uniform in ``[-360 * rotation, 360 * rotation]`` degrees (``RandomRotation``).
    zoom : float
        In [0, 1): the zoom factor ``1 + u`` with ``u`` uniform in
        ``[-zoom, zoom]``, the same for height and width; positive ``u`` zooms
        out (``RandomZoom(zoom)``).
    translation : float
        Largest shift as a fraction of the height and of the width, in [0, 1],
        drawn separately for each axis (``RandomTranslation(t, t)``).
    shear : float
        Largest horizontal shear, in [0, 1]: row ``y`` moves by ``s * y``
        pixels, ``s`` uniform in ``[-shear, shear]`` (``RandomShear(x_factor=shear)``).
    brightness : float
        In [0, 1]: adds ``u * (high - low)`` of ``value_range``, ``u`` uniform
        in ``[-brightness, brightness]`` (``RandomBrightness``).
    contrast : float
        In [0, 1]: scales each channel's distance from the image's mean of that
        channel by a factor uniform in ``[1, 1 + contrast]``, which is what
        ``RandomContrast(contrast)`` draws in Keras 3 (its code sets the lower
        bound to ``max(-contrast, 0)``, so a single number only raises contrast).
    value_range : (low, high)
        Pixel range of the images; brightness and contrast clip to it.
    fill_mode : {"reflect", "constant", "nearest"}
        What is read outside the image (as the Keras geometric layers).
    fill_value : float
        Used with ``fill_mode="constant"``.
    interpolation : {"bilinear", "nearest"}
    seed : int or None
        Seed of the layer's own random state, used when no seed is given per call.
    jit_compile : bool
        Compile the transform with XLA.

    Notes
    -----
    Brightness and contrast are one step, ``clip(c * x + (1 - c) * mean + delta)``;
    the chain clips between the two, so the results differ only where the
    brightness shift pushed a pixel past ``value_range``.

    Examples
    --------
    >>> layer = FusedAugmentation(rotation=0.1, brightness=0.2, seed=0)
    >>> images = tf.zeros((2, 8, 8, 3))
    >>> layer(images, training=True).shape
    TensorShape([2, 8, 8, 3])
    >>> bool(tf.reduce_all(layer(images, training=False) == images))
    True
    """

    def __init__(
        self,
        flip: str | None = "horizontal",
        rotation: float | None = 0.0,
        zoom: float | None = 0.0,
        translation: float | None = 0.0,
        shear: float | None = 0.0,
        brightness: float | None = 0.0,
        contrast: float | None = 0.0,
        value_range: tuple[float, float] = (0, 255),
        fill_mode: str = "reflect",
        fill_value: float = 0.0,
        interpolation: str = "bilinear",
        seed: int | None = None,
        jit_compile: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if flip is False or flip == "":
            flip = None
        if flip is not None and flip not in FLIP_MODES:
            raise ValueError(f"flip must be one of {FLIP_MODES} or None; got {flip!r}")
        if fill_mode not in FILL_MODES:
            extra = " (wrap is not available in the fused layer)" if fill_mode == "wrap" else ""
            raise ValueError(f"fill_mode must be one of {FILL_MODES}{extra}; got {fill_mode!r}")
        if interpolation not in INTERPOLATIONS:
            raise ValueError(
                f"interpolation must be one of {INTERPOLATIONS}; got {interpolation!r}"
            )
        self.flip = flip
        self.rotation = as_fraction(rotation, "rotation", meaning=" (fraction of a turn)") or 0.0
        self.zoom = (
            as_fraction(zoom, "zoom", meaning=" (fraction of the size)", inclusive=False) or 0.0
        )
        self.translation = (
            as_fraction(translation, "translation", meaning=" (fraction of the size)") or 0.0
        )
        self.shear = as_fraction(shear, "shear") or 0.0
        self.brightness = (
            as_fraction(brightness, "brightness", meaning=" (fraction of value_range)") or 0.0
        )
        self.contrast = as_fraction(contrast, "contrast") or 0.0
        if (
            not isinstance(value_range, (list, tuple))
            or len(value_range) != 2
            or not all(
                isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)
                for v in value_range
            )
            or not float(value_range[0]) < float(value_range[1])
        ):
            raise ValueError(
                f"value_range must be (low, high) with low < high; got {describe(value_range)}"
            )
        self.value_range = (float(value_range[0]), float(value_range[1]))
        if isinstance(fill_value, bool) or not isinstance(
            fill_value, (int, float, np.integer, np.floating)
        ):
            raise TypeError(f"fill_value must be a number; got {describe(fill_value)}")
        self.fill_value = float(fill_value)
        self.interpolation = interpolation
        self.fill_mode = fill_mode
        self.seed = as_seed(seed)
        self.jit_compile = bool(jit_compile)
        self.generator = keras.random.SeedGenerator(self.seed)
        self._compiled = None

    @property
    def geometric(self) -> bool:
        """Whether any geometric transform is switched on."""
        return bool(self.flip or self.rotation or self.zoom or self.translation or self.shear)

    def sample_parameters(self, batch_size: Any, height: Any, width: Any, seed: Any) -> dict:
        """Draw one set of random parameters per image, from an explicit seed.

        Parameters
        ----------
        batch_size, height, width : int or scalar int tensor
        seed : int, integer tensor of shape (2,), or keras.random.SeedGenerator

        Returns
        -------
        dict of tf.Tensor
            ``flip`` (N,) 0/1, ``angle`` (N,) degrees, ``zoom`` (N,) factor
            (1 = none), ``shift`` (N, 2) pixels (dx, dy), ``shear`` (N,),
            ``brightness`` (N,) delta added on the ``value_range`` scale,
            ``contrast`` (N,) factor (1 = none). Switched-off transforms hold
            their neutral value.
        """
        seeds = tf.random.experimental.stateless_split(_seed_pair(seed), num=8)
        n = tf.reshape(tf.cast(batch_size, tf.int32), [1])

        def uniform(i: int, low: float, high: float, shape: tf.Tensor = n) -> tf.Tensor:
            return tf.random.stateless_uniform(shape, seeds[i], low, high, dtype=tf.float32)

        size = tf.stack([_size(width), _size(height)])
        ones = tf.ones(n, tf.float32)
        span = self.value_range[1] - self.value_range[0]
        return {
            "flip": tf.cast(uniform(0, 0.0, 1.0) <= 0.5, tf.float32) if self.flip else 0 * ones,
            "angle": uniform(1, -360 * self.rotation, 360 * self.rotation),
            "zoom": uniform(2, 1 - self.zoom, 1 + self.zoom),
            "shift": uniform(3, -self.translation, self.translation, tf.concat([n, [2]], 0)) * size,
            "shear": uniform(4, -self.shear, self.shear),
            "brightness": uniform(5, -self.brightness, self.brightness) * span,
            # As RandomContrast(factor): lower bound max(-factor, 0), so [1, 1 + factor].
            "contrast": uniform(6, 1.0, 1 + self.contrast),
        }

    def get_random_transformation(
        self, data: Any, training: bool = True, seed: Any = None
    ) -> dict | None:
        """Parameters for a batch (Keras' preprocessing-layer protocol); None when not training.

        ``seed`` is an int, a (2,) integer tensor or a ``keras.random.SeedGenerator``;
        by default the layer's own generator.
        """
        if not training:
            return None
        images = data["images"] if isinstance(data, dict) else data
        shape = tf.shape(images)
        if images.shape.rank == 3:
            shape = tf.concat([[1], shape], 0)
        return self.sample_parameters(
            shape[0], shape[1], shape[2], self.generator if seed is None else seed
        )

    def _geometry(self, images: tf.Tensor, transformation: dict) -> tf.Tensor:
        if not self.geometric:
            return tf.cast(images, tf.float32)
        shape = tf.shape(images)
        matrices = compose_matrices(transformation, shape[1], shape[2], self.flip or "")
        return warp(images, matrices, self.interpolation, self.fill_mode, self.fill_value)

    def _geometry_and_mean(self, images: tf.Tensor, transformation: dict) -> tuple:
        """The warped images and, for the contrast, their per-image channel means."""
        x = self._geometry(images, transformation)
        if not self.contrast:
            return x, tf.zeros([1, 1, 1, 1])
        return x, tf.reduce_mean(x, axis=[1, 2], keepdims=True)

    def _color(
        self, x: tf.Tensor, transformation: dict, mean: tf.Tensor | None = None
    ) -> tf.Tensor:
        if not (self.brightness or self.contrast):
            return x
        delta = tf.reshape(transformation["brightness"], [-1, 1, 1, 1])
        if self.contrast:
            factor = tf.reshape(transformation["contrast"], [-1, 1, 1, 1])
            if mean is None:
                mean = tf.reduce_mean(x, axis=[1, 2], keepdims=True)
            x = factor * x + ((1.0 - factor) * mean + delta)
        else:
            x = x + delta
        return tf.clip_by_value(x, self.value_range[0], self.value_range[1])

    def _augment(self, images: tf.Tensor, transformation: dict) -> tf.Tensor:
        """The whole transform, uncompiled (one graph)."""
        return self._color(self._geometry(images, transformation), transformation)

    def transform_images(
        self, images: Any, transformation: dict | None, training: bool = True
    ) -> tf.Tensor:
        """Apply a transformation (from :meth:`sample_parameters`) to (N, H, W, C) or (H, W, C)."""
        images = tf.convert_to_tensor(images)
        if images.shape.rank not in (3, 4):
            raise ValueError(
                f"images must have shape (n, H, W, C) (rank 4) or (H, W, C) (rank 3); got shape "
                f"{tuple(images.shape)} (rank {images.shape.rank})"
            )
        if not training or transformation is None:
            return tf.cast(images, self.compute_dtype)
        unbatched = images.shape.rank == 3
        if unbatched:
            images = images[tf.newaxis]
        transformation = {key: transformation[key] for key in PARAMETERS}
        if self.jit_compile:
            # Two compiled steps: the warp with the contrast's per-image mean, then the
            # elementwise colour step. As one step XLA fuses the warp's gathers into the
            # colour step and computes them twice (measured: 4 times slower at 224x224).
            if self._compiled is None:
                self._compiled = (
                    tf.function(self._geometry_and_mean, jit_compile=True, reduce_retracing=True),
                    tf.function(self._color, jit_compile=True, reduce_retracing=True),
                )
            geometry, color = self._compiled
            warped, mean = geometry(images, transformation)
            out = color(warped, transformation, mean)
        else:
            out = self._augment(images, transformation)
        out = tf.cast(out, self.compute_dtype)
        return out[0] if unbatched else out

    def call(self, inputs: Any, training: bool = True) -> tf.Tensor:
        """Augment with the layer's own random state when training; identity otherwise."""
        if not training:
            return tf.cast(inputs, self.compute_dtype)
        return self.transform_images(inputs, self.get_random_transformation(inputs, training=True))

    def compute_output_shape(self, input_shape: tuple) -> tuple:  # noqa: D102
        return input_shape

    def get_config(self) -> dict:  # noqa: D102
        config = super().get_config()
        config.update(
            flip=self.flip,
            rotation=self.rotation,
            zoom=self.zoom,
            translation=self.translation,
            shear=self.shear,
            brightness=self.brightness,
            contrast=self.contrast,
            value_range=self.value_range,
            fill_mode=self.fill_mode,
            fill_value=self.fill_value,
            interpolation=self.interpolation,
            seed=self.seed,
            jit_compile=self.jit_compile,
        )
        return config
