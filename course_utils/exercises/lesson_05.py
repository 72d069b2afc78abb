"""Exercises of lesson 05, the training trace: early stopping, the overfitting rule and a
regularized model that must reach a validation accuracy."""

from __future__ import annotations

import copy
import numbers
import warnings
from typing import Any

import numpy as np

from course_utils._validation import describe
from course_utils.exercises._checks import need, need_function
from course_utils.exercises._core import Report, exercise

_SETUP = """
import keras
PATIENCE = 5
"""


# ---------------------------------------------------------------------------
# 05.early-stopping

#: The tiny fit the check runs the learner's callback on: random labels, so the
#: validation loss turns up after a few epochs and never comes back down.
_ES_EPOCHS = 25


def _es_fit(callback: Any) -> tuple[list[float], float]:
    """Fit a tiny seeded model with ``callback``; return the val_loss history and the
    validation loss of the weights the model holds after ``fit``."""
    import keras

    rng = np.random.default_rng(5)
    centres = rng.normal(0, 1, size=(4, 8))

    def draw(n, noise):
        labels = rng.integers(0, 4, size=n)
        x = centres[labels] + rng.normal(0, 1.2, size=(n, 8))
        flip = rng.random(n) < noise  # a share of the labels is wrong: memorizing them hurts
        labels = np.where(flip, rng.integers(0, 4, size=n), labels)
        return x.astype("float32"), labels

    x_train, y_train = draw(48, 0.5)
    x_val, y_val = draw(200, 0.0)
    model = keras.Sequential(
        [
            keras.Input((8,)),
            keras.layers.Dense(
                256, activation="relu", kernel_initializer=keras.initializers.GlorotUniform(1)
            ),
            keras.layers.Dense(4, kernel_initializer=keras.initializers.GlorotUniform(2)),
        ]
    )
    model.compile(
        optimizer=keras.optimizers.Adam(0.01),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a monitor that fit does not log warns; we report it
        history = model.fit(
            x_train,
            y_train,
            validation_data=(x_val, y_val),
            epochs=_ES_EPOCHS,
            batch_size=len(x_train),
            shuffle=False,
            callbacks=[callback],
            verbose=0,
        )
    after = float(model.evaluate(x_val, y_val, verbose=0))
    return [float(v) for v in history.history["val_loss"]], after


@exercise(
    "05.early-stopping",
    title="Configure EarlyStopping to keep the best epoch",
    minutes=5,
    task=(
        "Create a keras.callbacks.EarlyStopping that applies the lesson's rule: it watches "
        "the validation loss, waits PATIENCE epochs for a new lowest value, then stops and "
        "puts back the weights of the best epoch; answer = the callback."
    ),
    hints=(
        "The training loss keeps falling while a model overfits; only the loss on images it "
        "never trains on shows the turn.",
        "Patience is the number of epochs without a new lowest value that the callback "
        "accepts: too small, and one epoch's wiggle stops the training.",
        "By default EarlyStopping stops but leaves the model with the weights of the last "
        "epoch; one argument makes it keep a copy of the best ones and put them back.",
    ),
    setup=_SETUP,
    solution="""
    stop = keras.callbacks.EarlyStopping(
        monitor="val_loss",  # the loss on images the model never trains on
        patience=PATIENCE,  # epochs without a new lowest value before it stops
        restore_best_weights=True,  # put back the best epoch's weights at the end
    )
    answer = stop
    """,
    wrong=(
        (
            "answer = keras.callbacks.EarlyStopping(monitor='val_loss', patience=PATIENCE)",
            "the weights of the last epoch",
        ),
        (
            """
            answer = keras.callbacks.EarlyStopping(
                monitor="loss", patience=PATIENCE, restore_best_weights=True
            )
            """,
            "watches the training loss",
        ),
        (
            """
            answer = keras.callbacks.EarlyStopping(
                monitor="val_loss", patience=0, restore_best_weights=True
            )
            """,
            "the first epoch's wiggle",
        ),
        ("answer = keras.callbacks.EarlyStopping", "the class itself"),
    ),
)
def _early_stopping(answer: Any, report: Report) -> None:
    import keras

    early_stopping = keras.callbacks.EarlyStopping
    need(
        report,
        not (isinstance(answer, type) and issubclass(answer, early_stopping)),
        "answer is EarlyStopping, the class itself, not a callback made from it; got "
        f"{describe(answer)}",
        "Call the class with its settings, EarlyStopping(...), and assign the callback it returns.",
    )
    report.require(
        isinstance(answer, early_stopping),
        "answer is a keras.callbacks.EarlyStopping",
        f"answer must be a keras.callbacks.EarlyStopping callback; got {describe(answer)}",
        "Create it with keras.callbacks.EarlyStopping(...) and assign the callback to answer.",
    )
    monitor = answer.monitor
    if monitor == "val_loss":
        report.passed.append("it watches val_loss, the validation loss")
    elif monitor == "loss":
        report.fail(
            "it watches the training loss (monitor='loss'), which keeps falling while the "
            "model overfits; got monitor='loss'",
            "Overfitting shows on images the model never trains on: the validation loss.",
        )
    else:
        report.fail(
            f"the lesson's rule watches the validation loss, monitor='val_loss'; got "
            f"monitor={monitor!r}",
            "fit logs the validation loss as val_loss when it gets validation_data.",
        )
    mode = getattr(answer, "mode", "auto")
    report.expect(
        mode in ("auto", "min"),
        f"mode {mode!r}: a lower loss is better",
        f"mode='max' counts a rising loss as an improvement; got mode={mode!r}",
        "A loss improves when it falls: leave mode at 'auto' (or 'min').",
    )
    patience = answer.patience
    small = isinstance(patience, numbers.Number) and patience < 2
    report.expect(
        isinstance(patience, numbers.Integral) and 2 <= patience <= 10,
        f"patience {patience}: it waits out a wiggle",
        f"with patience {patience!r} it stops at the first epoch's wiggle; patience must be "
        "a whole number of epochs from 2 to 10 (the lesson uses PATIENCE)"
        if small
        else "patience must be a whole number of epochs from 2 to 10 (the lesson uses "
        f"PATIENCE); got {patience!r}",
        "One epoch above the lowest value proves nothing: patience is the number of epochs "
        "without a new lowest value that it waits.",
    )

    callback = copy.copy(answer)  # the learner's settings; their callback stays untouched
    val_loss, after = report.attempt(
        "Training a small model with your callback", lambda: _es_fit(callback)
    )
    ran, best = len(val_loss), int(np.argmin(val_loss))
    report.expect(
        ran < _ES_EPOCHS,
        f"on a small fit whose validation loss is lowest at epoch {best + 1}, it stopped "
        f"after epoch {ran} of {_ES_EPOCHS}",
        f"on a small fit whose validation loss is lowest at epoch {best + 1}, it never "
        f"stopped: got all {ran} of {_ES_EPOCHS} epochs",
        "It stops once its monitored value has not improved for patience epochs.",
    )
    if answer.restore_best_weights:
        wrong = (
            f"after fit the model holds weights with validation loss {after:.3f}, not the best "
            f"epoch's {val_loss[best]:.3f} (epoch {best + 1}): it put back the best epoch of "
            f"{answer.monitor!r}; got monitor={answer.monitor!r}"
        )
    else:
        wrong = (
            f"after fit the model holds the weights of the last epoch, not the best one: "
            f"validation loss {after:.3f}, the best epoch {best + 1} had {val_loss[best]:.3f}; "
            "got restore_best_weights=False"
        )
    report.expect(
        abs(after - val_loss[best]) <= 1e-4 * max(1.0, abs(val_loss[best])),
        f"after fit the model holds the best epoch's weights (epoch {best + 1}, validation "
        f"loss {val_loss[best]:.3f})",
        wrong,
        "EarlyStopping only puts the best weights back when asked to: look at its "
        "restore_best_weights argument.",
    )


# ---------------------------------------------------------------------------
# 05.overfit-epoch


def _reference_overfit(loss: list[float], val_loss: list[float], patience: int) -> int | None:
    from course_utils.trace import epoch_observations

    notes = epoch_observations(loss, val_loss, patience=patience)
    found = [i for i, note in enumerate(notes) if note.startswith("overfitting")]
    return found[0] + 1 if found else None


def _noisy_history(seed: int, epochs: int) -> tuple[list[float], list[float]]:
    rng = np.random.default_rng(seed)
    t = np.arange(epochs)
    loss = 2.3 * np.exp(-t / 6) + 0.05 + np.abs(rng.normal(0, 0.01, epochs))
    val = 1.3 + 0.9 * np.exp(-t / 4) + 0.004 * (t - 8).clip(0) ** 2 + rng.normal(0, 0.04, epochs)
    return np.round(loss, 4).tolist(), np.round(val, 4).tolist()


_FALLING = [2.3, 1.9, 1.5, 1.2, 1.0, 0.8, 0.65, 0.5, 0.4, 0.3, 0.25]

#: (name, loss, val_loss, patience, what the rule sees, hint when it is missed).
_OVERFIT_CASES = (
    (
        "one wiggle, then new lows",
        _FALLING[:10],
        [2.2, 1.9, 1.7, 1.75, 1.6, 1.5, 1.45, 1.4, 1.38, 1.35],
        3,
        "epoch 4's rise is a single epoch's wiggle: new lowest values follow at once, "
        "so the rule never calls it overfitting",
        "One epoch above the lowest value so far proves nothing: the rule waits patience "
        "epochs for a new lowest value.",
    ),
    (
        "a clean U-turn, patience 3",
        _FALLING[:10],
        [2.2, 1.9, 1.6, 1.45, 1.5, 1.6, 1.7, 1.8, 1.9, 2.0],
        3,
        "the lowest validation loss is at epoch 4; 3 epochs later, with no new lowest "
        "value and the training loss still falling, the rule says overfitting",
        "Count the epochs since the lowest validation loss so far, and compare the count "
        "with the patience you are given.",
    ),
    (
        "a long wiggle, then a new low, patience 2",
        _FALLING,
        [2.0, 1.6, 1.4, 1.5, 1.55, 1.45, 1.3, 1.2, 1.25, 1.3, 1.35],
        2,
        "at epoch 5 the rule has seen 2 epochs without beating epoch 3's 1.4: it knows "
        "only the epochs so far, not the lower values that come later",
        "The rule runs while training: at each epoch it knows the lowest validation loss "
        "so far (a running minimum), never the lowest of the whole run.",
    ),
    (
        "the training loss stopped falling",
        [2.3, 2.0, 1.8, 1.8, 1.85, 1.9, 1.95, 2.0],
        [2.2, 1.9, 1.7, 1.72, 1.75, 1.8, 1.85, 1.9],
        3,
        "the validation loss stalls from epoch 3, but the training loss did not fall "
        "below its value at that epoch either: no overfitting, the model stopped learning",
        "Overfitting means the model keeps fitting the training images better while "
        "validation gets worse: compare the training loss with its value at the best epoch.",
    ),
    (
        "a value equal to the lowest, patience 2",
        _FALLING[:8],
        [2.0, 1.5, 1.5, 1.5, 1.4, 1.45, 1.5, 1.6],
        2,
        "epoch 3 equals epoch 2's 1.5 without beating it, so by epoch 4 two epochs brought "
        "no new lowest value",
        "A new lowest value must be strictly lower than the lowest so far.",
    ),
    (
        "a noisy run of 30 epochs, patience 5",
        *_noisy_history(3, 30),
        5,
        "the rule's running minimum with patience 5 on a noisy curve",
        "Follow the lowest validation loss so far, epoch by epoch, and count the epochs "
        "since it was set.",
    ),
    (
        "a noisy run of 24 epochs, patience 4",
        *_noisy_history(11, 24),
        4,
        "the rule's running minimum with patience 4 on another noisy curve",
        "Follow the lowest validation loss so far, epoch by epoch, and count the epochs "
        "since it was set.",
    ),
)


_OVERFIT_SOLUTION = """
def first_overfitting_epoch(loss, val_loss, patience):
    best = 0  # index of the lowest validation loss so far
    for i in range(len(val_loss)):
        if val_loss[i] < val_loss[best]:
            best = i
        if i - best >= patience and loss[i] < loss[best]:
            return i + 1  # epochs count from 1
    return None


answer = first_overfitting_epoch
"""


@exercise(
    "05.overfit-epoch",
    title="Find where the rule calls it overfitting",
    minutes=8,
    task=(
        "Write first_overfitting_epoch(loss, val_loss, patience): the 1-based number of the "
        "first epoch that the lesson's rule calls overfitting (no new lowest validation "
        "loss for patience epochs while the training loss is lower than at that lowest "
        "epoch), or None; answer = first_overfitting_epoch."
    ),
    hints=(
        "Walk through the epochs in order, as training does, and keep the epoch of the "
        "lowest validation loss seen so far.",
        "At each epoch, count the epochs since that lowest value; when the count reaches "
        "patience, the rule has waited long enough.",
        "The rule also asks that the training loss is below its value at the lowest "
        "validation epoch; epochs count from 1.",
    ),
    solution=_OVERFIT_SOLUTION,
    wrong=(
        (
            """
            def first_overfitting_epoch(loss, val_loss, patience):
                for i in range(1, len(val_loss)):
                    if val_loss[i] > val_loss[i - 1]:
                        return i + 1
                return None
            answer = first_overfitting_epoch
            """,
            "single epoch's wiggle",
        ),
        (
            """
            import numpy as np
            def first_overfitting_epoch(loss, val_loss, patience):
                best = int(np.argmin(val_loss))
                epoch = best + patience
                return epoch + 1 if epoch < len(val_loss) else None
            answer = first_overfitting_epoch
            """,
            "only the epochs so far",
        ),
        (
            _OVERFIT_SOLUTION.replace(" and loss[i] < loss[best]", ""),
            "the training loss did not fall",
        ),
        (_OVERFIT_SOLUTION.replace("return i + 1", "return i"), "epochs count from 1"),
    ),
)
def _overfit_epoch(answer: Any, report: Report) -> None:
    need_function(answer, report, "first_overfitting_epoch(loss, val_loss, patience)")
    for name, loss, val_loss, patience, seen, hint in _OVERFIT_CASES:
        expected = _reference_overfit(loss, val_loss, patience)
        what = f"On {name}"
        got = report.attempt(
            f"{what}, your function",
            lambda a=list(loss), b=list(val_loss), p=patience: answer(a, b, p),
            "It is called with two lists of floats (one value per epoch) and an int.",
        )
        is_int = isinstance(got, numbers.Integral) and not isinstance(got, bool)
        need(
            report,
            got is None or is_int,
            f"{what}: the function must return an epoch number (an int) or None; got "
            f"{describe(got)}",
            "Return the epoch number as an int, i + 1 for index i, or None.",
        )
        if got == expected:
            report.passed.append(
                f"{what}: epoch {expected}" if expected else f"{what}: None, no overfitting"
            )
            continue
        shown = "None" if expected is None else f"epoch {expected}"
        if expected is not None and is_int and got == expected - 1:
            detail = (
                f"one epoch early: epochs count from 1, so index i is epoch i + 1 "
                f"(expected {shown}); got {got}"
            )
            hint = "Keras and the trace number epochs 1, 2, ...: the first epoch is 1."
        elif expected is not None and is_int and got == expected + 1:
            detail = (
                f"one epoch late: after patience epochs without a new lowest value the rule "
                f"already speaks (expected {shown}); got {got}"
            )
            hint = "Compare the count of epochs since the lowest value with >=, not >."
        else:
            detail = f"{seen} (expected {shown}); got {got}"
        report.fail(f"{what}: {detail}", hint, stop=True)


# ---------------------------------------------------------------------------
# 05.regularize

#: The check's own data: three of the shapes, upright for training, in any pose for validation.
#: Each is its own mirror image up to a turn, so the target measures poses, not chirality (with
#: the chiral ell instead of the crescent the same budget gives 0.64-0.76 after 22 epochs).
_REG_CLASSES = ("triangle", "crescent", "cross")
_REG_SIZE = 16
_REG_TRAIN, _REG_VAL = 240, 180
_REG_EPOCHS, _REG_BATCH = 16, 8
_REG_SEED = 0
#: The target. Measured over seeds 0-3 with this budget: the reference solution (turns of up
#: to half a turn, Dropout 0.3) reaches 0.83-0.86, the same CNN with turns and no Dropout
#: 0.85-0.91, the lesson's plain CNN 0.45-0.49.
_REG_TARGET = 0.70
_REG_MAX_WEIGHTS = 1_000_000


def _reg_data() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    from course_utils._shapes import SHAPE_CLASSES
    from course_utils.data import make_shapes

    keep = [SHAPE_CLASSES.index(name) for name in _REG_CLASSES]

    def draw(n, seed, rotation):
        x, y = make_shapes(n * 4, image_size=_REG_SIZE, seed=seed, max_rotation=rotation)
        chosen = np.flatnonzero(np.isin(y, keep))[:n]
        return x[chosen], np.searchsorted(keep, y[chosen]).astype("int64")

    x_train, y_train = draw(_REG_TRAIN, 11, 15.0)  # upright, within +/-15 degrees
    x_val, y_val = draw(_REG_VAL, 12, 180.0)  # any pose
    return x_train, y_train, x_val, y_val


def _reg_fit(model: Any, seed: int = _REG_SEED) -> tuple[float, float]:
    """Train ``model`` on the check's data with its fixed budget; (val accuracy, train accuracy)."""
    import keras

    x_train, y_train, x_val, y_val = _reg_data()
    keras.utils.set_random_seed(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        history = model.fit(
            x_train,
            y_train,
            epochs=_REG_EPOCHS,
            batch_size=_REG_BATCH,
            verbose=0,
        )
        probabilities = np.asarray(model.predict(x_val, batch_size=64, verbose=0))
    accuracy = float(np.mean(np.argmax(probabilities, axis=-1) == y_val))
    return accuracy, float(history.history.get("accuracy", [float("nan")])[-1])


def _all_layers(model: Any) -> list[Any]:
    """Every layer of the model, also those inside nested models and Pipelines."""
    found, stack = [], list(getattr(model, "layers", []))
    while stack:
        layer = stack.pop(0)
        found.append(layer)
        stack.extend(getattr(layer, "layers", []) or [])
    return found


_REG_SOLUTION = """
def build_model(input_shape, num_classes):
    model = keras.Sequential(
        [
            keras.Input(input_shape),
            keras.layers.RandomRotation(0.5),  # any pose: up to half a turn either way
            keras.layers.Rescaling(1 / 255),
            keras.layers.Conv2D(32, 3, activation="relu"),
            keras.layers.MaxPooling2D(2),
            keras.layers.Conv2D(64, 3, activation="relu"),
            keras.layers.MaxPooling2D(2),
            keras.layers.Flatten(),
            keras.layers.Dense(128, activation="relu"),
            keras.layers.Dropout(0.3),  # active in fit only
            keras.layers.Dense(num_classes, activation="softmax"),
        ]
    )
    model.compile(
        optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"]
    )
    return model


answer = build_model
"""
_ROTATION = (
    "            keras.layers.RandomRotation(0.5),  # any pose: up to half a turn either way\n"
)
_DROPOUT = "            keras.layers.Dropout(0.3),  # active in fit only\n"


@exercise(
    "05.regularize",
    title="Reach a validation accuracy in a fixed budget",
    minutes=10,
    task=(
        f"Write build_model(input_shape, num_classes) that returns a compiled Keras CNN; the "
        f"check trains it for {_REG_EPOCHS} epochs on {_REG_TRAIN} upright shapes of "
        f"{len(_REG_CLASSES)} classes and measures it on shapes in any pose: reach a "
        f"validation accuracy of at least {_REG_TARGET:.2f} with label-safe augmentation "
        "(Dropout is welcome); answer = build_model."
    ),
    hints=(
        "The validation shapes stand in any pose, the training shapes stand upright: the "
        "model has to learn poses it is never shown, unless augmentation shows them.",
        "Random layers at the start of the model only act in fit, so validation and predict "
        "see the images as they are. Which of them keep every label true for these shapes?",
        "RandomRotation's factor is a fraction of a full turn: the lesson's POSE / 360 only "
        "covers the poses that the training shapes already have.",
    ),
    setup=_SETUP,
    solution=_REG_SOLUTION,
    wrong=(
        (
            _REG_SOLUTION.replace(_ROTATION, "").replace(_DROPOUT, ""),
            "below the target",
        ),
        (
            _REG_SOLUTION.replace(
                _ROTATION, "            keras.layers.RandomRotation(15 / 360),\n"
            ),
            "turns of at most 15°",
        ),
        (
            _REG_SOLUTION[: _REG_SOLUTION.index("    model.compile")]
            + "    return model\nanswer = build_model\n",
            "is not compiled",
        ),
        (_REG_SOLUTION.replace("Dense(num_classes", "Dense(10"), "10 class scores"),
    ),
)
def _regularize(answer: Any, report: Report) -> None:
    import keras

    need_function(answer, report, "build_model(input_shape, num_classes)")
    shape, classes = (_REG_SIZE, _REG_SIZE, 3), len(_REG_CLASSES)
    keras.utils.set_random_seed(_REG_SEED)
    model = report.attempt(
        f"build_model({shape}, {classes})",
        lambda: answer(shape, classes),
        "build_model receives the input shape and the number of classes; build with them.",
    )
    need(
        report,
        isinstance(model, keras.Model),
        f"build_model must return a Keras model; got {describe(model)}",
        "End build_model with return model.",
    )
    need(
        report,
        getattr(model, "compiled", False) and getattr(model, "optimizer", None) is not None,
        f"the model {model.name!r} is not compiled: fit needs its optimizer and loss; got an "
        "uncompiled model",
        "Call model.compile(optimizer=..., loss=..., metrics=[...]) inside build_model.",
    )
    scores = report.attempt(
        f"Calling the model on a batch of shape (2, {_REG_SIZE}, {_REG_SIZE}, 3)",
        lambda: np.asarray(model(np.zeros((2, *shape), "float32"), training=False)),
        "Build the model for input_shape: keras.Input(input_shape).",
    )
    need(
        report,
        scores.shape == (2, classes),
        f"the model must output {classes} class scores per image (num_classes); got "
        f"{scores.shape[-1] if scores.ndim else scores.shape} class scores, output shape "
        f"{scores.shape}",
        "The last Dense layer has num_classes units, one per class.",
    )
    weights = model.count_params()
    need(
        report,
        weights <= _REG_MAX_WEIGHTS,
        f"the model has {weights:,} weights; the check trains models of at most "
        f"{_REG_MAX_WEIGHTS:,}; got a larger one",
        "A small CNN is enough here: two convolution blocks and one Dense layer.",
    )
    report.passed.append(f"a compiled model: {classes} class scores, {weights:,} weights")
    turns = [
        max(abs(float(f)) for f in np.ravel(layer.factor)) * 360
        for layer in _all_layers(model)
        if isinstance(layer, keras.layers.RandomRotation)
    ]
    accuracy, train_accuracy = report.attempt(
        f"Training your model for {_REG_EPOCHS} epochs", lambda: _reg_fit(model)
    )
    if not turns:
        given, hint = (
            "a model without random turns",
            "The validation shapes stand in poses that the training shapes never show: "
            "augmentation can show them.",
        )
    elif max(turns) < 90:
        given, hint = (
            f"turns of at most {max(turns):.0f}°, while the validation shapes stand in any pose",
            "A turn keeps each of these shapes in its class at any angle: let the turns "
            "reach every pose.",
        )
    else:
        given, hint = (
            f"a model with turns of up to {max(turns):.0f}° that does not reach it",
            "Keep the network small and give Dropout a moderate rate; the budget is fixed.",
        )
    report.expect(
        accuracy >= _REG_TARGET,
        f"validation accuracy {accuracy:.2f} after {_REG_EPOCHS} epochs (target "
        f"{_REG_TARGET:.2f}; training accuracy {train_accuracy:.2f})",
        f"validation accuracy {accuracy:.2f} after {_REG_EPOCHS} epochs is below the target "
        f"{_REG_TARGET:.2f} (training accuracy {train_accuracy:.2f}); got {given}",
        hint,
    )
