"""Exercises of lesson 04, the CNN layers: predict a variant, build one, convolve by hand."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from course_utils._validation import describe
from course_utils.exercises._checks import need, need_function, quietly
from course_utils.exercises._core import Report, exercise

_SETUP = """
import keras
import numpy as np

IMAGE_SIZE = 64
num_classes = 10
"""

# ---------------------------------------------------------------------------
# 04.predict-shapes: the variant is a fixed spec; the check builds it with Keras.

#: The variant to predict: (name, kind, settings), after ``keras.Input((64, 64, 3))``.
VARIANT_INPUT = (64, 64, 3)
VARIANT = (
    ("conv1", "Conv2D", {"filters": 16, "kernel_size": 5, "strides": 2, "padding": "same"}),
    ("pool1", "MaxPooling2D", {"pool_size": 2}),
    ("conv2", "Conv2D", {"filters": 32, "kernel_size": 5, "strides": 1, "padding": "same"}),
    ("pool2", "MaxPooling2D", {"pool_size": 2}),
    ("flatten", "Flatten", {}),
    ("probabilities", "Dense", {"units": 10}),
)
_NAMES = tuple(name for name, _, _ in VARIANT)


def build_variant():
    """Build the variant of exercise ``04.predict-shapes`` with Keras (what the check compares to).

    Returns
    -------
    keras.Sequential
        Input ``(64, 64, 3)``, then the layers of :data:`VARIANT`, with their names.

    Examples
    --------
    >>> build_variant().get_layer("conv1").output.shape
    (None, 32, 32, 16)
    """
    import keras

    layers: list[Any] = [keras.Input(shape=VARIANT_INPUT)]
    for name, kind, settings in VARIANT:
        extra = {"activation": "relu"} if kind == "Conv2D" else {}
        if name == "probabilities":
            extra = {"activation": "softmax"}
        layers.append(getattr(keras.layers, kind)(name=name, **settings, **extra))
    return keras.Sequential(layers, name="variant")


def _shape_of(value: Any) -> tuple[int, ...] | None:
    """The learner's shape as a tuple of ints, or None when it is not one."""
    if not isinstance(value, (tuple, list)) or not value:
        return None
    if not all(isinstance(n, (int, np.integer)) and not isinstance(n, bool) for n in value):
        return None
    return tuple(int(n) for n in value)


def _conv_out(size: int, kernel: int, stride: int, padding: str) -> int:
    if padding == "same":
        return math.ceil(size / stride)
    return (size - kernel) // stride + 1


def _rule(kind: str, settings: dict, shape: tuple[int, ...]) -> tuple[tuple[int, ...], int]:
    """Output shape and parameter count of one layer of the variant, from the two rules."""
    if kind == "Conv2D":
        k, s, f = settings["kernel_size"], settings["strides"], settings["filters"]
        side = _conv_out(shape[0], k, s, settings["padding"])
        return (side, _conv_out(shape[1], k, s, settings["padding"]), f), (k * k * shape[2] + 1) * f
    if kind == "MaxPooling2D":
        p = settings["pool_size"]
        return (shape[0] // p, shape[1] // p, shape[2]), 0
    if kind == "Flatten":
        return (int(np.prod(shape)),), 0
    units = settings["units"]
    return (units,), (shape[0] + 1) * units


def _shape_mistake(kind: str, settings: dict, before: tuple[int, ...], given: tuple) -> tuple:
    """(what is wrong, hint) for a wrong output shape, from the learner's likely rule."""
    if kind == "Conv2D":
        k, s, f = settings["kernel_size"], settings["strides"], settings["filters"]
        side = before[0]
        if given[:2] in {((side - k) // s + 1,) * 2, (side - k + 1,) * 2}:
            return (
                "the window trims the border as with padding='valid'; padding='same' does not",
                "padding='same' pads the border with zeros so that the window fits at every "
                "position: the kernel size no longer shrinks the image, only the stride does "
                "(out = in / stride, rounded up).",
            )
        if s > 1 and given[:2] == (side, side):
            return (
                f"the size is kept, as if strides=1; strides={s} moves the window {s} pixels "
                "at a time",
                "A stride of 2 places the window at every second position, so the output has "
                "half the height and half the width (rounded up with padding='same').",
            )
        if len(given) == 3 and given[:2] == _rule(kind, settings, before)[0][:2] and given[2] != f:
            return (
                f"{given[2]} channels; a convolution outputs one channel per filter ({f})",
                "Each filter makes one feature map: the channels after a convolution are its "
                "number of filters, whatever came in.",
            )
    if kind == "MaxPooling2D" and len(given) == 3 and given[2] != before[2]:
        return (
            f"{given[2]} channels; pooling keeps the {before[2]} channels it receives",
            "Max pooling works on each feature map separately: height and width shrink, the "
            "number of channels stays.",
        )
    if kind == "Flatten":
        return (
            "Flatten makes one axis holding every value: height x width x channels",
            "Flatten unrolls (H, W, C) into a vector of H * W * C values.",
        )
    return (
        "this does not follow from the rules",
        "A 2x2 pooling halves height and width (rounded down); a convolution with "
        "padding='same' gives in / stride (rounded up), with one channel per filter.",
    )


def _params_mistake(kind: str, settings: dict, before: tuple[int, ...], given: int) -> tuple:
    if kind in {"MaxPooling2D", "Flatten"}:
        return (
            f"{kind} learns nothing: 0 parameters",
            "Pooling takes a maximum and Flatten reorders values: neither has weights.",
        )
    if kind == "Conv2D":
        k, f, c = settings["kernel_size"], settings["filters"], before[2]
        if given == k * k * c * f:
            return (
                "the biases are missing",
                "Every filter (and every dense neuron) adds one bias to its weighted sum.",
            )
        if given == (k * k + 1) * f:
            return (
                f"a filter spans all {c} input channels, not one",
                "A filter is k x k x (input channels) weights: it looks at every channel of "
                "its window at once, plus 1 bias.",
            )
    if kind == "Dense" and given == before[0] * settings["units"]:
        return (
            "the biases are missing",
            "Every filter (and every dense neuron) adds one bias to its weighted sum.",
        )
    return (
        "this does not follow from the rules",
        "Conv2D: (k * k * input channels + 1) * filters; Dense: (inputs + 1) * units.",
    )


@exercise(
    "04.predict-shapes",
    title="Predict the shapes and parameters of a CNN variant",
    minutes=8,
    task=(
        "Before building it, predict each layer's output shape (no batch axis) and parameter "
        "count of the variant Input(64, 64, 3), conv1 = Conv2D(16, 5, strides=2, "
        "padding='same'), pool1 = MaxPooling2D(2), conv2 = Conv2D(32, 5, padding='same'), "
        "pool2 = MaxPooling2D(2), flatten, probabilities = Dense(10); answer = {layer name: "
        "(shape, parameters)}."
    ),
    hints=(
        "padding='same' adds a border of zeros so that the window fits everywhere: the "
        "output side is the input side divided by the stride, rounded up.",
        "Parameters: a filter has k x k x (input channels) weights plus 1 bias; a dense "
        "neuron has one weight per input plus 1 bias; pooling and Flatten have none.",
        "Work down the layers: each layer's input is the output you predicted just above.",
    ),
    setup=_SETUP,
    solution="""
    answer = {
        "conv1": ((32, 32, 16), (5 * 5 * 3 + 1) * 16),  # 'same', stride 2: 64 / 2 = 32
        "pool1": ((16, 16, 16), 0),  # 32 // 2
        "conv2": ((16, 16, 32), (5 * 5 * 16 + 1) * 32),  # 'same', stride 1: size kept
        "pool2": ((8, 8, 32), 0),  # 16 // 2
        "flatten": ((8 * 8 * 32,), 0),  # 2048 values
        "probabilities": ((10,), (2048 + 1) * 10),
    }
    """,
    wrong=(
        (
            """
            answer = {
                "conv1": ((30, 30, 16), 1216), "pool1": ((15, 15, 16), 0),
                "conv2": ((11, 11, 32), 12832), "pool2": ((5, 5, 32), 0),
                "flatten": ((800,), 0), "probabilities": ((10,), 8010),
            }
            """,
            "padding='same' does not",
        ),
        (
            """
            answer = {
                "conv1": ((64, 64, 16), 1216), "pool1": ((32, 32, 16), 0),
                "conv2": ((32, 32, 32), 12832), "pool2": ((16, 16, 32), 0),
                "flatten": ((8192,), 0), "probabilities": ((10,), 81930),
            }
            """,
            "as if strides=1",
        ),
        (
            """
            answer = {
                "conv1": ((32, 32, 16), 5 * 5 * 3 * 16), "pool1": ((16, 16, 16), 0),
                "conv2": ((16, 16, 32), 5 * 5 * 16 * 32), "pool2": ((8, 8, 32), 0),
                "flatten": ((2048,), 0), "probabilities": ((10,), 2048 * 10),
            }
            """,
            "the biases are missing",
        ),
        (
            """
            answer = {
                "conv1": ((32, 32, 16), (5 * 5 + 1) * 16), "pool1": ((16, 16, 16), 0),
                "conv2": ((16, 16, 32), (5 * 5 + 1) * 32), "pool2": ((8, 8, 32), 0),
                "flatten": ((2048,), 0), "probabilities": ((10,), 20490),
            }
            """,
            "a filter spans all",
        ),
    ),
)
def _predict_shapes(answer: Any, report: Report) -> None:
    report.require(
        isinstance(answer, dict),
        "answer is a dict",
        "answer must be a dict {layer name: (output shape, parameters)}, for example "
        f"{{'conv1': ((32, 32, 16), 1216), ...}}; got {describe(answer)}",
        "Write one entry per layer of the variant, named as in the spec.",
    )
    missing = [name for name in _NAMES if name not in answer]
    report.require(
        not missing,
        "an entry for every layer",
        f"answer needs an entry for each of {', '.join(_NAMES)}; missing "
        f"{', '.join(missing)}; got keys {', '.join(map(repr, answer)) or 'none'}",
        "Use the layer names of the spec as keys: conv1, pool1, conv2, pool2, flatten, "
        "probabilities.",
    )
    entries = {}
    for name in _NAMES:
        value = answer[name]
        ok = isinstance(value, (tuple, list)) and len(value) == 2
        shape = _shape_of(value[0]) if ok else None
        params = value[1] if ok else None
        if ok and isinstance(value[0], (int, np.integer)) and not isinstance(value[0], bool):
            report.fail(
                f"{name}: a shape is a tuple, even with one axis: ({value[0]},) with its comma; "
                f"got {value[0]!r}",
                "(2048,) is a tuple of one number; (2048) is just the number 2048.",
                stop=True,
            )
        if ok and isinstance(value[0], (tuple, list)) and value[0] and value[0][0] is None:
            report.fail(
                f"{name}: leave out the batch axis; got shape {tuple(value[0])}",
                "Write the shape of one image's output, as model.get_layer(name).output.shape[1:].",
                stop=True,
            )
        need(
            report,
            shape is not None
            and isinstance(params, (int, np.integer))
            and not isinstance(params, bool),
            f"{name}: each entry must be (shape, parameters), a tuple of ints and an int, such "
            f"as ((32, 32, 16), 1216); got {describe(value)}",
            "Example entry: 'pool1': ((16, 16, 16), 0).",
        )
        entries[name] = (shape, int(params))

    built = build_variant()
    mine_before: tuple[int, ...] = VARIANT_INPUT
    true_before: tuple[int, ...] = VARIANT_INPUT
    for name, kind, settings in VARIANT:
        layer = built.get_layer(name)
        true_shape = tuple(int(n) for n in layer.output.shape[1:])
        true_params = int(layer.count_params())
        shape, params = entries[name]
        follows_shape, follows_params = _rule(kind, settings, mine_before)
        aspects = (
            (shape, true_shape, follows_shape, _shape_mistake, f"{shape}", "output shape ",
             f"{shape} follows from your shape above it, which is off (Keras builds "
             f"{true_shape})"),
            (params, true_params, follows_params, _params_mistake, f"{params:,} parameters", "",
             f"{params:,} parameters follow from your shape above it (Keras counts "
             f"{true_params:,})"),
        )  # fmt: skip
        for given, true, follows, mistake, shown, label, follows_text in aspects:
            if given == true:
                report.passed.append(f"{name}: {label}{shown}")
            elif mine_before != true_before and given == follows:
                report.failed.append(f"{name}: {follows_text}")
            else:
                what, hint = mistake(kind, settings, mine_before, given)
                report.fail(f"{name}: {shown}: {what}", hint)
        mine_before = shape if len(shape) == len(true_shape) else true_shape
        true_before = true_shape
    if not report.failed:
        report.passed.append(
            f"Keras builds the same: {built.count_params():,} parameters in all; compare "
            "with the lesson's CNN"
        )


# ---------------------------------------------------------------------------
# 04.build-variant: the lesson's CNN with a third convolution block and Dropout.

#: (Keras class, settings the spec fixes); the output layer's units are the learner's classes.
_DEEPER = (
    ("Rescaling", {"scale": 1.0 / 255}),
    ("Conv2D", {"filters": 32, "kernel_size": (3, 3), "activation": "relu"}),
    ("MaxPooling2D", {"pool_size": (2, 2)}),
    ("Conv2D", {"filters": 64, "kernel_size": (3, 3), "activation": "relu"}),
    ("MaxPooling2D", {"pool_size": (2, 2)}),
    ("Conv2D", {"filters": 128, "kernel_size": (3, 3), "activation": "relu"}),
    ("MaxPooling2D", {"pool_size": (2, 2)}),
    ("Flatten", {}),
    ("Dense", {"units": 128, "activation": "relu"}),
    ("Dropout", {"rate": 0.5}),
    ("Dense", {"activation": "softmax"}),
)


def _reference_deeper(input_shape: tuple[int, ...], units: int):
    import keras

    layers: list[Any] = [keras.Input(shape=input_shape)]
    for kind, settings in _DEEPER:
        settings = dict(settings)
        if kind == "Dense" and "units" not in settings:
            settings["units"] = units
        layers.append(getattr(keras.layers, kind)(**settings))
    return keras.Sequential(layers)


def _loss_name(loss: Any) -> str:
    if isinstance(loss, str):
        return loss
    config = getattr(loss, "get_config", None)
    if callable(config):
        try:
            found = config().get("name")
        except Exception:  # a loss without a config: fall back to its name
            found = None
        if isinstance(found, str):
            return found
    return str(getattr(loss, "__name__", getattr(loss, "name", type(loss).__name__)))


def _metric_names(model: Any) -> list[str]:
    try:
        metrics = model.get_compile_config().get("metrics") or []
    except Exception:  # not compiled
        return []
    if not isinstance(metrics, (list, tuple)):
        metrics = [metrics]
    names = []
    for metric in metrics:
        if isinstance(metric, dict):
            metric = metric.get("config", {}).get("name", metric.get("class_name", ""))
        names.append(str(metric))
    return names


_DEEPER_SOLUTION = """
deeper = keras.Sequential(
    [
        keras.Input(shape=(IMAGE_SIZE, IMAGE_SIZE, 3)),
        keras.layers.Rescaling(1.0 / 255),
        keras.layers.Conv2D(32, 3, activation="relu"),
        keras.layers.MaxPooling2D(2),
        keras.layers.Conv2D(64, 3, activation="relu"),
        keras.layers.MaxPooling2D(2),
        keras.layers.Conv2D(128, 3, activation="relu"),
        keras.layers.MaxPooling2D(2),
        keras.layers.Flatten(),
        keras.layers.Dense(128, activation="relu"),
        keras.layers.Dropout(0.5),
        keras.layers.Dense(num_classes, activation="softmax"),
    ]
)
deeper.compile(
    optimizer=keras.optimizers.Adam(learning_rate=0.001),
    loss="sparse_categorical_crossentropy",
    metrics=["accuracy"],
)
answer = deeper
"""
_DENSE = '        keras.layers.Dense(128, activation="relu"),\n'
_DROPOUT = "        keras.layers.Dropout(0.5),\n"


@exercise(
    "04.build-variant",
    title="Write a deeper CNN to a spec",
    minutes=8,
    task=(
        "Write with keras.Sequential the lesson's CNN with a third block Conv2D(128, 3, "
        "relu) + MaxPooling2D(2) after pool2, and Dropout(0.5) between Dense(128) and the "
        "output layer; compile it as in the lesson; answer = the model."
    ),
    hints=(
        "Start from the lesson's list of layers: each block is a convolution followed by a "
        "pooling, and the new block goes where the image is still an image (before Flatten).",
        "Dropout switches off a share of the values it receives while training; it goes "
        "right before the layer whose inputs it should thin out, here the output layer.",
        "compile names three things: the optimizer (Adam, learning rate 0.001), the loss for "
        "integer labels and the accuracy metric.",
    ),
    setup=_SETUP,
    solution=_DEEPER_SOLUTION,
    wrong=(
        (
            _DEEPER_SOLUTION.replace(_DENSE + _DROPOUT, _DROPOUT + _DENSE),
            "Dropout comes right after Dense(128)",
        ),
        (
            _DEEPER_SOLUTION.replace("Conv2D(128", "Conv2D(64"),
            "the third convolution has 64 filters",
        ),
        (
            _DEEPER_SOLUTION.replace("sparse_categorical", "categorical"),
            "one-hot vectors",
        ),
        (
            _DEEPER_SOLUTION[: _DEEPER_SOLUTION.index("deeper.compile")] + "answer = deeper\n",
            "is not compiled",
        ),
    ),
)
def _build_variant(answer: Any, report: Report) -> None:
    import keras

    from course_utils.models import model_differences

    report.require(
        isinstance(answer, keras.Model),
        "answer is a Keras model",
        f"answer must be a Keras model built with keras.Sequential; got {describe(answer)}",
        "Build the model with keras.Sequential([...]) and assign the model itself to answer.",
    )
    try:
        inputs = answer.inputs if answer.built else None
    except Exception:  # a model without inputs of its own
        inputs = None
    report.require(
        bool(inputs),
        "the model is built (it starts with keras.Input)",
        f"the model {answer.name!r} is not built yet, so it has no shapes; got no input",
        "Start the list with keras.Input(shape=(IMAGE_SIZE, IMAGE_SIZE, 3)).",
    )
    input_shape = tuple(inputs[0].shape[1:])
    report.require(
        len(input_shape) == 3 and input_shape[-1] == 3 and None not in input_shape,
        f"input: images {input_shape}",
        f"the input must be colour images (height, width, 3); got input shape {input_shape}",
        "keras.Input(shape=(IMAGE_SIZE, IMAGE_SIZE, 3)): height, width and 3 channels.",
    )
    layers = list(answer.layers)
    kinds = [type(layer).__name__ for layer in layers]
    wanted = [kind for kind, _ in _DEEPER]
    convs = kinds.count("Conv2D")
    report.require(
        convs == 3 and kinds.count("MaxPooling2D") == 3,
        "three convolution blocks (Conv2D then MaxPooling2D)",
        f"the spec has three blocks of Conv2D and MaxPooling2D; got {convs} Conv2D and "
        f"{kinds.count('MaxPooling2D')} MaxPooling2D",
        "The third block, Conv2D(128, 3, relu) then MaxPooling2D(2), goes after pool2 and "
        "before Flatten, while the values are still an image.",
    )
    placed = kinds[-3:] == ["Dense", "Dropout", "Dense"]
    need(
        report,
        "Dropout" in kinds,
        f"Dropout(0.5) is missing; got the layers {', '.join(kinds)}",
        "The spec adds Dropout(0.5) between Dense(128) and the output layer.",
    )
    if kinds.count("Dropout") == 1 and not placed:
        where = kinds.index("Dropout")
        after = kinds[where - 1] if where else "the input"
        report.fail(
            f"Dropout comes right after Dense(128) and before the output layer; yours is "
            f"layers[{where}], after {after}",
            "Dropout thins out the values the next layer receives; the spec puts it in front "
            "of the output layer, on the 128 values of the dense layer.",
            stop=True,
        )
    report.require(
        kinds == wanted,
        "the layers in the order of the spec",
        f"the layers must be, in order: {', '.join(wanted)}; got {', '.join(kinds)}",
        "Copy the lesson's list, add the third block before Flatten and Dropout(0.5) "
        "before the output layer.",
    )
    for number, (layer, (kind, settings)) in enumerate(zip(layers, _DEEPER, strict=True)):
        config = layer.get_config()
        for key, value in settings.items():
            mine = config.get(key)
            if key == "scale":
                ok = isinstance(mine, (int, float)) and abs(mine - value) < 1e-6
            else:
                ok = mine == value
            if not ok and kind == "Conv2D" and key == "filters":
                block = ("first", "second", "third")[sum(k == "Conv2D" for k in kinds[:number])]
                report.fail(
                    f"the {block} convolution has {mine} filters; the spec gives it {value}",
                    "The blocks double the filters as the image shrinks: 32, 64, then 128.",
                )
            elif not ok:
                report.fail(
                    f"layers[{number}] ({kind}): {key}={mine!r}; the spec says {value!r}",
                    "Compare each layer's settings with the spec, one by one.",
                )
    units = int(layers[-1].get_config().get("units", 0))
    report.expect(
        units >= 2,
        f"the output layer scores {units} classes",
        f"the output layer must score every class (num_classes of them); got {units} unit(s)",
        "The last Dense layer has one unit per class: Dense(num_classes, activation='softmax').",
    )
    if report.failed:
        return
    reference = _reference_deeper(input_shape, units)
    differences = [d for d in model_differences(answer, reference) if "compile" not in d]
    differences = [d for d in differences if "is not compiled" not in d]
    report.expect(
        not differences,
        f"every output shape and parameter count as the spec ({answer.count_params():,} "
        "parameters)",
        "the model differs from the spec: " + "; ".join(differences[:3]),
        "Keep Keras' defaults for everything the spec does not name.",
    )

    report.require(
        getattr(answer, "compiled", False) and getattr(answer, "optimizer", None) is not None,
        "the model is compiled",
        f"the model is not compiled; got no optimizer and no loss on {answer.name!r}",
        "Call model.compile(optimizer=..., loss=..., metrics=[...]) before handing it in.",
    )
    optimizer = answer.optimizer
    try:
        rate: float | None = float(np.asarray(optimizer.learning_rate))
    except Exception:  # a learning-rate schedule
        rate = None
    report.expect(
        isinstance(optimizer, keras.optimizers.Adam)
        and rate is not None
        and abs(rate - 0.001) < 1e-7,
        "optimizer: Adam with learning rate 0.001",
        f"the optimizer must be Adam with learning rate 0.001, as in the lesson; got "
        f"{type(optimizer).__name__} with learning rate "
        f"{'a schedule' if rate is None else format(rate, 'g')}",
        "keras.optimizers.Adam(learning_rate=0.001), or 'adam', whose default rate is 0.001.",
    )
    loss = _loss_name(answer.loss)
    try:
        from_logits = bool(answer.loss.get_config().get("from_logits"))
    except Exception:  # a string or a plain function: probabilities, as Keras' default
        from_logits = False
    if loss == "categorical_crossentropy":
        report.fail(
            "loss 'categorical_crossentropy' expects one-hot vectors; the labels are class "
            "indices (0, 1, 2, ...)",
            "For integer labels the loss is the sparse variant of categorical cross-entropy.",
        )
    else:
        report.expect(
            loss == "sparse_categorical_crossentropy" and not from_logits,
            "loss: sparse categorical cross-entropy",
            f"the loss must be 'sparse_categorical_crossentropy' on probabilities; got "
            f"{loss!r}{' with from_logits=True' if from_logits else ''}",
            "The output layer applies softmax, so the loss receives probabilities; the labels "
            "are integers.",
        )
    metrics = _metric_names(answer)
    report.expect(
        any("acc" in name for name in metrics),
        "metrics: accuracy",
        f"metrics must include 'accuracy'; got {metrics}",
        "metrics=['accuracy'] reports the share of images whose top class is right.",
    )


# ---------------------------------------------------------------------------
# 04.convolve: one filter's feature map in NumPy, against keras.layers.Conv2D.

#: (image shape (H, W, C), kernel side) of the check's random cases.
_CONV_CASES = (((7, 9, 1), 3), ((8, 6, 3), 3), ((9, 10, 2), 5))


def _keras_conv(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    import keras

    k = kernel.shape[0]
    layer = keras.layers.Conv2D(1, k, use_bias=False)
    layer.build((None, *image.shape))
    layer.set_weights([kernel[..., np.newaxis]])
    return np.asarray(layer(image[np.newaxis]))[0, :, :, 0]


def _plain_conv(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    k = kernel.shape[0]
    rows, cols = image.shape[0] - k + 1, image.shape[1] - k + 1
    return np.array(
        [[np.sum(image[i : i + k, j : j + k] * kernel) for j in range(cols)] for i in range(rows)]
    )


@exercise(
    "04.convolve",
    title="A convolution in NumPy, against Conv2D",
    minutes=8,
    task=(
        "Write convolve(image, kernel) with NumPy: image (H, W, C), kernel (k, k, C); return "
        "the (H - k + 1, W - k + 1) feature map that keras.layers.Conv2D(1, k, use_bias=False) "
        "computes with that kernel; answer = convolve."
    ),
    hints=(
        "Slide the k x k window over every position where it fits whole (padding='valid'), "
        "as in the lesson's edge example: there are H - k + 1 rows of positions.",
        "At each position multiply the window by the kernel element by element and add up "
        "everything, across all channels too: one filter gives one number per position.",
        "Keras does not flip the kernel: the window's top-left value meets the kernel's "
        "top-left weight.",
    ),
    setup=_SETUP,
    solution="""
    def convolve(image, kernel):
        k = kernel.shape[0]
        rows = image.shape[0] - k + 1
        cols = image.shape[1] - k + 1
        out = np.zeros((rows, cols), dtype="float32")
        for i in range(rows):
            for j in range(cols):
                out[i, j] = np.sum(image[i : i + k, j : j + k, :] * kernel)
        return out


    answer = convolve
    """,
    wrong=(
        (
            """
            def convolve(image, kernel):
                k = kernel.shape[0]
                flipped = kernel[::-1, ::-1]
                rows, cols = image.shape[0] - k + 1, image.shape[1] - k + 1
                return np.array([[np.sum(image[i:i + k, j:j + k] * flipped)
                                  for j in range(cols)] for i in range(rows)])
            answer = convolve
            """,
            "flipped the kernel",
        ),
        (
            """
            def convolve(image, kernel):
                k = kernel.shape[0]
                padded = np.pad(image, ((1, 1), (1, 1), (0, 0)))
                return np.array([[np.sum(padded[i:i + k, j:j + k] * kernel)
                                  for j in range(image.shape[1])] for i in range(image.shape[0])])
            answer = convolve
            """,
            "padding='valid'",
        ),
        (
            """
            def convolve(image, kernel):
                k = kernel.shape[0]
                rows, cols = image.shape[0] - k + 1, image.shape[1] - k + 1
                return np.array([[np.sum(image[i:i + k, j:j + k, 0] * kernel[:, :, 0])
                                  for j in range(cols)] for i in range(rows)])
            answer = convolve
            """,
            "every input channel",
        ),
        (
            """
            def convolve(image, kernel):
                rows, cols = image.shape[0] - 2, image.shape[1] - 2
                return np.array([[np.sum(image[i:i + 3, j:j + 3] * kernel)
                                  for j in range(cols)] for i in range(rows)])
            answer = convolve
            """,
            "kernel of shape (5, 5, 2)) raised",
        ),
    ),
)
def _convolve(answer: Any, report: Report) -> None:
    need_function(answer, report, "convolve(image, kernel)")
    rng = np.random.default_rng(4)
    for number, (shape, k) in enumerate(_CONV_CASES, 1):
        image = rng.uniform(0, 1, size=shape).astype("float32")
        kernel = rng.normal(size=(k, k, shape[2])).astype("float32")
        what = f"convolve(image of shape {shape}, kernel of shape {kernel.shape})"

        def call(image=image, kernel=kernel):
            return quietly(answer, image.copy(), kernel.copy())

        got = report.attempt(
            what,
            call,
            f"This kernel has side {k}: read the side from kernel.shape rather than writing 3."
            if k != 3
            else "Try your function on a small random image first, and compare with the "
            "lesson's edge example.",
        )
        try:
            mine = np.asarray(got, dtype="float64")
        except (TypeError, ValueError):
            mine = None
        need(
            report,
            mine is not None and mine.ndim >= 2,
            f"{what} must return a 2-D array of numbers; got {describe(got)}",
            "Return the feature map itself, one value per window position.",
        )
        mine = mine.squeeze() if mine.ndim > 2 else mine
        keras_map = _keras_conv(image, kernel)
        rows, cols = keras_map.shape
        if mine.shape != keras_map.shape:
            if mine.shape == shape[:2]:
                report.fail(
                    f"{what} has shape {mine.shape}, the image's own size; Keras' default "
                    f"padding='valid' gives ({rows}, {cols})",
                    "Without padding the window only goes where it fits whole: H - k + 1 rows.",
                    stop=True,
                )
            if k != 3 and mine.shape == (shape[0] - 2, shape[1] - 2):
                report.fail(
                    f"{what} has shape {mine.shape}: a kernel of side 3 is assumed; this one "
                    f"has kernel side {k}, so Keras gives ({rows}, {cols})",
                    "Read the kernel's side from kernel.shape instead of writing 3.",
                    stop=True,
                )
            report.fail(
                f"{what} must have shape ({rows}, {cols}); got shape {mine.shape}",
                "Rows of positions: H - k + 1; columns: W - k + 1 (height is axis 0).",
                stop=True,
            )
        if np.allclose(mine, keras_map, rtol=1e-4, atol=1e-4):
            report.passed.append(f"case {number}: {what} matches Conv2D")
            continue
        if np.allclose(mine, _plain_conv(image, kernel[::-1, ::-1]), rtol=1e-4, atol=1e-4):
            report.fail(
                f"{what}: you flipped the kernel (the convolution of signal processing); "
                "Conv2D computes a cross-correlation",
                "Keras does not flip the kernel: multiply each window by the kernel as it is.",
                stop=True,
            )
        if shape[2] > 1 and np.allclose(
            mine, _plain_conv(image[..., :1], kernel[..., :1]), rtol=1e-4, atol=1e-4
        ):
            report.fail(
                f"{what}: only the first channel is counted; a filter adds up its window over "
                "every input channel",
                "One filter has k x k x C weights and gives one number per position: sum the "
                "products over rows, columns and channels.",
                stop=True,
            )
        i, j = np.unravel_index(np.argmax(np.abs(mine - keras_map)), keras_map.shape)
        report.fail(
            f"{what} differs from Conv2D: at row {i}, column {j} Keras gives "
            f"{keras_map[i, j]:.4f}; got {mine[i, j]:.4f}",
            "Position (i, j) of the output is the sum of image[i:i+k, j:j+k, :] * kernel.",
            stop=True,
        )
