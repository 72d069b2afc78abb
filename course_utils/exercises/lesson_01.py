"""Exercises of lesson 01, the data flow."""

from __future__ import annotations

from typing import Any

import numpy as np

from course_utils._validation import describe
from course_utils.exercises._core import Report, exercise

_SETUP = """
import keras
import numpy as np
import tensorflow as tf
from course_utils.data import make_shapes

SEED = 0
x_train, y_train = make_shapes(96, image_size=32, seed=0)
x_val, y_val = make_shapes(40, image_size=32, seed=1)
augment = keras.layers.Pipeline(
    [keras.layers.RandomRotation(0.05, seed=SEED), keras.layers.RandomBrightness(0.2, seed=SEED)]
)
"""


def _batches(dataset: Any, report: Report, name: str, count: int = 3) -> list:
    def take():
        return [
            (np.asarray(images), np.asarray(labels))
            for images, labels in dataset.take(count).as_numpy_iterator()
        ]

    return report.attempt(f"Reading batches from {name}", take)


def _as_pair(answer: Any, report: Report) -> tuple[Any, Any]:
    import tensorflow as tf

    report.require(
        isinstance(answer, (tuple, list)) and len(answer) == 2,
        "answer is a pair (train_ds, val_ds)",
        f"answer must be a pair (train_ds, val_ds) of tf.data.Dataset; got {describe(answer)}",
        "Put both pipelines in a tuple: answer = (train_ds, val_ds).",
    )
    for name, value in zip(("train_ds", "val_ds"), answer, strict=True):
        report.require(
            isinstance(value, tf.data.Dataset),
            f"{name} is a tf.data.Dataset",
            f"{name} must be a tf.data.Dataset; got {describe(value)}",
            "Start from tf.data.Dataset.from_tensor_slices((images, labels)).",
        )
        spec = value.element_spec
        report.require(
            isinstance(spec, tuple) and len(spec) == 2,
            f"{name} yields (images, labels) pairs",
            f"{name} must yield (images, labels) pairs; it yields {spec}",
            "Slice a tuple (images, labels), and return both from every map function.",
        )
    return answer[0], answer[1]


@exercise(
    "01.train-chain",
    title="Write the training and validation pipelines",
    minutes=8,
    task=(
        "Build train_ds (shuffled before batching, batches of 32, float32 images augmented "
        "with `augment` in a parallel map, prefetched) and val_ds (batches of 32, float32, "
        "in a fixed order, never augmented); answer = (train_ds, val_ds)."
    ),
    hints=(
        "Order matters: the shuffle must mix single images, so it comes before batch; "
        "augmentation then runs on whole batches.",
        "Validation measures the model on the images as they are: the same pixels, in the "
        "same order, every time. Leave shuffle and augmentation out of val_ds.",
        "Images arrive as uint8; cast them to float32 inside the map, before the augmentation "
        "layers.",
    ),
    setup=_SETUP,
    solution="""
    AUTOTUNE = tf.data.AUTOTUNE


    def to_float(images, labels):
        return tf.cast(images, tf.float32), labels


    def augment_batch(images, labels):
        return augment(images, training=True), labels


    train_ds = (
        tf.data.Dataset.from_tensor_slices((x_train, y_train))
        .shuffle(len(x_train), seed=SEED)
        .batch(32)
        .map(to_float, num_parallel_calls=AUTOTUNE)
        .map(augment_batch, num_parallel_calls=AUTOTUNE)
        .prefetch(AUTOTUNE)
    )
    val_ds = (
        tf.data.Dataset.from_tensor_slices((x_val, y_val))
        .batch(32)
        .map(to_float, num_parallel_calls=AUTOTUNE)
        .prefetch(AUTOTUNE)
    )
    answer = (train_ds, val_ds)
    """,
    wrong=(
        (
            """
            def to_float(images, labels):
                return tf.cast(images, tf.float32), labels
            train_ds = (tf.data.Dataset.from_tensor_slices((x_train, y_train))
                        .batch(32).shuffle(8, seed=SEED).map(to_float))
            val_ds = tf.data.Dataset.from_tensor_slices((x_val, y_val)).batch(32).map(to_float)
            answer = (train_ds, val_ds)
            """,
            "shuffle comes before batch",
        ),
        (
            """
            def to_float(images, labels):
                return tf.cast(images, tf.float32), labels
            train_ds = (tf.data.Dataset.from_tensor_slices((x_train, y_train))
                        .shuffle(96, seed=SEED).batch(16).map(to_float))
            val_ds = tf.data.Dataset.from_tensor_slices((x_val, y_val)).batch(32).map(to_float)
            answer = (train_ds, val_ds)
            """,
            "batches of 16",
        ),
        (
            """
            def prepare(images, labels):
                return augment(tf.cast(images, tf.float32), training=True), labels
            train_ds = (tf.data.Dataset.from_tensor_slices((x_train, y_train))
                        .shuffle(96, seed=SEED).batch(32).map(prepare))
            val_ds = tf.data.Dataset.from_tensor_slices((x_val, y_val)).batch(32).map(prepare)
            answer = (train_ds, val_ds)
            """,
            "val_ds changes from one pass to the next",
        ),
        (
            """
            train_ds = (tf.data.Dataset.from_tensor_slices((x_train, y_train))
                        .shuffle(96, seed=SEED).batch(32))
            val_ds = tf.data.Dataset.from_tensor_slices((x_val, y_val)).batch(32)
            answer = (train_ds, val_ds)
            """,
            "images are tf.uint8, not float32",
        ),
    ),
)
def _train_chain(answer: Any, report: Report) -> None:
    import tensorflow as tf

    train, val = _as_pair(answer, report)
    for name, dataset in (("train_ds", train), ("val_ds", val)):
        images = dataset.element_spec[0]
        report.expect(
            isinstance(images, tf.TensorSpec) and images.dtype == tf.float32,
            f"{name}: images are float32",
            f"{name}: images are {getattr(images, 'dtype', images)!r}, not float32",
            "Keras layers compute in float32: cast with tf.cast(images, tf.float32) in a map.",
        )
        report.require(
            isinstance(images, tf.TensorSpec) and images.shape.rank == 4,
            f"{name}: batches of images (rank 4: batch, height, width, channels)",
            f"{name}: elements must be batches of shape (batch, H, W, C); got {images}",
            "Call .batch(32) so that each element is a batch of images.",
        )
    first = _batches(train, report, "train_ds", count=1)
    report.require(bool(first), "train_ds yields batches", "train_ds yields nothing")
    size = len(first[0][1])
    report.expect(
        size == 32,
        "batches of 32",
        f"train_ds gives batches of {size}; the course uses 32",
        "The argument of .batch() is the batch size.",
    )

    # Shuffled before batching: across two passes, batches hold different mixes of labels.
    one = _batches(train, report, "train_ds")
    two = _batches(train, report, "train_ds")
    mixes_one = sorted(tuple(sorted(labels.tolist())) for _, labels in one)
    mixes_two = sorted(tuple(sorted(labels.tolist())) for _, labels in two)
    orders_differ = any(
        not np.array_equal(a[1], b[1]) for a, b in zip(one, two, strict=False)
    )
    if report.expect(
        orders_differ,
        "train_ds comes in a new order on every pass",
        "train_ds gives the same order on every pass: it is not shuffled",
        "Add .shuffle(buffer_size) to the training pipeline; a buffer as large as the data "
        "set mixes it fully.",
    ):
        report.expect(
            mixes_one != mixes_two,
            "the shuffle comes before batch, so each batch is a new mix",
            "the same groups of images come back as a batch, only in another order: "
            "the shuffle comes before batch, not after it",
            "After .batch(), a shuffle moves whole batches; before it, it mixes single images.",
        )

    # Validation: same pixels in the same order on every pass.
    first_val = _batches(val, report, "val_ds", count=2)
    again = _batches(val, report, "val_ds", count=2)
    same = all(
        np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
        for a, b in zip(first_val, again, strict=True)
    )
    report.expect(
        same,
        "val_ds gives the same images in the same order on every pass",
        "val_ds changes from one pass to the next: validation images must not be shuffled "
        "or augmented",
        "Measure on the images as they are: build val_ds without shuffle and without the "
        "augmentation layers.",
    )
