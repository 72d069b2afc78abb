"""Compare training set-ups (augmentations) over several seeds, honestly.

:func:`compare` trains the same model, with the same budget, once per set-up
and seed, and measures its accuracy on one or more test sets. It returns a
:class:`Comparison`: the per-run numbers as data (:attr:`Comparison.runs`),
the spread over seeds (:meth:`Comparison.spread`), whether two set-ups'
intervals overlap (:meth:`Comparison.overlaps`), a table (HTML in Jupyter,
text in a terminal, :meth:`Comparison.to_markdown`) and a plot
(:meth:`Comparison.plot`).

Each run is the tf.data chain that the lessons write out::

    keras.utils.set_random_seed(seed)
    ds = tf.data.Dataset.from_tensor_slices((x_train, one_hot_labels))
    ds = ds.shuffle(len(x_train), seed=seed).batch(batch_size)
    ds = ds.map(augment)          # per batch; skipped for the set-up None
    ds = ds.prefetch(tf.data.AUTOTUNE)
    model = build_model()
    model.fit(ds, epochs=epochs, verbose=0, shuffle=False)

Labels go in one-hot (float32), so set-ups that mix labels (``MixUp``,
``CutMix``) work, and the model must be compiled with a loss for one-hot
labels such as ``"categorical_crossentropy"``. Images go in as float32 on the
0-255 scale (the ``value_range`` default of the Keras image layers); the model
rescales them itself. The batches are mapped one after another (no
``num_parallel_calls``), so that the same seed repeats the same run.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from course_utils import _display
from course_utils._validation import as_images, as_int, as_labels, describe

__all__ = ["Comparison", "Run", "Spread", "compare", "as_augment"]

_INTERVALS = ("range", "sd")


@dataclass(frozen=True)
class Run:
    """One trained model: a set-up, a seed and what it measured.

    Attributes
    ----------
    setup : str
        The set-up's name (a key of ``setups``).
    seed : int
        The seed of the run (weights, shuffling and augmentation).
    accuracy : dict of str to float
        Accuracy on each test set, by name.
    train_loss, train_accuracy : float
        The last epoch's training loss and accuracy as ``fit`` reports them:
        on the augmented (for MixUp and CutMix, mixed) training batches.
    seconds : float
        Wall time of ``fit``.
    epochs : int
        Epochs trained.
    """

    setup: str
    seed: int
    accuracy: dict[str, float]
    train_loss: float
    train_accuracy: float
    seconds: float
    epochs: int

    @property
    def seconds_per_epoch(self) -> float:
        """Wall time of one epoch, on average."""
        return self.seconds / self.epochs


@dataclass(frozen=True)
class Spread:
    """Mean and spread of one set-up's accuracy on one test set, over its seeds.

    Attributes
    ----------
    mean : float
        Mean accuracy over the seeds.
    sd : float
        Sample standard deviation (``ddof=1``; 0 for a single seed).
    low, high : float
        The lowest and the highest accuracy of the seeds.
    n : int
        Number of seeds.
    """

    mean: float
    sd: float
    low: float
    high: float
    n: int

    def interval(self, kind: str = "range") -> tuple[float, float]:
        """``(low, high)`` of the seeds (``"range"``) or ``mean -/+ sd`` (``"sd"``)."""
        _check_interval(kind)
        if kind == "range":
            return self.low, self.high
        return self.mean - self.sd, self.mean + self.sd

    def __str__(self) -> str:
        return f"{self.mean:.3f} ± {self.sd:.3f} ({self.low:.3f} to {self.high:.3f})"


def _check_interval(kind: object) -> str:
    if kind not in _INTERVALS:
        raise ValueError(f"interval must be one of {list(_INTERVALS)}; got {kind!r}")
    return str(kind)


class Comparison:
    """The result of :func:`compare`: every run's numbers, their spread, a table and a plot.

    Attributes
    ----------
    runs : tuple of Run
        One per set-up and seed, in set-up order, then seed order.
    setups, tests : tuple of str
        Names of the set-ups and of the test sets, in the order given.
    seeds : tuple of int
        The seeds every set-up was trained with.
    epochs, batch_size : int
        The training budget, the same for every run.

    Examples
    --------
    >>> result = compare({"none": None}, build, (x, y), {"test": (xt, yt)})  # doctest: +SKIP
    >>> result.spread("none", "test").mean  # doctest: +SKIP
    0.42
    """

    def __init__(
        self,
        runs: Sequence[Run],
        setups: Sequence[str],
        tests: Sequence[str],
        seeds: Sequence[int],
        epochs: int,
        batch_size: int,
    ) -> None:
        self.runs = tuple(runs)
        self.setups = tuple(setups)
        self.tests = tuple(tests)
        self.seeds = tuple(seeds)
        self.epochs = epochs
        self.batch_size = batch_size

    # ----------------------------------------------------------------- data

    def _check(self, setup: str, test: str) -> None:
        if setup not in self.setups:
            raise KeyError(f"no set-up {setup!r}; the set-ups are {list(self.setups)}")
        if test not in self.tests:
            raise KeyError(f"no test set {test!r}; the test sets are {list(self.tests)}")

    def accuracies(self, setup: str, test: str) -> np.ndarray:
        """One set-up's accuracy on one test set, one value per seed (in seed order)."""
        self._check(setup, test)
        return np.array([r.accuracy[test] for r in self.runs if r.setup == setup])

    def spread(self, setup: str, test: str) -> Spread:
        """Mean, standard deviation and range of :meth:`accuracies`."""
        values = self.accuracies(setup, test)
        sd = float(values.std(ddof=1)) if len(values) > 1 else 0.0
        return Spread(
            float(values.mean()), sd, float(values.min()), float(values.max()), len(values)
        )

    def overlaps(self, a: str, b: str, test: str, interval: str = "range") -> bool:
        """Whether set-ups ``a`` and ``b`` have overlapping intervals on ``test``.

        Parameters
        ----------
        a, b : str
            Two set-up names.
        test : str
            A test set name.
        interval : {"range", "sd"}
            ``"range"``: lowest to highest seed; ``"sd"``: mean -/+ one standard deviation.

        Returns
        -------
        bool
            True when the intervals share at least one value: the seeds do not
            separate the two set-ups, so a claim that one is better is not supported.
        """
        _check_interval(interval)
        low_a, high_a = self.spread(a, test).interval(interval)
        low_b, high_b = self.spread(b, test).interval(interval)
        return bool(low_a <= high_b and low_b <= high_a)

    def records(self) -> list[dict[str, Any]]:
        """The per-run numbers as a list of flat dicts (one per run), e.g. for pandas."""
        rows = []
        for run in self.runs:
            row: dict[str, Any] = {"setup": run.setup, "seed": run.seed}
            row.update({f"accuracy[{name}]": value for name, value in run.accuracy.items()})
            row.update(
                train_loss=run.train_loss,
                train_accuracy=run.train_accuracy,
                seconds=run.seconds,
                epochs=run.epochs,
            )
            rows.append(row)
        return rows

    @property
    def seconds(self) -> float:
        """Total wall time of all the ``fit`` calls."""
        return float(sum(run.seconds for run in self.runs))

    @property
    def seconds_per_epoch(self) -> float:
        """Mean wall time of one training epoch, over all runs."""
        return float(np.mean([run.seconds_per_epoch for run in self.runs]))

    # -------------------------------------------------------------- display

    def _rows(self) -> list[list[str]]:
        rows = []
        for setup in self.setups:
            row = [setup]
            for test in self.tests:
                spread = self.spread(setup, test)
                row += [
                    f"{spread.mean:.3f} ± {spread.sd:.3f}",
                    f"{spread.low:.3f} to {spread.high:.3f}",
                ]
            train = np.mean([r.train_accuracy for r in self.runs if r.setup == setup])
            row.append(f"{train:.3f}")
            rows.append(row)
        return rows

    def _headers(self) -> list[str]:
        headers = ["set-up"]
        for test in self.tests:
            headers += [f"{test}: mean ± sd", f"{test}: range"]
        return [*headers, "train accuracy (last epoch)"]

    def _caption(self) -> str:
        return (
            f"Test accuracy over {len(self.seeds)} seeds {list(self.seeds)}, {self.epochs} epochs, "
            f"batches of {self.batch_size}; {len(self.runs)} runs, "
            f"{self.seconds:.0f} s of training."
        )

    def __str__(self) -> str:
        return self._caption() + "\n" + _display.text_table(self._headers(), self._rows())

    def __repr__(self) -> str:
        return (
            f"Comparison({len(self.setups)} set-ups x {len(self.seeds)} seeds, "
            f"tests {list(self.tests)})"
        )

    def to_markdown(self) -> str:
        """The table as Markdown, with its caption above."""
        return self._caption() + "\n\n" + _display.markdown_table(self._headers(), self._rows())

    def _repr_html_(self) -> str:
        return _display.html_table(self._headers(), self._rows(), caption=self._caption())

    def plot(self, ax: Axes | None = None, **kwargs: Any) -> Axes:
        """Draw every seed's accuracy (dots) and each set-up's mean (bar) per test set.

        Parameters
        ----------
        ax : matplotlib Axes, optional
            Where to draw; a new Figure's Axes when None.
        **kwargs
            Passed to ``ax.scatter`` for the seeds' dots.

        Returns
        -------
        matplotlib.axes.Axes
            One group of points per set-up, one colour per test set.
        """
        if ax is None:
            figure = Figure(figsize=(1.3 * len(self.setups) + 2.5, 3.6), layout="constrained")
            ax = figure.add_subplot()
        elif not isinstance(ax, Axes):
            raise TypeError(f"ax must be a matplotlib Axes or None; got {describe(ax)}")
        width = 0.8 / len(self.tests)
        positions = np.arange(len(self.setups))
        for t, test in enumerate(self.tests):
            offset = (t - (len(self.tests) - 1) / 2) * width
            color = f"C{t}"
            for s, setup in enumerate(self.setups):
                spread = self.spread(setup, test)
                x = positions[s] + offset
                ax.vlines(x, spread.low, spread.high, color=color, alpha=0.5, linewidth=1)
                ax.hlines(spread.mean, x - width * 0.4, x + width * 0.4, color=color, linewidth=2.5)
                values = self.accuracies(setup, test)
                ax.scatter(
                    np.full(len(values), x),
                    values,
                    s=14,
                    color=color,
                    zorder=3,
                    label=test if s == 0 else None,
                    **kwargs,
                )
        ax.set_xticks(positions, self.setups, rotation=20, ha="right")
        ax.set_ylabel("test accuracy")
        ax.set_title(f"{len(self.seeds)} seeds per set-up: dots, mean (bar) and range (line)")
        ax.legend(title="test set", fontsize="small")
        ax.grid(axis="y", alpha=0.3)
        return ax


# ------------------------------------------------------------------ running


def as_augment(setup: Any, name: str = "setup") -> Callable[[Any, Any], tuple[Any, Any]] | None:
    """Turn one set-up into the function that ``dataset.map`` applies to each batch.

    Parameters
    ----------
    setup : None, Keras layer or callable
        ``None``: no augmentation. A Keras image preprocessing layer or a
        ``keras.layers.Pipeline``: called on ``{"images": images, "labels": labels}``
        (so ``MixUp`` and ``CutMix`` mix the labels too). A ``keras.Sequential``
        (a model, which takes one tensor): called on the images only. Any other
        callable: called as ``setup(images, labels)`` and must return
        ``(images, labels)``.
    name : str
        Used in error messages.

    Returns
    -------
    callable or None
        ``augment(images, labels) -> (images, labels)``, or None for no augmentation.

    Examples
    --------
    >>> augment = as_augment(keras.layers.MixUp(seed=0))  # doctest: +SKIP
    >>> images, labels = augment(images, one_hot_labels)  # doctest: +SKIP
    """
    if setup is None:
        return None
    if isinstance(setup, keras.Model):
        return lambda images, labels: (setup(images, training=True), labels)
    if isinstance(setup, keras.layers.Layer):

        def apply_layer(images, labels):
            out = setup({"images": images, "labels": labels}, training=True)
            return out["images"], out["labels"]

        return apply_layer
    if callable(setup):
        return setup
    raise TypeError(
        f"{name} must be None, a Keras layer or a function (images, labels) -> (images, labels); "
        f"got {describe(setup)}"
    )


def _check_pair(value: Any, name: str) -> tuple[np.ndarray, np.ndarray]:
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise TypeError(f"{name} must be a pair (images, labels); got {describe(value)}")
    images = as_images(value[0], f"{name} images")
    labels = as_labels(value[1], f"{name} labels", n=len(images))
    return images.astype(np.float32), labels


def _loss_name(loss: Any) -> str:
    if isinstance(loss, str):
        return loss
    return getattr(loss, "name", None) or getattr(loss, "__name__", "") or type(loss).__name__


def _fresh(setup: Any) -> Any:
    """A new copy of a Keras layer from its config (new random state), else ``setup``.

    Called right after ``keras.utils.set_random_seed(seed)``, so a layer built
    without a seed of its own draws its random stream from the run's seed: every
    run starts its augmentation afresh, whatever ran before.
    """
    if isinstance(setup, keras.layers.Layer):
        return setup.__class__.from_config(setup.get_config())
    return setup


class _Worker:
    """One compiled model reused by every run, so ``fit`` traces its step only once.

    Each run copies a freshly built model's variables (initial weights, random
    states) into it and restores the optimizer's initial state: the same
    numbers as fitting the fresh model, without tracing a new training step
    (about two CPU seconds a run).
    """

    def __init__(
        self, model: Any, compile_args: Mapping[str, Any] | None, labels_needed: int
    ) -> None:
        if not isinstance(model, keras.Model):
            raise TypeError(f"build_model() must return a Keras model; got {describe(model)}")
        if not getattr(model, "compiled", False):
            if compile_args is None:
                raise ValueError(
                    "build_model() returned a model that is not compiled: compile it inside "
                    "build_model, or pass compile_args=dict(optimizer=..., "
                    'loss="categorical_crossentropy", metrics=["accuracy"])'
                )
            args = dict(compile_args)
            optimizer = args.get("optimizer")
            if isinstance(optimizer, keras.optimizers.Optimizer):  # never reuse one already built
                args["optimizer"] = optimizer.__class__.from_config(optimizer.get_config())
            model.compile(**args)
        loss = _loss_name(model.loss)
        if "sparse" in loss.lower():
            raise ValueError(
                f"the model's loss is {loss!r}, which expects integer labels; compare feeds "
                'one-hot labels (MixUp and CutMix mix them), so use loss="categorical_crossentropy"'
            )
        num_classes = model.output_shape[-1]
        if not isinstance(num_classes, int) or num_classes < labels_needed:
            raise ValueError(
                f"the model has {num_classes} outputs but the labels need {labels_needed} "
                "classes; end the model with Dense(num_classes, activation='softmax')"
            )
        self.model = model
        self.num_classes = num_classes
        model.optimizer.build(model.trainable_variables)
        self._optimizer_start = [v.numpy() for v in model.optimizer.variables]

    def reset(self, fresh: Any) -> None:
        if not isinstance(fresh, keras.Model):
            raise TypeError(f"build_model() must return a Keras model; got {describe(fresh)}")
        mine, theirs = self.model.variables, fresh.variables
        if [tuple(v.shape) for v in mine] != [tuple(v.shape) for v in theirs]:
            raise ValueError("build_model() must build the same architecture on every call")
        for target, source in zip(mine, theirs, strict=True):
            target.assign(source)
        for variable, value in zip(
            self.model.optimizer.variables, self._optimizer_start, strict=True
        ):
            variable.assign(value)


def _train_dataset(
    x: np.ndarray,
    y_one_hot: np.ndarray,
    augment: Callable | None,
    seed: int,
    batch_size: int,
) -> tf.data.Dataset:
    ds = tf.data.Dataset.from_tensor_slices((x, y_one_hot))
    ds = ds.shuffle(len(x), seed=seed).batch(batch_size)
    if augment is not None:
        ds = ds.map(augment)
    return ds.prefetch(tf.data.AUTOTUNE)


def compare(
    setups: Mapping[str, Any],
    build_model: Callable[[], keras.Model],
    train: tuple[Any, Any],
    tests: Mapping[str, tuple[Any, Any]],
    *,
    seeds: Sequence[int] = (0, 1, 2),
    epochs: int = 5,
    batch_size: int = 32,
    compile_args: Mapping[str, Any] | None = None,
    progress: bool = False,
) -> Comparison:
    """Train ``build_model()`` once per set-up and seed; measure accuracy on each test set.

    Parameters
    ----------
    setups : mapping of str to (None, Keras layer or callable)
        Name to augmentation, as :func:`as_augment` accepts: ``None``, a layer
        such as ``keras.layers.MixUp()`` or a ``keras.layers.Pipeline``, or a
        function ``(images, labels) -> (images, labels)`` applied to each batch.
        A layer object is reused by every seed's run: give it no ``seed`` of its
        own (``keras.utils.set_random_seed`` then seeds it) or build it fresh.
    build_model : callable
        Returns a new Keras model whose inputs are float32 images ``(n, H, W, C)``
        on the 0-255 scale and whose output is ``(n, num_classes)`` probabilities.
        Called once per run.
    train : (images, labels)
        Training images (uint8 or float, ``(n, H, W, C)``) and integer labels ``(n,)``.
    tests : mapping of str to (images, labels)
        Test sets by name; accuracy is measured with ``model.predict`` (no augmentation).
    seeds : sequence of int
        Each set-up is trained once per seed; at least one, distinct, >= 0.
    epochs, batch_size : int
        The same training budget for every run.
    compile_args : mapping, optional
        Keyword arguments for ``model.compile`` when ``build_model`` returns a model
        that is not compiled. An optimizer object is copied from its config, so the
        one you pass stays unused (and a model you compiled with it is not disturbed).
    progress : bool
        Print one line per finished run.

    Returns
    -------
    Comparison
        The runs, their spread, a table and a plot.

    Raises
    ------
    TypeError, ValueError
        Empty or malformed ``setups``, ``tests`` or ``seeds``; images or labels of the
        wrong shape; a model that is not compiled (and no ``compile_args``), has a
        sparse loss, or has fewer outputs than there are classes.

    Examples
    --------
    >>> build = lambda: keras.Sequential([keras.Input((32, 32, 3)),
    ...     keras.layers.Rescaling(1 / 255), keras.layers.Flatten(),
    ...     keras.layers.Dense(10, activation="softmax")])
    >>> result = compare({"none": None, "mixup": keras.layers.MixUp()}, build,
    ...                  (x_train, y_train), {"test": (x_test, y_test)}, epochs=1,
    ...                  compile_args=dict(optimizer="adam", loss="categorical_crossentropy",
    ...                                    metrics=["accuracy"]))  # doctest: +SKIP
    >>> result.overlaps("none", "mixup", "test")  # doctest: +SKIP
    True
    """
    if not isinstance(setups, Mapping) or not setups:
        raise TypeError(
            f"setups must be a non-empty dict of name -> set-up; got {describe(setups)}"
        )
    for key, value in setups.items():
        if not isinstance(key, str) or not key:
            raise TypeError(f"setups keys must be non-empty strings; got {key!r}")
        as_augment(value, f"setups[{key!r}]")
    if not callable(build_model):
        raise TypeError(
            f"build_model must be a function that returns a model; got {describe(build_model)}"
        )
    x_train, y_train = _check_pair(train, "train")
    if not isinstance(tests, Mapping) or not tests:
        raise TypeError(
            f"tests must be a non-empty dict of name -> (images, labels); got {describe(tests)}"
        )
    test_sets = {}
    for key, value in tests.items():
        if not isinstance(key, str) or not key:
            raise TypeError(f"tests keys must be non-empty strings; got {key!r}")
        test_sets[key] = _check_pair(value, f"tests[{key!r}]")
        if test_sets[key][0].shape[1:] != x_train.shape[1:]:
            raise ValueError(
                f"tests[{key!r}] images must have the training images' shape "
                f"{x_train.shape[1:]}; got {test_sets[key][0].shape[1:]}"
            )
    if isinstance(seeds, (int, np.integer)) or not isinstance(seeds, Sequence) or not seeds:
        raise TypeError(
            f"seeds must be a non-empty sequence of ints, e.g. (0, 1, 2); got {describe(seeds)}"
        )
    seeds = tuple(as_int(s, "each seed", minimum=0) for s in seeds)
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must be distinct; got {list(seeds)}")
    epochs = as_int(epochs, "epochs", minimum=1)
    batch_size = as_int(batch_size, "batch_size", minimum=1)
    if compile_args is not None and not isinstance(compile_args, Mapping):
        raise TypeError(f"compile_args must be a dict or None; got {describe(compile_args)}")

    labels_needed = int(max([y_train.max(), *[y.max() for _, y in test_sets.values()]])) + 1
    runs = []
    worker: _Worker | None = None
    for name, setup in setups.items():
        for seed in seeds:
            keras.utils.set_random_seed(seed)
            augment = as_augment(_fresh(setup), f"setups[{name!r}]")
            fresh = build_model()
            if worker is None:
                worker = _Worker(fresh, compile_args, labels_needed)
            else:
                worker.reset(fresh)
            model = worker.model
            one_hot = np.eye(worker.num_classes, dtype=np.float32)[y_train]
            dataset = _train_dataset(x_train, one_hot, augment, seed, batch_size)
            start = time.perf_counter()
            history = model.fit(dataset, epochs=epochs, verbose=0, shuffle=False)  # shuffled above
            seconds = time.perf_counter() - start
            accuracy = {}
            for test_name, (x_test, y_test) in test_sets.items():
                probabilities = model.predict(x_test, batch_size=256, verbose=0)
                accuracy[test_name] = float(np.mean(probabilities.argmax(axis=1) == y_test))
            metric = next((k for k in history.history if "acc" in k), None)
            runs.append(
                Run(
                    setup=name,
                    seed=seed,
                    accuracy=accuracy,
                    train_loss=float(history.history["loss"][-1]),
                    train_accuracy=float(history.history[metric][-1]) if metric else math.nan,
                    seconds=seconds,
                    epochs=epochs,
                )
            )
            if progress:
                scores = ", ".join(f"{k} {v:.3f}" for k, v in accuracy.items())
                print(f"{name:<16} seed {seed}: {scores} ({seconds:.1f} s)")
    return Comparison(runs, list(setups), list(test_sets), seeds, epochs, batch_size)
