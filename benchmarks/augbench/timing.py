"""The one timing loop of the benchmark, and what every measurement derives from it.

:func:`round_robin` times passes that take turns within each repeat, after one
untimed warm-up each, so that a change in machine load hits all of them alike.
Throughput, the fused comparison, the pipeline variants, the cost of each step
and the training runs all time their passes with it.
"""

from __future__ import annotations

import re
import statistics
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from augbench.records import SpeedRow


@dataclass
class Timing:
    """Repeated passes of one method: items per wall-clock and per CPU second (medians)."""

    per_s: float
    per_cpu_s: float
    seconds: list[float]
    cpu_seconds: list[float]
    count: int = 0


def round_robin(passes: dict[str, Callable[[], int]], repeats: int) -> dict[str, Timing]:
    """Time each pass ``repeats`` times, taking turns, after one untimed warm-up each.

    A pass returns how many items it processed. CPU time is this process's
    (every thread's), so a method that uses two cores shows twice its wall time.

    Examples
    --------
    >>> calls = []
    >>> timed = round_robin({"a": lambda: calls.append("a") or 10,
    ...                      "b": lambda: calls.append("b") or 20}, repeats=2)
    >>> calls  # warm-up, then the passes take turns
    ['a', 'b', 'a', 'b', 'a', 'b']
    >>> len(timed["a"].seconds), timed["b"].count
    (2, 20)
    """
    counts = {name: run() for name, run in passes.items()}
    wall: dict[str, list[float]] = {name: [] for name in passes}
    cpu: dict[str, list[float]] = {name: [] for name in passes}
    for _ in range(repeats):
        for name, run in passes.items():
            start, start_cpu = time.perf_counter(), time.process_time()
            counts[name] = run()
            wall[name].append(time.perf_counter() - start)
            cpu[name].append(time.process_time() - start_cpu)
    return {
        name: Timing(
            counts[name] / max(statistics.median(wall[name]), 1e-9),
            counts[name] / max(statistics.median(cpu[name]), 1e-9),
            wall[name],
            cpu[name],
            counts[name],
        )
        for name in passes
    }


def speed_rows(
    size: int, timed: dict[str, Timing], methods: Sequence[str], reference: str
) -> list[SpeedRow]:
    """One :class:`SpeedRow` per method, with ratios to ``reference``'s timing.

    >>> timed = {"a": Timing(100.0, 50.0, [1.0], [2.0]), "b": Timing(50.0, 50.0, [2.0], [2.0])}
    >>> [(r.method, r.ratio, r.cpu_ratio) for r in speed_rows(32, timed, ["a", "b"], "b")]
    [('a', 2.0, 1.0), ('b', 1.0, 1.0)]
    """
    ref = timed[reference]
    return [
        SpeedRow(
            size,
            method,
            timed[method].per_s,
            timed[method].per_s / ref.per_s,
            timed[method].per_cpu_s,
            timed[method].per_cpu_s / ref.per_cpu_s,
            timed[method].seconds,
            reference,
        )
        for method in methods
    ]


def count_dataset(ds: Iterable[tuple[Any, Any]]) -> int:
    """Iterate one epoch of ``(images, labels)`` batches; return the number of images.

    >>> count_dataset([(np.zeros((4, 2)), None), (np.zeros((3, 2)), None)])
    7
    """
    return sum(int(x.shape[0]) for x, _ in ds)


def batches(n: int, batch_size: int, rng: np.random.Generator) -> Iterator[np.ndarray]:
    """Shuffled index batches covering ``range(n)`` once.

    >>> [len(b) for b in batches(10, 4, np.random.default_rng(0))]
    [4, 4, 2]
    """
    order = rng.permutation(n)
    for start in range(0, n, batch_size):
        yield order[start : start + batch_size]


def epoch_pass(
    images: np.ndarray, batch_size: int, augment: Callable[[np.ndarray], np.ndarray]
) -> Callable[[], int]:
    """One epoch of shuffled batches, each augmented by ``augment`` (uint8 batch in).

    >>> run = epoch_pass(np.zeros((10, 2, 2, 3), np.uint8), 4, lambda batch: batch)
    >>> run()
    10
    """
    rng = np.random.default_rng(0)

    def run() -> int:
        return sum(len(augment(images[i])) for i in batches(len(images), batch_size, rng))

    return run


def short_error(error: Exception) -> str:
    """A one-line note on why a variant could not run.

    >>> short_error(ValueError("No registered 'Op' OpKernel for XLA_CPU_JIT devices"))
    'fails: no XLA_CPU_JIT kernel for Op'
    """
    text = getattr(error, "message", None) or str(error)
    missing = re.search(r"No registered '(\w+)' OpKernel for (\w+)", text)
    if missing:
        return f"fails: no {missing.group(2)} kernel for {missing.group(1)}"
    line = text.strip().splitlines()[0] if text.strip() else type(error).__name__
    return "fails: " + (line if len(line) <= 120 else line[:117] + "...")


def progress(message: str) -> None:
    """One line of progress on stderr."""
    print(message, file=sys.stderr, flush=True)


def timed_section(section: str, measure: Callable[[], Any]) -> Any:
    """Call ``measure``, report its wall and CPU seconds on stderr, return its value."""
    began, cpu = time.perf_counter(), time.process_time()
    value = measure()
    progress(
        f"-- {section}: {time.perf_counter() - began:.0f} s "
        f"({time.process_time() - cpu:.0f} s CPU in this process)"
    )
    return value
