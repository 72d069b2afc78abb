"""The course's input pipeline, and a trace of its stages measured on real tensors.

:func:`build_pipeline` builds the ``tf.data.Dataset`` the course trains on;
:func:`trace_pipeline` runs it (and optionally a model) and reports each stage, in the order
the code runs it, as a :class:`PipelineTrace`; :func:`plot_data_flow` draws it as a diagram.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from html import escape
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch

from course_utils import _display
from course_utils._validation import as_images, as_int, as_labels, as_seed, describe
from course_utils.augment import _flat_layers, apply_augmenter
from course_utils.models import _prepare_image
from course_utils.trace import Report

__all__ = ["PipelineStage", "PipelineTrace", "build_pipeline", "plot_data_flow", "trace_pipeline"]


def build_pipeline(
    images: Any,
    labels: Any,
    augmenter: keras.layers.Layer | None = None,
    batch_size: int = 32,
    shuffle: bool = True,
    seed: int | None = 0,
) -> tf.data.Dataset:
    """Build the course's ``tf.data`` pipeline from images and labels in memory.

    ``from_tensor_slices -> shuffle -> batch -> map(augment, parallel) -> prefetch``: the
    images stay uint8 until augmentation, which runs on whole batches (one ``map`` call per
    batch is cheaper than one per image) and stores nothing, so each epoch sees new variants.

    Parameters
    ----------
    images : array-like, shape (N, H, W, C) or (N, H, W)
        uint8 (or float) images on the 0-255 scale. They are not modified.
    labels : array-like of int, shape (N,)
        Class index per image.
    augmenter : keras.layers.Layer, optional
        A ``keras.layers.Pipeline`` or ``keras.Sequential`` of augmentation layers
        (e.g. from ``make_augmenter``), applied to every batch in training mode.
    batch_size : int
        Images per batch; the last batch may be smaller.
    shuffle : bool
        Shuffle all ``N`` examples, in a new order each epoch.
    seed : int or None
        The same seed gives the same batches, augmentation included, every time the
        pipeline is built; None for fresh randomness.

    Returns
    -------
    tf.data.Dataset
        ``(images, labels)`` batches: images ``(B, H, W, C)`` (uint8 without augmenter,
        float32 on the 0-255 scale with one) and int64 labels ``(B,)``.

    Examples
    --------
    >>> images = np.zeros((100, 32, 32, 3), np.uint8)
    >>> ds = build_pipeline(images, np.zeros(100, int), batch_size=32)
    >>> [int(x.shape[0]) for x, _ in ds]
    [32, 32, 32, 4]
    """
    images = as_images(images, "images", channels=None)
    labels = as_labels(labels, "labels", n=len(images))
    if augmenter is not None and not isinstance(augmenter, keras.layers.Layer):
        raise TypeError(
            "augmenter must be a keras Layer/Sequential (e.g. from make_augmenter) or None; "
            f"got {describe(augmenter)}"
        )
    batch_size = as_int(batch_size, "batch_size")
    if not isinstance(shuffle, bool):
        raise TypeError(f"shuffle must be True or False; got {describe(shuffle)}")
    seed = as_seed(seed)

    dataset = tf.data.Dataset.from_tensor_slices((images, labels))
    if shuffle:
        dataset = dataset.shuffle(len(images), seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.batch(batch_size)
    if augmenter is not None:
        # One seed pair per batch, fresh each epoch: the augmentation of a batch depends only
        # on its seed, not on which parallel call runs first (seed None: fresh seed pairs).
        seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True)
        dataset = tf.data.Dataset.zip(dataset, seeds.batch(2, drop_remainder=True)).map(
            lambda batch, pair: (apply_augmenter(augmenter, batch[0], pair), batch[1]),
            num_parallel_calls=tf.data.AUTOTUNE,
        )
    return dataset.prefetch(tf.data.AUTOTUNE)


@dataclass(frozen=True)
class PipelineStage:
    """One row of a :class:`PipelineTrace`.

    ``name`` (``"Shuffle and batch"``) and ``call``, its code (``"batch(32)"``);
    ``input_shape`` and ``output_shape`` (the first axis counts rows); ``operation`` in words;
    the output's ``dtype`` and measured ``value_range`` (min, max); a text ``example`` and a
    few example ``pictures`` ``(k, H, W, C)`` on the 0-255 scale (or None).

    Examples
    --------
    >>> trace = trace_pipeline(np.zeros((8, 4, 4, 3), np.uint8), np.zeros(8, int), batch_size=4)
    >>> trace.stages[1].call, trace.stages[1].output_shape
    ('shuffle(8, seed=0).batch(4)', (4, 4, 4, 3))
    """

    name: str
    input_shape: tuple[int, ...]
    operation: str
    output_shape: tuple[int, ...]
    dtype: str
    value_range: tuple[float, float]
    example: str
    pictures: np.ndarray | None = field(default=None, repr=False, compare=False)
    call: str = ""


def _range_text(stage: PipelineStage) -> str:
    low, high = (_display.number(v) for v in stage.value_range)
    return f"{low} to {high}"


@dataclass(frozen=True)
class PipelineTrace(Report):
    """The stages of the input pipeline (and model), in the order the code runs them.

    ``stages``: one :class:`PipelineStage` each; ``batches_per_epoch``; ``dataset``: the
    traced pipeline for ``model.fit`` (its first batch was taken, so the next pass is a new
    epoch, a new order: build it again with the same seed to see that batch).

    Examples
    --------
    >>> trace = trace_pipeline(np.zeros((8, 4, 4, 3), np.uint8), np.zeros(8, int), batch_size=4)
    >>> print(str(trace).splitlines()[0]), trace.batches_per_epoch
    Data flow: 3 stages
    (None, 2)
    """

    stages: list[PipelineStage]
    batches_per_epoch: int
    dataset: tf.data.Dataset = field(repr=False, compare=False)

    @property
    def names(self) -> list[str]:
        """The stage names, in order."""
        return [stage.name for stage in self.stages]

    def table(self, html: bool = False) -> _display.Table:
        """One row per stage; with ``html`` the code as ``<code>`` and example thumbnails."""
        headers = [
            "#",
            "Stage",
            "Code",
            "Input",
            "Operation",
            "Output",
            "dtype",
            "Range",
            "Example",
        ]
        rows = []
        for i, s in enumerate(self.stages, 1):
            code, example = s.call, s.example
            if html:
                pictures = [] if s.pictures is None else np.clip(s.pictures, 0, 255) / 255
                thumbs = "".join(_display.img_tag(p) for p in pictures)
                code = f"<code>{escape(code)}</code>"
                example = f"{thumbs}<br><small>{escape(example)}</small>"
            cells = [i, s.name, code, _display.shape_text(s.input_shape), s.operation]
            cells += [_display.shape_text(s.output_shape), s.dtype, _range_text(s), example]
            rows.append(cells)
        caption = f"Data flow: {len(self)} stages, {self.batches_per_epoch} batches per epoch"
        return _display.Table(headers, rows, caption if html else "", (2, 8) if html else ())

    def _head(self) -> str:
        return f"Data flow: {len(self.stages)} stages"

    def __len__(self) -> int:
        return len(self.stages)


def _stage(
    name: str, call: str, source: Any, operation: str, out: Any, example: str, pictures: Any
) -> PipelineStage:
    """A stage measured on its real output ``out``: shape, dtype and value range."""
    measured = (out.shape, str(out.dtype), (float(np.min(out)), float(np.max(out))))
    return PipelineStage(name, source.shape, operation, *measured, example, pictures, call)


def _listing(values: np.ndarray, count: int, spec: str) -> str:
    """The first ``count`` values in brackets, with ``...`` when there are more."""
    shown = ", ".join(format(v, spec) for v in values[:count])
    return f"[{shown}{', ...' if len(values) > count else ''}]"


def trace_pipeline(
    images: Any,
    labels: Any,
    augmenter: keras.layers.Layer | None = None,
    model: keras.Model | None = None,
    batch_size: int = 32,
    seed: int = 0,
) -> PipelineTrace:
    """Run the course pipeline (and a model) and describe every stage with real numbers.

    The stages of :func:`build_pipeline` (same arguments), in the order it runs them: the
    data set in memory, shuffle and batch, augmentation (with an augmenter), prefetch, then
    ``model`` (optional; it must take the images' size and channels: resize them, or start
    it with ``keras.layers.Resizing`` and an input of any size). Each is measured on the
    first batch of the pipeline built with ``seed``; the batch before augmentation comes
    from the same pipeline without the augmenter, which shuffles in the same order. Returns
    a :class:`PipelineTrace` of 3 to 5 stages (``.dataset`` is the pipeline).

    Examples
    --------
    >>> images = np.zeros((1000, 32, 32, 3), np.uint8)
    >>> trace = trace_pipeline(images, np.zeros(1000, int))
    >>> trace.names
    ['Original dataset', 'Shuffle and batch', 'Prefetch']
    >>> [stage.output_shape for stage in trace.stages]
    [(1000, 32, 32, 3), (32, 32, 32, 3), (32, 32, 32, 3)]
    """
    dataset = build_pipeline(images, labels, augmenter, batch_size, seed=seed)  # checks them
    plain = build_pipeline(images, labels, None, batch_size, seed=seed)
    images = as_images(images, "images", channels=None)
    if model is not None:
        _prepare_image(model, images[0], "images")  # the model takes these images
    after, batch_labels = (np.asarray(t) for t in next(iter(dataset)))
    before = np.asarray(next(iter(plain))[0])
    n = len(images)
    batches = math.ceil(n / batch_size)
    last = n - (batches - 1) * batch_size
    labels_text = f"first batch, labels {_listing(batch_labels, 8, 'd')}"

    call = "Dataset.from_tensor_slices((images, labels))"
    what = "images and labels in memory; one (image, label) pair per row"
    example = f"first image, label {int(np.asarray(labels)[0])}"
    stages = [_stage("Original dataset", call, images, what, images, example, images[:1])]
    call = f"shuffle({n}, seed={seed}).batch({batch_size})"
    what = f"shuffle all {n} rows (seed {seed}), a new order each epoch, and group them into "
    what += f"batches of {batch_size}: {batches} batches per epoch"
    what += "" if last == batch_size else f", the last one {last}"
    stages.append(_stage("Shuffle and batch", call, images, what, before, labels_text, before[:6]))
    if augmenter is not None:
        call = "map(augment, num_parallel_calls=AUTOTUNE)"
        names = [type(layer).__name__ for layer in _flat_layers(augmenter)]
        words = [c.removeprefix("Random").lower() if c.startswith("Random") else c for c in names]
        what = f"random {', '.join(words) or '(no layers)'} on each batch, a new draw per image "
        what += "and per epoch, on the fly: nothing is stored"
        example = "3 images of the batch before and after augmentation"
        pictures = np.concatenate([before[:3], after[:3]]).astype(np.float32)
        stages.append(_stage("Data augmentation", call, before, what, after, example, pictures))
    call = "prefetch(AUTOTUNE)"
    what = "keep the next batches ready while the model works on this one; the data pass "
    what += "through unchanged"
    stages.append(_stage("Prefetch", call, after, what, after, labels_text, after[:6]))
    if model is not None:
        output = np.asarray(model(after, training=False))
        rows = output.reshape(len(output), -1)
        sums_to_one = np.allclose(rows.sum(axis=1), 1.0, atol=1e-3)
        kind = "outputs"
        if output.ndim == 2 and rows.min() >= 0 and sums_to_one:
            kind = f"{rows.shape[1]} class probabilities"
        what = f"feed the batch into {model.name!r} ({len(model.layers)} layers): {kind} per image"
        example = f"first row {_listing(rows[0], 10, '.2f')}"
        stages.append(_stage("Model", "model(batch)", after, what, output, example, None))
    return PipelineTrace(stages=stages, batches_per_epoch=batches, dataset=dataset)


#: Pastel box colours of :func:`plot_data_flow`, one per stage, in order.
_BOX_COLOURS = ("#c6dbef", "#fdd0a2", "#c7e9c0", "#dadaeb", "#fcbba1", "#d9d9d9")


def _wrap_code(code: str, width: int = 24) -> str:
    """Break a line of code before ``.method(`` and after ``, `` to fit ``width``."""
    lines: list[str] = []
    for token in re.split(r"(?<=,) |(?=\.[A-Za-z_]+\()", code):
        if lines and len(lines[-1]) + len(token) <= width:
            lines[-1] += token if token.startswith(".") else " " + token
        else:
            lines.append(token)
    return "\n".join(lines) or "-"


def plot_data_flow(trace: PipelineTrace, fig: Figure | None = None) -> Figure:
    """Draw a :class:`PipelineTrace` as a diagram: one box per stage, arrows between.

    Each box (a text artist) shows the stage's name, code and output shape, dtype and range.
    Draws into ``fig`` (cleared first) or a new Figure and returns it.

    Examples
    --------
    >>> trace = trace_pipeline(np.zeros((40, 8, 8, 3), np.uint8), np.zeros(40, int))
    >>> fig = plot_data_flow(trace)
    >>> len(fig.axes[0].texts)
    3
    """
    if not isinstance(trace, PipelineTrace):
        raise TypeError(
            f"trace must be a PipelineTrace (from trace_pipeline); got {describe(trace)}"
        )
    count = len(trace.stages)
    fig = _display.fresh_figure(fig, (3.0 * count, 2.3))
    ax = fig.add_subplot(xlim=(0, count), ylim=(0, 1))
    ax.axis("off")
    for i, stage in enumerate(trace.stages):
        text = (
            f"{i + 1}. {stage.name}\n\n{_wrap_code(stage.call)}\n\n"
            f"{_display.shape_text(stage.output_shape)}\n{stage.dtype}, {_range_text(stage)}"
        )
        box = {"boxstyle": "round,pad=0.5", "facecolor": _BOX_COLOURS[i % len(_BOX_COLOURS)]}
        style = {"ha": "center", "va": "center", "fontsize": 9, "family": "monospace"}
        ax.text(i + 0.5, 0.5, text, bbox=box, **style)
        if i:
            arrow = {"arrowstyle": "-|>", "mutation_scale": 12, "color": "0.3"}
            ax.add_patch(FancyArrowPatch((i - 0.06, 0.5), (i + 0.06, 0.5), **arrow))
    title = f"Data flow, in the order the code runs: {trace.batches_per_epoch} batches per epoch"
    ax.set_title(title, fontsize=10)
    return fig
