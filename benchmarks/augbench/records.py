"""What a benchmark run measured: one row type per table, and the run's results.

Plain data (no TensorFlow import), so that the report and the targets can be
built and tested from recorded numbers.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from augbench.config import CORES_KEY, NO_STEP


@dataclass
class SpeedRow:
    """Images per second (wall clock and CPU) of one method at one size; medians of the passes.

    ``ratio`` and ``cpu_ratio`` divide by the ``reference`` method's at the same size.
    """

    size: int
    method: str
    images_per_s: float
    ratio: float
    images_per_cpu_s: float
    cpu_ratio: float
    seconds: list[float]
    reference: str = ""

    @property
    def cores_used(self) -> float:
        """CPU seconds per wall-clock second: how many cores the method kept busy on average.

        >>> SpeedRow(32, "m", 200.0, 1.0, 100.0, 1.0, [1.0]).cores_used
        2.0
        """
        return self.images_per_s / self.images_per_cpu_s


@dataclass
class VariantRow:
    """Images per second of one variant of the course pipeline (or one transform) at one size."""

    size: int
    variant: str
    images_per_s: float
    ms_per_batch: float
    ratio: float
    note: str = ""


@dataclass
class StageRow:
    """Wall-clock and CPU milliseconds per batch of one method doing one step at one size.

    The step ``"none"`` is the method's own loop without augmentation (tf.data
    shuffle, batch and cast for the Keras layers; NumPy batching for albumentations).
    """

    size: int
    method: str
    step: str
    ms_per_batch: float
    cpu_ms_per_batch: float


@dataclass
class StepRow:
    """Median training step time (ms) of one set-up, and its overhead over no augmentation.

    ``overhead_range`` is the smallest and largest overhead among the repeats
    (each repeat's median against the same repeat's no-augmentation median).
    ``cpu_step_ms`` is the process's CPU time per step (all threads; median
    over the repeats), which other users' load changes much less than wall time.
    """

    config: str
    step_ms: float
    overhead_pct: float
    overhead_range: tuple[float, float]
    cpu_step_ms: float
    cpu_overhead_pct: float
    steps: int


@dataclass
class MemoryRow:
    """Peak RSS of one fresh process while it trained for ``k`` augmented epochs.

    ``peak_since_process_start`` is True where the peak could not be reset when
    training began (not Linux), so that it includes importing the libraries.
    """

    mode: str
    k: int
    peak_rss_mb: float
    before_training_mb: float
    seconds: float
    peak_since_process_start: bool = False


@dataclass
class NotebookRow:
    """Wall-clock seconds to execute one notebook, and whether it ran through."""

    notebook: str
    seconds: float
    status: str


@dataclass
class TargetCheck:
    """One target of the benchmark, what was measured and, when missed, by how much and why."""

    name: str
    goal: str
    measured: str
    met: bool
    why: str = ""


@dataclass
class BenchmarkResults:
    """Everything one run measured.

    Render it with :func:`augbench.report.markdown_report` (``results.md``) or
    :func:`augbench.report.text_report` (the terminal).

    Examples
    --------
    >>> results = BenchmarkResults({"cores usable / logical": "2 / 4"}, {"batch_size": 32})
    >>> results.fused.append(SpeedRow(224, "fused layer", 900.0, 6.0, 500.0, 5.5, [0.3]))
    >>> results.fused_at(224, "fused layer").ratio
    6.0
    >>> results.fused_at(32, "fused layer") is None
    True
    >>> results.cores()
    2
    """

    environment: dict[str, str]
    config: dict[str, Any]
    quick: bool = False
    note: str = ""
    throughput: list[SpeedRow] = field(default_factory=list)
    fused: list[SpeedRow] = field(default_factory=list)
    fused_stages: list[StageRow] = field(default_factory=list)
    variants: list[VariantRow] = field(default_factory=list)
    stages: list[VariantRow] = field(default_factory=list)
    training: list[StepRow] = field(default_factory=list)
    memory: list[MemoryRow] = field(default_factory=list)
    notebooks: list[NotebookRow] = field(default_factory=list)
    targets: list[TargetCheck] = field(default_factory=list)
    wall_seconds: float = 0.0

    def throughput_at(self, size: int, method: str) -> SpeedRow | None:
        """The throughput row of ``method`` at ``size``, or None."""
        return next((r for r in self.throughput if r.size == size and r.method == method), None)

    def fused_at(self, size: int, method: str) -> SpeedRow | None:
        """The fused-comparison row of ``method`` at ``size``, or None."""
        return next((r for r in self.fused if r.size == size and r.method == method), None)

    def stage_at(self, size: int, method: str, step: str) -> StageRow | None:
        """The row of ``method`` doing ``step`` at ``size`` (fused comparison), or None."""
        return next(
            (
                r
                for r in self.fused_stages
                if r.size == size and r.method == method and r.step == step
            ),
            None,
        )

    def step_cost(self, size: int, method: str, step: str) -> tuple[float, float] | None:
        """Wall-clock and CPU ms that ``step`` adds to a batch of ``method`` over its step "none".

        >>> results = BenchmarkResults({}, {})
        >>> results.fused_stages += [StageRow(32, "m", "none", 1.0, 1.5),
        ...                          StageRow(32, "m", "colour", 3.0, 4.0)]
        >>> results.step_cost(32, "m", "colour")
        (2.0, 2.5)
        """
        base, row = self.stage_at(size, method, NO_STEP), self.stage_at(size, method, step)
        if base is None or row is None:
            return None
        return row.ms_per_batch - base.ms_per_batch, row.cpu_ms_per_batch - base.cpu_ms_per_batch

    def step(self, config: str) -> StepRow | None:
        """The training row of ``config``, or None."""
        return next((r for r in self.training if r.config == config), None)

    def memory_rows(self, mode: str) -> list[MemoryRow]:
        """The memory rows of ``mode``, by increasing K."""
        return sorted((r for r in self.memory if r.mode == mode), key=lambda r: r.k)

    def cores(self) -> int:
        """Usable cores of the machine the run measured (from its environment record)."""
        return int(self.environment.get(CORES_KEY, "1").split("/")[0])

    def to_dict(self) -> dict[str, Any]:
        """Plain data (JSON-serializable)."""
        return asdict(self)
