"""The images, and every method compared, as one pass over them each.

A pass is a function without arguments that runs one epoch and returns the
number of images it delivered, ready for :func:`augbench.timing.round_robin`.
The Keras methods run through the course's ``build_pipeline``; the other
libraries get the same ranges in their own units (see ``augbench.config``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")  # no network check on import

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from augbench.config import (  # noqa: E402
    BRIGHTNESS,
    COLOUR,
    DEGREES,
    GEOMETRIC,
    ROTATION,
    SHIFT,
    SIX,
    BenchConfig,
)
from augbench.records import SpeedRow  # noqa: E402
from augbench.timing import (  # noqa: E402
    count_dataset,
    epoch_pass,
    progress,
    round_robin,
    speed_rows,
)
from course_utils.augment import make_augmenter  # noqa: E402

ALL_SIX = GEOMETRIC + COLOUR


def make_images(n: int, size: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Synthetic uint8 images ``(n, size, size, 3)`` and int64 labels ``(n,)`` in 0-9.

    Smooth random colour fields plus noise: the cost of flips, rotations and
    brightness shifts does not depend on what the pixels show.

    >>> images, labels = make_images(4, 8)
    >>> images.shape, images.dtype, labels.shape
    ((4, 8, 8, 3), dtype('uint8'), (4,))
    """
    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, 256, (n, 4, 4, 3)).astype(np.float32)
    images = tf.image.resize(coarse, (size, size), method="bilinear").numpy()
    images += rng.normal(0, 12, images.shape).astype(np.float32)
    labels = rng.integers(0, 10, n).astype(np.int64)
    return np.clip(images, 0, 255).astype(np.uint8), labels


def course_augmenter(
    flip: str | None = "horizontal",
    rotation: float | None = ROTATION,
    brightness: float | None = BRIGHTNESS,
) -> keras.Sequential:
    """The course augmenter with the benchmark's ranges (None switches a transform off)."""
    return make_augmenter(flip=flip, rotation=rotation, brightness=brightness, seed=0)


def six_augmenter(fused: bool, parts: Sequence[str] = ALL_SIX) -> keras.layers.Layer:
    """``make_augmenter`` with the :data:`SIX` ranges for ``parts`` (the others off).

    >>> six_augmenter(fused=False, parts=("brightness", "contrast")).layers[0].name
    'brightness'
    """
    unknown = sorted(set(parts) - set(ALL_SIX))
    if unknown:
        raise ValueError(f"parts must be among {ALL_SIX}; got {unknown}")
    ranges = {name: (SIX[name] if name in parts else None) for name in ALL_SIX}
    return make_augmenter(**ranges, fused=fused, seed=0)


def dataset_pass(dataset: tf.data.Dataset) -> Callable[[], int]:
    """One epoch of a tf.data pipeline."""
    return lambda: count_dataset(dataset)


def idg_pass(
    images: np.ndarray, labels: np.ndarray, batch_size: int, *, six: bool = False
) -> Callable[[], int]:
    """One epoch of the legacy ``ImageDataGenerator.flow`` batches.

    With ``six`` it also zooms and shifts (it has no contrast).
    """
    from tf_keras.preprocessing.image import ImageDataGenerator

    extra = {}
    if six:
        extra = dict(
            zoom_range=SIX["zoom"],
            width_shift_range=SIX["translation"],
            height_shift_range=SIX["translation"],
        )
    generator = ImageDataGenerator(
        horizontal_flip=True,
        rotation_range=DEGREES,
        brightness_range=(1.0 - BRIGHTNESS, 1.0 + BRIGHTNESS),
        fill_mode="reflect",
        **extra,
    )
    flow = generator.flow(images, labels, batch_size=batch_size, shuffle=True, seed=0)
    return lambda: sum(len(next(flow)[0]) for _ in range(len(flow)))


def albumentations_transforms(six: bool = False, parts: Sequence[str] = ALL_SIX) -> list:
    """albumentations' version of the course augmentation (``six``: of the six transforms).

    ``parts`` picks the geometric and colour transforms of the six; without
    any the list is empty (the per-image loop alone).
    """
    import albumentations as A
    import cv2

    if not six:
        return [
            A.HorizontalFlip(p=0.5),
            A.Rotate(
                limit=DEGREES, interpolation=cv2.INTER_LINEAR, border_mode=cv2.BORDER_REFLECT, p=1
            ),
            A.RandomBrightnessContrast(
                brightness_limit=BRIGHTNESS, contrast_limit=0.0, brightness_by_max=True, p=1
            ),
        ]
    t = SIX["translation"]
    transforms = []
    if set(GEOMETRIC) <= set(parts):
        transforms += [
            A.HorizontalFlip(p=0.5),
            A.Affine(
                rotate=(-DEGREES, DEGREES),
                scale=(1 - SIX["zoom"], 1 + SIX["zoom"]),
                translate_percent=(-t, t),
                interpolation=cv2.INTER_LINEAR,
                border_mode=cv2.BORDER_REFLECT,
                p=1,
            ),
        ]
    if set(COLOUR) <= set(parts):
        transforms.append(
            A.RandomBrightnessContrast(
                brightness_limit=SIX["brightness"],
                contrast_limit=SIX["contrast"],
                brightness_by_max=True,
                p=1,
            )
        )
    return transforms


def albumentations_pass(
    images: np.ndarray, batch_size: int, *, six: bool = False, parts: Sequence[str] = ALL_SIX
) -> Callable[[], int]:
    """One epoch of batches augmented image by image with albumentations."""
    import albumentations as A

    transform = A.Compose(albumentations_transforms(six, parts), seed=0)
    return epoch_pass(
        images, batch_size, lambda batch: np.stack([transform(image=x)["image"] for x in batch])
    )


def numpy_pillow_pass(images: np.ndarray, batch_size: int) -> Callable[[], int]:
    """One epoch of batches: NumPy flips and brightness per batch, Pillow rotation per image."""
    from PIL import Image

    rng = np.random.default_rng(0)

    def augment(batch: np.ndarray) -> np.ndarray:
        flips = rng.random(len(batch)) < 0.5
        batch = np.where(flips[:, None, None, None], batch[:, :, ::-1], batch)
        angles = rng.uniform(-DEGREES, DEGREES, len(batch))
        rotated = np.stack(
            [
                np.asarray(Image.fromarray(x).rotate(a, resample=Image.Resampling.BILINEAR))
                for x, a in zip(batch, angles, strict=True)
            ]
        ).astype(np.float32)
        shifts = rng.uniform(-SHIFT, SHIFT, (len(batch), 1, 1, 1)).astype(np.float32)
        return np.clip(rotated + shifts, 0, 255)

    return epoch_pass(images, batch_size, augment)


def measure_speeds(
    label: str,
    config: BenchConfig,
    sizes: Sequence[int],
    make_passes: Callable[[np.ndarray, np.ndarray, int], dict[str, Callable[[], int]]],
    methods: Sequence[str],
    reference: str,
) -> list[SpeedRow]:
    """Images/s of ``methods`` at each size, timed side by side, with ratios to ``reference``.

    ``make_passes(images, labels, batch_size)`` returns one pass per method over the
    synthetic images of :func:`make_images`; progress is printed per size under ``label``.
    """
    rows = []
    for size in sizes:
        images, labels = make_images(config.images[size], size)
        passes = make_passes(images, labels, config.batch_size)
        rows += speed_rows(size, round_robin(passes, config.repeats), methods, reference)
        speeds = ", ".join(f"{r.method} {r.images_per_s:.0f}/s" for r in rows[-len(methods) :])
        progress(f"{label} {size}x{size}: {speeds}")
    return rows
