"""Exercises of lesson 03, augmentation on the fly: evaluate, stream, hash the files."""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path, PurePath
from typing import Any

import numpy as np

from course_utils._validation import describe
from course_utils.exercises._checks import need, need_function, returns_dataset, yields_batches
from course_utils.exercises._core import Report, exercise

_SETUP = """
import keras
import numpy as np
import tensorflow as tf

SEED = 0
"""


def _number(value: Any) -> float | None:
    """``value`` as a Python float when it is one number (a float, a 0-d array or tensor)."""
    if isinstance(value, (bool, str, bytes)) or value is None:
        return None
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    return float(array) if array.shape == () else None


# ---------------------------------------------------------------------------
# 03.evaluate

_N_EVAL, _CLASSES, _SIDE = 200, 4, 12


def _trap_model() -> Any:
    """A small compiled model whose first layer rotates at random while it trains."""
    import keras

    model = keras.Sequential(
        [
            keras.Input((_SIDE, _SIDE, 3)),
            keras.layers.RandomRotation(0.5, fill_mode="reflect", seed=3),
            keras.layers.Rescaling(1 / 255),
            keras.layers.Flatten(),
            keras.layers.Dense(
                _CLASSES,
                activation="softmax",
                kernel_initializer=keras.initializers.GlorotUniform(seed=4),
            ),
        ],
        name="model_with_augmentation",
    )
    model.compile(loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


@exercise(
    "03.evaluate",
    title="Evaluate without the direct-call trap",
    minutes=5,
    task=(
        "answer = a function evaluate(model, x, y) that returns the model's accuracy on the "
        "images x (float32, 0-255) with integer labels y, as one float from 0 to 1, the same "
        "on every call even when the model has augmentation layers."
    ),
    hints=(
        "Calling a model as model(x) passes no training flag, and augmentation layers then "
        "take their own default, training=True.",
        "predict and evaluate always run the model with training=False.",
        "Accuracy is the share of images whose most probable class (argmax of the "
        "probabilities) is the label: a fraction from 0 to 1.",
    ),
    setup=_SETUP,
    solution="""
    def evaluate(model, x, y):
        probabilities = model.predict(x, batch_size=100, verbose=0)
        return float(np.mean(probabilities.argmax(axis=1) == np.asarray(y)))


    answer = evaluate
    """,
    wrong=(
        (
            """
            def evaluate(model, x, y):
                return float(np.mean(np.argmax(model(x), axis=1) == y))
            answer = evaluate
            """,
            "calls with the same model and images gave",
        ),
        (
            """
            def evaluate(model, x, y):
                return model.evaluate(x, y, verbose=0)
            answer = evaluate
            """,
            "[loss, accuracy]",
        ),
        (
            """
            def evaluate(model, x, y):
                return 100 * float(np.mean(model.predict(x, verbose=0).argmax(axis=1) == y))
            answer = evaluate
            """,
            "a fraction from 0 to 1, not a percentage",
        ),
    ),
)
def _evaluate(answer: Any, report: Report) -> None:
    need_function(answer, report, "evaluate(model, x, y)", returns="an accuracy")
    model = _trap_model()
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (_N_EVAL, _SIDE, _SIDE, 3)).astype("float32")
    predicted = model.predict(x, verbose=0).argmax(axis=1)
    y = predicted.copy()
    wrong = slice(0, _N_EVAL // 4)  # a quarter of the labels disagree with the model
    y[wrong] = (y[wrong] + 1) % _CLASSES
    expected = float(np.mean(predicted == y))  # 0.75

    results = []
    for _ in range(3):
        value = report.attempt("Calling evaluate(model, x, y)", lambda: answer(model, x, y))
        number = _number(value)
        if number is None:
            if isinstance(value, (list, tuple)) and len(value) == 2:
                wrong_type = (
                    f"evaluate returns {describe(value)}: model.evaluate gives "
                    "[loss, accuracy]; return only the accuracy"
                )
            else:
                wrong_type = f"evaluate must return one number, the accuracy; got {describe(value)}"
            report.fail(
                wrong_type,
                "The accuracy is one float: the share of the labels the model gets right.",
                stop=True,
            )
        results.append(number)
    report.expect(True, f"evaluate returns a number ({results[0]:.4g})", "")
    need(
        report,
        0 <= results[0] <= 1 or 1 < results[0] <= 100,
        f"evaluate must return an accuracy from 0 to 1; got {results[0]:.4g}",
        "Accuracy counts the right answers and divides by the number of images.",
    )
    need(
        report,
        results[0] <= 1,
        f"evaluate returned {results[0]:.4g}: an accuracy here is a fraction from 0 to 1, not "
        f"a percentage; got {results[0]:.4g} for {expected:.2f}",
        "Keras reports accuracy as a fraction; drop the factor of 100.",
    )
    same = all(value == results[0] for value in results)
    report.expect(
        same,
        "the same accuracy on every call",
        "three calls with the same model and images gave "
        f"{', '.join(f'{value:.3f}' for value in results)}: the augmentation ran, because "
        "the model was called directly",
        "model(x) without a training flag counts as training for augmentation layers: "
        "predict and evaluate use training=False.",
    )
    if same:
        report.expect(
            abs(results[0] - expected) < 1e-6,
            f"the accuracy matches predict's: {expected:.2f}",
            f"the accuracy must be {expected:.2f} (from predict, argmax against the labels); got "
            f"{results[0]:.4g}",
            "Compare the argmax over the class axis (axis=1) with the labels, then take the mean.",
        )


# ---------------------------------------------------------------------------
# 03.streaming

_N_STREAM, _BATCH = 72, 32
_MAX_BATCHES = 100  # a pass is read up to here: enough for ten stored copies, never forever


class _RecordingAugmenter:
    """A flip and a rotation that note how they are called (eagerly, on how many images)."""

    def __init__(self, seed: int = 0) -> None:
        import keras

        self.layers = keras.layers.Pipeline(
            [
                keras.layers.RandomFlip("horizontal_and_vertical", seed=seed),
                keras.layers.RandomRotation(0.5, fill_mode="reflect", seed=seed + 1),
            ]
        )
        self.eager_calls: list[int | None] = []

    def __call__(self, images: Any, training: bool = True) -> Any:
        import tensorflow as tf

        if tf.executing_eagerly():  # not inside a tf.data map, which traces a graph
            self.eager_calls.append(images.shape[0] if len(images.shape) == 4 else 1)
        return self.layers(tf.cast(images, tf.float32), training=training)


def _stream_pass(dataset: Any, report: Report, which: str) -> dict[int, np.ndarray]:
    def read():
        return [
            (np.asarray(images), np.asarray(labels))
            for images, labels in dataset.take(_MAX_BATCHES).as_numpy_iterator()
        ]

    batches = report.attempt(f"Reading the {which} pass", read)
    need(
        report,
        bool(batches),
        f"the {which} pass yields no batch; got an empty dataset",
        "Start from tf.data.Dataset.from_tensor_slices((images, labels)).",
    )
    by_label: dict[int, np.ndarray] = {}
    for images, labels in batches:
        for image, label in zip(images, labels.reshape(-1), strict=False):
            by_label.setdefault(int(label), image)
    sizes = [len(labels) for _, labels in batches]
    by_label[-1] = np.asarray(sizes)  # noted beside the images: batch sizes of the pass
    return by_label


@exercise(
    "03.streaming",
    title="Stream the variants, do not store them",
    minutes=7,
    task=(
        "answer = a function make_stream(images, labels, augment) that returns a "
        "tf.data.Dataset of (images, labels) batches of 32 in which every image appears once "
        "per pass, as a new augmented variant on every pass, computed in a map (never stored)."
    ),
    hints=(
        "Anything computed before the Dataset is built is stored in memory and replayed: the "
        "augmentation must run inside the pipeline, in a map.",
        "A map runs again on every pass; cache() after it would store the first pass's "
        "variants and replay them.",
        "One pass over the data is one epoch: each image once, so K epochs give K variants "
        "without ever holding K copies.",
    ),
    setup=_SETUP,
    solution="""
    def make_stream(images, labels, augment):
        dataset = tf.data.Dataset.from_tensor_slices((images, labels))
        dataset = dataset.shuffle(len(images), seed=SEED).batch(32)
        dataset = dataset.map(
            lambda batch, batch_labels: (
                augment(tf.cast(batch, tf.float32), training=True),
                batch_labels,
            ),
            num_parallel_calls=tf.data.AUTOTUNE,
        )
        return dataset.prefetch(tf.data.AUTOTUNE)


    answer = make_stream
    """,
    wrong=(
        (
            """
            def make_stream(images, labels, augment):
                copies = [augment(tf.cast(images, tf.float32), training=True) for _ in range(10)]
                dataset = tf.data.Dataset.from_tensor_slices(
                    (tf.concat(copies, axis=0), np.tile(labels, 10)))
                return dataset.shuffle(1000, seed=SEED).batch(32)
            answer = make_stream
            """,
            "10 stored copies",
        ),
        (
            """
            def make_stream(images, labels, augment):
                variants = augment(tf.cast(images, tf.float32), training=True)
                return tf.data.Dataset.from_tensor_slices((variants, labels)).batch(32)
            answer = make_stream
            """,
            "1 stored copy",
        ),
        (
            """
            def make_stream(images, labels, augment):
                dataset = tf.data.Dataset.from_tensor_slices((images, labels)).batch(32)
                return dataset.map(lambda x, y: (augment(x, training=True), y)).cache()
            answer = make_stream
            """,
            "the second pass repeats the first pass's variants",
        ),
        (
            """
            def make_stream(images, labels, augment):
                dataset = tf.data.Dataset.from_tensor_slices((images, labels)).batch(32)
                return dataset.map(lambda x, y: (tf.cast(x, tf.float32), y))
            answer = make_stream
            """,
            "the images come out unchanged",
        ),
    ),
)
def _streaming(answer: Any, report: Report) -> None:
    import tensorflow as tf

    need_function(answer, report, "make_stream(images, labels, augment)", returns="a Dataset")
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (_N_STREAM, 12, 12, 3), dtype=np.uint8)
    labels = np.arange(_N_STREAM)  # one label per image: each image can be found in a pass
    augment = _RecordingAugmenter()
    dataset = report.attempt(
        "Calling make_stream(images, labels, augment)", lambda: answer(images, labels, augment)
    )
    returns_dataset(
        report,
        dataset,
        "make_stream",
        "Build the pipeline with tf.data.Dataset.from_tensor_slices((images, labels)).",
    )
    yields_batches(
        report,
        dataset,
        "it yields (images, labels) batches",
        "the dataset must yield (images, labels) batches of shape (batch, H, W, C)",
        "Slice (images, labels) together and batch them; the map returns both.",
    )
    need(
        report,
        int(dataset.cardinality()) != int(tf.data.INFINITE_CARDINALITY),
        "the dataset repeats forever (repeat()); got an endless pass: a pass must end, "
        "because fit counts the epochs itself",
        "Leave repeat() out: fit(dataset, epochs=K) makes K passes by itself.",
    )
    stored = list(augment.eager_calls)
    copies = len(stored)
    report.expect(
        not stored,
        "augment runs inside the pipeline, not while it is built",
        f"augment ran {'once' if copies == 1 else f'{copies} times'} on all "
        f"{stored[0] if stored else 0} images while the "
        f"dataset was built: those are {copies} stored cop{'y' if copies == 1 else 'ies'} "
        "held in memory, replayed on every pass",
        "Call augment inside a function given to dataset.map: it then runs batch by batch, "
        "when the batch is needed.",
    )
    first = _stream_pass(dataset, report, "first")
    second = _stream_pass(dataset, report, "second")
    sizes = first.pop(-1)
    second.pop(-1)
    total = int(sizes.sum())
    if total != _N_STREAM:
        extra = f" ({total // _N_STREAM} copies of each image)" if total % _N_STREAM == 0 else ""
        report.fail(
            f"one pass yields {total} images{extra}; streaming gives each of the {_N_STREAM} "
            f"images once per pass, a new variant each epoch; got {total}",
            "An epoch is one pass over the images; more variants come from more epochs.",
        )
    report.require(
        sorted(first) == list(range(_N_STREAM)) and sorted(second) == list(range(_N_STREAM)),
        "every image appears in every pass",
        f"every image must appear once per pass; got {len(first)} different labels of {_N_STREAM}",
        "Keep the labels with their images: slice (images, labels) together.",
    )
    report.expect(
        int(sizes[0]) == _BATCH,
        f"batches of {_BATCH}",
        f"the first batch holds {int(sizes[0])} images; the task asks for batches of {_BATCH}",
        "The argument of .batch() is the number of images per batch.",
    )
    originals = images.astype(np.float32)
    unchanged = all(
        first[i].shape == originals[i].shape and np.allclose(first[i], originals[i])
        for i in range(_N_STREAM)
    )
    if unchanged:
        report.fail(
            "the images come out unchanged: augment is never applied; got the stored pixels",
            "Apply the augment function you are given inside the map, with training=True.",
        )
        return
    repeated = all(np.array_equal(first[i], second[i]) for i in range(_N_STREAM))
    report.expect(
        not repeated,
        "every pass brings new variants",
        "the second pass repeats the first pass's variants, image for image: "
        + (
            "they were computed once, before the dataset"
            if stored
            else "a cache() after the augmentation stores them"
        )
        + "; got the same pixels twice",
        "Nothing may store the augmented images: no cache() after the map that augments.",
    )


# ---------------------------------------------------------------------------
# 03.hash-folder

_FILES = {
    "cat/cat_000.png": 2048,
    "cat/cat_001.jpg": 1500,
    "dog/dog_000.png": 3000,
    "dog/extra shots/dog_001.jpg": 700,
    "labels.csv": 64,
    "empty.txt": 0,
}


def _write_folder(root: Path) -> dict[str, str]:
    """Write the test folder; its expected {relative path: SHA-256}, from hashlib."""
    rng = np.random.default_rng(0)
    (root / "empty folder").mkdir(parents=True)
    expected = {}
    for name, size in _FILES.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        data = rng.integers(0, 256, size, dtype=np.uint8).tobytes()
        path.write_bytes(data)
        expected[name] = hashlib.sha256(data).hexdigest()
    return expected


def _snapshot(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        if p.is_file()
        else "folder"
        for p in sorted(root.rglob("*"))
    }


def _key(key: Any) -> str | None:
    if isinstance(key, PurePath):
        key = str(key)
    if not isinstance(key, str):
        return None
    return PurePath(key).as_posix()


@exercise(
    "03.hash-folder",
    title="Hash every file of a folder",
    minutes=5,
    task=(
        "answer = a function hash_folder(folder) that takes a pathlib.Path and returns a dict "
        "{path relative to the folder, such as 'cat/cat_000.png': SHA-256 of the file's bytes "
        "as a hex string} for every file in it and its sub-folders, changing nothing."
    ),
    hints=(
        "Path.rglob('*') walks a folder and all its sub-folders; Path.iterdir() sees one level "
        "only. Folders have no bytes to hash: keep the files.",
        "hashlib.sha256(data).hexdigest() gives the 64 hexadecimal characters of a SHA-256; "
        "data are the file's bytes, not its name.",
        "Path.relative_to(folder) turns an absolute path into one that still means the same "
        "file when the folder is copied elsewhere.",
    ),
    setup=_SETUP,
    solution="""
    import hashlib


    def hash_folder(folder):
        return {
            path.relative_to(folder).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(folder.rglob("*"))
            if path.is_file()
        }


    answer = hash_folder
    """,
    wrong=(
        (
            """
            import hashlib
            def hash_folder(folder):
                return {path.name: hashlib.sha256(path.read_bytes()).hexdigest()
                        for path in folder.iterdir() if path.is_file()}
            answer = hash_folder
            """,
            "files in sub-folders are missing",
        ),
        (
            """
            import hashlib
            def hash_folder(folder):
                return {str(p.relative_to(folder)): hashlib.sha256(str(p).encode()).hexdigest()
                        for p in folder.rglob("*") if p.is_file()}
            answer = hash_folder
            """,
            "not the SHA-256 of the file's bytes",
        ),
        (
            """
            import hashlib
            def hash_folder(folder):
                return {str(path.relative_to(folder)): hashlib.md5(path.read_bytes()).hexdigest()
                        for path in folder.rglob("*") if path.is_file()}
            answer = hash_folder
            """,
            "32 hexadecimal characters: that is MD5",
        ),
        (
            """
            import hashlib
            def hash_folder(folder):
                return {str(path): hashlib.sha256(path.read_bytes()).hexdigest()
                        for path in folder.rglob("*") if path.is_file()}
            answer = hash_folder
            """,
            "keys must be paths relative to the folder",
        ),
    ),
)
def _hash_folder(answer: Any, report: Report) -> None:
    need_function(answer, report, "hash_folder(folder)", returns="a dict")
    root = Path(tempfile.mkdtemp(prefix="course_exercise_03_"))
    try:
        folder = root / "images"
        expected = _write_folder(folder)
        before = _snapshot(folder)
        result = report.attempt("Calling hash_folder(folder)", lambda: answer(folder))
        report.expect(
            _snapshot(folder) == before,
            "the folder is unchanged after the call",
            "hash_folder changed the folder (a file was written, moved or changed); a check "
            "must only read",
            "Open the files for reading only and write nothing into the folder.",
        )
        report.require(
            isinstance(result, Mapping),
            "hash_folder returns a dict",
            f"hash_folder must return a dict {{relative path: SHA-256 hex}}; got "
            f"{describe(result)}",
            "Build the dict with a comprehension over the files of the folder.",
        )
        odd = [key for key in result if _key(key) is None]
        need(
            report,
            not odd,
            f"the keys must be paths as text, such as 'cat/cat_000.png'; got "
            f"{describe(odd[0]) if odd else ''}",
            "str(path.relative_to(folder)) or path.relative_to(folder).as_posix() is a key.",
        )
        keys = {_key(key): value for key, value in result.items()}
        absolute = [key for key in keys if PurePath(key).is_absolute()]
        report.require(
            not absolute,
            "keys are paths relative to the folder",
            f"the keys must be paths relative to the folder, such as 'cat/cat_000.png'; got "
            f"{absolute[0] if absolute else None!r}",
            "Relative keys still match when the folder is copied or moved: "
            "path.relative_to(folder).",
        )
        missing = sorted(set(expected) - set(keys))
        nested = [name for name in missing if "/" in name]
        if missing and nested == missing:  # every file at the top was found
            report.fail(
                f"the files in sub-folders are missing, such as {nested[0]!r}; got "
                f"{len(keys)} entries for {len(expected)} files",
                "A folder of classes keeps its images in sub-folders: walk them all.",
            )
        elif missing:
            report.fail(
                f"{len(missing)} file(s) missing, such as {missing[0]!r}; got {len(keys)} "
                f"entries for {len(expected)} files",
                "Every file of the folder and of its sub-folders needs an entry.",
            )
        extra = sorted(set(keys) - set(expected))
        report.expect(
            not extra,
            f"one entry per file, {len(expected)} in all",
            f"entries for things that are not files, such as {extra[0]!r}; got {len(keys)} "
            f"entries for {len(expected)} files"
            if extra
            else "",
            "Folders have no bytes to hash: keep only the paths that are files.",
        )
        common = sorted(set(keys) & set(expected))
        values = [keys[name] for name in common]
        not_text = [value for value in values if not isinstance(value, str)]
        need(
            report,
            not not_text,
            f"each value must be the SHA-256 as a hexadecimal string; got "
            f"{describe(not_text[0]) if not_text else ''}",
            "hexdigest() gives the text form; digest() gives raw bytes.",
        )
        lengths = {len(value) for value in values}
        if lengths == {32}:
            report.fail(
                "the digests have 32 hexadecimal characters: that is MD5; a SHA-256 has 64; "
                f"got {values[0]!r}",
                "Use hashlib.sha256, the hash the lesson records.",
                stop=True,
            )
        wrong = [name for name in common if keys[name] != expected[name]]
        report.expect(
            not wrong and bool(common),
            "every digest is the SHA-256 of the file's bytes, as hashlib gives it",
            f"the digest of {wrong[0]!r} is not the SHA-256 of the file's bytes; got "
            f"{keys[wrong[0]][:16]}... for {expected[wrong[0]][:16]}..."
            if wrong
            else "no file of the folder was hashed; got an empty dict",
            "Hash the contents: hashlib.sha256 of the bytes read from the file.",
        )
    finally:
        shutil.rmtree(root, ignore_errors=True)
