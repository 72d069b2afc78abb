"""Traces that make training and prediction visible.

:class:`TrainingTrace`, a Keras callback, records every epoch and reads the curves back as
plain observations; :func:`trace_metrics` and :func:`plot_trace_epoch` replay a run;
:func:`prediction_trace` follows one image through every layer to the class probabilities.
Every trace (also :class:`course_utils.pipeline.PipelineTrace`) is a :class:`Report`: one
:class:`course_utils._display.Table` shown as text, Markdown and HTML.
"""

from __future__ import annotations

import html
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import keras
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from course_utils import _display
from course_utils._validation import as_int, describe
from course_utils.models import _prepare_image, describe_layer

__all__ = [
    "EpochRow",
    "LayerStep",
    "PredictionTrace",
    "Report",
    "TrainingTrace",
    "ValidationTurn",
    "epoch_observations",
    "plot_trace_epoch",
    "prediction_trace",
    "trace_metrics",
    "validation_turn",
]

#: A relative drop of the training loss of at least this much is "improving".
IMPROVING = 0.10
#: A relative change below this is a "plateau"; between it and :data:`IMPROVING`, "slowing".
PLATEAU = 0.02
#: Until the first "improving" epoch, a loss within this share of epoch 1's is "warming up".
WARM_UP = 0.25
#: Epochs without a new lowest validation loss before "overfitting" (``EarlyStopping``'s).
PATIENCE = 5
#: Okabe-Ito colours (colour-blind safe) for curves and bars.
COLOURS = ("#0072b2", "#d55e00", "#009e73", "#cc79a7")
#: The panels of :func:`plot_trace_epoch`: title -> the word in the metric names it draws.
_PANELS = {"loss": "loss", "accuracy": "acc"}


class Report:
    """A result shown through one table: ``print`` (text), Markdown and HTML alike.

    Subclasses define :meth:`table` (with ``html=True`` its ``raw_columns`` may hold HTML)
    and optionally a heading (``_head``) and a text below the table (``_tail``).

    Examples
    --------
    >>> class One(Report):
    ...     def table(self, html=False):
    ...         return _display.Table(["n"], [["1"]])
    >>> One().to_markdown().splitlines()
    ['| n |', '|---|', '| 1 |']
    """

    def table(self, html: bool = False) -> _display.Table:  # pragma: no cover - abstract
        """The rows of the report."""
        raise NotImplementedError

    def _head(self) -> str:
        return ""

    def _tail(self) -> str:
        return ""

    def _html_tail(self) -> str:
        return f"<pre>{html.escape(self._tail())}</pre>" if self._tail() else ""

    def __str__(self) -> str:
        return "\n".join(p for p in (self._head(), self.table().text(), self._tail()) if p)

    def to_markdown(self) -> str:
        """The table in Markdown (then the text below it, if any)."""
        return "\n\n".join(p for p in (self.table().markdown(), self._tail()) if p)

    def _repr_html_(self) -> str:
        return self.table(html=True).html() + self._html_tail()


def _finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def epoch_observations(
    loss: Sequence[float],
    val_loss: Sequence[float] | None = None,
    accuracy: Sequence[float] | None = None,
    patience: int = PATIENCE,
) -> list[str]:
    """Read one observation per epoch from the loss curves.

    For each epoch after the first (``gain``: the relative drop of the training loss since
    the epoch before) the first matching rule wins:

    * the loss is NaN or infinite: ``"diverged"``;
    * no new lowest validation loss for ``patience`` epochs or more (``EarlyStopping`` waits
      the same way) and the training loss below its value then: ``"overfitting"``;
    * ``gain >= IMPROVING`` (10 %): ``"improving"``;
    * no epoch has improved yet and the loss, not rising, is within ``WARM_UP`` (25 %)
      of epoch 1's: ``"warming up"``;
    * ``PLATEAU <= gain < IMPROVING`` (2-10 %): ``"slowing"``;
    * ``|gain| < PLATEAU``: ``"plateau"``;
    * the loss rose by ``PLATEAU`` or more: ``"unstable"``.

    ``loss``, ``val_loss`` (None or NaN where not measured) and ``accuracy`` (quoted in
    the first observation) hold one value per epoch; ``patience`` >= 1. Returns one
    observation per epoch, each starting with its keyword.

    Examples
    --------
    >>> epoch_observations([2.3, 2.25, 1.8, 1.7, 1.69])
    ['starts learning: loss 2.3', 'warming up: loss -2%, still near epoch 1', \
'improving: loss -20%', 'slowing: loss only -6%', 'plateau: loss changed by less than 2%']
    """
    patience = as_int(patience, "patience")
    notes = []
    best: int | None = None  # index of the lowest finite validation loss so far
    improved = False  # has any epoch been "improving" yet?
    for i, current in enumerate(loss):
        validation = None if val_loss is None else val_loss[i]
        if _finite(validation) and (best is None or validation < val_loss[best]):
            best = i
        if not _finite(current):
            notes.append("diverged: the loss is not a finite number; try a lower learning rate")
            continue
        if i == 0:
            text = f"starts learning: loss {_display.number(current, 3)}"
            if accuracy is not None and _finite(accuracy[0]):
                text += f", accuracy {accuracy[0]:.0%}"
            notes.append(text)
            continue
        previous = loss[i - 1]
        if not _finite(previous) or previous == 0:
            notes.append(f"loss {_display.number(current, 3)}")
            continue
        gain = (previous - current) / abs(previous)
        stalled = best is not None and i - best >= patience and _finite(loss[best])
        near_start = _finite(loss[0]) and current >= (1 - WARM_UP) * loss[0]
        if stalled and current < loss[best]:
            notes.append(
                f"overfitting: no new lowest validation loss for {i - best} epochs "
                f"({_display.number(val_loss[best], 3)} at epoch {best + 1}) while training "
                f"loss fell {_display.number(loss[best], 3)} -> {_display.number(current, 3)}"
            )
        elif gain >= IMPROVING:
            improved = True
            notes.append(f"improving: loss -{gain:.0%}")
        elif not improved and gain > -PLATEAU and near_start:
            notes.append(f"warming up: loss -{max(gain, 0):.0%}, still near epoch 1")
        elif gain >= PLATEAU:
            notes.append(f"slowing: loss only -{gain:.0%}")
        elif gain > -PLATEAU:
            notes.append(f"plateau: loss changed by less than {PLATEAU:.0%}")
        else:
            notes.append(f"unstable: loss rose by {-gain:.0%}; try a lower learning rate")
    return notes


@dataclass(frozen=True)
class ValidationTurn:
    """Did the validation loss turn up after its minimum? :func:`validation_turn`'s result.

    ``best_epoch`` (1-based) and ``best``: the lowest validation loss; ``epochs_after``:
    epochs run after it; ``rise`` and ``wiggle``: the rise of the line fitted through the
    losses from then on (0 with fewer than two) and their RMS distance from it (one epoch's
    noise); ``patience``: epochs after the minimum needed to call it a turn.

    Examples
    --------
    >>> ValidationTurn(2, 0.5, 1, 0.0, 0.0, patience=5).confirmed
    False
    """

    best_epoch: int
    best: float
    epochs_after: int
    rise: float
    wiggle: float
    patience: int

    @property
    def confirmed(self) -> bool:
        """At least ``patience`` epochs followed the minimum and the line rose over 2 wiggles."""
        return self.epochs_after >= self.patience and self.rise > 2 * self.wiggle

    def __str__(self) -> str:
        verdict = "a real U-turn" if self.confirmed else "no confirmed U-turn"
        return (
            f"lowest validation loss {_display.number(self.best, 3)} at epoch {self.best_epoch}, "
            f"then {self.epochs_after} epochs: the trend rose {self.rise:+.3f}, "
            f"one epoch's wiggle {self.wiggle:.3f}: {verdict}"
        )


def validation_turn(val_loss: Sequence[float], patience: int = PATIENCE) -> ValidationTurn:
    """Measure how the validation loss moved after its lowest epoch.

    A line is fitted through the validation losses from the lowest epoch on (NaN or None
    skipped; without a finite one, a ValueError); the U-turn is *confirmed* when at least
    ``patience`` (>= 1) epochs followed the minimum and the line rises by more than twice
    the losses' spread around it, so that noise, or one high last value, makes no turn.

    Examples
    --------
    >>> turn = validation_turn([2.0, 1.5, 1.2, 1.25, 1.3, 1.4, 1.45, 1.5], patience=5)
    >>> turn.best_epoch, turn.epochs_after, round(turn.rise, 2), turn.confirmed
    (3, 5, 0.31, True)
    """
    patience = as_int(patience, "patience")
    values = np.array([np.nan if v is None else float(v) for v in val_loss], dtype=float)
    finite = np.isfinite(values)
    if not finite.any():
        raise ValueError(f"val_loss must hold at least one finite number; got {list(val_loss)}")
    best = int(np.nanargmin(np.where(finite, values, np.nan)))
    epochs = np.flatnonzero(finite[best:]) + best
    rise = wiggle = 0.0
    if len(epochs) >= 2:
        slope, intercept = np.polyfit(epochs, values[epochs], 1)
        residuals = values[epochs] - (slope * epochs + intercept)
        rise = float(slope * (epochs[-1] - epochs[0]))
        wiggle = float(np.sqrt(np.mean(residuals**2)))
    after = len(values) - best - 1
    return ValidationTurn(best + 1, float(values[best]), after, rise, wiggle, patience)


# --------------------------------------------------------------------------- history


def _history(value: Any, name: str = "history") -> dict[str, list[float]]:
    """Metric -> one float per epoch (NaN where not logged) of a mapping, History or trace."""
    logs = value if isinstance(value, Mapping) else getattr(value, "history", None)
    if not isinstance(logs, Mapping):
        raise TypeError(
            f"{name} must be a keras History (what model.fit returns), a TrainingTrace or a "
            f"mapping of per-epoch metrics; got {describe(value)}"
        )
    metrics: dict[str, list[float]] = {}
    for key, values in logs.items():
        if isinstance(values, (str, bytes)) or not isinstance(values, Sequence | np.ndarray):
            raise TypeError(f"{name}[{key!r}] must be a list of numbers; got {describe(values)}")
        metrics[str(key)] = [math.nan if v is None else float(v) for v in values]
    lengths = {key: len(values) for key, values in metrics.items()}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"{name} must have one value per epoch for every metric; got {lengths}")
    return metrics


def trace_metrics(trace: Any) -> tuple[dict[str, list[float]], list[str]]:
    """Per-epoch metrics and one observation per epoch of a training run.

    ``trace`` is a :class:`TrainingTrace`, the ``History`` of ``model.fit`` or a mapping
    such as ``{"loss": [...], "val_loss": [...]}``. Returns the metrics (name -> one value
    per epoch, NaN where not logged; losses first, validation metrics last) and one remark
    per epoch (the trace's own, else :func:`epoch_observations` of ``"loss"``, else "").

    Examples
    --------
    >>> metrics, notes = trace_metrics({"loss": [1.0, 0.5], "accuracy": [0.5, 0.8]})
    >>> metrics["loss"], notes[1]
    ([1.0, 0.5], 'improving: loss -50%')
    """
    metrics = _history(trace, "trace")
    if not metrics or not next(iter(metrics.values())):
        raise ValueError("trace must hold at least one epoch of metrics; got none")
    epochs = len(next(iter(metrics.values())))
    order = sorted(metrics, key=lambda n: (n.startswith("val_"), "loss" not in n, n))
    metrics = {name: metrics[name] for name in order}
    observations = [str(o) for o in getattr(trace, "observations", None) or []]
    if not observations and "loss" in metrics:
        observations = TrainingTrace.from_history(metrics).observations
    return metrics, (observations + [""] * epochs)[:epochs]


def _epoch_axis(ax: Axes, title: str, epochs: int) -> None:
    """Title, an epoch x axis with whole epochs only, and a legend."""
    ax.set_title(title)
    ax.set_xlabel("epoch")
    if epochs <= 20:
        ax.set_xticks(range(1, epochs + 1))
    else:  # whole epochs only, and the axis stays on the epochs that ran
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(loc="best")


def plot_trace_epoch(
    metrics: Mapping[str, Sequence[float]], epoch: int, fig: Figure | None = None
) -> Figure:
    """Loss and accuracy curves up to ``epoch`` (1-based), the rest of the run faded.

    ``metrics`` come from :func:`trace_metrics`. Draws into ``fig`` (cleared first) or a
    new Figure, and returns it: one axes for the losses and one for the accuracies (if
    any), training solid, validation dashed, a line at ``epoch``.

    Examples
    --------
    >>> fig = plot_trace_epoch({"loss": [1.0, 0.6, 0.4]}, epoch=2)
    >>> [ax.get_title() for ax in fig.axes]
    ['loss']
    """
    epochs = len(next(iter(metrics.values())))
    epoch = as_int(epoch, "epoch", maximum=epochs)
    groups = [(title, [k for k in metrics if word in k]) for title, word in _PANELS.items()]
    groups = [group for group in groups if group[1]] or [("metric", list(metrics))]
    fig = _display.fresh_figure(fig, (5.5 * len(groups), 3.8))
    x = np.arange(1, epochs + 1)
    for index, (title, names) in enumerate(groups, 1):
        ax = fig.add_subplot(1, len(groups), index)
        for number, name in enumerate(sorted(names, key=lambda n: n.startswith("val_"))):
            values = np.asarray(metrics[name], dtype=float)
            colour = COLOURS[number % len(COLOURS)]
            style = "--" if name.startswith("val_") else "-"
            ax.plot(x, values, style, color=colour, alpha=0.25)
            ax.plot(x[:epoch], values[:epoch], style, marker="o", color=colour, label=name)
        ax.axvline(epoch, color="0.4", linewidth=1)
        _epoch_axis(ax, title, epochs)
    fig.suptitle(f"Training curves replayed up to epoch {epoch} of {epochs}")
    return fig


@dataclass(frozen=True)
class EpochRow:
    """One epoch of a :class:`TrainingTrace`.

    ``epoch`` is 1-based; ``metrics`` holds what Keras logged (also read as ``row.loss``);
    ``seconds`` the epoch's wall-clock time (None when read from a History);
    ``observation`` what the numbers say (see :func:`epoch_observations`).

    Examples
    --------
    >>> row = TrainingTrace.from_history({"loss": [1.0, 0.5]}).rows[1]
    >>> row.epoch, row.loss, row.val_loss
    (2, 0.5, None)
    """

    epoch: int
    metrics: dict[str, float]
    seconds: float | None
    observation: str

    def __getattr__(self, name: str) -> float | None:
        """``row.loss``, ``row.val_accuracy``, ...: the metric, or None if not logged."""
        if name.startswith("__"):
            raise AttributeError(name)
        return self.metrics.get(name)


#: The names Keras logs accuracy under, the first one found is shown.
_ACCURACY_KEYS = ("accuracy", "acc", "sparse_categorical_accuracy", "categorical_accuracy")


class TrainingTrace(Report, keras.callbacks.Callback):
    """A Keras callback that records and explains every training epoch.

    Pass it to ``model.fit(..., callbacks=[trace])``; epochs are numbered 1, 2, ... as
    recorded, across ``fit`` calls (use a new trace per experiment). ``patience``: as in
    :func:`epoch_observations`; give it the ``EarlyStopping`` callback's to read its decision.

    Examples
    --------
    >>> trace = TrainingTrace.from_history({"loss": [1.2, 0.9, 0.7], "accuracy": [.55, .68, .75]})
    >>> trace.observations[1]
    'improving: loss -25%'
    """

    def __init__(self, patience: int = PATIENCE) -> None:
        super().__init__()
        self.patience = as_int(patience, "patience")
        self._metrics: list[dict[str, float]] = []
        self._seconds: list[float | None] = []
        self._started: float | None = None

    def on_epoch_begin(self, epoch: int, logs: Mapping[str, Any] | None = None) -> None:
        """Start the clock for this epoch."""
        self._started = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: Mapping[str, Any] | None = None) -> None:
        """Record what Keras logged and how long the epoch took."""
        seconds = None if self._started is None else time.perf_counter() - self._started
        self._metrics.append({key: float(value) for key, value in (logs or {}).items()})
        self._seconds.append(seconds)
        self._started = None

    @classmethod
    def from_history(cls, history: Any, patience: int = PATIENCE) -> TrainingTrace:
        """A trace of ``model.fit``'s ``History`` (or its ``.history`` dict), seconds unknown.

        A TypeError for other objects; a ValueError without ``"loss"`` or one value per epoch.
        """
        logs = _history(history)
        if "loss" not in logs:
            raise ValueError(f"history must contain 'loss'; got keys {sorted(logs)}")
        trace = cls(patience=patience)
        for epoch, values in enumerate(zip(*logs.values(), strict=True)):
            trace.on_epoch_end(epoch, dict(zip(logs, values, strict=True)))
        return trace

    @property
    def history(self) -> dict[str, list[float]]:
        """Metric name -> one value per epoch (None where an epoch did not log it)."""
        keys = dict.fromkeys(key for metrics in self._metrics for key in metrics)
        return {key: [m.get(key) for m in self._metrics] for key in keys}

    @property
    def epochs(self) -> list[int]:
        """1-based epoch numbers."""
        return list(range(1, len(self._metrics) + 1))

    @property
    def seconds(self) -> list[float | None]:
        """Seconds per epoch (None when unknown)."""
        return list(self._seconds)

    def _accuracy_key(self, prefix: str = "") -> str | None:
        keys = [prefix + key for key in _ACCURACY_KEYS]
        return next((key for key in keys if key in self.history), None)

    @property
    def observations(self) -> list[str]:
        """One observation per epoch (see :func:`epoch_observations`)."""
        history = _history(self)
        return epoch_observations(
            history.get("loss", []),
            history.get("val_loss"),
            history.get(self._accuracy_key()),
            self.patience,
        )

    def validation_turn(self) -> ValidationTurn:
        """:func:`validation_turn` of the run's ``val_loss`` (a ValueError if none was logged)."""
        if "val_loss" not in self.history:
            raise ValueError(
                "the trace has no val_loss; pass validation_data to model.fit to measure it"
            )
        return validation_turn(self.history["val_loss"], self.patience)

    @property
    def rows(self) -> list[EpochRow]:
        """One :class:`EpochRow` per epoch."""
        epochs = zip(self._metrics, self._seconds, self.observations, strict=True)
        return [EpochRow(i, dict(m), s, note) for i, (m, s, note) in enumerate(epochs, 1)]

    def __len__(self) -> int:
        return len(self._metrics)

    def table(self, html: bool = False) -> _display.Table:
        """The epoch table: metrics (arrows say which way is better), seconds, observation."""
        columns = [("loss", "Loss ↓"), (self._accuracy_key(), "Accuracy ↑")]
        columns += [("val_loss", "Val loss ↓"), (self._accuracy_key("val_"), "Val accuracy ↑")]
        columns = [(key, title) for key, title in columns if key == "loss" or key in self.history]
        show_seconds = any(s is not None for s in self._seconds)
        headers = ["Epoch", *(title for _, title in columns)]
        headers += ["Seconds", "Observation"] if show_seconds else ["Observation"]
        rows = []
        for row in self.rows:
            cells = [row.epoch, *(_display.number(row.metrics.get(key), 3) for key, _ in columns)]
            if show_seconds:
                cells.append("-" if row.seconds is None else f"{row.seconds:.2f}")
            rows.append([*cells, row.observation])
        return _display.Table(headers, rows)

    def _tail(self) -> str:
        return self.text_chart()

    def __str__(self) -> str:
        if not self._metrics:
            return "TrainingTrace: no epochs recorded yet"
        return self.table().text() + "\n\n" + self.text_chart()

    def to_markdown(self) -> str:
        """The epoch table in Markdown."""
        return self.table().markdown()

    def _repr_html_(self) -> str:
        if not self._metrics:
            return "<p>TrainingTrace: no epochs recorded yet</p>"
        return super()._repr_html_()

    def text_chart(self, metric: str = "loss", height: int = 8, validation: bool = True) -> str:
        """A small text chart of one metric per epoch, like a hand-drawn sketch.

        ``metric`` (a logged one) is marked ``*`` and, with ``validation``, its ``val_`` twin
        ``o`` (``#`` where both meet), on at most ``height`` (>= 2) rows whose step is 1, 2,
        2.5 or 5 times a power of ten; the epochs run along the x axis.

        Examples
        --------
        >>> print(TrainingTrace.from_history({"loss": [1.2, 0.9, 0.7, 0.55, 0.45]}).text_chart())
         1.2 |*
         1.0 |  *
         0.8 |    *
         0.6 |      *
         0.4 |        *
             +----------
              1 2 3 4 5
              Epochs
        """
        history = self.history
        if metric not in history:
            raise ValueError(f"metric must be one of {sorted(history)}; got {metric!r}")
        height = as_int(height, "height", minimum=2)
        series = {"*": history[metric]}
        if validation and f"val_{metric}" in history and not metric.startswith("val_"):
            series["o"] = history[f"val_{metric}"]
        values = [v for vs in series.values() for v in vs if _finite(v)]
        if not values:
            raise ValueError(f"metric {metric!r} has no finite values to chart")
        top, bottom, step, decimals = _nice_scale(max(values), min(values), height)
        rows = round((top - bottom) / step) + 1
        labels = [f"{top - r * step:.{decimals}f}" for r in range(rows)]
        label_width = max(len(label) for label in labels) + 1
        n = len(self._metrics)
        width = len(str(n)) + 1
        grid = [[" "] * (n * width) for _ in range(rows)]
        for mark, vs in series.items():
            for i, value in enumerate(vs):
                if not _finite(value):
                    continue
                # nearest row; a value half-way between two rows goes to the upper one
                r = min(rows - 1, max(0, math.ceil((top - value) / step - 0.5 - 1e-9)))
                cell = grid[r][i * width]
                grid[r][i * width] = mark if cell in (" ", mark) else "#"
        lines = [
            f"{label:>{label_width}} |{''.join(row)}".rstrip()
            for label, row in zip(labels, grid, strict=True)
        ]
        pad = " " * label_width
        lines.append(f"{pad} +{'-' * (n * width)}")
        lines.append(f"{pad}  " + "".join(str(e).ljust(width) for e in self.epochs).rstrip())
        legend = "Epochs" if len(series) == 1 else f"Epochs   (* {metric}, o val_{metric})"
        lines.append(f"{pad}  {legend}")
        return "\n".join(lines)

    def plot(self, fig: Figure | None = None) -> Figure:
        """Draw the loss (and accuracy, if logged) per epoch, training and validation.

        Draws into ``fig`` (cleared first) or a new Figure and returns it: axes "Loss" (and
        "Accuracy").
        """
        if not self._metrics:
            raise ValueError("trace has no epochs yet; pass it to model.fit(callbacks=[trace])")
        history = _history(self)
        x = self.epochs
        panels = [("Loss", "loss"), ("Accuracy", self._accuracy_key())]
        panels = [(title, key) for title, key in panels if key]
        fig = _display.fresh_figure(fig, (4.2 * len(panels), 3.2))
        for i, (title, key) in enumerate(panels):
            ax = fig.add_subplot(1, len(panels), i + 1)
            ax.plot(x, history[key], "o-", color=COLOURS[0], label="training")
            if f"val_{key}" in history:
                ax.plot(x, history[f"val_{key}"], "s--", color=COLOURS[1], label="validation")
            _epoch_axis(ax, title, len(self))
        return fig


def _nice_scale(high: float, low: float, height: int) -> tuple[float, float, float, int]:
    """(top, bottom, step, decimals): limits on a 1-2-2.5-5 step, at most ``height`` rows."""
    flat = high <= low
    raw = (abs(high) or 1.0) if flat else (high - low) / (height - 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        step = factor * magnitude
        top = math.ceil(high / step - 1e-9) * step
        bottom = math.floor(low / step + 1e-9) * step
        if round((top - bottom) / step) + 1 <= height:
            break
    decimals = max(0, -math.floor(math.log10(step) + 1e-9)) + (1 if factor == 2.5 else 0)
    if flat:
        top = bottom = high
    return top, bottom, step, decimals


# --------------------------------------------------------------------------- prediction trace


@dataclass(frozen=True)
class LayerStep:
    """What one layer made of the image: one row of a :class:`PredictionTrace`.

    ``index`` is 1-based (step 1 is the input image); ``name`` and ``type``: the layer's
    name and class; ``output_shape`` has no batch axis; ``mean``, ``max`` and
    ``zero_fraction`` (exact zeros, e.g. from ReLU) describe the output, ``description``
    the layer. ``picture``: the first channels of an image-like output scaled to [0, 1],
    ``(k, H, W)``; the input image itself, ``(1, H, W, 3)`` or ``(1, H, W)``; else None.

    Examples
    --------
    >>> step = _step(2, "relu", "ReLU", np.array([[[0.0], [2.0]]]), "keeps positives")
    >>> step.output_shape, step.zero_fraction, step.picture.shape
    ((1, 2, 1), 0.5, (1, 1, 2))
    """

    index: int
    name: str
    type: str
    output_shape: tuple[int, ...]
    mean: float
    max: float
    zero_fraction: float
    description: str
    picture: np.ndarray | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class PredictionTrace(Report):
    """One image's way through a model: :func:`prediction_trace`'s result.

    ``steps``: the input, then every layer in order (:class:`LayerStep`); ``probabilities``:
    float64 ``(K,)`` summing to 1; ``predicted``: the most probable class's index;
    ``class_names``: one per class (the index as text by default); ``note``: how the
    probabilities were read from the model's output.

    Examples
    --------
    >>> trace = PredictionTrace([], np.array([0.2, 0.8]), 1, ["cat", "dog"])
    >>> trace.predicted_class, trace.top(1)
    ('dog', [('dog', 0.8)])
    """

    steps: list[LayerStep]
    probabilities: np.ndarray
    predicted: int
    class_names: list[str]
    note: str = ""

    @property
    def predicted_class(self) -> str:
        """Name of the predicted class."""
        return self.class_names[self.predicted]

    @property
    def confidence(self) -> float:
        """Probability of the predicted class."""
        return float(self.probabilities[self.predicted])

    def top(self, k: int = 3) -> list[tuple[str, float]]:
        """The ``k`` most probable classes as (name, probability), best first."""
        k = as_int(k, "k")
        order = np.argsort(-self.probabilities, kind="stable")[:k]
        return [(self.class_names[i], float(self.probabilities[i])) for i in order]

    def table(self, html: bool = False) -> _display.Table:
        """One row per step; with ``html`` a last column of channel thumbnails."""
        headers = ["#", "Layer", "Type", "Output shape", "Mean", "Max", "Zeros", "What it does"]
        rows = []
        for s in self.steps:
            cells = [s.index, s.name, s.type, _display.shape_text(s.output_shape, rows=False)]
            cells += [_display.number(s.mean, 3), _display.number(s.max, 3)]
            cells += [f"{s.zero_fraction:.0%}", s.description]
            if html:
                pictures = enumerate([] if s.picture is None else s.picture)
                tags = (_display.img_tag(p, title=f"{s.name} channel {i}") for i, p in pictures)
                cells.append("".join(tags))
            rows.append(cells)
        if html:
            return _display.Table([*headers, "Picture"], rows, "Prediction trace", (8,))
        return _display.Table(headers, rows)

    def _verdict(self) -> str:
        top = ", ".join(f"{name} {p:.1%}" for name, p in self.top(3))
        return f"Prediction: {self.predicted_class} ({self.confidence:.1%}); top: {top}"

    def _head(self) -> str:
        return f"Prediction trace: {len(self.steps)} steps"

    def _tail(self) -> str:
        return self._verdict() + (f"\n({self.note})" if self.note else "")

    def _html_tail(self) -> str:
        bars = "".join(
            f"<div><span style='display:inline-block;width:9em'>{html.escape(name)}</span>"
            f"<span style='display:inline-block;background:{COLOURS[0]};height:0.8em;"
            f"width:{p * 12:.2f}em'></span> {p:.1%}</div>"
            for name, p in self.top(5)
        )
        note = f"<p><small>{html.escape(self.note)}</small></p>" if self.note else ""
        return f"<p><b>{html.escape(self._verdict())}</b></p>{bars}{note}"

    def to_markdown(self) -> str:
        """The steps as a Markdown table, then the prediction."""
        return self.table().markdown() + f"\n\n{self._verdict()}"

    def plot(self, fig: Figure | None = None, max_panels: int = 8, ncols: int = 5) -> Figure:
        """Draw the input, the feature maps along the way, and the probabilities.

        At most ``max_panels`` panels titled ``"i. name"``, ``ncols`` per row: the input, then
        evenly chosen image-like outputs (first channel), then the probabilities as bars.
        Draws into ``fig`` (cleared first) or a new Figure, and returns it.
        """
        max_panels = as_int(max_panels, "max_panels")
        ncols = as_int(ncols, "ncols")
        pictured = [s for s in self.steps if s.picture is not None]
        if len(pictured) > max_panels:
            keep = np.unique(np.linspace(0, len(pictured) - 1, max_panels).round().astype(int))
            pictured = [pictured[i] for i in keep]
        fig, axes = _display.image_grid(len(pictured) + 1, ncols=ncols, fig=fig, cell=(2.2, 2.3))
        for ax, step in zip(axes, pictured, strict=False):
            shape = _display.shape_text(step.output_shape, rows=False)
            title = f"{step.index}. {step.name}\n{shape}"
            cmap = "viridis" if step.index > 1 else "gray"
            _display.show_image(ax, step.picture[0], title, fontsize=8, cmap=cmap)
        ax = axes[-1]
        ax.set_axis_on()
        top = self.top(10)[::-1]
        ax.barh([name for name, _ in top], [p for _, p in top], color=COLOURS[0])
        ax.set_xlim(0, 1)
        ax.set_title(f"{self.predicted_class} ({self.confidence:.0%})", fontsize=9)
        ax.tick_params(labelsize=7)
        return fig


def _step(index: int, layer_name: str, kind: str, value: np.ndarray, description: str) -> LayerStep:
    picture = None
    if value.ndim == 3:
        channels = min(value.shape[-1], 4)
        picture = np.stack([_display.normalize_map(value[..., c]) for c in range(channels)])
    shape = tuple(int(s) for s in value.shape)
    numbers = float(value.mean()), float(value.max()), float(np.mean(value == 0))
    return LayerStep(index, layer_name, kind, shape, *numbers, description, picture)


def _as_probabilities(output: np.ndarray) -> tuple[np.ndarray, str]:
    scores = np.asarray(output, dtype=np.float64).reshape(-1)
    if not np.all(np.isfinite(scores)):
        raise ValueError("model output must be finite class scores; got NaN or infinity")
    if scores.size == 1:
        p = float(scores[0])
        if not 0 <= p <= 1:
            p = 1 / (1 + math.exp(-p))
            return np.array([1 - p, p]), "one logit output: sigmoid applied, read as [1 - p, p]"
        return np.array([1 - p, p]), "one sigmoid output p, read as [1 - p, p]"
    if scores.min() < 0 or abs(scores.sum() - 1) > 1e-3:
        exp = np.exp(scores - scores.max())
        return exp / exp.sum(), "the model outputs logits: softmax applied"
    return scores / scores.sum(), ""


def prediction_trace(
    model: keras.Model, image: Any, class_names: Sequence[str] | None = None
) -> PredictionTrace:
    """Follow one image through every layer of a model to its prediction.

    ``model``: a Sequential or Functional classifier with ``(N, K)`` class scores (softmax
    probabilities, logits, or one sigmoid unit); ``image``: ``(H, W, C)`` or ``(H, W)`` on
    the 0-255 scale, fitting the model; ``class_names``: optional, one per class. The steps
    follow the layers in (topological) order. An image that does not fit, an output that is
    not class scores or names that do not match the classes are a ValueError.

    Examples
    --------
    >>> from course_utils.models import build_course_cnn
    >>> trace = prediction_trace(build_course_cnn((16, 16, 3), 3), np.zeros((16, 16, 3)))
    >>> [step.name for step in trace.steps][:3]
    ['input', 'rescale', 'conv1']
    """
    batch = _prepare_image(model, image)  # checks the model and the image
    layers = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
    outputs = [keras.tree.flatten(layer.output)[0] for layer in layers]
    values = keras.Model(model.inputs[0], outputs)(batch, training=False)
    values = [np.asarray(v)[0] for v in (values if isinstance(values, list) else [values])]
    final = np.asarray(model(batch, training=False))
    if final.ndim != 2:
        raise ValueError(
            f"model must output class scores (N, K); {model.name!r} outputs shape {final.shape}"
        )
    probabilities, note = _as_probabilities(final[0])
    names = [str(i) for i in range(len(probabilities))]
    if class_names is not None:
        if isinstance(class_names, str) or not isinstance(class_names, Sequence):
            raise TypeError(f"class_names must be a sequence of str; got {describe(class_names)}")
        if len(class_names) != len(probabilities):
            raise ValueError(
                f"class_names must have one name per class ({len(probabilities)}); "
                f"got {len(class_names)}"
            )
        names = [str(n) for n in class_names]
    first = _step(1, "input", "image", batch[0], "the image as the model receives it")
    steps = [replace(first, picture=_display.display_image(batch[0])[np.newaxis])]
    for i, (layer, value) in enumerate(zip(layers, values, strict=True), 2):
        steps.append(_step(i, layer.name, type(layer).__name__, value, describe_layer(layer)))
    return PredictionTrace(steps, probabilities, int(np.argmax(probabilities)), names, note)
