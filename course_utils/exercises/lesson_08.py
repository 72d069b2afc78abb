"""Exercises of lesson 08, scaling up."""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np

from course_utils._validation import describe
from course_utils.exercises._checks import need_function, returns_dataset
from course_utils.exercises._core import Report, exercise

# ---------------------------------------------------------------------------
# 08.compose-matrices

_SIZE = 64
_ANGLE, _ZOOM, _SHIFT = 30.0, 1.25, (8.0, -4.0)

_COMPOSE_SETUP = """
import tensorflow as tf
from course_utils.fused import (
    flip_matrices, rotation_matrices, translation_matrices, zoom_matrices,
)
"""


def _chain_matrices() -> dict[str, np.ndarray]:
    import tensorflow as tf

    from course_utils.fused import (
        flip_matrices,
        rotation_matrices,
        translation_matrices,
        zoom_matrices,
    )

    return {
        "F": flip_matrices(tf.constant([1.0]), _SIZE, _SIZE).numpy()[0].astype(np.float64),
        "R": rotation_matrices(tf.constant([_ANGLE]), _SIZE, _SIZE).numpy()[0].astype(np.float64),
        "Z": zoom_matrices(tf.constant([_ZOOM]), _SIZE, _SIZE).numpy()[0].astype(np.float64),
        "T": translation_matrices(tf.constant([_SHIFT])).numpy()[0].astype(np.float64),
    }


def _as_matrix(answer: Any, report: Report) -> np.ndarray:
    what = "a 3x3 matrix (an array or tensor of shape (3, 3) or (1, 3, 3))"
    try:
        matrix = np.asarray(answer, dtype=np.float64)
    except (TypeError, ValueError):
        matrix = None
    report.require(
        matrix is not None and matrix.shape in {(3, 3), (1, 3, 3)},
        "answer is one 3x3 matrix",
        f"answer must be {what}; got {describe(answer)}",
        "Multiply the four (1, 3, 3) matrices with @; the result has the same shape.",
    )
    return matrix.reshape(3, 3)


@exercise(
    "08.compose-matrices",
    title="One matrix for a chain",
    minutes=5,
    task=(
        "A chain flips a 64x64 image, rotates it by 30 degrees, zooms with factor 1.25 and "
        "shifts the content 8 px right and 4 px up; answer = its one 3x3 reading matrix."
    ),
    hints=(
        "Each layer maps an output pixel to the position it reads in its input, which is the "
        "previous layer's output. Follow one output pixel back through the chain.",
        "Matrix products do not commute: the matrix of the layer that runs first stands "
        "leftmost, next to the original image it reads.",
        "A shift of 4 px up is a negative dy; and @ multiplies matrices, * multiplies entries.",
    ),
    setup=_COMPOSE_SETUP,
    solution="""
    F = flip_matrices(tf.constant([1.0]), 64, 64)
    R = rotation_matrices(tf.constant([30.0]), 64, 64)
    Z = zoom_matrices(tf.constant([1.25]), 64, 64)
    T = translation_matrices(tf.constant([[8.0, -4.0]]))
    answer = F @ R @ Z @ T
    """,
    wrong=(
        (
            """
            F = flip_matrices(tf.constant([1.0]), 64, 64)
            R = rotation_matrices(tf.constant([30.0]), 64, 64)
            Z = zoom_matrices(tf.constant([1.25]), 64, 64)
            T = translation_matrices(tf.constant([[8.0, -4.0]]))
            answer = T @ Z @ R @ F
            """,
            "in reverse order",
        ),
        (
            """
            F = flip_matrices(tf.constant([1.0]), 64, 64)
            R = rotation_matrices(tf.constant([30.0]), 64, 64)
            Z = zoom_matrices(tf.constant([1.25]), 64, 64)
            T = translation_matrices(tf.constant([[8.0, -4.0]]))
            answer = F * R * Z * T
            """,
            "entry by entry",
        ),
        (
            """
            F = flip_matrices(tf.constant([1.0]), 64, 64)
            R = rotation_matrices(tf.constant([30.0]), 64, 64)
            Z = zoom_matrices(tf.constant([1.25]), 64, 64)
            T = translation_matrices(tf.constant([[8.0, 4.0]]))
            answer = F @ R @ Z @ T
            """,
            "reads a different position",
        ),
    ),
)
def _compose(answer: Any, report: Report) -> None:
    matrix = _as_matrix(answer, report)
    report.require(
        bool(np.all(np.isfinite(matrix))),
        "every entry is a finite number",
        f"the matrix has entries that are not finite numbers; got {matrix.round(3).tolist()}",
        "Build it from the four helper matrices only.",
    )
    m = _chain_matrices()
    expected = m["F"] @ m["R"] @ m["Z"] @ m["T"]
    report.expect(
        np.allclose(matrix[2], [0, 0, 1], atol=1e-4),
        "the last row is (0, 0, 1), as for every affine reading matrix",
        f"the last row must be (0, 0, 1); got {matrix[2].round(3).tolist()}",
        "Products of matrices whose last row is (0, 0, 1) keep that row; a sum or an "
        "entry-by-entry product does not.",
    )
    if np.allclose(matrix, expected, atol=1e-3):
        report.passed.append(
            "it equals F @ R @ Z @ T: one warp reads where the four layers in a row read"
        )
        return
    mistakes = {
        "the matrices are multiplied in reverse order (T @ Z @ R @ F): the layer that runs "
        "first stands leftmost": m["T"] @ m["Z"] @ m["R"] @ m["F"],
        "the matrices are multiplied entry by entry (*), not as matrices (@)": (
            m["F"] * m["R"] * m["Z"] * m["T"]
        ),
    }
    for text, candidate in mistakes.items():
        if np.allclose(matrix, candidate, atol=1e-3):
            report.fail(
                text,
                "Follow one output pixel back: the last layer reads the previous layer's "
                "output, and so on down to the original image.",
            )
            return
    probe = np.array([10.0, 20.0, 1.0])
    report.fail(
        f"output pixel (10, 20) reads a different position than the chain: "
        f"({(expected @ probe)[0]:.1f}, {(expected @ probe)[1]:.1f}) expected; got "
        f"({(matrix @ probe)[0]:.1f}, {(matrix @ probe)[1]:.1f})",
        "Check each matrix's argument: the angle in degrees, the zoom factor, and the shift "
        "as (dx, dy) with up being negative dy.",
    )


# ---------------------------------------------------------------------------
# 08.global-batch


@exercise(
    "08.global-batch",
    title="The global batch for a strategy",
    minutes=3,
    task=(
        "answer = a function (strategy, per_replica) -> the global batch size that gives "
        "each replica of the strategy per_replica images per step."
    ),
    hints=(
        "dataset.batch(n) under a strategy makes batches of n images for all replicas "
        "together; the strategy then splits each one.",
        "A strategy says how many replicas share each step in its num_replicas_in_sync.",
    ),
    setup="import tensorflow as tf",
    solution="""
    answer = lambda strategy, per_replica: per_replica * strategy.num_replicas_in_sync
    """,
    wrong=(
        ("answer = lambda strategy, per_replica: per_replica", "the same for every strategy"),
        (
            "answer = lambda strategy, per_replica: per_replica // strategy.num_replicas_in_sync",
            "divides",
        ),
    ),
)
def _global_batch(answer: Any, report: Report) -> None:
    import tensorflow as tf

    lambda_hint = "A lambda is enough: lambda strategy, per_replica: ..."
    need_function(answer, report, "(strategy, per_replica) -> int", hint=lambda_hint)
    cases = [
        ("the default strategy (1 replica)", tf.distribute.get_strategy(), 32, 32),
        ("a strategy with 2 replicas", SimpleNamespace(num_replicas_in_sync=2), 32, 64),
        ("a strategy with 8 replicas", SimpleNamespace(num_replicas_in_sync=8), 16, 128),
    ]
    for what, strategy, per_replica, expected in cases:
        got = report.attempt(
            f"Calling your function for {what}", lambda s=strategy, p=per_replica: answer(s, p)
        )
        report.require(
            isinstance(got, (int, np.integer)) and not isinstance(got, bool),
            f"{what}: it returns an int",
            f"{what}: the global batch must be an int; got {describe(got)}",
            "dataset.batch needs a whole number of images.",
        )
        if got == expected:
            report.passed.append(f"{what}, {per_replica} per replica: global batch {expected}")
            continue
        if got == per_replica:
            wrong = (
                f"{what}, {per_replica} per replica: the global batch is {expected}; got "
                f"{got}, the same for every strategy"
            )
        elif per_replica and got * strategy.num_replicas_in_sync == per_replica:
            wrong = (
                f"{what}, {per_replica} per replica: the global batch is {expected}; got "
                f"{got}: it divides by the replicas, which gives the per-replica size of a "
                "global batch"
            )
        else:
            wrong = f"{what}, {per_replica} per replica: the global batch is {expected}; got {got}"
        report.fail(
            wrong,
            "Each replica gets global batch / replicas images; solve that for the global batch.",
        )
        return


# ---------------------------------------------------------------------------
# 08.cache-prefetch

_CACHE_SETUP = "import tensorflow as tf"
_N_FILES, _BATCH = 72, 32


def _write_jpegs(root: Path, seed: int = 0) -> list[str]:
    from PIL import Image

    rng = np.random.default_rng(seed)
    root.mkdir(parents=True)
    paths = []
    for i in range(_N_FILES):
        image = rng.integers(0, 256, (24, 24, 3), dtype=np.uint8)
        path = root / f"photo_{i:02d}.jpg"
        Image.fromarray(image).save(path, quality=90)
        paths.append(str(path))
    return paths


def _files_dataset(paths: list[str], counter: list[int]) -> Any:
    """File paths as a dataset that counts how many paths have been read from it."""
    import tensorflow as tf

    def count(path: Any) -> Any:
        counter[0] += 1
        return path

    return tf.data.Dataset.from_tensor_slices(paths).map(
        lambda path: tf.reshape(tf.py_function(count, [path], tf.string), [])
    )


def _pipeline(answer: Any, files: Any, report: Report, when: str) -> Any:

    dataset = report.attempt(f"Calling your function {when}", lambda: answer(files))
    return returns_dataset(
        report,
        dataset,
        "your function",
        "Start from the files: files.map(...) returns a Dataset, and so does every step after.",
    )


_PREFETCH_SOLUTION = """
answer = lambda files: (
    files.map(
        lambda path: tf.image.resize(
            tf.io.decode_jpeg(tf.io.read_file(path), channels=3), (64, 64)
        ),
        num_parallel_calls=tf.data.AUTOTUNE,
    )
    .cache()
    .batch(32)
    .prefetch(tf.data.AUTOTUNE)
)
"""
_CACHE = "    .cache()\n"
_PREFETCH = "    .prefetch(tf.data.AUTOTUNE)\n"


@exercise(
    "08.cache-prefetch",
    title="Decode once, prefetch always",
    minutes=6,
    task=(
        "answer = a function of a tf.data.Dataset of JPEG paths that decodes and resizes each "
        "image to 64x64 in a parallel map, caches the decoded images, batches 32 and prefetches."
    ),
    hints=(
        "cache() stores what reaches it: whatever comes before it runs only on the first pass.",
        "What should the second epoch skip: reading file names, or reading and decoding files?",
        "tf.data adds a prefetch by itself only as an optimisation you cannot count on; the "
        "last step of a training pipeline is prefetch(tf.data.AUTOTUNE).",
    ),
    setup=_CACHE_SETUP,
    solution=_PREFETCH_SOLUTION,
    wrong=(
        (
            _PREFETCH_SOLUTION.replace("files.map(", "files.cache().map(").replace(_CACHE, ""),
            "read the files again",
        ),
        (_PREFETCH_SOLUTION.replace(_PREFETCH, ""), "no prefetch"),
        (_PREFETCH_SOLUTION.replace(".batch(32)", ".batch(16)"), "batches of 16"),
    ),
)
def _cache_prefetch(answer: Any, report: Report) -> None:
    import tensorflow as tf

    what, lambda_hint = "of a Dataset of file paths", "A lambda is enough: lambda files: ..."
    need_function(answer, report, what, returns="the pipeline", hint=lambda_hint)
    root = Path(tempfile.mkdtemp(prefix="course_exercise_08_"))
    try:
        paths = _write_jpegs(root / "photos")
        counter = [0]
        dataset = _pipeline(answer, _files_dataset(paths, counter), report, "on file paths")
        spec = dataset.element_spec
        report.require(
            isinstance(spec, tf.TensorSpec) and spec.shape.rank == 4,
            "it yields batches of images (rank 4)",
            f"the pipeline must yield batches of images (batch, 64, 64, 3); it yields {spec}",
            "Map each path to one decoded image, then batch.",
        )
        report.expect(
            tuple(spec.shape[1:]) == (64, 64, 3),
            "images of 64x64x3",
            f"images must be 64x64x3; got {tuple(spec.shape[1:])}",
            "tf.image.resize(image, (64, 64)) after decoding with channels=3.",
        )

        # Prefetch: with tf.data's own prefetch switched off, does the pipeline prepare the
        # next batch while nobody asks for it?
        options = tf.data.Options()
        options.experimental_optimization.inject_prefetch = False
        iterator = iter(dataset.with_options(options))
        first = report.attempt("Reading the first batch", lambda: next(iterator))
        size = int(first.shape[0])
        deadline = time.perf_counter() + 2.0
        while counter[0] < 2 * _BATCH and time.perf_counter() < deadline:
            time.sleep(0.05)
        ahead = counter[0] >= min(2 * size, _N_FILES)
        iterator = None  # stop reading ahead
        report.expect(
            size == _BATCH,
            f"batches of {_BATCH}",
            f"the pipeline gives batches of {size}; the task asks for {_BATCH}",
            "The argument of .batch() is the number of images per batch.",
        )
        report.expect(
            ahead,
            "it prepares the next batch while the current one is used (prefetch)",
            "no prefetch: after the first batch, the pipeline waits instead of preparing the "
            f"next one (it had read {counter[0]} of {_N_FILES} paths)",
            "End the chain with .prefetch(tf.data.AUTOTUNE), after batch.",
        )

        # Cache: a full first pass, then the files are moved away; a second pass must still
        # give the same images, from memory.
        fresh = _pipeline(answer, _files_dataset(paths, [0]), report, "a second time")
        first_pass = report.attempt("Reading a first full pass", lambda: [b.numpy() for b in fresh])
        (root / "photos").rename(root / "moved")
        try:
            second_pass = [b.numpy() for b in fresh]
            error = None
        except Exception as exc:  # noqa: BLE001 - the learner's pipeline read a missing file
            second_pass, error = None, f"{type(exc).__name__}"
        finally:
            (root / "moved").rename(root / "photos")
        if error is not None:
            report.fail(
                f"the second pass read the files again (with the files moved away it raised "
                f"{error}): cache() must come after the map that decodes them",
                "Place cache() where the images are already decoded: after the map.",
            )
        else:
            same = len(first_pass) == len(second_pass) and all(
                np.array_equal(a, b) for a, b in zip(first_pass, second_pass, strict=True)
            )
            report.expect(
                same,
                "the second pass reads no file: the decoded images come from the cache",
                "the second pass gave other images than the first; the cache must hold the "
                "decoded images, before any random step",
                "Nothing random belongs before cache() in this pipeline.",
            )
    finally:
        shutil.rmtree(root, ignore_errors=True)
