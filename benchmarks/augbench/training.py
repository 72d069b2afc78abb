"""Overhead of augmentation on a training step of the course CNN.

The step time without augmentation, with the course augmentation (and the
fused six transforms) in ``tf.data`` (prefetched) and inside the model, plus
the augmented input pipeline alone. Each set-up trains one epoch per pass;
the set-ups take turns in :func:`augbench.timing.round_robin`.
"""

from __future__ import annotations

import statistics
import time

import keras
import numpy as np
import tensorflow as tf

from augbench.config import (
    FUSED_IN_MODEL,
    FUSED_IN_TF_DATA,
    IN_MODEL,
    IN_TF_DATA,
    NO_AUGMENTATION,
    PIPELINE_ONLY,
    BenchConfig,
)
from augbench.methods import course_augmenter, make_images, six_augmenter
from augbench.records import StepRow
from augbench.timing import progress, round_robin
from course_utils.models import build_course_cnn
from course_utils.pipeline import build_pipeline


class StepTimer(keras.callbacks.Callback):
    """Records the seconds between consecutive training steps (one list per epoch) and the
    process's CPU seconds per step of each epoch (from its first step to its end)."""

    def __init__(self) -> None:
        super().__init__()
        self.epochs: list[list[float]] = []
        self.cpu_per_step: list[float] = []
        self.batches = 0
        self._last: float | None = None
        self._cpu = 0.0

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self.epochs.append([])
        self.batches = 0
        self._last = None  # the first step of an epoch includes starting the iterator
        self._cpu = time.process_time()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self.cpu_per_step.append((time.process_time() - self._cpu) / max(self.batches, 1))

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        now = time.perf_counter()
        self.batches += 1
        if self._last is not None:
            self.epochs[-1].append(now - self._last)
        self._last = now


def between_batches(
    dataset: tf.data.Dataset, epochs: list[list[float]], cpu_per_batch: list[float]
) -> int:
    """One epoch of ``dataset`` without a model: append the seconds between consecutive
    batches to ``epochs`` and the process's CPU seconds per batch to ``cpu_per_batch``;
    return the number of batches."""
    cpu = time.process_time()
    times = [time.perf_counter() for _ in dataset]
    cpu_per_batch.append((time.process_time() - cpu) / max(len(times), 1))
    epochs.append(list(np.diff(times)))
    return len(times)


def step_rows(timed: dict[str, tuple[list[list[float]], list[float]]]) -> list[StepRow]:
    """Rows from ``{set-up: (seconds between steps per epoch, CPU seconds per step per epoch)}``.

    The overheads are relative to the set-up :data:`NO_AUGMENTATION`.

    >>> rows = step_rows({"no augmentation": ([[0.010, 0.010]], [0.020]),
    ...                   "other": ([[0.011, 0.011]], [0.021])})
    >>> [(r.config, round(r.overhead_pct, 1), round(r.cpu_overhead_pct, 1)) for r in rows]
    [('no augmentation', 0.0, 0.0), ('other', 10.0, 5.0)]
    """
    base_epochs, base_cpu = timed[NO_AUGMENTATION]
    base = statistics.median(s for e in base_epochs for s in e)
    rows = []
    for name, (epochs, cpu) in timed.items():
        steps = [s for epoch in epochs for s in epoch]
        median = statistics.median(steps)
        overheads = [
            100 * (statistics.median(e) / statistics.median(b) - 1)
            for e, b in zip(epochs, base_epochs, strict=True)
        ]
        cpu_ms = 1000 * statistics.median(cpu)
        rows.append(
            StepRow(
                name,
                1000 * median,
                100 * (median / base - 1),
                (min(overheads), max(overheads)),
                cpu_ms,
                100 * (cpu_ms / (1000 * statistics.median(base_cpu)) - 1),
                len(steps),
            )
        )
    return rows


def measure_training(config: BenchConfig) -> list[StepRow]:
    """Median step time of the course CNN without and with on-the-fly augmentation."""
    size, bs = config.tuning_size, config.batch_size
    images, labels = make_images(config.train_images, size, seed=1)
    shape = (size, size, 3)
    keras.utils.set_random_seed(0)
    plain = build_pipeline(images, labels, augmenter=None, batch_size=bs)
    augmented = build_pipeline(images, labels, augmenter=course_augmenter(), batch_size=bs)
    fused = build_pipeline(images, labels, six_augmenter(fused=True), bs)
    setups = {
        NO_AUGMENTATION: (build_course_cnn(shape, 10), plain),
        IN_TF_DATA: (build_course_cnn(shape, 10), augmented),
        IN_MODEL: (build_course_cnn(shape, 10, augmenter=course_augmenter()), plain),
        FUSED_IN_TF_DATA: (build_course_cnn(shape, 10), fused),
        FUSED_IN_MODEL: (build_course_cnn(shape, 10, augmenter=six_augmenter(fused=True)), plain),
    }
    timers = {name: StepTimer() for name in setups}

    def epoch(name: str) -> int:
        model, dataset = setups[name]
        model.fit(dataset, epochs=1, verbose=0, shuffle=False, callbacks=[timers[name]])
        return timers[name].batches

    alone: tuple[list[list[float]], list[float]] = ([], [])
    passes = {name: (lambda name=name: epoch(name)) for name in setups}
    passes[PIPELINE_ONLY] = lambda: between_batches(augmented, *alone)
    round_robin(passes, config.repeats)
    recorded = {name: (t.epochs, t.cpu_per_step) for name, t in timers.items()}
    recorded[PIPELINE_ONLY] = alone
    # the first epoch of each set-up warmed up (tracing, thread pools)
    timed = {name: (epochs[1:], cpu[1:]) for name, (epochs, cpu) in recorded.items()}
    rows = step_rows(timed)
    progress("training: " + ", ".join(f"{r.config} {r.step_ms:.1f} ms" for r in rows))
    return rows
