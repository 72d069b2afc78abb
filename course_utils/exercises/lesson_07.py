"""Exercises of lesson 07, modern augmentation: a MixUp chain, RandAugment's knobs,
test-time augmentation and reading an ablation's spread."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from course_utils._validation import describe
from course_utils.exercises._checks import (
    as_array,
    dataset_pair,
    need,
    need_function,
    quietly,
    read_batches,
)
from course_utils.exercises._core import Report, exercise

# ---------------------------------------------------------------------------
# 07.mixup-chain

_DATA_SETUP = """
import keras
import numpy as np
import tensorflow as tf
from course_utils.data import load_dataset

SEED = 0
splits = load_dataset("shapes", image_size=24, n_train=96, n_test=40, seed=SEED)
class_names = splits.class_names
num_classes = len(class_names)
"""


def _one_hot_rows(labels: np.ndarray) -> np.ndarray:
    """Per row: True when it holds a single 1 and zeros elsewhere."""
    return np.isclose(labels.max(axis=1), 1.0, atol=1e-6) & np.isclose(
        labels.sum(axis=1), 1.0, atol=1e-6
    )


def _read(dataset: Any, report: Report, name: str, count: int) -> list[tuple]:
    batches = read_batches(dataset, report, name, count)
    need(report, bool(batches), f"{name} yields nothing; got 0 batches", "Check the chain.")
    return batches


@exercise(
    "07.mixup-chain",
    title="A MixUp training chain, and a clean validation chain",
    minutes=8,
    task=(
        "From splits.x_train/y_train build mix_train_ds: float32 images and one-hot float32 "
        "labels, shuffled, in batches of 32, mixed with keras.layers.MixUp (labels too), as "
        "(images, labels) pairs; and mix_val_ds from splits.x_val/y_val: batches of 32, "
        "one-hot, never mixed; answer = (mix_train_ds, mix_val_ds)."
    ),
    hints=(
        "MixUp blends two images of the same batch, and the labels must be blended with the "
        "same weights: it can only do that when it sees both at once.",
        "A Keras augmentation layer mixes labels only when it is called on a dict "
        "{'images': ..., 'labels': ...}, after .batch(), with one-hot labels (one float "
        "column per class).",
        "Validation measures the model on real images with their true classes: its labels "
        "stay one-hot, so the same conversion but no mixing.",
    ),
    setup=_DATA_SETUP,
    solution="""
    AUTOTUNE = tf.data.AUTOTUNE
    mixup = keras.layers.MixUp(seed=SEED)  # alpha=0.2, the Keras default


    def one_hot(labels):
        return np.eye(num_classes, dtype="float32")[labels]  # (n, num_classes), rows add up to 1


    def mix(images, labels):
        out = mixup({"images": images, "labels": labels}, training=True)  # both, same weights
        return out["images"], out["labels"]


    train_images, train_labels = splits.x_train.astype("float32"), one_hot(splits.y_train)
    val_images, val_labels = splits.x_val.astype("float32"), one_hot(splits.y_val)
    mix_train_ds = (
        tf.data.Dataset.from_tensor_slices((train_images, train_labels))
        .shuffle(len(train_images), seed=SEED)
        .batch(32)
        .map(mix, num_parallel_calls=AUTOTUNE)  # after batch: partners come from the batch
        .prefetch(AUTOTUNE)
    )
    mix_val_ds = (
        tf.data.Dataset.from_tensor_slices((val_images, val_labels))
        .batch(32)
        .prefetch(AUTOTUNE)
    )
    answer = (mix_train_ds, mix_val_ds)
    """,
    wrong=(
        (
            """
            mixup = keras.layers.MixUp(seed=SEED)
            one_hot = np.eye(num_classes, dtype="float32")
            mix_train_ds = (
                tf.data.Dataset.from_tensor_slices(
                    (splits.x_train.astype("float32"), one_hot[splits.y_train]))
                .shuffle(96, seed=SEED).batch(32)
                .map(lambda images, labels: (mixup(images, training=True), labels))
            )
            mix_val_ds = tf.data.Dataset.from_tensor_slices(
                (splits.x_val.astype("float32"), one_hot[splits.y_val])).batch(32)
            answer = (mix_train_ds, mix_val_ds)
            """,
            "every training label is still one-hot",
        ),
        (
            """
            mixup = keras.layers.MixUp(seed=SEED)
            def mix(images, labels):
                out = mixup({"images": images, "labels": labels}, training=True)
                return out["images"], out["labels"]
            mix_train_ds = (
                tf.data.Dataset.from_tensor_slices(
                    (splits.x_train.astype("float32"), splits.y_train))
                .shuffle(96, seed=SEED).batch(32).map(mix)
            )
            mix_val_ds = tf.data.Dataset.from_tensor_slices(
                (splits.x_val.astype("float32"), np.eye(num_classes, dtype="float32")[splits.y_val])
            ).batch(32)
            answer = (mix_train_ds, mix_val_ds)
            """,
            "blended class numbers",
        ),
        (
            """
            mixup = keras.layers.MixUp(seed=SEED)
            one_hot = np.eye(num_classes, dtype="float32")
            def mix(images, labels):
                out = mixup({"images": images, "labels": labels}, training=True)
                return out["images"], out["labels"]
            mix_train_ds = (
                tf.data.Dataset.from_tensor_slices(
                    (splits.x_train.astype("float32"), one_hot[splits.y_train]))
                .shuffle(96, seed=SEED).batch(32).map(mix)
            )
            mix_val_ds = tf.data.Dataset.from_tensor_slices(
                (splits.x_val.astype("float32"), one_hot[splits.y_val])).batch(32).map(mix)
            answer = (mix_train_ds, mix_val_ds)
            """,
            "mix_val_ds has mixed labels",
        ),
        (
            """
            mixup = keras.layers.MixUp(seed=SEED)
            one_hot = np.eye(num_classes, dtype="float32")
            mix_train_ds = (
                tf.data.Dataset.from_tensor_slices(
                    {"images": splits.x_train.astype("float32"), "labels": one_hot[splits.y_train]})
                .shuffle(96, seed=SEED).batch(32).map(mixup)
            )
            mix_val_ds = tf.data.Dataset.from_tensor_slices(
                (splits.x_val.astype("float32"), one_hot[splits.y_val])).batch(32)
            answer = (mix_train_ds, mix_val_ds)
            """,
            "yields dicts",
        ),
    ),
)
def _mixup_chain(answer: Any, report: Report) -> None:
    import keras
    import tensorflow as tf

    train, val = dataset_pair(
        answer,
        report,
        ("mix_train_ds", "mix_val_ds"),
        "Start from tf.data.Dataset.from_tensor_slices((images, one_hot_labels)).",
        "pipelines",
    )
    for name, dataset in (("mix_train_ds", train), ("mix_val_ds", val)):
        images, labels = dataset.element_spec
        need(
            report,
            isinstance(images, tf.TensorSpec) and images.dtype == tf.float32,
            f"{name}: images must be float32; got {getattr(images, 'dtype', images)!r}",
            "Keras layers compute in float32: convert the images with .astype('float32') or "
            "tf.cast before the chain.",
        )
        need(
            report,
            images.shape.rank == 4,
            f"{name}: elements must be batches of images (batch, H, W, C); got images {images}",
            "Call .batch(32) so that each element is a batch.",
        )
        rank = labels.shape.rank if isinstance(labels, tf.TensorSpec) else None
        if rank == 1:
            report.fail(
                f"{name}: labels are class numbers, one per image; MixUp and "
                "categorical_crossentropy need one-hot rows (batch, num_classes); got labels "
                f"{labels}",
                "Turn each class number into a row with a 1 in its column, for example "
                "np.eye(num_classes, dtype='float32')[labels], before the chain.",
                stop=True,
            )
        need(
            report,
            rank == 2 and labels.dtype == tf.float32,
            f"{name}: labels must be float32 one-hot rows (batch, num_classes); got labels "
            f"{labels}",
            "Mixed labels are fractions, so they are floats: np.eye(num_classes, "
            "dtype='float32')[labels].",
        )
    report.passed.append("float32 images and float32 label rows in both pipelines")

    train_batches = _read(train, report, "mix_train_ds", 3)
    val_batches = _read(val, report, "mix_val_ds", 2)
    size = len(train_batches[0][1])
    report.expect(
        size == 32,
        "batches of 32",
        f"mix_train_ds gives batches of {size}; the task asks for 32; got {size}",
        "The argument of .batch() is the batch size.",
    )
    train_labels = np.concatenate([labels for _, labels in train_batches])
    val_labels = np.concatenate([labels for _, labels in val_batches])
    columns = train_labels.shape[1]
    sums = train_labels.sum(axis=1)
    if not (np.allclose(sums, 1, atol=1e-3) and train_labels.min() >= -1e-6):
        looks_like_numbers = train_labels.max() > 1 + 1e-3
        report.fail(
            "mix_train_ds: each label row must be class weights that add up to 1"
            + (
                " (MixUp blended class numbers, which are not weights: 0.3 x class 2 + "
                "0.7 x class 5 is no class)"
                if looks_like_numbers
                else ""
            )
            + f"; got row sums {np.round(sums[:6], 2).tolist()}",
            "MixUp blends label rows, so each row must already be one-hot (class weights) "
            "before it mixes them: convert the class numbers first.",
            stop=True,
        )
    report.passed.append("every training label row adds up to 1")
    report.expect(
        val_labels.shape[1] == columns,
        "both pipelines have one label column per class",
        f"mix_train_ds has {columns} label columns and mix_val_ds {val_labels.shape[1]}; got "
        "different class counts",
        "Convert both label arrays with the same num_classes.",
    )
    mixed = ~_one_hot_rows(train_labels)
    need(
        report,
        bool(mixed.any()),
        f"mix_train_ds: every training label is still one-hot ({len(train_labels)} images "
        "read): nothing mixed the labels; got only one-hot rows",
        "Called on images alone, MixUp mixes pixels and cannot touch the labels; and before "
        ".batch() it has no partner to mix with. Call it after batch, on a dict of images "
        "and labels.",
    )
    report.passed.append(
        f"training labels are mixed: {int(mixed.sum())} of {len(train_labels)} rows are soft "
        "targets"
    )
    clean = _one_hot_rows(val_labels)
    if not clean.all():
        report.fail(
            f"mix_val_ds has mixed labels: {int((~clean).sum())} of {len(val_labels)} rows are "
            "not one-hot; got rows whose largest class weight is as low as "
            f"{val_labels.max(axis=1).min():.3f}",
            "Validation is measured on real images with their true classes: leave the mixing "
            "layer out of the validation chain.",
            stop=True,
        )
    report.passed.append("validation labels are one-hot: nothing mixed them")

    def fit_one_step():
        shape = tuple(train.element_spec[0].shape[1:])
        model = keras.Sequential(
            [
                keras.Input(shape),
                keras.layers.Rescaling(1 / 255),
                keras.layers.Flatten(),
                keras.layers.Dense(columns, activation="softmax"),
            ]
        )
        model.compile(optimizer="adam", loss="categorical_crossentropy")
        history = model.fit(train.take(1), epochs=1, verbose=0)
        loss = model.evaluate(val.take(1), verbose=0)
        return history.history["loss"][-1], loss

    train_loss, val_loss = report.attempt(
        "Training a small model (loss='categorical_crossentropy') for one step on your pipelines",
        lambda: quietly(fit_one_step),
        "fit takes (images, labels) pairs whose labels have one column per class.",
    )
    report.expect(
        bool(np.isfinite(train_loss) and np.isfinite(val_loss)),
        "a model compiled with loss='categorical_crossentropy' trains on mix_train_ds and "
        "evaluates on mix_val_ds",
        f"the loss is not a finite number; got train loss {train_loss}, validation loss {val_loss}",
        "Images on the 0-255 scale and label rows that add up to 1 give a finite loss.",
    )


# ---------------------------------------------------------------------------
# 07.randaugment-knobs

_RAND_SETUP = """
import keras
"""

_RAND_TASK = {"num_ops": 3, "turn": 0.15, "value_range": (0.0, 1.0)}


@exercise(
    "07.randaugment-knobs",
    title="Configure RandAugment for images in [0, 1]",
    minutes=4,
    task=(
        "Build a keras.layers.RandAugment for a pipeline whose images are already scaled to "
        "[0, 1]: 3 operations per image, and a strength whose rotations reach at most 54 "
        "degrees; answer = the layer."
    ),
    hints=(
        "Every knob of the task is an argument of the layer: read its signature with "
        "help(keras.layers.RandAugment), and pass the knobs by name.",
        "RandAugment passes its one factor to every operation; for the rotation it is a "
        "fraction of a full turn, drawn between 0 and factor (one way only), as the lesson "
        "read back from rand_augment.random_rotation.factor.",
        "The colour operations (brightness, contrast, solarize, posterize...) need to know "
        "where black and white are; that is value_range, and its default is the 0-255 scale.",
    ),
    setup=_RAND_SETUP,
    solution="""
    answer = keras.layers.RandAugment(
        value_range=(0, 1),  # the pipeline's images are in [0, 1], not 0-255
        num_ops=3,  # operations per image
        factor=0.15,  # rotations from 0 to 0.15 of a turn: 54 degrees
    )
    """,
    wrong=(
        (
            """
            answer = keras.layers.RandAugment(num_ops=3, factor=0.15)
            """,
            "value_range is (0, 255)",
        ),
        (
            """
            answer = keras.layers.RandAugment(value_range=(0, 1), num_ops=3, factor=0.075)
            """,
            "one way only",
        ),
        (
            """
            answer = keras.layers.RandAugment(value_range=(0, 1), factor=0.15)
            """,
            "2 operations per image",
        ),
        (
            """
            answer = keras.layers.RandAugment
            """,
            "the class RandAugment itself",
        ),
        (
            """
            answer = keras.layers.Pipeline(
                [keras.layers.RandAugment(value_range=(0, 1), num_ops=3, factor=0.15)])
            """,
            "a Pipeline that holds",
        ),
    ),
)
def _randaugment_knobs(answer: Any, report: Report) -> None:
    import keras

    RandAugment = keras.layers.RandAugment
    need(
        report,
        answer is not RandAugment,
        "answer is the class RandAugment itself, not a layer; got the class "
        "keras.layers.RandAugment",
        "Call the class with the task's knobs to make a layer: keras.layers.RandAugment(...).",
    )
    inner = getattr(answer, "layers", None)
    if isinstance(answer, keras.layers.Layer) and isinstance(inner, (list, tuple)):
        held = [type(layer).__name__ for layer in inner]
        report.fail(
            f"answer is a {type(answer).__name__} that holds {held}; the task asks for the "
            f"RandAugment layer itself; got {describe(answer)}",
            "A Pipeline is fine in a data set's map, but the check reads the layer's own "
            "knobs: answer the RandAugment object.",
            stop=True,
        )
    need(
        report,
        isinstance(answer, RandAugment),
        f"answer must be a keras.layers.RandAugment layer; got {describe(answer)}",
        "Build it with keras.layers.RandAugment(...) and assign the layer to answer.",
    )
    report.passed.append("answer is a RandAugment layer")
    config = answer.get_config()

    low, high = (float(v) for v in config["value_range"])
    want_low, want_high = _RAND_TASK["value_range"]
    if (low, high) == (0.0, 255.0):
        top = answer.factor[1] * (high - low)
        grey = np.full((1, 4, 4, 3), 0.6, dtype="float32")
        posterized = quietly(answer.random_posterization, grey, training=True)
        report.fail(
            "value_range is (0, 255), the default, but the images are in [0, 1]: the colour "
            f"operations then work on the 0-255 scale (the brightness step adds up to "
            f"{top:.0f} to pixels that should stay below 1, and posterize turns a grey of "
            f"0.6 into {float(np.max(posterized)):.1f}); got value_range (0, 255)",
            "value_range tells the colour operations where black and white are: give the "
            "range of the images the layer receives.",
        )
    else:
        report.expect(
            (low, high) == (want_low, want_high),
            "value_range is (0, 1), the range of the images it receives",
            f"value_range must be the images' range (0, 1); got {config['value_range']}",
            "value_range is the range of the pixel values the layer receives.",
        )

    num_ops = config["num_ops"]
    report.expect(
        num_ops == _RAND_TASK["num_ops"],
        "3 operations per image",
        f"num_ops is {num_ops}: {num_ops} operations per image; the task asks for 3"
        + ("; 2 operations per image is the default" if num_ops == 2 else "")
        + f"; got num_ops={num_ops}",
        "num_ops is the number of operations each image gets.",
    )

    turn = tuple(float(v) for v in answer.random_rotation.factor)
    want = (0.0, _RAND_TASK["turn"])
    if np.allclose(turn, want, atol=1e-6):
        report.passed.append(
            f"factor {config['factor']}: rotations from 0 to {turn[1] * 360:.0f} degrees"
        )
    elif np.isclose(turn[1], want[1] / 2, atol=1e-6):
        report.fail(
            f"factor {config['factor']} gives rotations from 0 to {turn[1] * 360:.0f} degrees, "
            "one way only, not plus or minus that; the task asks for at most 54; got "
            f"factor {config['factor']}",
            "RandAugment's rotation range is (0, factor) of a turn, not (-factor, factor) as "
            "for RandomRotation(factor): the whole 54 degrees is the factor.",
        )
    else:
        report.fail(
            f"factor {config['factor']} gives rotations from {turn[0] * 360:.0f} to "
            f"{turn[1] * 360:.0f} degrees; the task asks for 0 to 54; got factor "
            f"{config['factor']}",
            "The rotation reads the factor as a fraction of a full turn (360 degrees).",
        )


# ---------------------------------------------------------------------------
# 07.tta-predict

_TTA_SETUP = """
import keras
import numpy as np
"""

_TTA_N = 4


def _tta_model() -> Any:
    """A tiny fixed model: 8x8x3 images on the 0-255 scale to 3 class probabilities.

    It counts the predictions asked of it (``predict`` calls and direct calls outside a
    traced function), so the check can tell one draw predicted n times from one draw.
    """
    import keras
    import tensorflow as tf

    class Counting(keras.Sequential):
        uses = 0

        def predict(self, *args: Any, **kwargs: Any) -> Any:
            self.uses += 1
            return super().predict(*args, **kwargs)

        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            if tf.executing_eagerly():
                self.uses += 1
            return super().__call__(*args, **kwargs)

    model = Counting(
        [
            keras.Input((8, 8, 3)),
            keras.layers.Rescaling(1 / 255),
            keras.layers.Flatten(),
            keras.layers.Dense(3, activation="softmax"),
        ]
    )
    rng = np.random.default_rng(707)
    model.set_weights([rng.normal(0, 0.4, (192, 3)).astype("float32"), np.zeros(3, "float32")])
    return model


def _tta_images() -> np.ndarray:
    return np.random.default_rng(70).uniform(40, 215, (6, 8, 8, 3)).astype("float32")


def _probe_class() -> type:
    """A Keras layer that augments (a random brightness shift per image) only in training
    mode, as Keras's own augmentation layers do, and keeps every draw it makes."""
    import keras
    import tensorflow as tf

    class Probe(keras.layers.Layer):
        def __init__(self, shift: float = 60.0, seed: int = 0, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.shift = shift
            self.rng = np.random.default_rng(seed)
            self.draws: list[np.ndarray] = []
            self.inference_calls = 0
            self.graph_calls = 0

        def call(self, images, training=True):
            if not training:
                self.inference_calls += 1
                return images
            if not tf.executing_eagerly():  # inside a traced function: cannot keep the draw
                self.graph_calls += 1
                return images
            n = int(images.shape[0])
            delta = self.rng.uniform(-self.shift, self.shift, (n, 1, 1, 1)).astype("float32")
            out = tf.convert_to_tensor(images) + delta
            self.draws.append(np.asarray(out))
            return out

    return Probe


def _as_probabilities(report: Report, what: str, value: Any, shape: tuple) -> np.ndarray:
    array = as_array(
        report,
        value,
        f"{what} must return an array of probabilities {shape}",
        "Return the averaged probabilities: one row per image, one column per class.",
    )
    if array.shape == shape[:1]:
        report.fail(
            f"{what} returns one number per image (class numbers, after argmax?); the task "
            f"asks for the averaged probabilities, shape {shape}; got shape {array.shape}",
            "Average the probabilities and return them; argmax comes after, when you need "
            "the predicted class.",
            stop=True,
        )
    if array.ndim == 3 and array.shape[1:] == shape:
        report.fail(
            f"{what} returns every draw, shape (draws, images, classes), not their average; "
            f"got shape {array.shape}",
            "Average over the draws: the axis that runs over the n predictions.",
            stop=True,
        )
    need(
        report,
        array.shape == shape,
        f"{what} must have shape {shape}, one row of probabilities per image; got shape "
        f"{array.shape}",
        "Average over the draws (axis 0 of a list of predictions), not over images or classes.",
    )
    need(
        report,
        bool(np.all(np.isfinite(array))),
        f"{what}: probabilities must be finite numbers; got {np.round(array, 3).tolist()}",
        "Average the model's probabilities.",
    )
    return array


@exercise(
    "07.tta-predict",
    title="Test-time augmentation as a function",
    minutes=8,
    task=(
        "Write tta_predict(model, images, augment, n): the class probabilities averaged over "
        "n augmented draws of the images, each draw made by augment(images, training=True) "
        "and predicted by the model; shape (len(images), num_classes); answer = tta_predict."
    ),
    hints=(
        "One draw is one call of the augmenter on the batch followed by one prediction; n "
        "draws give n arrays of probabilities of the same shape.",
        "Keras augmentation layers change images only in training mode, and model.predict "
        "runs every layer inside the model in inference mode: call the augmenter yourself.",
        "The average of n probability rows is again a probability row (it adds up to 1); a "
        "sum or a maximum is not.",
    ),
    setup=_TTA_SETUP,
    solution="""
    def tta_predict(model, images, augment, n):
        draws = [
            model.predict(augment(images, training=True), verbose=0)  # a new draw each time
            for _ in range(n)
        ]
        return np.mean(draws, axis=0)  # (images, classes): the mean over the n draws


    answer = tta_predict
    """,
    wrong=(
        (
            """
            def tta_predict(model, images, augment, n):
                return model.predict(augment(images, training=True), verbose=0)
            answer = tta_predict
            """,
            "one draw",
        ),
        (
            """
            def tta_predict(model, images, augment, n):
                draws = [model.predict(augment(images, training=True), verbose=0) for _ in range(n)]
                return np.max(draws, axis=0)
            answer = tta_predict
            """,
            "largest probability",
        ),
        (
            """
            def tta_predict(model, images, augment, n):
                with_augment = keras.Sequential([augment, model])
                return np.mean([with_augment.predict(images, verbose=0) for _ in range(n)], axis=0)
            answer = tta_predict
            """,
            "never ran in training mode",
        ),
        (
            """
            def tta_predict(model, images, augment, n):
                draws = [model.predict(augment(images, training=True), verbose=0) for _ in range(n)]
                return np.sum(draws, axis=0)
            answer = tta_predict
            """,
            "a sum",
        ),
        (
            """
            def tta_predict(model, images, augment, n):
                augmented = augment(images, training=True)
                return np.mean([model.predict(augmented, verbose=0) for _ in range(n)], axis=0)
            answer = tta_predict
            """,
            "the same augmented images",
        ),
    ),
)
def _tta_predict(answer: Any, report: Report) -> None:
    import keras

    need_function(answer, report, "tta_predict(model, images, augment, n)")
    model = _tta_model()
    images = _tta_images()
    plain = np.asarray(model.predict(images, verbose=0), dtype="float64")
    shape = plain.shape
    call_hint = "Call it as tta_predict(model, images, augment, n) on the lesson's model first."

    # n = 1 with an augmenter that changes nothing: the plain prediction.
    what = "tta_predict(model, images, keras.layers.Identity(), n=1)"
    got = report.attempt(
        what, lambda: quietly(answer, model, images.copy(), keras.layers.Identity(), 1), call_hint
    )
    got = _as_probabilities(report, what, got, shape)
    need(
        report,
        np.allclose(got, plain, atol=1e-5),
        f"{what} must equal model.predict(images), since nothing changes the images; got "
        f"{np.round(got[0], 3).tolist()} for the first image instead of "
        f"{np.round(plain[0], 3).tolist()}",
        "With n = 1 and an augmenter that returns its input, test-time augmentation is the "
        "plain prediction.",
    )
    report.passed.append(f"{what} equals model.predict(images)")

    # n draws of an augmenter that keeps its draws: the mean of their predictions.
    probe = _probe_class()(seed=7)
    what = f"tta_predict(model, images, augment, n={_TTA_N})"
    model.uses = 0
    got = report.attempt(
        what, lambda: quietly(answer, model, images.copy(), probe, _TTA_N), call_hint
    )
    uses = model.uses
    draws = list(probe.draws)
    if not draws:
        report.fail(
            f"{what}: the augmentation never ran in training mode, so every copy is the "
            "plain image; got "
            + (
                f"{probe.inference_calls + probe.graph_calls} call(s) inside a model's "
                "predict or with training=False"
                if probe.inference_calls or probe.graph_calls
                else "no call of augment"
            ),
            "Inside model.predict every layer runs in inference mode, where augmentation "
            "layers do nothing: call augment(images, training=True) yourself, before predict.",
            stop=True,
        )
    got = _as_probabilities(report, what, got, shape)
    predictions = np.stack([np.asarray(model(d, training=False), "float64") for d in draws])
    sums = got.sum(axis=1)
    if np.allclose(sums, len(draws), atol=1e-3) and len(draws) > 1:
        report.fail(
            f"{what}: each row adds up to {len(draws)}: a sum of the draws, not their mean; got "
            f"row sums {np.round(sums, 3).tolist()}",
            "Divide the sum by n (or use np.mean over the draws) so each row is again a "
            "probability distribution.",
            stop=True,
        )
    if len(draws) > 1 and np.allclose(got, predictions.max(axis=0), atol=1e-5):
        report.fail(
            f"{what}: each entry is the largest probability over the draws, not the mean; got "
            f"row sums {np.round(sums, 3).tolist()}",
            "A maximum taken class by class is no longer a probability distribution; average "
            "the draws.",
            stop=True,
        )
    if len(draws) == 1 and _TTA_N > 1:
        repeated = uses >= _TTA_N
        report.fail(
            f"{what}: augment ran once, so "
            + (
                f"the {_TTA_N} predictions are of the same augmented images (one draw, "
                "predicted n times)"
                if repeated
                else "the result comes from one draw"
            )
            + f"; got 1 draw for n = {_TTA_N}",
            "Each of the n predictions needs a draw of its own: call the augmenter inside the loop."
            if repeated
            else "Make n draws and average their predictions; n is the number of augmented copies.",
            stop=True,
        )
    need(
        report,
        len(draws) == _TTA_N,
        f"{what}: augment made {len(draws)} draws; n = {_TTA_N} asks for {_TTA_N}; got "
        f"{len(draws)} draws",
        "One call of the augmenter per draw, n draws in all (n = 0 is not a case here).",
    )
    mean = predictions.mean(axis=0)
    need(
        report,
        np.allclose(got, mean, atol=1e-5),
        f"{what} must be the mean of the {_TTA_N} draws' probabilities, "
        f"{np.round(mean[0], 3).tolist()} for the first image; got "
        f"{np.round(got[0], 3).tolist()}",
        "Predict each augmented copy with the model and average the probabilities over the draws.",
    )
    report.passed.append(
        f"{what}: {_TTA_N} draws in training mode, averaged; each row adds up to 1"
    )
    report.passed.append(
        f"the average differs from the plain prediction by up to {np.abs(got - plain).max():.3f}"
    )

    # A real Keras augmentation layer.
    layer = keras.layers.RandomBrightness(0.3, seed=3)
    what = "tta_predict(model, images, keras.layers.RandomBrightness(0.3), n=3)"
    got = report.attempt(what, lambda: quietly(answer, model, images.copy(), layer, 3), call_hint)
    got = _as_probabilities(report, what, got, shape)
    report.expect(
        np.allclose(got.sum(axis=1), 1, atol=1e-4) and not np.allclose(got, plain, atol=1e-4),
        f"{what}: probabilities that add up to 1 and differ from the plain prediction",
        f"{what}: the rows should add up to 1 and differ from model.predict(images); got row "
        f"sums {np.round(got.sum(axis=1), 3).tolist()}",
        "Call the augmenter with training=True so that the Keras layer draws a change.",
    )


# ---------------------------------------------------------------------------
# 07.ranges-overlap

_OVERLAP_SETUP = """
import numpy as np
"""

#: (what the case shows, test set, interval, {set-up: accuracies per seed, per test set}).
_TESTS = ("upright", "any pose")


def _overlap_cases() -> list[tuple[str, str, str, str, dict[str, dict[str, list[float]]]]]:
    """Each case: (message when wrong, test, interval, accuracies by set-up and test)."""

    def both(upright: list[float], any_pose: list[float] | None = None) -> dict:
        return {"upright": upright, "any pose": any_pose or [v - 0.2 for v in upright]}

    return [
        (
            "two ranges that share values: 0.40-0.52 and 0.44-0.58",
            "upright",
            "range",
            {"MixUp": both([0.40, 0.52, 0.46]), "none": both([0.44, 0.58, 0.50])},
        ),
        (
            "MixUp's range 0.30-0.35 lies entirely below none's 0.40-0.45: no shared value",
            "upright",
            "range",
            {"MixUp": both([0.30, 0.35, 0.33]), "none": both([0.40, 0.45, 0.42])},
        ),
        (
            "MixUp's range 0.40-0.45 lies entirely above none's 0.30-0.35: no shared value, "
            "so both ends must be compared, each range's low with the other's high",
            "upright",
            "range",
            {"MixUp": both([0.40, 0.45, 0.42]), "none": both([0.30, 0.35, 0.33])},
        ),
        (
            "ranges 0.30-0.52 and 0.50-0.70 share 0.50-0.52, although each mean lies outside "
            "the other's range: overlap is about the seeds' lowest and highest accuracy",
            "upright",
            "range",
            {"MixUp": both([0.30, 0.52, 0.34]), "none": both([0.50, 0.70, 0.66])},
        ),
        (
            "ranges 0.40-0.45 and 0.45-0.50 touch: they share the value 0.45, so they overlap",
            "upright",
            "range",
            {"MixUp": both([0.40, 0.45, 0.42]), "none": both([0.45, 0.50, 0.48])},
        ),
        (
            "on 'any pose' the ranges 0.10-0.15 and 0.40-0.45 are apart, while on 'upright' "
            "they overlap: read the column of the test set asked for",
            "any pose",
            "range",
            {
                "MixUp": both([0.40, 0.45, 0.42], [0.10, 0.15, 0.12]),
                "none": both([0.41, 0.46, 0.43], [0.40, 0.45, 0.42]),
            },
        ),
        (
            "mean -/+ sd: 0.48 -/+ 0.08 and 0.62 -/+ 0.08 share 0.54-0.56 with the sample "
            "standard deviation (ddof=1) that Comparison uses; np.std's default (ddof=0) "
            "gives 0.065 and no overlap",
            "upright",
            "sd",
            {"MixUp": both([0.40, 0.48, 0.56]), "none": both([0.54, 0.62, 0.70])},
        ),
        (
            "interval='sd': the ranges 0.40-0.55 and 0.54-0.69 overlap, but mean -/+ sd "
            "(0.37-0.54 and 0.55-0.72) do not: the interval argument chooses which to compare",
            "upright",
            "sd",
            {"MixUp": both([0.40, 0.41, 0.55]), "none": both([0.54, 0.68, 0.69])},
        ),
    ]


def _comparison(accuracies: dict[str, dict[str, list[float]]]) -> Any:
    from course_utils.compare import Comparison, Run

    seeds = (0, 1, 2)
    runs = [
        Run(
            setup=name,
            seed=seed,
            accuracy={test: float(accuracies[name][test][i]) for test in _TESTS},
            train_loss=1.0,
            train_accuracy=0.5,
            seconds=1.0,
            epochs=5,
        )
        for name in accuracies
        for i, seed in enumerate(seeds)
    ]
    return Comparison(runs, list(accuracies), list(_TESTS), seeds, epochs=5, batch_size=32)


@exercise(
    "07.ranges-overlap",
    title="Do two set-ups overlap?",
    minutes=8,
    task=(
        "Write overlap(records, a, b, test, interval='range'): from records as "
        "result.records() gives them (one dict per run, with 'setup' and "
        "'accuracy[<test>]'), True when set-ups a and b share a value on that test: their "
        "seeds' lowest-to-highest ranges, or mean -/+ sample standard deviation for "
        "interval='sd', as Comparison.overlaps; answer = overlap."
    ),
    hints=(
        "Collect each set-up's accuracies on the test asked for (one per seed), then reduce "
        "each set-up to an interval (low, high).",
        "Two intervals share a value unless one ends before the other begins; that takes two "
        "comparisons, and intervals that only touch still share their end point.",
        "For interval='sd' the spread is the sample standard deviation over the seeds, the "
        "one that divides by n - 1 (Comparison.spread's sd).",
    ),
    setup=_OVERLAP_SETUP,
    solution="""
    def overlap(records, a, b, test, interval="range"):
        column = f"accuracy[{test}]"

        def bounds(setup):
            values = np.array([r[column] for r in records if r["setup"] == setup])
            if interval == "range":
                return values.min(), values.max()
            sd = values.std(ddof=1)  # the sample standard deviation, as Comparison.spread
            return values.mean() - sd, values.mean() + sd

        low_a, high_a = bounds(a)
        low_b, high_b = bounds(b)
        return bool(low_a <= high_b and low_b <= high_a)  # neither ends before the other begins


    answer = overlap
    """,
    wrong=(
        (
            """
            def overlap(records, a, b, test, interval="range"):
                values_a = [r[f"accuracy[{test}]"] for r in records if r["setup"] == a]
                values_b = [r[f"accuracy[{test}]"] for r in records if r["setup"] == b]
                return max(values_a) >= min(values_b)
            answer = overlap
            """,
            "entirely above",
        ),
        (
            """
            def overlap(records, a, b, test, interval="range"):
                values_a = [r[f"accuracy[{test}]"] for r in records if r["setup"] == a]
                values_b = [r[f"accuracy[{test}]"] for r in records if r["setup"] == b]
                return min(values_a) < max(values_b) and min(values_b) < max(values_a)
            answer = overlap
            """,
            "touch",
        ),
        (
            """
            def overlap(records, a, b, test, interval="range"):
                values_a = [r[f"accuracy[{test}]"] for r in records if r["setup"] == a]
                values_b = [r[f"accuracy[{test}]"] for r in records if r["setup"] == b]
                mean_a, mean_b = np.mean(values_a), np.mean(values_b)
                return bool(min(values_b) <= mean_a <= max(values_b)
                            or min(values_a) <= mean_b <= max(values_a))
            answer = overlap
            """,
            "each mean lies outside",
        ),
        (
            """
            def overlap(records, a, b, test, interval="range"):
                values_a = [r["accuracy[upright]"] for r in records if r["setup"] == a]
                values_b = [r["accuracy[upright]"] for r in records if r["setup"] == b]
                return min(values_a) <= max(values_b) and min(values_b) <= max(values_a)
            answer = overlap
            """,
            "read the column of the test set",
        ),
        (
            """
            def overlap(records, a, b, test, interval="range"):
                def bounds(setup):
                    column = f"accuracy[{test}]"
                    values = np.array([r[column] for r in records if r["setup"] == setup])
                    if interval == "range":
                        return values.min(), values.max()
                    return values.mean() - values.std(), values.mean() + values.std()
                low_a, high_a = bounds(a)
                low_b, high_b = bounds(b)
                return bool(low_a <= high_b and low_b <= high_a)
            answer = overlap
            """,
            "ddof=1",
        ),
        (
            """
            def overlap(records, a, b, test, interval="range"):
                values_a = [r[f"accuracy[{test}]"] for r in records if r["setup"] == a]
                values_b = [r[f"accuracy[{test}]"] for r in records if r["setup"] == b]
                return min(values_a) <= max(values_b) and min(values_b) <= max(values_a)
            answer = overlap
            """,
            "the interval argument chooses",
        ),
    ),
)
def _ranges_overlap(answer: Any, report: Report) -> None:
    need_function(answer, report, "overlap(records, a, b, test, interval='range')")
    for number, (text, test, interval, accuracies) in enumerate(_overlap_cases(), 1):
        result = _comparison(accuracies)
        records = result.records()
        records = records[1::2] + records[::2]  # not grouped by set-up: select, do not slice
        expected = result.overlaps("MixUp", "none", test, interval=interval)
        call = f"overlap(records, 'MixUp', 'none', {test!r}, interval={interval!r})"
        got = report.attempt(
            f"case {number}: {call}",
            lambda records=records, test=test, interval=interval: quietly(
                answer, copy.deepcopy(records), "MixUp", "none", test, interval=interval
            ),
            "Each record is a dict: record['setup'] and record[f'accuracy[{test}]'].",
        )
        need(
            report,
            isinstance(got, (bool, np.bool_)),
            f"case {number}: {call} must return True or False; got {describe(got)}",
            "Return the comparison itself (a bool), not the intervals or a sentence.",
        )
        need(
            report,
            bool(got) == expected,
            f"case {number}: {text}; Comparison.overlaps says {expected}; got {bool(got)}",
            {
                1: "Compute each set-up's lowest and highest accuracy on the test asked for.",
                2: "Ranges apart share no value: the answer is False.",
                3: "Check both ways: a's low against b's high, and b's low against a's high.",
                4: "Compare the ends of the intervals, not the means.",
                5: "A shared end point is a shared value: compare with <=, not <.",
                6: "Select the accuracies with the key f'accuracy[{test}]'.",
                7: "Comparison uses the sample standard deviation: np.std(values, ddof=1).",
                8: "With interval='sd' each interval is mean - sd to mean + sd.",
            }[number],
        )
    report.passed.append(
        f"agrees with Comparison.overlaps in all {len(_overlap_cases())} cases: apart, "
        "touching, either order, per test set, range and mean -/+ sd"
    )
