"""Throughput of the course pipeline (standard layers: flip, rotation, brightness).

Three measurements, each timed with :func:`augbench.timing.round_robin`:
the course pipeline against ``ImageDataGenerator``, albumentations and
NumPy/Pillow at every size; variants of the pipeline (where to map, parallel
calls, prefetch, dtype, seeding, XLA); and the cost of each transform.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import keras
import numpy as np
import tensorflow as tf

from augbench.config import (
    ALBUMENTATIONS,
    COURSE,
    IDG,
    METHODS,
    NO_AUGMENTATION,
    NUMPY_PILLOW,
    BenchConfig,
)
from augbench.methods import (
    albumentations_pass,
    course_augmenter,
    dataset_pass,
    idg_pass,
    make_images,
    measure_speeds,
    numpy_pillow_pass,
)
from augbench.records import SpeedRow, VariantRow
from augbench.timing import count_dataset, progress, round_robin, short_error
from course_utils.augment import apply_augmenter
from course_utils.pipeline import build_pipeline


def measure_throughput(config: BenchConfig) -> list[SpeedRow]:
    """Images/s of every method at every size, with ratios to ImageDataGenerator."""

    def passes(images: np.ndarray, labels: np.ndarray, bs: int) -> dict:
        return {
            COURSE: dataset_pass(build_pipeline(images, labels, course_augmenter(), bs)),
            IDG: idg_pass(images, labels, bs),
            ALBUMENTATIONS: albumentations_pass(images, bs),
            NUMPY_PILLOW: numpy_pillow_pass(images, bs),
        }

    return measure_speeds("throughput", config, config.sizes, passes, METHODS, IDG)


def variant_pipeline(
    images: np.ndarray,
    labels: np.ndarray,
    augmenter: keras.layers.Layer | None,
    *,
    batch_size: int = 32,
    seed: int = 0,
    per_image: bool = False,
    parallel: bool = True,
    prefetch: bool = True,
    float_early: bool = False,
    seeded: bool = True,
    jit: bool = False,
) -> tf.data.Dataset:
    """The course pipeline with one knob changed; the defaults rebuild ``build_pipeline``.

    Parameters
    ----------
    per_image : bool
        Map the augmenter over single images before batching, not over batches.
    parallel : bool
        ``num_parallel_calls=AUTOTUNE`` in the map (else one call at a time).
    prefetch : bool
        End with ``prefetch(AUTOTUNE)``.
    float_early : bool
        Convert the images to float32 before they enter tf.data (else uint8
        until the augmenter).
    seeded : bool
        Draw the randomness from a seed per batch with ``apply_augmenter``;
        else call the layers with ``training=True`` (their own random state).
    jit : bool
        Compile the augmentation with XLA (``jit_compile=True``).

    Examples
    --------
    >>> images, labels = np.zeros((6, 8, 8, 3), np.uint8), np.zeros(6, np.int64)
    >>> ds = variant_pipeline(images, labels, None, batch_size=4)
    >>> [tuple(x.shape) for x, _ in ds]
    [(4, 8, 8, 3), (2, 8, 8, 3)]
    """
    if float_early:
        images = images.astype(np.float32)
    ds = tf.data.Dataset.from_tensor_slices((images, labels))
    ds = ds.shuffle(len(images), seed=seed, reshuffle_each_iteration=True)
    if not per_image:
        ds = ds.batch(batch_size)

    def augment(x: tf.Tensor, pair: tf.Tensor) -> tf.Tensor:
        batch = x[tf.newaxis] if per_image else x
        if augmenter is None:
            out = tf.cast(batch, tf.float32)
        elif seeded:
            out = apply_augmenter(augmenter, batch, pair)
        else:
            out = tf.cast(augmenter(tf.cast(batch, tf.float32), training=True), tf.float32)
        return out[0] if per_image else out

    if jit:
        augment = tf.function(augment, jit_compile=True)
    seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True)
    ds = tf.data.Dataset.zip(ds, seeds.batch(2, drop_remainder=True)).map(
        lambda xy, pair: (augment(xy[0], pair), xy[1]),
        num_parallel_calls=tf.data.AUTOTUNE if parallel else None,
    )
    if per_image:
        ds = ds.batch(batch_size)
    return ds.prefetch(tf.data.AUTOTUNE) if prefetch else ds


def variant_rows(
    makers: dict[str, tuple[str, Callable[[], tf.data.Dataset]]],
    size: int,
    batch_size: int,
    repeats: int,
) -> list[VariantRow]:
    """Time the datasets that ``makers`` build against each other (the first is the reference).

    A dataset that cannot be built or iterated gets a row of NaN with the
    reason in its note.
    """
    notes = {name: note for name, (note, _) in makers.items()}
    passes = {}
    for name, (_, make) in makers.items():
        try:
            dataset = make()
            count_dataset(dataset.take(1))
        except (tf.errors.OpError, ValueError, TypeError) as error:
            notes[name] = short_error(error)
            continue
        passes[name] = dataset_pass(dataset)
    timed = round_robin(passes, repeats)
    reference = timed[next(iter(makers))].per_s
    rows = []
    for name in makers:
        speed = timed[name].per_s if name in timed else float("nan")
        rows.append(
            VariantRow(size, name, speed, 1000 * batch_size / speed, speed / reference, notes[name])
        )
    return rows


def measure_variants(config: BenchConfig) -> list[VariantRow]:
    """Images/s of variants of the course pipeline at ``config.tuning_size``."""
    size, bs = config.tuning_size, config.batch_size
    images, labels = make_images(config.images.get(size, config.train_images), size)
    augmenter = course_augmenter()

    def variant(**knobs: bool) -> Callable[[], tf.data.Dataset]:
        return lambda: variant_pipeline(images, labels, augmenter, batch_size=bs, **knobs)

    variants = {
        "course build_pipeline": (
            "the function the notebooks call",
            lambda: build_pipeline(images, labels, augmenter=augmenter, batch_size=bs),
        ),
        "per-image map (map before batch)": (
            "one augmenter call per image",
            variant(per_image=True),
        ),
        "sequential map (no num_parallel_calls)": ("one batch at a time", variant(parallel=False)),
        "no prefetch": ("", variant(prefetch=False)),
        "float32 from the start": (
            "4x the bytes through shuffle and batch",
            variant(float_early=True),
        ),
        "layers called with training=True": (
            "the layers' own random state instead of a seed per batch",
            variant(seeded=False),
        ),
        "XLA (jit_compile=True) on the augmentation": ("", variant(jit=True)),
        "course build_pipeline, built again": (
            "the first row again: its ratio shows the noise of this run",
            lambda: build_pipeline(images, labels, augmenter=augmenter, batch_size=bs),
        ),
    }
    rows = variant_rows(variants, size, bs, config.repeats)
    progress("variants: " + ", ".join(f"{r.variant} {r.images_per_s:.0f}/s" for r in rows))
    return rows


def measure_transforms(config: BenchConfig) -> list[VariantRow]:
    """Images/s of the course pipeline with one transform at a time, at each of ``stage_sizes``."""
    rows = []
    for size in config.stage_sizes:
        images, labels = make_images(config.images[size], size)
        augmenters = {
            NO_AUGMENTATION: ("shuffle, batch, cast to float32", None),
            "flip": ("", course_augmenter(rotation=None, brightness=None)),
            "rotation": ("", course_augmenter(flip=None, brightness=None)),
            "brightness": ("", course_augmenter(flip=None, rotation=None)),
            "flip + rotation + brightness": ("the course augmentation", course_augmenter()),
        }
        stages = {
            name: (
                note,
                partial(variant_pipeline, images, labels, aug, batch_size=config.batch_size),
            )
            for name, (note, aug) in augmenters.items()
        }
        rows += variant_rows(stages, size, config.batch_size, config.repeats)
        progress(
            f"transforms {size}x{size}: "
            + ", ".join(f"{r.variant} {r.ms_per_batch:.2f} ms" for r in rows[-len(stages) :])
        )
    return rows
