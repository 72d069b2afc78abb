"""Exercises of lesson 06, the prediction trace: softmax, confusion matrix, worst mistake."""

from __future__ import annotations

from typing import Any

import numpy as np

from course_utils._validation import describe
from course_utils.exercises._checks import as_array, call, need, need_function
from course_utils.exercises._core import Report, exercise

_SETUP = """
import numpy as np
"""


# ---------------------------------------------------------------------------
# 06.softmax


def _keras_softmax(scores: np.ndarray) -> np.ndarray:
    import keras

    return np.asarray(keras.activations.softmax(scores.astype("float32"), axis=-1))


_SOFTMAX_CASES = (
    ("the lesson's kind of scores, one image", np.array([2.0, 1.0, 0.1, -1.5])),
    (
        "a batch of 6 images and 5 classes",
        np.random.default_rng(6).normal(0, 3, size=(6, 5)).round(3),
    ),
    ("large scores", np.array([[1000.0, 1001.0, 1002.0]])),
    ("a batch of small and large scores", np.array([[0.0, 1.0, 2.0], [1000.0, 1001.0, 1002.0]])),
)


@exercise(
    "06.softmax",
    title="Softmax in NumPy, against Keras",
    minutes=6,
    task=(
        "Write softmax(scores) with NumPy: scores of shape (K,) or (n, K), one row per image; "
        "return probabilities of the same shape, each row adding up to 1, equal to "
        "keras.activations.softmax, even for scores near 1000; answer = softmax."
    ),
    hints=(
        "Softmax exponentiates each score and divides by the sum of the exponentials of the "
        "same row, that is over the last axis (keepdims=True keeps the shapes aligned).",
        "np.exp(1000) is infinite in floating point. Softmax does not change when every "
        "score of a row is shifted by the same number, so shift each row first.",
        "Shift each row by its own largest score: the largest becomes 0, the rest negative, "
        "and no exponential can overflow.",
    ),
    setup=_SETUP,
    solution="""
    def softmax(scores):
        scores = np.asarray(scores, dtype="float64")
        shifted = scores - scores.max(axis=-1, keepdims=True)  # each row's own max
        exps = np.exp(shifted)
        return exps / exps.sum(axis=-1, keepdims=True)


    answer = softmax
    """,
    wrong=(
        (
            """
            def softmax(scores):
                exps = np.exp(scores)
                return exps / exps.sum(axis=-1, keepdims=True)
            answer = softmax
            """,
            "np.exp overflows",
        ),
        (
            """
            def softmax(scores):
                exps = np.exp(scores - np.max(scores))
                return exps / exps.sum(axis=-1, keepdims=True)
            answer = softmax
            """,
            "each row's own largest score",
        ),
        (
            """
            def softmax(scores):
                exps = np.exp(scores - np.max(scores))
                return exps / exps.sum()
            answer = softmax
            """,
            "the whole batch adds up to 1",
        ),
        (
            """
            def softmax(scores):
                exps = np.exp(scores - np.max(scores, axis=0))
                return exps / exps.sum(axis=0)
            answer = softmax
            """,
            "each column adds up to 1",
        ),
    ),
)
def _softmax(answer: Any, report: Report) -> None:
    need_function(answer, report, "softmax(scores)")
    for title, scores in _SOFTMAX_CASES:
        what = f"softmax on {title} {scores.shape}"
        got = call(
            report,
            what,
            answer,
            scores.copy(),
            hint="Work on NumPy arrays: np.exp, and sum with axis=-1 and keepdims=True.",
        )
        mine = as_array(
            report,
            got,
            f"{what} must return an array of numbers",
            "Return the array of probabilities.",
        )
        reference = _keras_softmax(scores)
        need(
            report,
            mine.shape == scores.shape,
            f"{what} must have the shape of the scores, {scores.shape}; got shape {mine.shape}",
            "One probability per score: divide each row by its sum with keepdims=True, so the "
            "shape stays.",
        )
        if not np.all(np.isfinite(mine)):
            large = scores.max(axis=-1)
            if np.all(large > 100):
                report.fail(
                    f"{what}: got {mine.tolist()}: np.exp overflows to infinity for "
                    "scores this large, and inf / inf is nan",
                    "Softmax does not change when a row's scores are all shifted by the same "
                    "number: shift them so that the largest is 0 before np.exp.",
                    stop=True,
                )
            if mine.ndim == 2 and len(mine) > 1 and np.all(np.isfinite(mine[-1])):
                report.fail(
                    f"{what}: the row of small scores becomes nan when the batch's largest "
                    "score is subtracted from it; shift each row by each row's own largest "
                    f"score; got {np.round(mine, 3).tolist()}",
                    "The shift must come from the row itself: scores.max(axis=-1, keepdims=True).",
                    stop=True,
                )
            report.fail(
                f"{what}: probabilities must be finite numbers; got {np.round(mine, 3).tolist()}",
                "Exponentiate every score and divide by the sum of the row's exponentials.",
                stop=True,
            )
        if mine.ndim == 2 and len(mine) > 1 and not np.allclose(mine.sum(axis=-1), 1, atol=1e-5):
            if np.isclose(mine.sum(), 1, atol=1e-5):
                report.fail(
                    f"{what}: the whole batch adds up to 1, not each row; got row sums "
                    f"{np.round(mine.sum(axis=-1), 3).tolist()}",
                    "Each image gets its own distribution: sum the exponentials of each row "
                    "(axis=-1, keepdims=True).",
                    stop=True,
                )
            if np.allclose(mine.sum(axis=0), 1, atol=1e-5):
                report.fail(
                    f"{what}: each column adds up to 1, not each row (axis 0 runs over the "
                    f"images); got row sums {np.round(mine.sum(axis=-1), 3).tolist()}",
                    "Rows are images, columns are classes: normalise along the last axis.",
                    stop=True,
                )
        need(
            report,
            np.allclose(mine, reference, rtol=1e-5, atol=1e-6),
            f"{what}: Keras gives {np.round(reference, 4).tolist()}; got "
            f"{np.round(mine, 4).tolist()}",
            "Exponentiate every score and divide by the sum of the row's exponentials.",
        )
        report.passed.append(f"{what}: same as keras.activations.softmax")


# ---------------------------------------------------------------------------
# 06.confusion


def _confusion_cases() -> list[tuple[str, np.ndarray, np.ndarray, int]]:
    rng = np.random.default_rng(66)
    y_true = rng.integers(0, 4, size=60)  # classes 0-3 occur; 4 and 5 never do
    # Right six times in ten, except class 2, which is never predicted.
    y_pred = np.where((rng.random(60) < 0.6) & (y_true != 2), y_true, rng.choice([0, 1, 3], 60))
    return [
        ("4 images, 3 classes", np.array([0, 1, 1, 2]), np.array([0, 0, 1, 1]), 3),
        ("60 random labels, 6 classes, 2 of them in no label", y_true, y_pred, 6),
    ]


_CONFUSION_SOLUTION = """
def my_confusion_matrix(y_true, y_pred, num_classes):
    matrix = np.zeros((num_classes, num_classes), dtype="int64")
    for true_class, predicted_class in zip(y_true, y_pred):
        matrix[true_class, predicted_class] += 1
    return matrix


answer = my_confusion_matrix
"""


@exercise(
    "06.confusion",
    title="A confusion matrix in NumPy",
    minutes=8,
    task=(
        "Write my_confusion_matrix(y_true, y_pred, num_classes) with NumPy: an integer array "
        "(num_classes, num_classes) whose row i, column j counts the images of true class i "
        "predicted as class j (as tf.math.confusion_matrix); answer = my_confusion_matrix."
    ),
    hints=(
        "Rows are true classes, columns predictions: each image adds 1 to the cell "
        "(its true class, its predicted class).",
        "The size comes from num_classes, not from the labels: a class that no image has and "
        "that is never predicted still gets its row and column, full of zeros.",
        "Adding 1 at an array of positions with matrix[rows, cols] += 1 counts a position "
        "that occurs twice only once; a loop over the images, np.add.at or np.bincount "
        "count every image.",
    ),
    setup=_SETUP,
    solution=_CONFUSION_SOLUTION,
    wrong=(
        (
            _CONFUSION_SOLUTION.replace(
                "[true_class, predicted_class] +", "[predicted_class, true_class] +"
            ),
            "transposed",
        ),
        (
            _CONFUSION_SOLUTION.replace(
                "for true_class, predicted_class in zip(y_true, y_pred):\n"
                "        matrix[true_class, predicted_class]",
                "matrix[y_true, y_pred]",
            ),
            "counted once",
        ),
        (
            _CONFUSION_SOLUTION.replace(
                "np.zeros((num_classes, num_classes)",
                "np.zeros((int(max(np.max(y_true), np.max(y_pred))) + 1,) * 2",
            ),
            "a class that no image has",
        ),
        (_CONFUSION_SOLUTION.replace(', dtype="int64"', ""), "stored as float64"),
    ),
)
def _confusion(answer: Any, report: Report) -> None:
    import tensorflow as tf

    need_function(answer, report, "my_confusion_matrix(y_true, y_pred, num_classes)")
    for title, y_true, y_pred, k in _confusion_cases():
        what = f"my_confusion_matrix on {title}"
        got = call(
            report,
            what,
            answer,
            y_true.copy(),
            y_pred.copy(),
            k,
            hint="Start from np.zeros((num_classes, num_classes), dtype='int64').",
        )
        mine = as_array(
            report, got, f"{what} must return an array of numbers", "Return the matrix of counts."
        )
        reference = tf.math.confusion_matrix(y_true, y_pred, num_classes=k).numpy()
        if mine.shape != reference.shape and mine.ndim == 2 and mine.shape[0] == mine.shape[1]:
            report.fail(
                f"{what}: the matrix must be ({k}, {k}) for num_classes = {k}, even for a class "
                f"that no image has and none is predicted as; got shape {mine.shape}",
                "Size the matrix from num_classes, not from the largest label you see.",
                stop=True,
            )
        need(
            report,
            mine.shape == reference.shape,
            f"{what} must have shape {reference.shape}; got shape {mine.shape}",
            "One row and one column per class: np.zeros((num_classes, num_classes)).",
        )
        if np.array_equal(mine, reference):
            kind = np.asarray(got).dtype
            need(
                report,
                np.issubdtype(kind, np.integer),
                f"{what}: the counts are right but stored as {kind}; counts are whole numbers, "
                f"an integer array as tf.math.confusion_matrix gives; got dtype {kind}",
                "np.zeros makes floats unless told otherwise: give it dtype='int64'.",
            )
            report.passed.append(f"{what}: same as tf.math.confusion_matrix")
            continue
        if np.array_equal(mine, reference.T):
            report.fail(
                f"{what}: the matrix is transposed: rows must be true classes and columns "
                f"predictions; got {mine.astype(int).tolist()}",
                "Row i holds the images whose true class is i; the column is what the network "
                "said.",
                stop=True,
            )
        if np.array_equal(mine, (reference > 0).astype(int)):
            report.fail(
                f"{what}: a pair (true, predicted) that occurs several times is counted once: "
                f"the matrix adds up to {int(mine.sum())}, for {len(y_true)} images",
                "Every image must add 1 to its cell, also when another image already did.",
                stop=True,
            )
        rows, cols = np.nonzero(mine != reference)
        report.fail(
            f"{what}: cell ({rows[0]}, {cols[0]}) should count {reference[rows[0], cols[0]]}; "
            f"got {mine[rows[0], cols[0]]:g}",
            "Count, for each image, one in the cell (true class, predicted class).",
            stop=True,
        )


# ---------------------------------------------------------------------------
# 06.confident-mistake


def _reference_mistake(y_true: np.ndarray, probabilities: np.ndarray) -> int | None:
    predicted = probabilities.argmax(axis=1)
    wrong = np.flatnonzero(predicted != y_true)
    if not len(wrong):
        return None
    return int(wrong[probabilities[wrong].max(axis=1).argmax()])


#: Six test images, three classes. Image 0 is the most confident prediction and right;
#: image 1 gives its true class the lowest probability; image 5 is the most confident mistake.
_TRAP_TRUE = np.array([0, 1, 2, 0, 1, 2])
_TRAP_PROBABILITIES = np.array(
    [
        [0.97, 0.02, 0.01],  # right, the most confident of all
        [0.55, 0.05, 0.40],  # wrong: its true class gets only 5 %
        [0.10, 0.30, 0.60],  # right
        [0.30, 0.60, 0.10],  # wrong, 60 %
        [0.25, 0.50, 0.25],  # right
        [0.02, 0.90, 0.08],  # wrong, 90 %: the most confident mistake
    ]
)


def _mistake_cases() -> list[tuple[str, np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(606)
    logits = rng.normal(0, 2, size=(200, 4))
    probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    y_true = np.where(rng.random(200) < 0.7, probabilities.argmax(axis=1), rng.integers(0, 4, 200))
    right = np.eye(3)[[0, 1, 2, 2]] * 0.8 + 0.2 / 3
    return [
        ("6 images of 3 classes", _TRAP_TRUE, _TRAP_PROBABILITIES),
        ("200 random predictions", y_true, probabilities),
        ("4 images, all predicted right", np.array([0, 1, 2, 2]), right),
    ]


@exercise(
    "06.confident-mistake",
    title="Find the most confident mistake",
    minutes=7,
    task=(
        "Write most_confident_mistake(y_true, probabilities): among the images the network "
        "gets wrong, the index (into y_true) of the one whose predicted class has the highest "
        "probability, or None when every prediction is right; answer = most_confident_mistake."
    ),
    hints=(
        "A mistake is an image whose argmax differs from its true class; only those are "
        "candidates, however sure the network was of the others.",
        "The network's confidence in its answer is the probability of the class it predicted, "
        "the largest of the row, not the probability of the true class.",
        "np.flatnonzero gives the indices of the mistakes; a position within that list is not "
        "yet an index into the test set.",
    ),
    setup=_SETUP,
    solution="""
    def most_confident_mistake(y_true, probabilities):
        predicted = probabilities.argmax(axis=1)
        wrong = np.flatnonzero(predicted != y_true)  # indices of the mistakes
        if len(wrong) == 0:
            return None
        confidence = probabilities[wrong].max(axis=1)  # the probability of each wrong answer
        return int(wrong[confidence.argmax()])


    answer = most_confident_mistake
    """,
    wrong=(
        (
            """
            def most_confident_mistake(y_true, probabilities):
                return int(probabilities.max(axis=1).argmax())
            answer = most_confident_mistake
            """,
            "is predicted right",
        ),
        (
            """
            def most_confident_mistake(y_true, probabilities):
                true_probability = probabilities[np.arange(len(y_true)), y_true]
                return int(true_probability.argmin())
            answer = most_confident_mistake
            """,
            "lowest probability to its true class",
        ),
        (
            """
            def most_confident_mistake(y_true, probabilities):
                wrong = np.flatnonzero(probabilities.argmax(axis=1) != y_true)
                return int(probabilities[wrong].max(axis=1).argmax())
            answer = most_confident_mistake
            """,
            "position among the mistakes",
        ),
        (
            """
            def most_confident_mistake(y_true, probabilities):
                wrong = np.flatnonzero(probabilities.argmax(axis=1) != y_true)
                return int(wrong[probabilities[wrong].max(axis=1).argmax()])
            answer = most_confident_mistake
            """,
            "all predicted right",
        ),
    ),
)
def _confident_mistake(answer: Any, report: Report) -> None:
    need_function(answer, report, "most_confident_mistake(y_true, probabilities)")
    for title, y_true, probabilities in _mistake_cases():
        what = f"most_confident_mistake on {title}"
        expected = _reference_mistake(y_true, probabilities)
        got = call(
            report,
            what,
            answer,
            y_true.copy(),
            probabilities.copy(),
            hint="When every prediction is right there is no mistake to return: return None."
            if expected is None
            else "Try your function on the lesson's splits.y_test and probabilities first.",
        )
        if expected is None:
            need(
                report,
                got is None,
                f"{what}: there is no mistake, so the answer is None; got {describe(got)}",
                "When every prediction is right there is no mistake to return: return None.",
            )
            report.passed.append(f"{what}: None, no mistake")
            continue
        is_index = isinstance(got, (int, np.integer)) and not isinstance(got, (bool, np.bool_))
        need(
            report,
            is_index,
            f"{what} must return the index of one image, an int; got {describe(got)}",
            "Return one integer: the position of the image in y_true (int(...) of it).",
        )
        got = int(got)
        if got == expected:
            report.passed.append(f"{what}: image {got}, as the check finds")
            continue
        need(
            report,
            0 <= got < len(y_true),
            f"{what}: {got} is not an image index; there are {len(y_true)} images; got {got}",
            "The index runs over the test images, 0 to len(y_true) - 1.",
        )
        predicted = probabilities.argmax(axis=1)
        wrong = np.flatnonzero(predicted != y_true)
        position = int(np.flatnonzero(wrong == expected)[0])
        true_probability = probabilities[np.arange(len(y_true)), y_true]
        if got == position:
            report.fail(
                f"{what}: {got} is the position among the mistakes, not the image's index in "
                f"y_true (image {expected}); got {got}",
                "Map the position back: the indices of the mistakes hold the image numbers.",
                stop=True,
            )
        if predicted[got] == y_true[got]:
            report.fail(
                f"{what}: image {got} is predicted right (class {int(predicted[got])} with "
                f"{probabilities[got].max():.0%}); got a right prediction, not a mistake",
                "Keep only the images whose predicted class differs from the true class.",
                stop=True,
            )
        if got == int(true_probability.argmin()):
            report.fail(
                f"{what}: image {got} gives the lowest probability to its true class "
                f"({true_probability[got]:.0%}); the most confident mistake is the one whose "
                f"wrong answer gets the highest probability; got {got}",
                "Confidence is the probability of the predicted class, the row's largest value.",
                stop=True,
            )
        report.fail(
            f"{what}: image {got} is a mistake with {probabilities[got].max():.0%}, but image "
            f"{expected} is wrong with {probabilities[expected].max():.0%}; got {got}",
            "Among the mistakes, take the one whose largest probability is the largest.",
            stop=True,
        )
