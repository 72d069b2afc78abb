"""Checks that several exercises share: the kind of answer, calls of learner code, arrays
and datasets.

Each records on a :class:`~course_utils.exercises.Report` and stops the check (through
``report.require``) when what follows cannot run without it. The messages keep the
course's format: what was expected, then "; got ..." with what was given.

Examples
--------
>>> from course_utils.exercises import Report
>>> report = Report()
>>> need_function(len, report, "size(values)")
>>> report.passed
['answer is a function']
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from course_utils._validation import describe
from course_utils.exercises._core import Report

_START = "Start from tf.data.Dataset.from_tensor_slices((images, labels))."


def need(report: Report, ok: bool, wrong: str, hint: str) -> None:
    """Stop the check with ``wrong`` unless ``ok``; a passing step records nothing.

    Examples
    --------
    >>> report = Report()
    >>> need(report, True, "never shown", "no hint")
    >>> report.passed, report.failed
    ([], [])
    """
    if not ok:
        report.fail(wrong, hint, stop=True)


def need_function(
    answer: Any, report: Report, signature: str, *, returns: str = "", hint: str = ""
) -> None:
    """Stop unless ``answer`` is a function (a class is not one), named by ``signature``.

    ``returns`` says what it must return ("a dict"); ``hint`` replaces the default hint.

    Examples
    --------
    >>> from course_utils.exercises._core import _Stop
    >>> report = Report()
    >>> try:
    ...     need_function(42, report, "convolve(image, kernel)")
    ... except _Stop:
    ...     print(report.failed[0])
    answer must be your function convolve(image, kernel); got int 42
    """
    name = signature.split("(")[0]
    returns = f" that returns {returns}" if returns else ""
    report.require(
        callable(answer) and not isinstance(answer, type),
        "answer is a function",
        f"answer must be your function {signature}{returns}; got {describe(answer)}",
        hint or f"Define the function with def, then answer = {name} (no parentheses).",
    )


def quietly(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call ``function`` with warnings and NumPy floating-point warnings silenced.

    An overflow or a warning of the learner's code is the check's to report, not noise.

    Examples
    --------
    >>> float(quietly(np.divide, 1.0, 0.0))
    inf
    """
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return function(*args, **kwargs)


def call(
    report: Report, what: str, function: Callable[..., Any], *args: Any, hint: str | None = None
) -> Any:
    """Call the learner's ``function(*args)`` quietly; an exception becomes a failed item.

    Examples
    --------
    >>> call(Report(), "Calling your function", max, 3, 4)
    4
    """
    return report.attempt(what, lambda: quietly(function, *args), hint)


def as_array(report: Report, value: Any, wrong: str, hint: str) -> np.ndarray:
    """``value`` as a float64 array of rank 1 or more; else stop with ``wrong + "; got ..."``.

    Examples
    --------
    >>> as_array(Report(), [1, 2], "softmax must return an array of numbers", "")
    array([1., 2.])
    """
    try:
        array = np.asarray(value, dtype="float64")
    except (TypeError, ValueError):
        array = None
    need(report, array is not None and array.ndim > 0, f"{wrong}; got {describe(value)}", hint)
    return array


def pair(
    answer: Any, report: Report, names: tuple[str, str], of: str, both: str
) -> tuple[Any, Any]:
    """Stop unless ``answer`` is a pair (a tuple or list of two): ``(names[0], names[1])``.

    Examples
    --------
    >>> pair((1, 2), Report(), ("digits", "aerial"), "lists of Keras layers", "choices")
    (1, 2)
    """
    first, second = names
    report.require(
        isinstance(answer, (tuple, list)) and len(answer) == 2,
        f"answer is a pair ({first}, {second})",
        f"answer must be a pair ({first}, {second}) of {of}; got {describe(answer)}",
        f"Put both {both} in a tuple: answer = ({first}, {second}).",
    )
    return answer[0], answer[1]


def dataset_pair(
    answer: Any,
    report: Report,
    names: tuple[str, str] = ("train_ds", "val_ds"),
    start: str = _START,
    both: str = "datasets",
) -> tuple[Any, Any]:
    """Stop unless ``answer`` is a pair of ``tf.data.Dataset`` yielding (images, labels).

    Examples
    --------
    >>> import tensorflow as tf
    >>> ds = tf.data.Dataset.from_tensor_slices(([[0.0]], [0]))
    >>> report = Report()
    >>> train, val = dataset_pair((ds, ds), report)
    >>> report.passed[-1]
    'val_ds yields (images, labels) pairs'
    """
    import tensorflow as tf

    answer = pair(answer, report, names, "tf.data.Dataset", both)
    for name, value in zip(names, answer, strict=True):
        report.require(
            isinstance(value, tf.data.Dataset),
            f"{name} is a tf.data.Dataset",
            f"{name} must be a tf.data.Dataset; got {describe(value)}",
            start,
        )
        spec = value.element_spec
        need(
            report,
            not isinstance(spec, dict),
            f"{name} yields dicts {sorted(spec) if isinstance(spec, dict) else ''}; fit "
            f"expects (images, labels) pairs; got element_spec {spec}",
            "A layer called on a dict (as the mixing layers are) gives a dict back; end the "
            "chain with a map back to the pair (batch['images'], batch['labels']).",
        )
        report.require(
            isinstance(spec, tuple) and len(spec) == 2,
            f"{name} yields (images, labels) pairs",
            f"{name} must yield (images, labels) pairs; got element_spec {spec}",
            "Slice a tuple (images, labels), and return both from every map function.",
        )
    return answer


def returns_dataset(report: Report, dataset: Any, who: str, hint: str) -> Any:
    """Stop unless what ``who`` returned is a ``tf.data.Dataset``; gives it back.

    Examples
    --------
    >>> import tensorflow as tf
    >>> ds = returns_dataset(Report(), tf.data.Dataset.range(2), "make_stream", "")
    >>> int(ds.cardinality())
    2
    """
    import tensorflow as tf

    report.require(
        isinstance(dataset, tf.data.Dataset),
        f"{who} returns a tf.data.Dataset",
        f"{who} must return a tf.data.Dataset; got {describe(dataset)}",
        hint,
    )
    return dataset


def yields_batches(report: Report, dataset: Any, right: str, wrong: str, hint: str) -> None:
    """Stop unless ``dataset`` yields (images, labels) with images of rank 4 (batches).

    ``wrong`` is followed by "; got ..." and the element spec.

    Examples
    --------
    >>> import tensorflow as tf
    >>> ds = tf.data.Dataset.from_tensor_slices((tf.zeros((4, 2, 2, 1)), tf.range(4)))
    >>> yields_batches(Report(), ds.batch(2), "batches", "not batches", "")
    """
    spec = dataset.element_spec
    report.require(
        isinstance(spec, tuple)
        and len(spec) == 2
        and getattr(spec[0], "shape", None) is not None
        and spec[0].shape.rank == 4,
        right,
        f"{wrong}; got {spec}",
        hint,
    )


def read_batches(dataset: Any, report: Report, name: str, count: int = 3) -> list:
    """The first ``count`` (images, labels) elements of ``dataset`` as NumPy arrays.

    Examples
    --------
    >>> import tensorflow as tf
    >>> ds = tf.data.Dataset.from_tensor_slices(([[1.0], [2.0]], [0, 1])).batch(1)
    >>> [labels.tolist() for _, labels in read_batches(ds, Report(), "ds")]
    [[0], [1]]
    """

    def take():
        return [
            (np.asarray(images), np.asarray(labels))
            for images, labels in dataset.take(count).as_numpy_iterator()
        ]

    return report.attempt(f"Reading batches from {name}", take)
