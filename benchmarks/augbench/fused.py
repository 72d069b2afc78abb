"""The fused augmenter against the Keras layer chain, albumentations and ImageDataGenerator.

With the six transforms (flip, rotation, zoom, translation, brightness,
contrast) at every fused size: the four methods side by side
(:func:`measure_fused`), then the geometric and the colour step of the fused
layer, the chain and albumentations timed on their own against each
method's loop without augmentation (:func:`measure_fused_stages`), so that
the report can say from measurements where each method's time goes. Both are
timed with :func:`augbench.timing.round_robin`. The fused layer is used only
through its public API, ``make_augmenter(..., fused=True)``.
"""

from __future__ import annotations

import math
import statistics

import numpy as np

from augbench.config import (
    ALBUMENTATIONS,
    CHAIN,
    COLOUR,
    COLOUR_STEP,
    FUSED,
    FUSED_METHODS,
    GEOMETRIC,
    GEOMETRIC_STEP,
    IDG,
    NO_STEP,
    BenchConfig,
)
from augbench.methods import (
    albumentations_pass,
    dataset_pass,
    idg_pass,
    make_images,
    measure_speeds,
    six_augmenter,
)
from augbench.records import SpeedRow, StageRow
from augbench.timing import progress, round_robin
from course_utils.pipeline import build_pipeline

TF_DATA = "tf.data"  # the pipeline without augmentation, shared by the fused layer and the chain


def measure_fused(config: BenchConfig) -> list[SpeedRow]:
    """Images/s of the fused layer, the Keras chain, albumentations and ImageDataGenerator."""

    def passes(images: np.ndarray, labels: np.ndarray, bs: int) -> dict:
        return {
            FUSED: dataset_pass(build_pipeline(images, labels, six_augmenter(fused=True), bs)),
            CHAIN: dataset_pass(build_pipeline(images, labels, six_augmenter(fused=False), bs)),
            ALBUMENTATIONS: albumentations_pass(images, bs, six=True),
            IDG: idg_pass(images, labels, bs, six=True),
        }

    return measure_speeds("fused", config, config.fused_sizes, passes, FUSED_METHODS, CHAIN)


def measure_fused_stages(config: BenchConfig) -> list[StageRow]:
    """Milliseconds per batch of each step of the fused layer, the chain and albumentations.

    Per size: the tf.data pipeline without augmentation (the step "none" of
    both Keras methods), each Keras method with only the geometric or only the
    colour transforms, and albumentations' per-image loop with no transform,
    with ``HorizontalFlip`` + ``Affine`` and with ``RandomBrightnessContrast``.
    """
    rows = []
    bs = config.batch_size
    for size in config.fused_sizes:
        images, labels = make_images(config.images[size], size)

        def keras_pass(fused: bool, parts: tuple[str, ...], images=images, labels=labels):
            return dataset_pass(build_pipeline(images, labels, six_augmenter(fused, parts), bs))

        passes = {
            (TF_DATA, NO_STEP): dataset_pass(build_pipeline(images, labels, None, bs)),
            (FUSED, GEOMETRIC_STEP): keras_pass(True, GEOMETRIC),
            (FUSED, COLOUR_STEP): keras_pass(True, COLOUR),
            (CHAIN, GEOMETRIC_STEP): keras_pass(False, GEOMETRIC),
            (CHAIN, COLOUR_STEP): keras_pass(False, COLOUR),
            (ALBUMENTATIONS, NO_STEP): albumentations_pass(images, bs, six=True, parts=()),
            (ALBUMENTATIONS, GEOMETRIC_STEP): albumentations_pass(
                images, bs, six=True, parts=GEOMETRIC
            ),
            (ALBUMENTATIONS, COLOUR_STEP): albumentations_pass(images, bs, six=True, parts=COLOUR),
        }
        timed = round_robin(passes, config.repeats)
        notes = []
        for (method, step), t in timed.items():
            n_batches = math.ceil(t.count / bs)
            ms = 1000 * statistics.median(t.seconds) / n_batches
            cpu_ms = 1000 * statistics.median(t.cpu_seconds) / n_batches
            owners = (FUSED, CHAIN) if method == TF_DATA else (method,)
            rows += [StageRow(size, owner, step, ms, cpu_ms) for owner in owners]
            notes.append(f"{method} {step.split()[0]} {ms:.2f} ms")
        progress(f"fused steps {size}x{size} per batch: " + ", ".join(notes))
    return sorted(rows, key=lambda r: (r.size, FUSED_METHODS.index(r.method), r.step != NO_STEP))
