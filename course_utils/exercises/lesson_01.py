"""Exercises of lesson 01, the data flow."""

from __future__ import annotations

from typing import Any

import numpy as np

from course_utils._validation import describe
from course_utils.exercises._checks import (
    dataset_pair,
    need_function,
    read_batches,
    returns_dataset,
    yields_batches,
)
from course_utils.exercises._core import Report, exercise

_SETUP = """
import keras
import numpy as np
import tensorflow as tf
from course_utils.data import load_dataset

SEED = 0
splits = load_dataset("shapes", image_size=32, n_train=96, n_val=40, n_test=0, seed=SEED)
images, labels = splits.x_train, splits.y_train
augment = keras.layers.Pipeline(
    [keras.layers.RandomRotation(0.05, seed=SEED), keras.layers.RandomBrightness(0.2, seed=SEED)]
)
"""


_CHAIN_SOLUTION = """
AUTOTUNE = tf.data.AUTOTUNE


def to_float(images, labels):
    return tf.cast(images, tf.float32), labels


def augment_batch(images, labels):
    return augment(images, training=True), labels


train_ds = (
    tf.data.Dataset.from_tensor_slices((images, labels))
    .shuffle(len(images), seed=SEED)
    .batch(32)
    .map(to_float, num_parallel_calls=AUTOTUNE)
    .map(augment_batch, num_parallel_calls=AUTOTUNE)
    .prefetch(AUTOTUNE)
)
val_ds = (
    tf.data.Dataset.from_tensor_slices((splits.x_val, splits.y_val))
    .batch(32)
    .map(to_float, num_parallel_calls=AUTOTUNE)
    .prefetch(AUTOTUNE)
)
answer = (train_ds, val_ds)
"""
_SHUFFLE = "    .shuffle(len(images), seed=SEED)\n"
_BATCH = "    .batch(32)\n"
_TO_FLOAT = "    .map(to_float, num_parallel_calls=AUTOTUNE)\n"
_AUGMENT = "    .map(augment_batch, num_parallel_calls=AUTOTUNE)\n"


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
    solution=_CHAIN_SOLUTION,
    wrong=(
        (
            _CHAIN_SOLUTION.replace(_SHUFFLE + _BATCH, _BATCH + "    .shuffle(8, seed=SEED)\n"),
            "shuffle comes before batch",
        ),
        (
            _CHAIN_SOLUTION.replace(_SHUFFLE + _BATCH, _SHUFFLE + "    .batch(16)\n"),
            "batches of 16",
        ),
        (
            _CHAIN_SOLUTION.replace(
                _TO_FLOAT + "    .prefetch", _TO_FLOAT + _AUGMENT + "    .prefetch"
            ),
            "val_ds changes from one pass to the next",
        ),
        (
            _CHAIN_SOLUTION.replace(_TO_FLOAT, "").replace(_AUGMENT, ""),
            "images are tf.uint8, not float32",
        ),
    ),
)
def _train_chain(answer: Any, report: Report) -> None:
    import tensorflow as tf

    train, val = dataset_pair(answer, report)
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
    first = read_batches(train, report, "train_ds", count=1)
    report.require(bool(first), "train_ds yields batches", "train_ds yields nothing")
    size = len(first[0][1])
    report.expect(
        size == 32,
        "batches of 32",
        f"train_ds gives batches of {size}; the course uses 32",
        "The argument of .batch() is the batch size.",
    )

    # Shuffled before batching: across two passes, batches hold different mixes of labels.
    one = read_batches(train, report, "train_ds")
    two = read_batches(train, report, "train_ds")
    mixes_one = sorted(tuple(sorted(labels.tolist())) for _, labels in one)
    mixes_two = sorted(tuple(sorted(labels.tolist())) for _, labels in two)
    orders_differ = any(not np.array_equal(a[1], b[1]) for a, b in zip(one, two, strict=False))
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
    first_val = read_batches(val, report, "val_ds", count=2)
    again = read_batches(val, report, "val_ds", count=2)
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


# ---------------------------------------------------------------------------
# 01.folder-split

_FOLDER_SETUP = """
import tempfile
from pathlib import Path

import keras
from course_utils.data import write_image_folder

SEED = 0
IMAGE_SIZE = 32
folder = write_image_folder(Path(tempfile.mkdtemp()) / "shapes", n_per_class=8, image_size=32)
"""

_IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif"}


def _file_split(dataset: Any, name: str, report: Report) -> list[str]:
    paths = getattr(dataset, "file_paths", None)
    report.require(
        isinstance(paths, list) and bool(paths) and hasattr(dataset, "class_names"),
        f"{name} comes from image_dataset_from_directory (it lists its files)",
        f"{name} must be made by keras.utils.image_dataset_from_directory, which lists its "
        f"files in .file_paths; got a dataset without file_paths ({describe(paths)})",
        "Read the folder with keras.utils.image_dataset_from_directory(folder, ...).",
    )
    return [str(p) for p in paths]


@exercise(
    "01.folder-split",
    title="Split a folder of images into training and validation",
    minutes=6,
    task=(
        "Read `folder` with two calls of keras.utils.image_dataset_from_directory, "
        "subset='training' and subset='validation', holding out 25% of the files for "
        "validation, yielding single images (batch_size=None) at the files' own size "
        "IMAGE_SIZE x IMAGE_SIZE; answer = (train_files, val_files)."
    ),
    hints=(
        "Each call lists the files, shuffles the list with its seed and cuts it at the same "
        "place; the two calls must shuffle the list the same way.",
        "image_dataset_from_directory resizes every image to image_size, whose default is "
        "not the size of your files.",
        "validation_split is a share between 0 and 1; batch_size=None yields one image at a "
        "time, so your own chain can shuffle and batch them.",
    ),
    setup=_FOLDER_SETUP,
    solution="""
    settings = dict(
        validation_split=0.25,  # a quarter of the files for validation
        seed=SEED,  # the same seed in both calls: the same shuffled list, cut once
        image_size=(IMAGE_SIZE, IMAGE_SIZE),  # the files' own size: no resizing
        batch_size=None,  # single images
    )
    train_files = keras.utils.image_dataset_from_directory(folder, subset="training", **settings)
    val_files = keras.utils.image_dataset_from_directory(folder, subset="validation", **settings)
    answer = (train_files, val_files)
    """,
    wrong=(
        (
            """
            train_files = keras.utils.image_dataset_from_directory(
                folder, validation_split=0.25, subset="training", seed=1,
                image_size=(IMAGE_SIZE, IMAGE_SIZE), batch_size=None)
            val_files = keras.utils.image_dataset_from_directory(
                folder, validation_split=0.25, subset="validation", seed=2,
                image_size=(IMAGE_SIZE, IMAGE_SIZE), batch_size=None)
            answer = (train_files, val_files)
            """,
            "are in both splits",
        ),
        (
            """
            train_files = keras.utils.image_dataset_from_directory(
                folder, validation_split=0.25, subset="training", seed=SEED, batch_size=None)
            val_files = keras.utils.image_dataset_from_directory(
                folder, validation_split=0.25, subset="validation", seed=SEED, batch_size=None)
            answer = (train_files, val_files)
            """,
            "resized to 256 x 256",
        ),
        (
            """
            train_files = keras.utils.image_dataset_from_directory(
                folder, validation_split=0.2, subset="training", seed=SEED,
                image_size=(IMAGE_SIZE, IMAGE_SIZE), batch_size=None)
            val_files = keras.utils.image_dataset_from_directory(
                folder, validation_split=0.2, subset="validation", seed=SEED,
                image_size=(IMAGE_SIZE, IMAGE_SIZE), batch_size=None)
            answer = (train_files, val_files)
            """,
            "the task asks for 25%",
        ),
        (
            """
            train_files = keras.utils.image_dataset_from_directory(
                folder, validation_split=0.25, subset="training", seed=SEED,
                image_size=(IMAGE_SIZE, IMAGE_SIZE))
            val_files = keras.utils.image_dataset_from_directory(
                folder, validation_split=0.25, subset="validation", seed=SEED,
                image_size=(IMAGE_SIZE, IMAGE_SIZE))
            answer = (train_files, val_files)
            """,
            "yields batches",
        ),
    ),
)
def _folder_split(answer: Any, report: Report) -> None:
    from pathlib import Path

    from PIL import Image

    train, val = dataset_pair(
        answer,
        report,
        ("train_files", "val_files"),
        "Read the folder with keras.utils.image_dataset_from_directory(folder, ...).",
    )
    train_paths = _file_split(train, "train_files", report)
    val_paths = _file_split(val, "val_files", report)
    roots = {Path(p).parent.parent for p in train_paths + val_paths}
    report.require(
        len(roots) == 1,
        "both splits come from one folder",
        f"the two splits must come from the same folder; got files under {sorted(map(str, roots))}",
        "Pass the same folder to both calls.",
    )
    root = roots.pop()
    classes = sorted(p.name for p in root.iterdir() if p.is_dir())
    on_disk = {
        str(f)
        for c in classes
        for f in (root / c).iterdir()
        if f.is_file() and f.suffix.lower() in _IMAGE_SUFFIXES
    }

    both = set(train_paths) & set(val_paths)
    report.expect(
        not both,
        "no file is in both splits",
        f"{len(both)} of {len(on_disk)} files are in both splits: the two calls shuffled the "
        "file list differently (each call needs the same seed); got an overlap",
        "Both calls shuffle the file list with their seed before cutting it: give them the "
        "same seed.",
    )
    missing = on_disk - set(train_paths) - set(val_paths)
    report.expect(
        not missing,
        f"together the splits hold all {len(on_disk)} image files",
        f"{len(missing)} of {len(on_disk)} image files are in neither split; got "
        f"{len(set(train_paths) | set(val_paths))} files in the two",
        "Use subset='training' for one call and subset='validation' for the other.",
    )
    share = len(val_paths) / max(1, len(on_disk))
    report.expect(
        len(val_paths) == int(0.25 * len(on_disk)),
        f"validation holds 25% of the files ({len(val_paths)} of {len(on_disk)})",
        f"validation holds {share:.0%} of the files ({len(val_paths)} of {len(on_disk)}); "
        "the task asks for 25%",
        "validation_split is the share of the files held out, as a number between 0 and 1.",
    )
    for name, dataset in (("train_files", train), ("val_files", val)):
        report.expect(
            list(dataset.class_names) == classes,
            f"{name}: class names {classes}, the sub-folders in sorted order",
            f"{name}: class names must be the sub-folders {classes}; got {dataset.class_names}",
            "Leave class_names out: Keras takes the sub-folder names, sorted.",
        )
    spec = train.element_spec[0]
    report.require(
        spec.shape.rank == 3,
        "single images, one per element (batch_size=None)",
        f"train_files yields batches (shape {spec.shape}; batch_size defaults to 32); the "
        "task asks for single images, got rank "
        f"{spec.shape.rank}",
        "batch_size=None makes each element one image, so your chain can shuffle and batch.",
    )
    with Image.open(sorted(on_disk)[0]) as image:
        width, height = image.size
    size = tuple(spec.shape[:2])
    report.expect(
        size == (height, width),
        f"images at the files' own size {height} x {width}",
        f"images are resized to {size[0]} x {size[1]}"
        + (" (image_size's default)" if size == (256, 256) else "")
        + f", not the files' own {height} x {width}; got image shape {tuple(spec.shape)}",
        "image_size=(height, width) sets the size every image is resized to.",
    )


# ---------------------------------------------------------------------------
# 01.cache-place

_CACHE_SETUP = """
import keras
import tensorflow as tf

SEED = 0
BATCH_SIZE = 32
augment = keras.layers.Pipeline(
    [
        keras.layers.RandomFlip("horizontal"),
        keras.layers.RandomBrightness(0.2, value_range=(0, 255)),
    ]
)
"""

_CACHE_N = 40  # images in the check's source


def _counting_source(images: np.ndarray, reads: list[int]) -> Any:
    """Single (image, row) pairs from a generator that counts every image it yields."""
    import tensorflow as tf

    def generate():
        for row, image in enumerate(images):
            reads[0] += 1
            yield image, np.int32(row)

    spec = tf.TensorSpec(images.shape[1:], tf.float32), tf.TensorSpec((), tf.int32)
    source = tf.data.Dataset.from_generator(generate, output_signature=spec)
    return source.apply(tf.data.experimental.assert_cardinality(len(images)))


def _epoch(dataset: Any, report: Report, number: int) -> tuple[list[int], dict[int, np.ndarray]]:
    """The rows (labels) of one pass in their order, and each row's pixels."""
    batches = read_batches(dataset, report, f"epoch {number} of your pipeline", _CACHE_N + 1)
    pairs = [
        (int(r), x)
        for images, rows in batches
        for x, r in zip(images, rows.reshape(-1), strict=False)
    ]
    return [row for row, _ in pairs], dict(pairs)


@exercise(
    "01.cache-place",
    title="Put cache() where it belongs",
    minutes=6,
    task=(
        "Write train_pipeline(source): source yields single (image, label) pairs read from "
        "files; return the training chain, with cache() placed so that the files are read "
        "once, yet every epoch gets a new order and new augmented variants (shuffle over the "
        "whole data set, batch, augment in a map, prefetch); answer = train_pipeline."
    ),
    hints=(
        "cache() stores what reaches it on the first pass and replays exactly that on every "
        "later pass.",
        "What should be replayed from memory: the decoded files. What must change every "
        "epoch: the order and the random variants.",
        "Every step after cache() runs again each epoch; every step before it runs once.",
    ),
    setup=_CACHE_SETUP,
    solution="""
    def augment_batch(images, labels):
        return augment(images, training=True), labels


    def train_pipeline(source):
        n = int(source.cardinality())  # images in the source: a buffer for all of them
        return (
            source.cache()  # files read once, then replayed from memory
            .shuffle(n, seed=SEED)  # after the cache: a new order every epoch
            .batch(BATCH_SIZE)
            .map(augment_batch, num_parallel_calls=tf.data.AUTOTUNE)  # new variants each epoch
            .prefetch(tf.data.AUTOTUNE)
        )


    answer = train_pipeline
    """,
    wrong=(
        (
            """
            def train_pipeline(source):
                return (source.shuffle(1000, seed=SEED).batch(BATCH_SIZE)
                        .map(lambda x, y: (augment(x, training=True), y)).cache())
            answer = train_pipeline
            """,
            "same order as epoch 1",
        ),
        (
            """
            def train_pipeline(source):
                return (source.shuffle(1000, seed=SEED).batch(BATCH_SIZE)
                        .map(lambda x, y: (augment(x, training=True), y)).prefetch(2))
            answer = train_pipeline
            """,
            "reads the files again",
        ),
        (
            """
            def train_pipeline(source):
                return (source.map(lambda x, y: (augment(x, training=True), y)).cache()
                        .shuffle(1000, seed=SEED).batch(BATCH_SIZE))
            answer = train_pipeline
            """,
            "the same augmented pixels",
        ),
    ),
)
def _cache_place(answer: Any, report: Report) -> None:

    from course_utils.data import make_shapes

    need_function(answer, report, "train_pipeline(source)")
    images = make_shapes(_CACHE_N, image_size=16, seed=3)[0].astype("float32")
    reads = [0]
    dataset = report.attempt(
        "Calling train_pipeline(source)", lambda: answer(_counting_source(images, reads))
    )
    returns_dataset(
        report, dataset, "train_pipeline", "Return the chain itself: return source.<steps>..."
    )
    yields_batches(
        report,
        dataset,
        "it yields batches of (images, labels)",
        "the pipeline must yield batches (images, labels), images of rank 4",
        "Batch the single images with .batch(BATCH_SIZE), and keep the labels in every map.",
    )
    first = _epoch(dataset, report, 1)
    read_once = reads[0]
    second = _epoch(dataset, report, 2)
    rows_one, pixels_one = first
    rows_two, pixels_two = second
    report.require(
        sorted(rows_one) == list(range(_CACHE_N)) and sorted(rows_two) == list(range(_CACHE_N)),
        f"each epoch holds every one of the {_CACHE_N} images once",
        f"an epoch must hold each of the {_CACHE_N} images once; got {len(rows_one)} images "
        f"in epoch 1 and {len(rows_two)} in epoch 2",
        "Leave out take() and repeat(): fit runs one pass of the dataset per epoch.",
    )
    report.expect(
        reads[0] == read_once,
        "epoch 2 comes from the cache: the files were read once",
        f"the pipeline reads the files again in epoch 2 ({reads[0] - read_once} more reads): "
        "nothing is cached; got no cache()",
        "Decoding files every epoch is wasted work: cache() keeps what reached it in memory.",
    )
    report.expect(
        rows_one != rows_two,
        "epoch 2 comes in a new order",
        "epoch 2 comes in the same order as epoch 1: a cache after the shuffle replays the "
        f"first order; got rows {rows_two[:6]}... both times",
        "Steps after cache() run again every epoch; the shuffle has to be one of them.",
    )
    same = [r for r in range(_CACHE_N) if np.array_equal(pixels_one[r], pixels_two[r])]
    untouched = all(np.allclose(pixels_one[r], images[r]) for r in range(_CACHE_N))
    if untouched:
        report.fail(
            "the images are not augmented: they come out as the files' pixels; got no change",
            "Augment the batches with .map(lambda x, y: (augment(x, training=True), y)).",
        )
    else:
        report.expect(
            len(same) < _CACHE_N,
            "epoch 2 brings new augmented variants",
            "every image comes back with the same augmented pixels in epoch 2: the cache "
            f"stored the augmented images; got {len(same)} of {_CACHE_N} identical",
            "Steps after cache() run again every epoch; the augmentation has to be one of them.",
        )
