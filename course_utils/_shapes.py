"""The course's built-in data set: ten classes of coloured shapes, drawn with numpy.

Each shape is a signed distance function in its own frame (``x`` right, ``y`` up, inside the
unit disk, upright at angle 0); every pixel centre is mapped into that frame for the whole batch
at once and a one-pixel soft edge gives an anti-aliased mask. The classes keep their name in any
pose but change their look with it, and none turns into another when rotated or mirrored: a model
that only saw upright shapes fails on rotated ones, and one trained with random rotations recovers.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from course_utils._validation import as_int, as_size, describe

_CONTRAST = 80.0  # minimum luminance gap between a shape and its background (0..255)
_LUMA = np.array([0.299, 0.587, 0.114])  # luminance weights of R, G and B (ITU-R BT.601)


# Signed distances (negative inside) in the shape's own frame.
def _convex_sdf(
    u: np.ndarray, v: np.ndarray, vertices: Sequence[tuple[float, float]]
) -> np.ndarray:
    """Distance to a convex polygon (vertices counter-clockwise), negative inside."""
    # The largest distance to an edge's line: a little short near outer corners, which a
    # one-pixel soft edge does not mind, at four array operations per edge.
    out = None
    for k, (ax, ay) in enumerate(vertices):
        bx, by = vertices[(k + 1) % len(vertices)]
        length = float(np.hypot(bx - ax, by - ay))
        nx, ny = (by - ay) / length, (ax - bx) / length  # outward normal
        d = u * nx + v * ny
        d -= ax * nx + ay * ny
        out = d if out is None else np.maximum(out, d, out=out)
    return out


def _box_sdf(u: np.ndarray, v: np.ndarray, x0: float, x1: float, y0: float, y1: float):
    """Distance to the rectangle ``x0 <= x <= x1, y0 <= y <= y1`` (same approximation)."""
    cx, hx, cy, hy = (x0 + x1) / 2, (x1 - x0) / 2, (y0 + y1) / 2, (y1 - y0) / 2
    return np.maximum(np.abs(u - cx) - hx, np.abs(v - cy) - hy)


def _circle_sdf(u: np.ndarray, v: np.ndarray, cx: float, cy: float, r: float) -> np.ndarray:
    du, dv = u - cx, v - cy
    return np.sqrt(du * du + dv * dv) - r


def _regular_star(points: int, outer: float, inner: float) -> list[tuple[float, float]]:
    """Vertices of a star (or, with every other one, a regular polygon), first one up."""
    angles = np.pi / 2 + np.arange(2 * points) * np.pi / points
    radii = np.where(np.arange(2 * points) % 2 == 0, outer, inner)
    return [
        (float(r * np.cos(a)), float(r * np.sin(a))) for r, a in zip(radii, angles, strict=True)
    ]


_TRIANGLE = _regular_star(3, 1.0, 0.5)[::2]
_ARROW_HEAD = [(0.0, 1.0), (-0.68, 0.18), (0.68, 0.18)]
_HEART_POINT = [(-0.82, 0.2), (0.0, -0.92), (0.82, 0.2)]
_ROOF = [(0.0, 0.95), (-0.85, 0.12), (0.85, 0.12)]
_STAR_POINTS = _regular_star(5, 1.0, 0.45)
# Kites from the centre out to each tip; together with the core pentagon every
# shared edge lies inside some piece, so the soft edges leave no seams inside.
_STAR_TIPS = [
    [(0.0, 0.0), _STAR_POINTS[(2 * k - 1) % 10], _STAR_POINTS[2 * k], _STAR_POINTS[2 * k + 1]]
    for k in range(5)
]
_STAR_CORE = _STAR_POINTS[1::2]
_HOURGLASS_TOP = [(-0.56, 0.8), (-0.054, -0.1), (0.054, -0.1), (0.56, 0.8)]  # overlap the waist
_HOURGLASS_BOTTOM = [(-0.054, 0.1), (-0.56, -0.8), (0.56, -0.8), (0.054, 0.1)]
_PACMAN_MOUTH = [(0.0, 0.0), (2.0, -1.35), (2.0, 1.35)]


def _star(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    out = _convex_sdf(u, v, _STAR_CORE)
    for tip in _STAR_TIPS:
        np.minimum(out, _convex_sdf(u, v, tip), out=out)
    return out


# The signed distance of each class, in label order.
_SDFS: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "triangle": lambda u, v: _convex_sdf(u, v, _TRIANGLE),
    "arrow": lambda u, v: np.minimum(
        _convex_sdf(u, v, _ARROW_HEAD), _box_sdf(u, v, -0.24, 0.24, -0.95, 0.5)
    ),
    "heart": lambda u, v: np.minimum(
        np.minimum(_circle_sdf(u, v, -0.4, 0.34, 0.45), _circle_sdf(u, v, 0.4, 0.34, 0.45)),
        _convex_sdf(u, v, _HEART_POINT),
    ),
    # A bowl: the disk minus a disk shifted up, so that the horns point up.
    "crescent": lambda u, v: np.maximum(
        _circle_sdf(u, v, 0.0, 0.0, 0.95), -_circle_sdf(u, v, 0.0, 0.45, 0.78)
    ),
    "house": lambda u, v: np.minimum(
        _convex_sdf(u, v, _ROOF),
        np.maximum(_box_sdf(u, v, -0.62, 0.62, -0.8, 0.3), -_box_sdf(u, v, -0.16, 0.16, -1, -0.3)),
    ),
    "ell": lambda u, v: np.minimum(
        _box_sdf(u, v, -0.5, -0.06, -0.78, 0.85), _box_sdf(u, v, -0.5, 0.6, -0.78, -0.36)
    ),
    "star": _star,
    "cross": lambda u, v: np.minimum(
        _box_sdf(u, v, -0.19, 0.19, -0.98, 0.95), _box_sdf(u, v, -0.62, 0.62, 0.26, 0.62)
    ),
    "hourglass": lambda u, v: np.minimum(
        _convex_sdf(u, v, _HOURGLASS_TOP), _convex_sdf(u, v, _HOURGLASS_BOTTOM)
    ),
    "pacman": lambda u, v: np.maximum(
        _circle_sdf(u, v, 0.0, 0.0, 0.92), -_convex_sdf(u, v, _PACMAN_MOUTH)
    ),
}

#: The ten shape classes, in label order.
SHAPE_CLASSES: tuple[str, ...] = tuple(_SDFS)


@dataclass(frozen=True)
class ShapeParams:
    """Everything that decides how each shape image looks, from :func:`shape_params`.

    The arrays (float64 unless said) have one row per image.

    Attributes
    ----------
    labels, angles : numpy.ndarray
        int64 ``(n,)`` class indices into :data:`SHAPE_CLASSES`, and ``(n,)`` poses in degrees,
        counter-clockwise, 0 = upright.
    centers, radii : numpy.ndarray
        ``(n, 2)`` shape centre ``(row, column)`` and ``(n,)`` radius of its disk, in pixels.
    foreground, background, gradient_angles : numpy.ndarray
        ``(n, 3)`` RGB fill and ``(n, 2, 3)`` the background gradient's two ends, in 0..255,
        and ``(n,)`` the gradient's direction in radians.
    noise : float
        Standard deviation of the pixel noise, in 0..255 units.
    image_size : tuple of int
        ``(height, width)`` in pixels.
    seed, stream : int
        The seed and which of its independent random streams drew the parameters (the
        seed also seeds the pixel noise; ``load_dataset`` gives each split its own stream).

    Examples
    --------
    >>> params = shape_params(20, image_size=16, seed=3, max_rotation=0)
    >>> len(params), params.image_size, params.labels.shape, params.background.shape
    (20, (16, 16), (20,), (20, 2, 3))
    """

    labels: np.ndarray
    angles: np.ndarray
    centers: np.ndarray
    radii: np.ndarray
    foreground: np.ndarray
    background: np.ndarray
    gradient_angles: np.ndarray
    noise: float
    image_size: tuple[int, int]
    seed: int
    stream: int = 0

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def with_angles(self, angles: np.ndarray | float) -> ShapeParams:
        """A copy with other poses: ``angles`` in degrees, counter-clockwise, one or ``(n,)``.

        Examples
        --------
        >>> shape_params(4, seed=1).with_angles(0.0).angles.tolist()
        [0.0, 0.0, 0.0, 0.0]
        """
        new = np.broadcast_to(np.asarray(angles, dtype=np.float64), self.angles.shape).copy()
        return replace(self, angles=new)

    def __str__(self) -> str:
        counts = np.bincount(self.labels, minlength=len(SHAPE_CLASSES))
        height, width = self.image_size
        pose = "no images"
        if len(self):
            pose = f"poses {self.angles.min():+.0f}..{self.angles.max():+.0f} degrees"
        return (
            f"ShapeParams: {len(self)} images of {height}x{width}, {pose}, "
            f"per class {counts.tolist()}, seed {self.seed}"
        )

    def _repr_html_(self) -> str:
        return f"<p><code>{html.escape(str(self))}</code></p>"


def _image_size(image_size: object) -> tuple[int, int]:
    """``32`` or ``(32, 48)`` -> ``(height, width)``, each in 8-1024 pixels."""
    return as_size(image_size, minimum=8, maximum=1024)


def _check_rotation(max_rotation: object, name: str = "max_rotation") -> float:
    try:
        value = float(max_rotation)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise TypeError(
            f"{name} must be a number of degrees, got {describe(max_rotation)}"
        ) from None
    if not 0.0 <= value <= 180.0:
        raise ValueError(f"{name} must be between 0 and 180 degrees, got {value}")
    return value


def shape_params(
    n: int,
    image_size: int | tuple[int, int] = 32,
    seed: int = 0,
    max_rotation: float = 180.0,
    *,
    stream: int = 0,
) -> ShapeParams:
    """Draw the random parameters of ``n`` shape images (labels, poses, colours, ...).

    Classes are balanced (their counts differ by at most one) and shuffled.
    Each shape stays inside the circle inscribed in the image, so it is never
    cut off, in its own pose or after any rotation about the image centre.

    Parameters
    ----------
    n : int
        Number of images, ``n >= 0``.
    image_size : int or (int, int)
        Side in pixels, or ``(height, width)``; 8 to 1024.
    seed : int
        Seed for everything random; the same seed gives the same parameters.
    max_rotation : float
        Poses are drawn uniformly from ``[-max_rotation, +max_rotation]`` degrees
        (0 to 180). About 15 gives upright shapes, 180 any pose.
    stream : int
        Independent random stream of the same seed; different streams give unrelated images.

    Examples
    --------
    >>> params = shape_params(100, seed=0, max_rotation=15)
    >>> bool(abs(params.angles).max() <= 15)
    True
    """
    n = as_int(n, "n", minimum=0)
    height, width = _image_size(image_size)
    seed = as_int(seed, "seed", minimum=0)
    max_rotation = _check_rotation(max_rotation)
    stream = as_int(stream, "stream", minimum=0)
    rng = np.random.default_rng([seed, 0x5A4E, stream])
    labels = rng.permutation(np.arange(n) % len(SHAPE_CLASSES)).astype(np.int64)
    angles = rng.uniform(-max_rotation, max_rotation, size=n)
    half = min(height, width) / 2.0
    radii = half * rng.uniform(0.58, 0.9, size=n)
    # Centre offset uniform over the disk that keeps the shape in the inscribed circle.
    reach = np.maximum(half - radii - 0.5, 0.0)
    offset = reach * np.sqrt(rng.uniform(0.0, 1.0, size=n))
    direction = rng.uniform(0.0, 2.0 * np.pi, size=n)
    centers = np.stack(
        [height / 2.0 + offset * np.sin(direction), width / 2.0 + offset * np.cos(direction)],
        axis=1,
    )
    background = rng.uniform(0.0, 255.0, size=(n, 2, 3))
    # Pull the two gradient ends together so that the background stays fairly even.
    mean = background.mean(axis=1, keepdims=True)
    background = mean + 0.35 * (background - mean)
    foreground = rng.uniform(0.0, 255.0, size=(n, 3))
    # Enough contrast: where the fill is too close to the background in
    # brightness, blend it towards white (dark background) or black (light one)
    # until their luminances differ by _CONTRAST.
    bg_lum = background.mean(axis=1) @ _LUMA
    fg_lum = foreground @ _LUMA
    weak = np.abs(fg_lum - bg_lum) < _CONTRAST
    dark = bg_lum < 128.0
    to_white = np.clip((bg_lum + _CONTRAST - fg_lum) / np.maximum(255.0 - fg_lum, 1e-6), 0, 1)
    to_black = np.clip(1.0 - (bg_lum - _CONTRAST) / np.maximum(fg_lum, 1e-6), 0, 1)
    lighter = foreground + to_white[:, None] * (255.0 - foreground)
    darker = foreground * (1.0 - to_black[:, None])
    adjusted = np.where(dark[:, None], lighter, darker)
    foreground = np.where(weak[:, None], adjusted, foreground)
    gradient_angles = rng.uniform(0.0, 2.0 * np.pi, size=n)
    return ShapeParams(
        labels=labels,
        angles=angles,
        centers=centers,
        radii=radii,
        foreground=foreground,
        background=background,
        gradient_angles=gradient_angles,
        noise=6.0,
        image_size=(height, width),
        seed=seed,
        stream=stream,
    )


def render_shape_masks(params: ShapeParams) -> np.ndarray:
    """How much of each pixel the shape covers, for the images ``params`` describes.

    Returns float32 ``(n, height, width)`` in ``[0, 1]``, edges anti-aliased over
    about one pixel. Raises TypeError when ``params`` is not a :class:`ShapeParams`.

    Examples
    --------
    >>> masks = render_shape_masks(shape_params(3, image_size=16))
    >>> masks.shape, masks.dtype.name
    ((3, 16, 16), 'float32')
    """
    if not isinstance(params, ShapeParams):
        raise TypeError(f"params must be a ShapeParams from shape_params(), got {describe(params)}")
    height, width = params.image_size
    masks = np.zeros((len(params), height, width), dtype=np.float32)
    rows = (np.arange(height, dtype=np.float32) + 0.5)[None, :, None]
    cols = (np.arange(width, dtype=np.float32) + 0.5)[None, None, :]
    for label, sdf in enumerate(_SDFS.values()):
        index = np.flatnonzero(params.labels == label)
        radius = params.radii[index].astype(np.float32)[:, None, None]
        theta = np.deg2rad(params.angles[index]).astype(np.float32)[:, None, None]
        cy = params.centers[index, 0].astype(np.float32)[:, None, None]
        cx = params.centers[index, 1].astype(np.float32)[:, None, None]
        x = (cols - cx) / radius
        y = (cy - rows) / radius  # y points up
        cos, sin = np.cos(theta), np.sin(theta)
        # Rotate by -theta to go from the image into the shape's upright frame.
        u = cos * x + sin * y
        v = cos * y - sin * x
        distance = sdf(u, v) * radius  # in pixels
        masks[index] = np.clip(0.5 - distance, 0.0, 1.0)
    return masks


def render_shapes(params: ShapeParams) -> np.ndarray:
    """Draw the images ``params`` (from :func:`shape_params`) describes: uint8 RGB ``(n, H, W, 3)``.

    Examples
    --------
    >>> images = render_shapes(shape_params(2, image_size=32, seed=3))
    >>> images.shape, images.dtype.name
    ((2, 32, 32, 3), 'uint8')
    """
    masks = render_shape_masks(params)
    height, width = params.image_size
    n = len(params)
    out = np.empty((n, height, width, 3), dtype=np.uint8)
    rows = ((np.arange(height, dtype=np.float32) + 0.5) / height - 0.5)[None, :, None]
    cols = ((np.arange(width, dtype=np.float32) + 0.5) / width - 0.5)[None, None, :]
    grad = params.gradient_angles.astype(np.float32)[:, None, None]
    cos, sin = np.cos(grad), np.sin(grad)
    bg0 = params.background[:, 0].astype(np.float32)[:, None, None, :]
    bg1 = params.background[:, 1].astype(np.float32)[:, None, None, :]
    foreground = params.foreground.astype(np.float32)[:, None, None, :]
    # Grey (luminance) noise: the same value on all three channels.
    noise_rng = np.random.default_rng([params.seed, 0x4E01, params.stream])
    noise = noise_rng.standard_normal(size=(n, height, width, 1), dtype=np.float32)
    noise *= params.noise
    # Blocks of images small enough to stay in the CPU cache; all in place.
    step = max(1, (1 << 18) // (height * width))
    for a in range(0, n, step):
        b = min(a + step, n)
        ramp = cos[a:b] * cols + sin[a:b] * rows
        ramp += 0.71
        ramp *= 1.0 / 1.42  # 0..1 across the image diagonal
        image = np.multiply(bg1[a:b] - bg0[a:b], ramp[..., None])
        image += bg0[a:b]  # the gradient background
        blend = foreground[a:b] - image
        blend *= masks[a:b, :, :, None]
        image += blend  # background + coverage * (foreground - background)
        image += noise[a:b]
        np.rint(image, out=image)
        np.clip(image, 0, 255, out=image)
        out[a:b] = image
    return out


def make_shapes(
    n: int,
    image_size: int | tuple[int, int] = 32,
    seed: int = 0,
    max_rotation: float = 180.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Generate the course's shapes data set: ``n`` labelled colour images.

    Ten classes (:data:`SHAPE_CLASSES`) of filled shapes with random colours, gradient
    backgrounds, positions, sizes and poses, the same for the same arguments (those of
    :func:`shape_params`: ``max_rotation`` about 15 gives an "upright" set, 180 any pose).

    Returns
    -------
    images : numpy.ndarray
        uint8, shape ``(n, height, width, 3)``, RGB.
    labels : numpy.ndarray
        int64, shape ``(n,)``, values in ``0..9``.

    Examples
    --------
    >>> images, labels = make_shapes(100, image_size=32, seed=0, max_rotation=15)
    >>> images.shape, images.dtype.name, labels.dtype.name
    ((100, 32, 32, 3), 'uint8', 'int64')
    """
    params = shape_params(n, image_size=image_size, seed=seed, max_rotation=max_rotation)
    return render_shapes(params), params.labels.copy()
