"""Pictures of images, feature maps, filters, mistakes and model diagrams.

Each picture has a pure part that returns numbers (``feature_maps``, ``filter_images``,
``confusion_matrix``, ``top_mistakes``, ``diagram_stages``) and a ``plot_*`` function that
draws it and returns the ``matplotlib.figure.Figure`` (or Axes); pyplot's current figure is
never touched. The model helpers take any Sequential or Functional image model.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import keras
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, Rectangle

from course_utils import _display
from course_utils._validation import as_array, as_images, as_int, as_labels, check_finite, describe
from course_utils.models import (
    _CONV_TYPES,
    _activation_name,
    _check_built,
    _find_layer,
    _pair_text,
    _prepare_image,
)

__all__ = [
    "DiagramStage",
    "confusion_matrix",
    "diagram_stages",
    "feature_maps",
    "filter_images",
    "plot_confusion_matrix",
    "plot_feature_maps",
    "plot_filters",
    "plot_model_diagram",
    "plot_top_mistakes",
    "show_images",
    "top_mistakes",
]


def _class_names(class_names: Any, needed: int) -> list[str]:
    """``class_names`` checked to name ``needed`` classes; the class numbers when None."""
    if class_names is None:
        return [str(label) for label in range(needed)]
    if isinstance(class_names, str) or not isinstance(class_names, Sequence):
        raise TypeError(f"class_names must be a sequence of str; got {describe(class_names)}")
    if len(class_names) < needed:
        raise ValueError(
            f"class_names must name every class ({needed} needed); got {len(class_names)}"
        )
    return [str(name) for name in class_names]


# ------------------------------------------------------------------------- feature maps and filters
def feature_maps(
    model: keras.Model, image: Any, layer: str | keras.layers.Layer | None = None
) -> np.ndarray:
    """Return the activations of one layer for one image.

    Parameters
    ----------
    model : keras.Model
        Sequential or Functional image model (a Sequential one without an input is built from
        the image's shape).
    image : array-like, shape (H, W, C) or (H, W)
        One image on the 0-255 scale, of the size and channel count the model takes.
    layer : str or keras.layers.Layer, optional
        One of :func:`~course_utils.models.feature_map_layers`; default the first convolution.

    Returns
    -------
    numpy.ndarray
        float32 ``(H', W', C')``: one map per channel.

    Raises
    ------
    ValueError
        A layer without feature maps (the message lists the valid ones), a model without a
        convolution layer, or an image that does not fit the model.

    Examples
    --------
    >>> from course_utils.models import build_course_cnn
    >>> feature_maps(build_course_cnn((64, 64, 3)), np.zeros((64, 64, 3), np.uint8)).shape
    (62, 62, 32)
    """
    return _feature_maps(model, image, layer)[0]


def _feature_maps(model: Any, image: Any, layer: Any) -> tuple[np.ndarray, keras.layers.Layer]:
    batch = _prepare_image(model, image)
    target = _find_layer(model, layer)
    probe = keras.Model(model.inputs[0], target.output)
    return np.asarray(probe(batch, training=False))[0].astype(np.float32), target


def plot_feature_maps(
    model: keras.Model,
    image: Any,
    layer: str | keras.layers.Layer | None = None,
    max_maps: int = 32,
    fig: Figure | None = None,
    ncols: int = 8,
) -> Figure:
    """Draw the feature maps of one layer for one image as a grid.

    Parameters
    ----------
    model, image, layer
        As for :func:`feature_maps`.
    max_maps, ncols : int
        Show at most this many channels (the first ones), this many per row.
    fig : matplotlib.figure.Figure, optional
        Figure to draw into (cleared first).

    Returns
    -------
    matplotlib.figure.Figure
        One axes per map, titled ``"map i"``; the title names the layer and its output shape.

    Examples
    --------
    >>> from course_utils.models import build_course_cnn
    >>> fig = plot_feature_maps(build_course_cnn((64, 64, 3)), np.zeros((64, 64, 3)), max_maps=4)
    >>> len(fig.axes)
    4
    """
    max_maps, ncols = as_int(max_maps, "max_maps"), as_int(ncols, "ncols")
    maps, target = _feature_maps(model, image, layer)
    shown = min(maps.shape[-1], max_maps)
    fig, axes = _display.image_grid(shown, ncols=ncols, fig=fig, cell=(1.3, 1.4), extra_height=0.5)
    for i, ax in enumerate(axes):
        shown_map = _display.normalize_map(maps[..., i])
        _display.show_image(ax, shown_map, f"map {i}", fontsize=8, cmap="viridis")
    height, width, channels = maps.shape
    fig.suptitle(
        f"{target.name}: output {height}x{width}x{channels} (first {shown} of {channels} maps)",
        fontsize=10,
    )
    return fig


def _conv_layer(model_or_layer: Any) -> keras.layers.Layer:
    """The layer given, or a model's first convolution layer; built, with kernels."""
    layer = model_or_layer
    if isinstance(layer, keras.Model):
        convolutions = [lay for lay in layer.layers if isinstance(lay, _CONV_TYPES)]
        if not convolutions:
            raise ValueError(
                f"model {layer.name!r} has no convolution layer with filters to show; "
                f"its layers are {[lay.name for lay in layer.layers]}"
            )
        layer = convolutions[0]
    elif not isinstance(layer, keras.layers.Layer):
        raise TypeError(f"model_or_layer must be a keras Model or Layer; got {describe(layer)}")
    elif not isinstance(layer, _CONV_TYPES):
        raise ValueError(
            f"model_or_layer must be a convolution layer; got a {layer.__class__.__name__} "
            f"({layer.name!r})"
        )
    if not layer.built:
        raise ValueError(
            f"model_or_layer {layer.name!r} is not built yet, so it has no filters; build the "
            "model (keras.Input or model.build) first"
        )
    return layer


def _kernels(layer: keras.layers.Layer) -> np.ndarray:
    """A convolution layer's spatial filters as ``(filters, kh, kw, channels read)``."""
    if isinstance(layer, (keras.layers.DepthwiseConv2D, keras.layers.SeparableConv2D)):
        # (kh, kw, in, multiplier): one single-channel filter per input channel and multiplier;
        # a SeparableConv2D's 1x1 pointwise step only mixes their outputs.
        depthwise = getattr(layer, "depthwise_kernel", None)
        kernel = np.asarray(layer.kernel if depthwise is None else depthwise, np.float32)
        kernel = kernel.reshape(*kernel.shape[:2], 1, -1)
    elif isinstance(layer, keras.layers.Conv2DTranspose):
        kernel = np.asarray(layer.kernel, np.float32).transpose(0, 1, 3, 2)  # (kh, kw, out, in)
    else:
        kernel = np.asarray(layer.kernel, np.float32)
    return np.moveaxis(kernel, -1, 0)


def filter_images(model_or_layer: keras.Model | keras.layers.Layer) -> np.ndarray:
    """Return a convolution layer's kernels as small images scaled to [0, 1].

    Parameters
    ----------
    model_or_layer : keras.Model or keras.layers.Layer
        A model (its first convolution layer is used) or a built ``Conv2D``,
        ``Conv2DTranspose``, ``DepthwiseConv2D`` or ``SeparableConv2D`` (its depthwise filters).

    Returns
    -------
    numpy.ndarray
        float32 ``(filters, kh, kw, 3)`` when each filter reads 3 channels (colours), else
        ``(filters, kh, kw, 1)``, the mean over the channels read (a depthwise layer on ``C``
        channels with multiplier ``m`` has ``C * m`` one-channel filters). Each filter is
        min-max scaled on its own.

    Examples
    --------
    >>> separable = keras.layers.SeparableConv2D(8, 5)
    >>> separable.build((None, 32, 32, 3))
    >>> filter_images(separable).shape
    (3, 5, 5, 1)
    """
    filters = _kernels(_conv_layer(model_or_layer))
    if filters.shape[-1] != 3:
        filters = filters.mean(axis=-1, keepdims=True)
    return np.stack([_display.normalize_map(f) for f in filters]).astype(np.float32)


def plot_filters(
    model_or_layer: keras.Model | keras.layers.Layer,
    fig: Figure | None = None,
    max_filters: int = 32,
    ncols: int = 8,
) -> Figure:
    """Draw the kernels of the first convolution layer (or of the layer given).

    Parameters
    ----------
    model_or_layer : keras.Model or keras.layers.Layer
        See :func:`filter_images`.
    fig : matplotlib.figure.Figure, optional
        Figure to draw into (cleared first).
    max_filters, ncols : int
        Show at most this many filters, this many per row.

    Returns
    -------
    matplotlib.figure.Figure
        One axes per filter, titled ``"filter i"``; the title names the layer and the filter
        size ``kh x kw x channels read``.

    Examples
    --------
    >>> from course_utils.models import build_course_cnn
    >>> plot_filters(build_course_cnn((64, 64, 3)), max_filters=8).get_suptitle()
    'conv1: 32 filters of 3x3x3 (colour)'
    """
    max_filters, ncols = as_int(max_filters, "max_filters"), as_int(ncols, "ncols")
    layer = _conv_layer(model_or_layer)
    count, kh, kw, reads = _kernels(layer).shape
    images = filter_images(layer)
    shown = min(count, max_filters)
    fig, axes = _display.image_grid(shown, ncols=ncols, fig=fig, cell=(1.1, 1.2), extra_height=0.5)
    for i, ax in enumerate(axes):
        _display.show_image(ax, images[i], f"filter {i}", fontsize=8)
    colour = {3: "colour", 1: "grey"}.get(reads, "mean over input channels")
    fig.suptitle(f"{layer.name}: {count} filters of {kh}x{kw}x{reads} ({colour})", fontsize=10)
    return fig


# ------------------------------------------------------------------------------------------- images
def show_images(
    images: Any,
    labels: Any = None,
    class_names: Sequence[str] | None = None,
    ncols: int = 8,
    fig: Figure | None = None,
    max_images: int = 64,
) -> Figure:
    """Draw a grid of images with their labels as titles.

    Parameters
    ----------
    images : array-like, shape (N, H, W, C) or (N, H, W)
        uint8 or float images on the 0-255 (or 0-1) scale, 1 or 3 channels.
    labels : array-like of int, shape (N,), optional
        Class index per image.
    class_names : sequence of str, optional
        Name per class index; titles show names instead of numbers.
    ncols, max_images : int
        Images per row; show at most this many (the first ones).
    fig : matplotlib.figure.Figure, optional
        Figure to draw into (cleared first).

    Returns
    -------
    matplotlib.figure.Figure
        One axes per image shown.

    Examples
    --------
    >>> fig = show_images(np.zeros((3, 8, 8, 3), np.uint8), [0, 1, 1], ["cat", "dog"])
    >>> [ax.get_title() for ax in fig.axes]
    ['cat', 'dog', 'dog']
    """
    images = as_images(images, "images")
    ncols, max_images = as_int(ncols, "ncols"), as_int(max_images, "max_images")
    if labels is not None:
        labels = as_labels(labels, "labels", n=len(images))
    names = _class_names(class_names, int(labels.max()) + 1 if labels is not None else 0)
    shown = min(len(images), max_images)
    fig, axes = _display.image_grid(shown, ncols=ncols, fig=fig, cell=(1.4, 1.55))
    for i, ax in enumerate(axes):
        title = "" if labels is None else names[labels[i]]
        _display.show_image(ax, images[i], title, fontsize=8)
    return fig


# -------------------------------------------------------------------- confusion matrix and mistakes
def confusion_matrix(y_true: Any, y_pred: Any, num_classes: int) -> np.ndarray:
    """Count how often each true class was predicted as each class.

    Parameters
    ----------
    y_true, y_pred : array-like of int, shape (N,)
        True and predicted class indices in ``[0, num_classes)``.
    num_classes : int
        Number of classes.

    Returns
    -------
    numpy.ndarray
        int64 ``(num_classes, num_classes)``: row = true class, column = predicted class.

    Examples
    --------
    >>> confusion_matrix([0, 1, 1], [0, 0, 1], num_classes=2)
    array([[1, 0],
           [1, 1]])
    """
    num_classes = as_int(num_classes, "num_classes", minimum=1)
    y_true = as_labels(y_true, "y_true", num_classes=num_classes)
    y_pred = as_labels(y_pred, "y_pred", n=len(y_true), num_classes=num_classes)
    if y_true.size == 0:
        raise ValueError("y_true must not be empty; got 0 labels")
    counts = np.bincount(y_true * num_classes + y_pred, minlength=num_classes * num_classes)
    return counts.reshape(num_classes, num_classes).astype(np.int64)


def plot_confusion_matrix(
    y_true: Any,
    y_pred: Any,
    class_names: Sequence[str] | None = None,
    ax: Axes | None = None,
    num_classes: int | None = None,
) -> Axes:
    """Draw the confusion matrix with the count in every cell.

    Parameters
    ----------
    y_true, y_pred : array-like of int, shape (N,)
        True and predicted class indices.
    class_names : sequence of str, optional
        Tick labels; also fixes the number of classes.
    ax : matplotlib.axes.Axes, optional
        Axes to draw into; a new figure by default.
    num_classes : int, optional
        Number of classes without ``class_names`` (default: the largest label + 1).

    Returns
    -------
    matplotlib.axes.Axes
        Title with the accuracy; x = predicted, y = true; a colorbar.

    Examples
    --------
    >>> plot_confusion_matrix([0, 1, 1], [0, 0, 1], class_names=["cat", "dog"]).get_title()
    'Confusion matrix (accuracy 66.7%)'
    """
    y_true_arr = as_labels(y_true, "y_true")
    y_pred_arr = as_labels(y_pred, "y_pred", n=len(y_true_arr))
    k = num_classes
    if class_names is not None:
        k = len(_class_names(class_names, 0))
    elif k is None:
        k = int(max(y_true_arr.max(initial=0), y_pred_arr.max(initial=0))) + 1
    matrix = confusion_matrix(y_true_arr, y_pred_arr, k)
    if ax is None:
        ax = Figure(figsize=(1.0 + 0.5 * k, 0.8 + 0.5 * k), layout="constrained").add_subplot()
    elif not isinstance(ax, Axes):
        raise TypeError(f"ax must be a matplotlib Axes or None; got {describe(ax)}")
    image = ax.imshow(matrix, cmap="Blues")
    ax.figure.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    high = matrix.max() / 2 if matrix.size else 0
    for (row, col), value in np.ndenumerate(matrix):
        colour = "white" if value > high else "black"
        ax.text(col, row, str(value), ha="center", va="center", fontsize=8, color=colour)
    ticks, labels = np.arange(k), _class_names(class_names, k)
    ax.set_xticks(ticks, labels, rotation=45, ha="right")
    ax.set_yticks(ticks, labels)
    accuracy = np.trace(matrix) / matrix.sum()
    ax.set(xlabel="predicted class", ylabel="true class")
    ax.set_title(f"Confusion matrix (accuracy {accuracy:.1%})")
    return ax


def _check_mistakes(y_true: Any, probabilities: Any, n: int | None = None) -> tuple:
    """``(y_true, probabilities)`` checked against each other (and ``n`` images)."""
    y_true = as_labels(y_true, "y_true", n=n)
    probs = as_array(probabilities, "probabilities", "an array of class probabilities (N, K)")
    if probs.ndim != 2 or probs.shape[0] == 0 or probs.shape[1] < 2:
        raise ValueError(
            f"probabilities must have shape (N, K) with N >= 1 and K >= 2; got {probs.shape}"
        )
    if probs.shape[0] != len(y_true):
        raise ValueError(
            f"probabilities must have one row per label ({len(y_true)}); got {probs.shape[0]}"
        )
    check_finite(probs, "probabilities")
    if probs.min() < 0 or probs.max() > 1:
        raise ValueError(
            "probabilities must be in [0, 1] (softmax outputs, not logits); got values from "
            f"{float(probs.min()):g} to {float(probs.max()):g}"
        )
    return as_labels(y_true, "y_true", num_classes=probs.shape[1]), probs.astype(np.float64)


def top_mistakes(y_true: Any, probabilities: Any, k: int = 8) -> np.ndarray:
    """Indices of the ``k`` wrong predictions the model was most sure of.

    Parameters
    ----------
    y_true : array-like of int, shape (N,)
        True class indices.
    probabilities : array-like, shape (N, K)
        Predicted class probabilities in [0, 1] (e.g. ``model.predict(images)``).
    k : int
        How many mistakes to return at most.

    Returns
    -------
    numpy.ndarray
        int64 indices into ``y_true``, most confident mistake first (at most ``k``).

    Examples
    --------
    >>> top_mistakes([0, 1, 1], [[0.9, 0.1], [0.8, 0.2], [0.6, 0.4]], k=5)
    array([1, 2])
    """
    k = as_int(k, "k")
    return _top_mistakes(*_check_mistakes(y_true, probabilities), k)


def _top_mistakes(y_true: np.ndarray, probs: np.ndarray, k: int) -> np.ndarray:
    predicted = probs.argmax(axis=1)
    wrong = np.flatnonzero(predicted != y_true)
    order = np.argsort(-probs[wrong, predicted[wrong]], kind="stable")
    return wrong[order][:k].astype(np.int64)


def plot_top_mistakes(
    images: Any,
    y_true: Any,
    probabilities: Any,
    class_names: Sequence[str] | None = None,
    k: int = 8,
    fig: Figure | None = None,
    ncols: int = 8,
) -> Figure:
    """Draw the most confidently wrong predictions with true and predicted class.

    Parameters
    ----------
    images : array-like, shape (N, H, W, C) or (N, H, W)
        The images the probabilities belong to.
    y_true, probabilities, k
        As for :func:`top_mistakes`.
    class_names, ncols, fig
        As for :func:`show_images`.

    Returns
    -------
    matplotlib.figure.Figure
        One axes per mistake titled ``"true: A\\npred: B (97%)"``; one axes saying "no
        mistakes" when every prediction is right.

    Examples
    --------
    >>> fig = plot_top_mistakes(np.zeros((2, 8, 8, 3)), [0, 1], [[0.9, 0.1], [0.7, 0.3]])
    >>> fig.axes[0].get_title()
    'true: 1\\npred: 0 (70%)'
    """
    images = as_images(images, "images")
    k, ncols = as_int(k, "k"), as_int(ncols, "ncols")
    y_true_arr, probs = _check_mistakes(y_true, probabilities, n=len(images))
    names = _class_names(class_names, probs.shape[1])
    indices = _top_mistakes(y_true_arr, probs, k)
    if len(indices) == 0:
        fig, (ax,) = _display.image_grid(1, ncols=1, fig=fig, cell=(3, 1.5))
        ax.text(0.5, 0.5, "no mistakes", ha="center", va="center")
        return fig
    fig, axes = _display.image_grid(
        len(indices), ncols=ncols, fig=fig, cell=(1.5, 1.9), extra_height=0.4
    )
    for ax, index in zip(axes, indices, strict=True):
        guess = int(probs[index].argmax())
        title = (
            f"true: {names[y_true_arr[index]]}\npred: {names[guess]} ({probs[index, guess]:.0%})"
        )
        _display.show_image(ax, images[index], title, fontsize=8)
    fig.suptitle(f"The {len(indices)} most confident mistakes", fontsize=10)
    return fig


# ------------------------------------------------------------------------------------ model diagram
@dataclass(frozen=True)
class DiagramStage:
    """One box of :func:`plot_model_diagram`: a layer and what comes out of it.

    Attributes
    ----------
    number : int
        1 for the input, then one per layer in order.
    name, kind : str
        The layer's name and class name (``"input"`` and ``"Input"`` for the input).
    detail : str
        Its main settings, e.g. ``"32 @ 3x3, relu"``; may be empty.
    output_shape : tuple of int
        Per image, without the batch axis, e.g. ``(62, 62, 32)``.
    params : int
        Number of weights the layer holds.

    Examples
    --------
    >>> from course_utils.models import build_course_cnn
    >>> stage = diagram_stages(build_course_cnn((16, 16, 3)))[2]
    >>> stage.kind, stage.detail, stage.output_shape, stage.params
    ('Conv2D', '32 @ 3x3, relu', (14, 14, 32), 896)
    """

    number: int
    name: str
    kind: str
    detail: str
    output_shape: tuple[int, ...]
    params: int


def _stage_detail(layer: keras.layers.Layer) -> str:
    L = keras.layers
    act = f", {_activation_name(layer)}" if _activation_name(layer) else ""
    if isinstance(layer, L.Conv2D):
        return f"{layer.filters} @ {_pair_text(layer.kernel_size)}{act}"
    if isinstance(layer, (L.MaxPooling2D, L.AveragePooling2D)):
        return _pair_text(layer.pool_size)
    if isinstance(layer, L.Rescaling):
        scale = float(np.asarray(layer.scale))
        return "x 1/255" if abs(scale - 1 / 255) < 1e-9 else f"x {scale:.3g}"
    if isinstance(layer, L.Dense):
        return f"{layer.units}{act}"
    if isinstance(layer, L.Dropout):
        return f"rate {layer.rate:g}"
    return ""


def diagram_stages(model: keras.Model) -> list[DiagramStage]:
    """The stages of a built Sequential or Functional model, input first.

    Parameters
    ----------
    model : keras.Model
        A built model with one input (a Functional model's ``InputLayer`` is the input stage).

    Returns
    -------
    list of DiagramStage
        The input, then one stage per top-level layer.

    Raises
    ------
    TypeError, ValueError
        ``model`` is not a Keras model; it is not built, or a layer's output shape is unknown.

    Examples
    --------
    >>> from course_utils.models import build_course_cnn
    >>> [s.output_shape for s in diagram_stages(build_course_cnn((64, 64, 3)))][2:5]
    [(62, 62, 32), (31, 31, 32), (29, 29, 64)]
    """
    _check_built(model)
    stages = [DiagramStage(1, "input", "Input", "", tuple(model.inputs[0].shape[1:]), 0)]
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        try:
            shape = tuple(layer.output.shape[1:])
        except (AttributeError, ValueError) as error:
            raise ValueError(
                f"layer {layer.name!r} has no known output shape; use a Sequential or "
                "Functional model"
            ) from error
        kind, detail, params = layer.__class__.__name__, _stage_detail(layer), layer.count_params()
        stages.append(DiagramStage(len(stages) + 1, layer.name, kind, detail, shape, int(params)))
    return stages


_STAGE_COLOURS = {
    "Input": "#d9d9d9",
    "Rescaling": "#d9d9d9",
    "Conv2D": "#5b9bd5",
    "MaxPooling2D": "#ffc000",
    "AveragePooling2D": "#ffc000",
    "Flatten": "#a9d18e",
    "Dense": "#c55a11",
    "Dropout": "#bfbfbf",
}


def plot_model_diagram(model: keras.Model, fig: Figure | None = None) -> Figure:
    """Draw a model as a row of boxes, one per stage, sized by what comes out.

    An output ``(H, W, C)`` is a box of height ~ ``H`` that widens with ``C``; a vector ``(n,)``
    is a thin bar of height ~ ``log(n)``. Above each box: the stage number, layer type and
    settings; below it: the output shape and the parameter count.

    Parameters
    ----------
    model : keras.Model
        See :func:`diagram_stages`.
    fig : matplotlib.figure.Figure, optional
        Figure to draw into (cleared first).

    Returns
    -------
    matplotlib.figure.Figure
        One axes with one labelled rectangle per stage; the title names the model and its
        parameter count.

    Examples
    --------
    >>> from course_utils.models import build_course_cnn
    >>> fig = plot_model_diagram(build_course_cnn((64, 64, 3)))
    >>> sum(isinstance(p, Rectangle) for p in fig.axes[0].patches)
    9
    """
    stages = diagram_stages(model)
    fig = _display.fresh_figure(fig, (max(6.0, 1.45 * len(stages)), 3.6))
    ax = fig.add_subplot()
    sides = [s.output_shape[0] for s in stages if len(s.output_shape) == 3 and s.output_shape[0]]
    lengths = [math.prod(s.output_shape) for s in stages if len(s.output_shape) == 1]
    top_side, top_length, step = max(sides, default=1), max(lengths, default=2), 1.5
    previous_width = 0.0
    for i, stage in enumerate(stages):
        shape, x = stage.output_shape, i * step
        if len(shape) == 3 and shape[0]:  # an image: height ~ H, width grows with C
            height = 0.3 + 2.2 * shape[0] / top_side
            width = 0.2 + 0.12 * math.log2(max(shape[-1], 1) + 1)
        else:  # a vector: a thin bar, height ~ log(length)
            length = max(math.prod(s or 1 for s in shape), 2)
            height = 0.3 + 2.2 * math.log(length) / math.log(max(top_length, 3))
            width = 0.16
        colour = _STAGE_COLOURS.get(stage.kind, "#e7e6e6")
        box = Rectangle((x - width / 2, -height / 2), width, height, facecolor=colour)
        ax.add_patch(box).set(edgecolor="black", linewidth=0.8)
        above = f"{stage.number}. {stage.kind}" + (f"\n{stage.detail}" if stage.detail else "")
        below = _display.shape_text(shape, rows=False)
        below += f"\n{stage.params:,} params" if stage.params else ""
        ax.text(x, 1.35, above, ha="center", va="bottom", fontsize=8)
        ax.text(x, -1.35, below, ha="center", va="top", fontsize=8)
        if i:
            start, end = (x - step + previous_width / 2, 0), (x - width / 2 - 0.05, 0)
            arrow = FancyArrowPatch(start, end, arrowstyle="->", mutation_scale=8, color="0.4")
            ax.add_patch(arrow)
        previous_width = width
    ax.set(xlim=(-step / 2, (len(stages) - 0.5) * step), ylim=(-2.0, 2.0))
    ax.set_axis_off()
    total = sum(stage.params for stage in stages)
    ax.set_title(f"{model.name}: {len(stages)} stages, {total:,} parameters", fontsize=10)
    return fig
