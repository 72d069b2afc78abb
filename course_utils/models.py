"""The course's CNN, and reading any built Keras image model: its layers with a phrase each, how
it differs from another (a learner's written-out CNN from the course's) and which layers have
feature maps. The private helpers at the end serve plots, trace, pipeline and widgets."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import keras
import numpy as np

from course_utils import _display
from course_utils._validation import as_fraction, as_image_shape, as_images, as_int, describe

__all__ = [
    "LayerRow",
    "LayerTable",
    "build_course_cnn",
    "describe_layer",
    "feature_map_layers",
    "layer_table",
    "model_differences",
]


def build_course_cnn(
    input_shape: Sequence[int] = (64, 64, 3),
    num_classes: int = 10,
    augmenter: keras.layers.Layer | None = None,
    dropout: float | None = None,
) -> keras.Sequential:
    """Build and compile the course's CNN.

    The layers: (``augmenter``), ``Rescaling(1/255)``, ``Conv2D(32, 3x3, relu)``,
    ``MaxPooling2D(2x2)``, ``Conv2D(64, 3x3, relu)``, ``MaxPooling2D(2x2)``, ``Flatten``,
    ``Dense(128, relu)``, (``Dropout``), ``Dense(num_classes, softmax)``.

    Parameters
    ----------
    input_shape : tuple of int
        ``(H, W, C)``, H and W at least 10 (two conv+pool blocks must leave at least 1x1).
    num_classes : int
        Number of classes (at least 2), one output probability each.
    augmenter : keras.layers.Layer, optional
        Augmentation layers (e.g. from :func:`course_utils.augment.make_augmenter`) placed
        first, as one nested layer; random only while training.
    dropout : float, optional
        Dropout rate in [0, 1) before the output layer; None or 0 for none.

    Returns
    -------
    keras.Sequential
        ``"course_cnn"``, compiled with Adam, ``sparse_categorical_crossentropy`` and accuracy:
        images ``(N, H, W, C)`` on the 0-255 scale in, float32 ``(N, num_classes)`` out.

    Examples
    --------
    >>> model = build_course_cnn((64, 64, 3), num_classes=10)
    >>> model.output_shape, model.count_params()
    ((None, 10), 1626442)
    """
    shape = as_image_shape(input_shape, min_size=10)  # two conv+pool blocks leave >= 1x1
    num_classes = as_int(num_classes, "num_classes", minimum=2)
    rate = as_fraction(dropout, "dropout", meaning=" (dropout rate)", inclusive=False)
    if augmenter is not None and not isinstance(augmenter, keras.layers.Layer):
        raise TypeError(
            f"augmenter must be a keras Layer (e.g. from make_augmenter) or None; "
            f"got {describe(augmenter)}"
        )
    empty = isinstance(augmenter, keras.Sequential) and not augmenter.layers  # all transforms off
    layers: list[Any] = [keras.Input(shape=shape, name="image")]
    if augmenter is not None and not empty:
        layers.append(augmenter)
    layers += [
        keras.layers.Rescaling(1.0 / 255, name="rescale"),
        keras.layers.Conv2D(32, 3, activation="relu", name="conv1"),
        keras.layers.MaxPooling2D(2, name="pool1"),
        keras.layers.Conv2D(64, 3, activation="relu", name="conv2"),
        keras.layers.MaxPooling2D(2, name="pool2"),
        keras.layers.Flatten(name="flatten"),
        keras.layers.Dense(128, activation="relu", name="dense"),
    ]
    if rate:
        layers.append(keras.layers.Dropout(rate, name="dropout"))
    layers.append(keras.layers.Dense(num_classes, activation="softmax", name="probabilities"))
    model = keras.Sequential(layers, name="course_cnn")
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


@dataclass(frozen=True)
class LayerRow:
    """One layer in a :class:`LayerTable`.

    Attributes
    ----------
    name, type, output_shape : str
        As ``model.summary()`` writes them: ``"conv1"``, ``"Conv2D"``, ``"(None, 62, 62, 32)"``.
    params : int
        Number of weights, trainable and not.
    description : str
        One phrase on what the layer does (:func:`describe_layer`).
    """

    name: str
    type: str
    output_shape: str
    params: int
    description: str


@dataclass(frozen=True)
class LayerTable:
    """:func:`layer_table`'s result, shown as plain text, :meth:`to_markdown` or HTML.

    Examples
    --------
    >>> print(LayerTable("empty"))
    Model 'empty'
    Layer  Type  Output shape  Params  What it does
    -----  ----  ------------  ------  ------------
    Total params: 0 (trainable: 0, non-trainable: 0)
    """

    model_name: str
    rows: list[LayerRow] = field(default_factory=list)
    total_params: int = 0
    trainable_params: int = 0

    def _table(self) -> _display.Table:
        headers = ("Layer", "Type", "Output shape", "Params", "What it does")
        rows = [(r.name, r.type, r.output_shape, f"{r.params:,}", r.description) for r in self.rows]
        return _display.Table(headers, rows, caption=f"{self.model_name}: {self._footer()}")

    def _footer(self) -> str:
        frozen = self.total_params - self.trainable_params
        return (
            f"Total params: {self.total_params:,} "
            f"(trainable: {self.trainable_params:,}, non-trainable: {frozen:,})"
        )

    def to_markdown(self) -> str:
        """The table in Markdown, followed by the parameter totals."""
        return f"{self._table().markdown()}\n\n{self._footer()}"

    def __str__(self) -> str:
        return f"Model {self.model_name!r}\n{self._table().text()}\n{self._footer()}"

    def _repr_html_(self) -> str:
        return self._table().html()

    def __len__(self) -> int:
        return len(self.rows)


def layer_table(model: keras.Model) -> LayerTable:
    """List a built Keras model's layers, in the order of ``model.summary()``.

    Functional models start with their ``InputLayer``; a nested model is one row.

    Parameters
    ----------
    model : keras.Model
        A built model (made with ``keras.Input``, or after ``model.build`` or a first call).

    Returns
    -------
    LayerTable
        One :class:`LayerRow` per layer. Raises TypeError for a non-model, ValueError if unbuilt.

    Examples
    --------
    >>> [(row.type, row.output_shape) for row in layer_table(build_course_cnn()).rows][1]
    ('Conv2D', '(None, 62, 62, 32)')
    """
    rows = [
        LayerRow(
            layer.name,
            layer.__class__.__name__,
            _output_shape_text(layer),
            int(layer.count_params()) if layer.built else 0,
            describe_layer(layer),
        )
        for layer in _check_built(model).layers
    ]
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    return LayerTable(model.name, rows, int(model.count_params()), trainable)


def _output_shape_text(layer: keras.layers.Layer) -> str:
    try:
        outputs = layer.output
    except (AttributeError, ValueError):
        return "?"
    shapes = ["(" + ", ".join(map(str, t.shape)) + ")" for t in keras.tree.flatten(outputs)]
    return shapes[0] if len(shapes) == 1 else "[" + ", ".join(shapes) + "]"


def _pair_text(value: Any) -> str:
    values = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    return "x".join(str(v) for v in values)


def _activation_name(layer: keras.layers.Layer) -> str:
    activation = getattr(layer, "activation", None)
    name = getattr(activation, "__name__", None) or str(activation)
    return "" if name in ("linear", "None") else name


_PHRASES = {  # layers that one fixed phrase describes
    keras.layers.InputLayer: "receives the input images",
    keras.layers.Flatten: "unrolls the feature maps into one long vector",
    keras.layers.BatchNormalization: (
        "normalizes each channel, then applies a learned scale and shift"
    ),
    keras.layers.ReLU: "sets negative values to 0",
    keras.layers.Add: "adds its inputs element-wise (a residual / skip connection)",
    keras.layers.Concatenate: "joins its inputs along the last axis",
}


def describe_layer(layer: keras.layers.Layer) -> str:
    """One phrase on what a Keras layer does, filled in from its settings.

    Examples
    --------
    >>> describe_layer(keras.layers.MaxPooling2D(2))
    'keeps the largest value of each 2x2 window: halves height and width'
    """
    L = keras.layers
    kind = layer.__class__.__name__
    act = _activation_name(layer)
    then = f"; {act}" if act else ""
    if isinstance(layer, keras.Model):
        inner = [sub.__class__.__name__ for sub in layer.layers]
        if inner and all(name.startswith("Random") for name in inner):
            names = ", ".join(name.removeprefix("Random").lower() for name in inner)
            return f"random augmentation ({names}), active only while training"
        return f"a nested model of {len(inner)} layers"
    for kind_, phrase in _PHRASES.items():
        if isinstance(layer, kind_):
            return phrase
    if isinstance(layer, L.Rescaling):
        scale, offset = float(np.asarray(layer.scale)), float(np.asarray(layer.offset))
        if abs(scale - 1 / 255) < 1e-9 and offset == 0:
            return "scales pixels from 0-255 to 0-1"
        return f"multiplies pixels by {scale:.4g} and adds {offset:g}"
    if isinstance(layer, L.DepthwiseConv2D):
        return f"one {_pair_text(layer.kernel_size)} filter per input channel{then}"
    if isinstance(layer, L.SeparableConv2D):
        return (
            f"{layer.filters} filters of {_pair_text(layer.kernel_size)}, split into "
            f"per-channel and 1x1 steps{then}"
        )
    if isinstance(layer, L.Conv2D):
        size = _pair_text(layer.kernel_size)
        extra = "" if tuple(layer.strides) == (1, 1) else f", stride {_pair_text(layer.strides)}"
        return (
            f"{layer.filters} filters of {size} slide over the input and detect local "
            f"patterns{extra}{then}"
        )
    if isinstance(layer, (L.MaxPooling2D, L.AveragePooling2D)):
        how = "keeps the largest value of" if isinstance(layer, L.MaxPooling2D) else "averages"
        text = f"{how} each {_pair_text(layer.pool_size)} window"
        if tuple(layer.pool_size) == (2, 2) and tuple(layer.strides) == (2, 2):
            text += ": halves height and width"
        return text
    if isinstance(layer, (L.GlobalAveragePooling2D, L.GlobalMaxPooling2D)):
        how = "average" if isinstance(layer, L.GlobalAveragePooling2D) else "maximum"
        return f"reduces each feature map to its {how}: one number per channel"
    if isinstance(layer, L.Dense):
        if act == "softmax":
            return f"turns scores into probabilities for {layer.units} classes"
        return f"{layer.units} neurons, each connected to every input{then}"
    if isinstance(layer, L.Dropout):
        return f"zeroes {layer.rate:.0%} of the values at random while training"
    if isinstance(layer, L.Activation):
        return f"applies {act or 'the identity'} to every value"
    if isinstance(layer, L.Resizing):
        return f"resizes images to {layer.height}x{layer.width}"
    if kind.startswith("Random"):
        return f"random {kind.removeprefix('Random').lower()}, active only while training"
    return f"a {kind} layer"


def _without_names(config: Any) -> Any:
    """A Keras config with every ``"name"`` entry dropped (names differ, settings matter)."""
    if isinstance(config, dict):
        return {k: _without_names(v) for k, v in config.items() if k != "name"}
    if isinstance(config, (list, tuple)):
        return type(config)(_without_names(v) for v in config)
    return config


def _setting_text(value: Any) -> str:
    return f"{value:.6g}" if isinstance(value, float) else repr(value)


def model_differences(model: keras.Model, reference: keras.Model) -> list[str]:
    """List how a built model differs from a reference model; empty when they match.

    Layer names are ignored (Keras numbers default names, ``conv2d_3``); every
    other setting counts: the input shape, the layer types in order, each
    layer's config, output shape and parameter count and, when both are
    compiled, the optimizer with its settings, the loss and the metrics.

    Parameters
    ----------
    model, reference : keras.Model
        Two built models (Sequential or Functional).

    Returns
    -------
    list of str
        One line per difference, layers numbered as in ``model.layers``. Raises
        TypeError for a non-model, ValueError for an unbuilt one.

    Examples
    --------
    >>> model_differences(build_course_cnn((64, 64, 3), 5), build_course_cnn((64, 64, 3), 10))[0]
    'layers[7] (Dense): units=5 (reference: 10)'
    """
    _check_built(model)
    _check_built(reference, "reference")
    found: list[str] = []

    def differ(prefix: str, mine: Any, theirs: Any, suffix: str = "") -> bool:
        if mine != theirs:
            found.append(f"{prefix}{mine}{suffix} (reference: {theirs})")
        return mine != theirs

    def settings(prefix: str, mine: dict, theirs: dict) -> None:
        changed = [
            f"{key}={_setting_text(mine.get(key))} (reference: {_setting_text(theirs.get(key))})"
            for key in sorted(set(mine) | set(theirs))
            if mine.get(key) != theirs.get(key)
        ]
        if changed:
            found.append(f"{prefix}: {', '.join(changed)}")

    differ("input shape ", _model_input_shape(model), _model_input_shape(reference))
    differ("", len(model.layers), len(reference.layers), " layers")
    for number, (a, b) in enumerate(zip(model.layers, reference.layers, strict=False)):
        kind = a.__class__.__name__
        if differ(f"layers[{number}]: ", kind, b.__class__.__name__):
            continue
        where = f"layers[{number}] ({kind})"
        settings(where, _without_names(a.get_config()), _without_names(b.get_config()))
        differ(f"{where}: output ", _output_shape_text(a), _output_shape_text(b))
        params = f"{int(a.count_params()):,}", f"{int(b.count_params()):,}"
        differ(f"{where}: ", *params, " parameters")
    compiled = (getattr(model, "compiled", False), getattr(reference, "compiled", False))
    if compiled == (True, True):
        config_a = _without_names(model.get_compile_config())
        config_b = _without_names(reference.get_compile_config())
        opt_a, opt_b = config_a.get("optimizer"), config_b.get("optimizer")
        if isinstance(opt_a, dict) and isinstance(opt_b, dict):
            # Compare the optimizers by class here, their settings on a line of their own.
            config_a["optimizer"] = opt_a.get("class_name")
            config_b["optimizer"] = opt_b.get("class_name")
            if config_a["optimizer"] == config_b["optimizer"]:
                optimizer = f"optimizer ({config_a['optimizer']})"
                settings(optimizer, opt_a.get("config", {}), opt_b.get("config", {}))
        settings("compile", config_a, config_b)
    elif compiled[0] != compiled[1]:
        found.append(f"{'model' if compiled[1] else 'reference'} is not compiled")
    return found


# Shared by plots, trace, pipeline and widgets: find layers and feed one image to any model.

_CONV_TYPES = (
    keras.layers.Conv2D,
    keras.layers.SeparableConv2D,
    keras.layers.DepthwiseConv2D,
    keras.layers.Conv2DTranspose,
)


def _check_model(model: Any, name: str = "model") -> keras.Model:
    if not isinstance(model, keras.Model):
        raise TypeError(f"{name} must be a keras Model; got {describe(model)}")
    return model


def _check_built(model: Any, name: str = "model") -> keras.Model:
    if not _check_model(model, name).built:
        raise ValueError(
            f"{name} {model.name!r} is not built yet, so its shapes are unknown; start it with "
            "keras.Input(shape=...), or call model.build((None, H, W, C)) first"
        )
    return model


def _model_input_shape(model: keras.Model) -> tuple[int | None, ...] | None:
    """``(None, H, W, C)`` of a built model's single input; None when unknown."""
    try:
        inputs = model.inputs
    except (AttributeError, ValueError):
        return None
    if inputs is None:
        return None
    if len(inputs) != 1:
        raise ValueError(
            f"model must have one image input; {model.name!r} has {len(inputs)} inputs"
        )
    return tuple(inputs[0].shape)


def _prepare_image(model: keras.Model, image: Any, name: str = "image") -> np.ndarray:
    """One image checked against a model, as a float32 batch ``(1, H, W, C)``."""
    # A Sequential model without an input yet is built for the image's shape.
    _check_model(model)
    array = as_images(image, name, batch=False, channels=None)
    shape = _model_input_shape(model)
    if shape is None:
        if not isinstance(model, keras.Sequential):
            raise ValueError(
                f"model {model.name!r} has no defined inputs (a subclassed model?); "
                "use a Sequential or Functional model"
            )
        model.build((None, *array.shape))
        shape = _model_input_shape(model)
    expected = shape[1:]
    if len(expected) != 3:
        raise ValueError(
            f"model must take images (N, H, W, C); {model.name!r} takes inputs of shape {shape}"
        )
    height, width, channels = expected
    if channels is not None and array.shape[-1] != channels:
        hint = " (convert it to grayscale first)" if channels == 1 else ""
        raise ValueError(
            f"{name} must have {channels} channel(s) for this model; got shape {array.shape}{hint}"
        )
    if (height is not None and array.shape[0] != height) or (
        width is not None and array.shape[1] != width
    ):
        raise ValueError(
            f"{name} must be {height}x{width} for this model; got {array.shape[0]}x"
            f"{array.shape[1]}; resize it first, e.g. keras.layers.Resizing({height}, {width})"
        )
    return array[np.newaxis].astype(np.float32)


def feature_map_layers(model: keras.Model) -> list[str]:
    """Names of the top-level layers whose output is a stack of feature maps, in model order.

    The course's one rule: a layer computed by the network (convolution, pooling, normalization,
    activation, dropout, merge, ...) with one 4-D output ``(N, H, W, C)``. Left out: the
    ``InputLayer``, nested models (such as an augmentation block), Keras preprocessing and
    augmentation layers (``Rescaling``, ``Resizing``, ``Random*``) and layers whose output is
    unknown. Raises TypeError for a non-model.

    Examples
    --------
    >>> feature_map_layers(build_course_cnn((16, 16, 3)))
    ['conv1', 'pool1', 'conv2', 'pool2']
    """
    _check_model(model)
    names = []
    for layer in model.layers:
        kind = type(layer)
        if (
            isinstance(layer, (keras.Model, keras.layers.InputLayer))
            or ".preprocessing." in kind.__module__
            or "Augment" in kind.__name__
        ):
            continue
        try:
            outputs = keras.tree.flatten(layer.output)
        except (AttributeError, ValueError):
            continue
        if len(outputs) == 1 and len(outputs[0].shape) == 4:
            names.append(layer.name)
    return names


def _find_layer(model: keras.Model, layer: str | keras.layers.Layer | None) -> keras.layers.Layer:
    """The layer to show feature maps of: by name, by object, or the first convolution."""
    names = feature_map_layers(model)
    candidates = [model.get_layer(name) for name in names]
    if layer is None:
        for candidate in candidates:
            if isinstance(candidate, _CONV_TYPES):
                return candidate
        raise ValueError(
            f"model {model.name!r} has no convolution layer to show feature maps of; "
            f"its layers are {[lay.name for lay in model.layers]}"
        )
    if isinstance(layer, keras.layers.Layer):
        if layer not in model.layers:
            raise ValueError(f"layer {layer.name!r} is not a layer of model {model.name!r}")
        found = layer
    elif isinstance(layer, str):
        matches = [lay for lay in model.layers if lay.name == layer]
        if not matches:
            raise ValueError(
                f"layer must be the name of a layer of {model.name!r}; got {layer!r}. "
                f"Layers with feature maps: {names}"
            )
        found = matches[0]
    else:
        raise TypeError(f"layer must be a layer name, a keras Layer or None; got {describe(layer)}")
    if found not in candidates:
        shape = _output_shape_text(found)
        what = (
            "prepares the input (preprocessing or augmentation), it computes no feature maps"
            if shape.count(",") == 3
            else f"outputs {shape}, not feature maps (N, H, W, C)"
        )
        raise ValueError(f"layer {found.name!r} {what}; choose one of {names}")
    return found
