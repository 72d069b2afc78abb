"""Exercises of lesson 09, the capstone: a CNN that recognises the shapes in any pose.

The capstone is graded by three checks on the learner's real objects: the compiled model
(``09.model``), the training and validation pipelines (``09.pipeline``) and the trained
model itself (``09.accuracy``), which the check evaluates on a test set of its own, in any
pose, and whose training it reads from ``model.history``. The budget and the threshold are
the constants below; the notebook states them from here.
"""

from __future__ import annotations

import functools
import hashlib
import math
from typing import Any

import numpy as np

from course_utils._validation import describe
from course_utils.exercises._checks import dataset_pair, read_batches
from course_utils.exercises._core import Report, exercise

#: The fixed budget: images of IMAGE_SIZE x IMAGE_SIZE x 3, N_TRAIN of them, at most EPOCHS epochs.
IMAGE_SIZE = 32
N_TRAIN = 2000
EPOCHS = 20
#: Accuracy the trained model must reach on the check's own any-pose test set.
THRESHOLD = 0.75
#: The check's test set: TEST_IMAGES shapes in any pose, drawn with a seed of its own.
TEST_IMAGES = 1000
TEST_SEED = 909

_SETUP = f"""
import keras
import numpy as np
import tensorflow as tf
from course_utils.data import load_dataset

SEED = 0
IMAGE_SIZE = {IMAGE_SIZE}
N_TRAIN = {N_TRAIN}
EPOCHS = {EPOCHS}
BATCH_SIZE = 32
keras.utils.set_random_seed(SEED)
splits = load_dataset("shapes", image_size=IMAGE_SIZE, n_train=N_TRAIN, n_val=300, n_test=500,
                      test_rotation=180, seed=SEED)
class_names = splits.class_names
num_classes = len(class_names)
"""

_SMALL_SETUP = _SETUP.replace("n_train=N_TRAIN", "n_train=96").replace("n_val=300", "n_val=64")

_MODEL_SOLUTION = """
model = keras.Sequential(
    [
        keras.Input((IMAGE_SIZE, IMAGE_SIZE, 3)),
        keras.layers.Rescaling(1 / 255),
        keras.layers.Conv2D(32, 3, activation="relu"),
        keras.layers.MaxPooling2D(),
        keras.layers.Conv2D(64, 3, activation="relu"),
        keras.layers.MaxPooling2D(),
        keras.layers.Flatten(),
        keras.layers.Dense(128, activation="relu"),
        keras.layers.Dropout(0.3),
        keras.layers.Dense(num_classes, activation="softmax"),
    ]
)
model.compile(
    optimizer=keras.optimizers.Adam(0.001),
    loss="sparse_categorical_crossentropy",
    metrics=["accuracy"],
)
answer = model
"""

_PIPELINE_SOLUTION = """
AUTOTUNE = tf.data.AUTOTUNE
augment = keras.layers.Pipeline(
    [
        keras.layers.RandomRotation(0.5, seed=SEED),  # any pose: up to half a turn either way
    ]
)


def to_float(images, labels):
    return tf.cast(images, tf.float32), labels


def augment_batch(images, labels):
    return augment(images, training=True), labels


train_ds = (
    tf.data.Dataset.from_tensor_slices((splits.x_train, splits.y_train))
    .shuffle(len(splits.x_train), seed=SEED)
    .batch(BATCH_SIZE)
    .map(to_float, num_parallel_calls=AUTOTUNE)
    .map(augment_batch, num_parallel_calls=AUTOTUNE)
    .prefetch(AUTOTUNE)
)
val_ds = (
    tf.data.Dataset.from_tensor_slices((splits.x_val, splits.y_val))
    .batch(BATCH_SIZE)
    .map(to_float, num_parallel_calls=AUTOTUNE)
    .prefetch(AUTOTUNE)
)
answer = (train_ds, val_ds)
"""

_TRAIN_SOLUTION = """
history = model.fit(train_ds, validation_data=val_ds, epochs=EPOCHS, shuffle=False, verbose=0)
answer = model
"""


def _as_model(answer: Any, report: Report, what: str) -> Any:
    import keras

    report.require(
        isinstance(answer, keras.Model),
        f"{what} is a Keras model",
        f"answer must be {what}, a keras.Model; got {describe(answer)}",
        "Build the model with keras.Sequential([...]) and assign the model itself to answer.",
    )
    shape = _shape(answer, "input_shape")
    report.require(
        shape == (None, IMAGE_SIZE, IMAGE_SIZE, 3),
        f"it takes batches of {IMAGE_SIZE}x{IMAGE_SIZE}x3 images",
        f"the model must take input of shape (None, {IMAGE_SIZE}, {IMAGE_SIZE}, 3), the budget's "
        f"image size; got {shape}",
        "Start the model with keras.Input((IMAGE_SIZE, IMAGE_SIZE, 3)).",
    )
    return answer


def _shape(model: Any, name: str) -> tuple | None:
    """``model.input_shape`` or ``model.output_shape``; None for a model not built yet."""
    try:
        return tuple(getattr(model, name))
    except Exception:  # an unbuilt or subclassed model has no shape to show yet
        return None


def _probe_images(n: int = 8) -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, size=(n, IMAGE_SIZE, IMAGE_SIZE, 3)).astype("float32")


@exercise(
    "09.model",
    title="A compiled CNN for the capstone",
    minutes=5,
    task=(
        "Build a CNN with keras.Sequential that takes IMAGE_SIZE x IMAGE_SIZE x 3 images and "
        "outputs one probability per class, compile it for integer labels with the accuracy "
        "metric; answer = model."
    ),
    hints=(
        "A CNN has convolution layers: Conv2D and pooling before the Dense layers.",
        "The last layer gives one probability per class: as many units as classes, and an "
        "activation that makes them add up to 1.",
        "The labels are class numbers (0, 1, 2, ...), not one-hot vectors: pick the loss that "
        "takes integer labels, and ask compile for the accuracy metric.",
    ),
    setup=_SMALL_SETUP,
    solution=_MODEL_SOLUTION,
    wrong=(
        (
            _MODEL_SOLUTION.split("model.compile")[0] + "answer = model\n",
            "not compiled",
        ),
        (
            _MODEL_SOLUTION.replace('activation="softmax"', "activation=None"),
            "do not add up to 1",
        ),
        (
            _MODEL_SOLUTION.replace(
                '"sparse_categorical_crossentropy"', '"categorical_crossentropy"'
            ),
            "integer labels",
        ),
        (
            """
            model = keras.Sequential([
                keras.Input((IMAGE_SIZE, IMAGE_SIZE, 3)),
                keras.layers.Rescaling(1 / 255),
                keras.layers.Flatten(),
                keras.layers.Dense(128, activation="relu"),
                keras.layers.Dense(num_classes, activation="softmax"),
            ])
            model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                          metrics=["accuracy"])
            answer = model
            """,
            "no Conv2D layer",
        ),
    ),
)
def _model(answer: Any, report: Report) -> None:
    import keras

    model = _as_model(answer, report, "the compiled model")
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    report.expect(
        bool(convs),
        f"it is a CNN: {len(convs)} Conv2D layer(s)",
        "the model has no Conv2D layer: it is not a convolutional network",
        "A CNN learns local patterns with keras.layers.Conv2D (and pooling) before the Dense "
        "layers.",
    )
    outputs = _shape(model, "output_shape")
    report.require(
        isinstance(outputs, tuple) and len(outputs) == 2 and (outputs[-1] or 0) >= 2,
        f"it outputs {outputs[-1]} numbers per image, one per class",
        f"the model must output one number per class, shape (None, classes); got {outputs}",
        "End with keras.layers.Dense(num_classes, ...).",
    )
    classes = int(outputs[-1])
    out = report.attempt(
        "Calling your model on a batch of images",
        lambda: np.asarray(model(_probe_images(), training=False)),
    )
    sums = out.sum(axis=1)
    shown = [round(float(total), 2) for total in sums[:3]]
    report.expect(
        bool(np.all(out >= 0) and np.allclose(sums, 1, atol=1e-3)),
        "its outputs are probabilities (each row adds up to 1)",
        f"its outputs are not probabilities: rows add up to {shown} and do not add up to 1",
        "The last Dense layer needs the activation that turns scores into probabilities.",
    )
    report.require(
        bool(getattr(model, "compiled", False)) and getattr(model, "optimizer", None) is not None,
        "it is compiled",
        "the model is not compiled: fit and evaluate need an optimizer, a loss and metrics",
        "Call model.compile(optimizer=..., loss=..., metrics=[...]) before answering.",
    )
    labels = np.arange(8) % classes
    scores = report.attempt(
        "Evaluating your model on integer labels",
        lambda: model.evaluate(_probe_images(), labels, verbose=0, return_dict=True),
        hint="The labels are class numbers: the loss must accept integer labels, one per image.",
    )
    report.expect(
        isinstance(scores, dict) and any("acc" in str(key) for key in scores),
        "it reports accuracy",
        f"compile has no accuracy metric: evaluate reports {sorted(scores) if scores else scores}",
        'Pass metrics=["accuracy"] to compile: the capstone is graded on accuracy.',
    )


def _hashes(dataset: Any, report: Report, name: str, limit: int = 200) -> tuple[list, list]:
    """(image hashes, labels) of every element of one pass (up to ``limit`` batches)."""
    batches = read_batches(dataset, report, name, limit)
    hashes = [
        hashlib.sha1(image.tobytes()).hexdigest() for images, _ in batches for image in images
    ]
    return hashes, [y for _, labels in batches for y in labels.reshape(-1).tolist()]


@exercise(
    "09.pipeline",
    title="Pipelines: augmented training, plain validation",
    minutes=8,
    task=(
        "Build train_ds from splits.x_train and splits.y_train (shuffled, batched, float32, "
        "augmented on the fly with random layers that prepare the model for any pose) and val_ds "
        "from splits.x_val and splits.y_val (batched, float32, never augmented); "
        "answer = (train_ds, val_ds)."
    ),
    hints=(
        "The test shapes stand in any pose; the training shapes stand upright. Which random "
        "layer makes upright training images look like the test images?",
        "Augmentation belongs in the training pipeline only: validation measures the model on "
        "the images as they are, the same ones every time.",
        "A shuffle mixes single images before batch; a map with the augmentation layers "
        "(training=True) changes every batch on every pass.",
    ),
    setup=_SMALL_SETUP,
    solution=_PIPELINE_SOLUTION,
    wrong=(
        (
            _PIPELINE_SOLUTION.replace(
                "    .map(augment_batch, num_parallel_calls=AUTOTUNE)\n", ""
            ),
            "not augmented",
        ),
        (
            _PIPELINE_SOLUTION.replace(
                "    .map(to_float, num_parallel_calls=AUTOTUNE)\n    .prefetch(AUTOTUNE)\n)\n"
                "answer",
                "    .map(to_float, num_parallel_calls=AUTOTUNE)\n"
                "    .map(augment_batch)\n    .prefetch(AUTOTUNE)\n)\nanswer",
            ),
            "val_ds changes from one pass to the next",
        ),
        (
            _PIPELINE_SOLUTION.replace("    .shuffle(len(splits.x_train), seed=SEED)\n", ""),
            "same order on every pass",
        ),
    ),
)
def _pipeline(answer: Any, report: Report) -> None:
    import tensorflow as tf

    train, val = dataset_pair(answer, report, both="pipelines")
    for name, value in (("train_ds", train), ("val_ds", val)):
        images = value.element_spec[0]
        report.require(
            isinstance(images, tf.TensorSpec)
            and images.dtype == tf.float32
            and images.shape.rank == 4,
            f"{name}: batches of float32 images",
            f"{name} must yield float32 batches of shape (batch, H, W, 3); got {images}",
            "Batch with .batch(BATCH_SIZE) and cast with tf.cast(images, tf.float32) in a map.",
        )
    one, labels_one = _hashes(train, report, "train_ds")
    two, labels_two = _hashes(train, report, "train_ds")
    report.require(bool(one), "train_ds yields images", "train_ds yields no images")
    report.expect(
        labels_one != labels_two,
        "train_ds comes in a new order on every pass",
        "train_ds gives the same order on every pass: it is not shuffled",
        "Add .shuffle(buffer_size) before .batch(); a buffer as large as the data mixes it fully.",
    )
    repeated = len(set(one) & set(two)) / len(set(one))
    report.expect(
        repeated < 0.5,
        "train_ds is augmented: the images change from one pass to the next",
        f"train_ds is not augmented: {repeated:.0%} of its images come back unchanged on the "
        "next pass",
        "Map the training batches through random augmentation layers, called with training=True.",
    )
    first, _ = _hashes(val, report, "val_ds")
    again, _ = _hashes(val, report, "val_ds")
    report.expect(
        first == again and bool(first),
        "val_ds gives the same images in the same order on every pass",
        "val_ds changes from one pass to the next: validation images must not be shuffled or "
        "augmented",
        "Measure on the images as they are: build val_ds without shuffle and without the "
        "augmentation layers.",
    )


@functools.lru_cache(maxsize=1)
def _any_pose_test() -> tuple[np.ndarray, np.ndarray]:
    from course_utils.data import load_dataset

    splits = load_dataset(
        "shapes",
        image_size=IMAGE_SIZE,
        n_train=10,
        n_val=10,
        n_test=TEST_IMAGES,
        test_rotation=180,
        seed=TEST_SEED,
    )
    return splits.x_test, splits.y_test


@exercise(
    "09.accuracy",
    title="Train within the budget and reach the threshold",
    minutes=10,
    task=(
        f"Train your model with model.fit on train_ds (validating on val_ds) for at most "
        f"{EPOCHS} epochs, so that it reaches an accuracy of at least {THRESHOLD:.2f} on shapes "
        "in any pose; answer = model (the check measures it on a test set of its own)."
    ),
    hints=(
        "The test shapes stand in any pose: a model that has only seen upright shapes "
        "recognises few of them. Augmentation that turns the training images is what helps.",
        "Within a fixed number of epochs, a model that learns faster wins: look at the "
        "learning rate, the size of the layers and how strongly you augment.",
        "Call fit once with epochs=EPOCHS; the check reads the epochs from model.history.",
    ),
    setup=_SETUP + _MODEL_SOLUTION + _PIPELINE_SOLUTION,
    solution=_TRAIN_SOLUTION,
    wrong=(
        ("answer = model  # compiled, not trained\n", "has not been trained"),
        (
            "model.fit(train_ds.take(2), epochs=EPOCHS + 1, shuffle=False, verbose=0)\n"
            "answer = model\n",
            "over the budget",
        ),
        (
            "model.fit(train_ds.take(2), epochs=1, shuffle=False, verbose=0)\nanswer = model\n",
            "below the threshold",
        ),
        (
            "model.fit(train_ds.take(2), epochs=EPOCHS, shuffle=False, verbose=0)\n"
            "model.fit(train_ds.take(2), epochs=EPOCHS, shuffle=False, verbose=0)\n"
            "answer = model\n",
            "fit was called more than once",
        ),
    ),
)
def _accuracy(answer: Any, report: Report) -> None:
    model = _as_model(answer, report, "your trained model")
    outputs = _shape(model, "output_shape")
    classes = outputs[-1] if outputs else None
    report.require(
        classes == 10,
        "it outputs the 10 classes of the shapes",
        f"this check grades the 10 classes of the shapes in any pose; your model outputs "
        f"{classes} (with your own photos, the notebook's last cells measure it instead)",
        'Train on DATASET = "shapes" for the graded run.',
    )
    history = getattr(model, "history", None)
    params = getattr(history, "params", None) or {}
    epochs = len(getattr(history, "epoch", []) or [])
    report.require(
        epochs > 0,
        f"it has been trained with fit: {epochs} epoch(s)",
        "the model has not been trained: model.history holds no epochs",
        "Train it with model.fit(train_ds, validation_data=val_ds, epochs=EPOCHS).",
    )
    budget_ok = epochs <= EPOCHS and int(params.get("epochs", epochs)) <= EPOCHS
    report.expect(
        budget_ok,
        f"it kept to the budget: {epochs} of at most {EPOCHS} epochs",
        f"the last fit ran {epochs} epochs, over the budget of {EPOCHS}",
        f"The budget is {EPOCHS} epochs of the {N_TRAIN} training images: pass epochs=EPOCHS.",
    )
    steps = params.get("steps")
    limit = math.ceil(N_TRAIN / 8)
    report.expect(
        steps is None or int(steps) <= limit,
        "it kept to the budget's training images",
        f"an epoch took {steps} steps, more than {N_TRAIN} images in batches of 8 or more "
        f"({limit} steps): over the budget",
        f"The budget is {N_TRAIN} training images per epoch: do not repeat them in one epoch.",
    )
    optimizer = getattr(model, "optimizer", None)
    iterations = getattr(optimizer, "iterations", None)
    updates = int(np.asarray(iterations)) if iterations is not None else 0
    allowed = EPOCHS * int(steps) if steps else None
    if budget_ok and allowed is not None:  # one fit within the epochs; were there others?
        report.expect(
            updates <= allowed,
            f"the optimizer made {updates} weight updates, within the budget",
            f"the optimizer made {updates} weight updates, more than {EPOCHS} epochs of {steps} "
            f"steps ({allowed}): fit was called more than once, over the budget",
            "model.history only shows the last fit; the weights remember every call. Build "
            "and compile the model again, then train it with one fit.",
        )
    x_test, y_test = _any_pose_test()
    predicted = report.attempt(
        "Predicting the test images with your model",
        lambda: np.asarray(model.predict(x_test.astype("float32"), batch_size=250, verbose=0)),
    )
    accuracy = float(np.mean(predicted.argmax(axis=1) == y_test))
    report.expect(
        accuracy >= THRESHOLD,
        f"accuracy on {len(y_test)} shapes in any pose: {accuracy:.3f}, at least {THRESHOLD:.2f}",
        f"accuracy on {len(y_test)} shapes in any pose: {accuracy:.3f}, below the threshold of "
        f"{THRESHOLD:.2f}",
        "Compare the poses of the training and the test images; then make the model learn "
        "faster within the budget.",
    )
