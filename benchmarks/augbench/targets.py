"""The targets of the benchmark, checked against one run's measurements.

Every "by how much and why" is built from numbers measured in the same run
(speeds, CPU time, per-step costs, load averages, memory), never from what
the code is believed to do. Plain data in, plain data out: no TensorFlow import.
"""

from __future__ import annotations

import numpy as np

from augbench.config import (
    ALBUMENTATIONS,
    CHAIN,
    COLOUR_STEP,
    COURSE,
    COURSE_VS_ALBUMENTATIONS,
    COURSE_VS_IDG,
    FUSED,
    FUSED_IN_MODEL,
    FUSED_IN_TF_DATA,
    FUSED_VS_ALBUMENTATIONS,
    FUSED_VS_CHAIN,
    GEOMETRIC_STEP,
    IDG,
    IN_MODEL,
    IN_TF_DATA,
    LOAD_END_KEY,
    LOAD_START_KEY,
    MATERIALIZING,
    NO_AUGMENTATION,
    NO_STEP,
    OVERHEAD_PCT,
    PIPELINE_ONLY,
    STREAMING,
    STREAMING_GROWTH_PCT,
    STREAMING_ONE_ARENA,
)
from augbench.records import BenchmarkResults, MemoryRow, SpeedRow, TargetCheck

STEP_NAMES = {GEOMETRIC_STEP: "geometric", COLOUR_STEP: "colour"}


def load_text(results: BenchmarkResults) -> str:
    """The 1-minute load averages at the start and end of the run, as measured.

    >>> load_text(BenchmarkResults({"load average at start (1, 5, 15 min)": "1.5 1 1",
    ...                             "load average at end (1, 5, 15 min)": "2.0 1 1"}, {}))
    'load average 1.5 at start, 2.0 at end'
    """
    env = results.environment
    start = env.get(LOAD_START_KEY, "n/a").split()[0]
    end = env.get(LOAD_END_KEY, "n/a").split()[0]
    return f"load average {start} at start, {end} at end"


def transform_costs(results: BenchmarkResults, size: int) -> dict[str, float]:
    """Milliseconds each transform adds to a batch at ``size`` (over no augmentation).

    From the table "Cost of each transform" (the course pipeline, one transform at a time).
    """
    stages = {r.variant: r.ms_per_batch for r in results.stages if r.size == size}
    if NO_AUGMENTATION not in stages:
        return {}
    return {
        name: ms - stages[NO_AUGMENTATION] for name, ms in stages.items() if name != NO_AUGMENTATION
    }


def costs_text(results: BenchmarkResults, size: int) -> str:
    """What each transform of the course augmentation adds per batch at ``size``, measured."""
    costs = transform_costs(results, size)
    parts = ", ".join(f"{name} {ms:.2f} ms" for name, ms in costs.items() if "+" not in name)
    return (
        f"at {size}x{size} each transform adds per batch of {results.config['batch_size']}: {parts}"
    )


def steps_text(results: BenchmarkResults, size: int, methods: tuple[str, ...]) -> str:
    """Milliseconds (wall / CPU) per batch of each method's loop and of what each step adds.

    From the table "Cost of each step of the six transforms"; empty when it has no rows.

    Examples
    --------
    >>> from augbench.records import StageRow
    >>> results = BenchmarkResults({}, {"batch_size": 32})
    >>> results.fused_stages += [StageRow(32, "a", s, ms, ms) for s, ms in
    ...     [("none", 1.0), ("geometric (flip, rotation, zoom, translation)", 5.0),
    ...      ("colour (brightness, contrast)", 2.0)]]
    >>> print(steps_text(results, 32, ("a",)).replace(", ", ",\\n"))
    per batch of 32 at 32x32 (ms wall / CPU): a: loop alone 1.00 / 1.00,
    geometric step adds 4.00 / 4.00,
    colour step adds 1.00 / 1.00
    """
    parts = []
    for method in methods:
        base = results.stage_at(size, method, NO_STEP)
        if base is None:
            continue
        text = f"{method}: loop alone {base.ms_per_batch:.2f} / {base.cpu_ms_per_batch:.2f}"
        for step, short in STEP_NAMES.items():
            cost = results.step_cost(size, method, step)
            if cost is not None:
                text += f", {short} step adds {cost[0]:.2f} / {cost[1]:.2f}"
        parts.append(text)
    if not parts:
        return ""
    batch = results.config["batch_size"]
    return f"per batch of {batch} at {size}x{size} (ms wall / CPU): " + "; ".join(parts)


def compare_steps_text(results: BenchmarkResults, size: int, mine: str, other: str) -> str:
    """CPU ms per batch that each step adds for ``mine`` and for ``other``, and the largest gap.

    Examples
    --------
    >>> from augbench.records import StageRow
    >>> results = BenchmarkResults({}, {"batch_size": 32})
    >>> results.fused_stages += [StageRow(32, m, s, ms, ms) for m, s, ms in
    ...     [("a", "none", 1.0), ("a", "geometric (flip, rotation, zoom, translation)", 9.0),
    ...      ("b", "none", 1.0), ("b", "geometric (flip, rotation, zoom, translation)", 3.0)]]
    >>> print(compare_steps_text(results, 32, "a", "b").replace("; ", ";\\n"))
    CPU ms each step adds per batch, a against b: geometric 8.00 against 2.00 (4.00x);
    the largest difference is the geometric step, 6.00 CPU ms more per batch.
    """
    gaps = {}
    for step, short in STEP_NAMES.items():
        a, b = results.step_cost(size, mine, step), results.step_cost(size, other, step)
        if a is not None and b is not None:
            gaps[short] = (a[1], b[1])
    if not gaps:
        return ""
    parts = ", ".join(
        f"{short} {a:.2f} against {b:.2f}" + (f" ({a / b:.2f}x)" if b > 0 else "")
        for short, (a, b) in gaps.items()
    )
    text = f"CPU ms each step adds per batch, {mine} against {other}: {parts}; "
    short, (a, b) = max(gaps.items(), key=lambda item: item[1][0] - item[1][1])
    if a <= b:
        return text + f"no step of the {mine} costs more CPU time than {other}'s."
    return text + f"the largest difference is the {short} step, {a - b:.2f} CPU ms more per batch."


def speed_target(
    results: BenchmarkResults,
    name: str,
    mine: SpeedRow,
    rival: SpeedRow,
    goal: float,
    explanation: str,
) -> TargetCheck:
    """``mine`` at least ``goal`` times as fast as ``rival``; a miss says by how much,
    the CPU-time ratio, the cores each kept busy, the load, then ``explanation``."""
    ratio = mine.images_per_s / rival.images_per_s
    cpu_ratio = mine.images_per_cpu_s / rival.images_per_cpu_s
    why = ""
    if ratio < goal:
        why = (
            f"Missed by {100 * (1 - ratio / goal):.1f}% ({mine.images_per_s:.0f} images/s where "
            f"{goal * rival.images_per_s:.0f} were needed). Per CPU second it is {cpu_ratio:.2f}x "
            f"{rival.method} ({mine.images_per_cpu_s:.0f} against {rival.images_per_cpu_s:.0f} "
            f"images), {'which meets' if cpu_ratio >= goal else 'short of'} the target. It kept "
            f"{mine.cores_used:.1f} of {results.cores()} cores busy on average, {rival.method} "
            f"{rival.cores_used:.1f} ({load_text(results)})."
        )
        if explanation:
            why += " " + explanation[0].upper() + explanation[1:]
    return TargetCheck(
        name,
        f">= {goal:g}x",
        f"{ratio:.2f}x (per CPU second {cpu_ratio:.2f}x)",
        ratio >= goal,
        why,
    )


def fused_speed_targets(results: BenchmarkResults) -> list[TargetCheck]:
    """The fused layer >= 5x the chain at the largest size and >= albumentations at every size."""
    sizes = sorted({r.size for r in results.fused})
    if not sizes:
        return []

    def check(size: int, other: str, goal: float) -> TargetCheck:
        mine, rival = results.fused_at(size, FUSED), results.fused_at(size, other)
        steps = steps_text(results, size, (FUSED, other))
        compared = compare_steps_text(results, size, FUSED, other)
        explanation = f"{steps}. {compared}" if steps else ""
        return speed_target(
            results, f"fused vs {other} at {size}x{size}", mine, rival, goal, explanation
        )

    return [check(sizes[-1], CHAIN, FUSED_VS_CHAIN)] + [
        check(size, ALBUMENTATIONS, FUSED_VS_ALBUMENTATIONS) for size in sizes
    ]


def course_speed_targets(results: BenchmarkResults) -> list[TargetCheck]:
    """The course pipeline (standard layers) against ImageDataGenerator and albumentations."""
    size = results.config["tuning_size"]
    course = results.throughput_at(size, COURSE)
    if course is None:
        return []
    return [
        speed_target(
            results,
            f"course pipeline vs {other} at {size}x{size}",
            course,
            results.throughput_at(size, other),
            goal,
            costs_text(results, size) + " (see Cost of each transform).",
        )
        for other, goal in ((IDG, COURSE_VS_IDG), (ALBUMENTATIONS, COURSE_VS_ALBUMENTATIONS))
    ]


def overhead_target(
    results: BenchmarkResults, name: str, config: str, alone_ms: float | None, alone_what: str
) -> TargetCheck | None:
    """Training-step overhead of ``config`` at most :data:`OVERHEAD_PCT` percent.

    ``alone_ms`` is the measured CPU ms per batch of that augmentation without
    a model (``alone_what`` says where it was measured), or None.
    """
    row, base = results.step(config), results.step(NO_AUGMENTATION)
    if row is None or base is None:
        return None
    goal = OVERHEAD_PCT
    low, high = row.overhead_range
    met = row.overhead_pct <= goal
    why = ""
    if not met:
        why = (
            f"Missed by {row.overhead_pct - goal:.1f} points. Without augmentation a step takes "
            f"{base.step_ms:.2f} ms and {base.cpu_step_ms:.2f} CPU ms "
            f"({base.cpu_step_ms / base.step_ms:.1f} of {results.cores()} cores busy); with it "
            f"{row.step_ms:.2f} ms and {row.cpu_step_ms:.2f} CPU ms "
            f"({row.cpu_step_ms - base.cpu_step_ms:+.2f} CPU ms, {row.cpu_overhead_pct:+.1f}%)."
        )
        if alone_ms is not None:
            why += (
                f" The augmented input pipeline alone (no model) costs {alone_ms:.2f} CPU ms per "
                f"batch ({alone_what}), "
                f"{alone_ms / base.cpu_step_ms:.0%} of the step's CPU time."
            )
        if row.cpu_overhead_pct <= goal:
            why += (
                f" In CPU time it is within the target; the wall-clock overhead is larger "
                f"({load_text(results)})."
            )
        if low <= goal <= high:
            why += (
                f" The repeats ranged from {low:+.0f}% to {high:+.0f}%: the target lies within "
                "this run's spread."
            )
    return TargetCheck(
        name,
        f"<= +{goal:g}%",
        f"{row.overhead_pct:+.1f}% (repeats {low:+.0f}% to {high:+.0f}%; CPU time "
        f"{row.cpu_overhead_pct:+.1f}%)",
        met,
        why,
    )


def overhead_targets(results: BenchmarkResults) -> list[TargetCheck]:
    """The fused and the course augmentation's step overhead, in tf.data and inside the model."""
    size, batch = results.config.get("tuning_size"), results.config.get("batch_size")
    fused = results.fused_at(size, FUSED)
    fused_alone = 1000 * batch / fused.images_per_cpu_s if fused else None
    fused_where = f"Fused augmenter table, {size}x{size}"
    pipeline = results.step(PIPELINE_ONLY)
    course_alone = pipeline.cpu_step_ms if pipeline else None
    course_where = "the augmented input pipeline alone, Overhead on training"
    checks = [
        overhead_target(
            results,
            f"fused overhead per training step, in tf.data, {size}x{size}",
            FUSED_IN_TF_DATA,
            fused_alone,
            fused_where,
        ),
        overhead_target(
            results,
            f"fused overhead per training step, inside the model, {size}x{size}",
            FUSED_IN_MODEL,
            fused_alone,
            fused_where,
        ),
        overhead_target(
            results,
            f"course overhead per training step, in tf.data, {size}x{size}",
            IN_TF_DATA,
            course_alone,
            course_where,
        ),
        overhead_target(
            results,
            f"course overhead per training step, inside the model, {size}x{size}",
            IN_MODEL,
            course_alone,
            course_where,
        ),
    ]
    return [c for c in checks if c is not None]


def growth_pct(rows: list[MemoryRow]) -> float:
    """Percent growth of peak RSS from the first to the last row.

    >>> growth_pct([MemoryRow("streaming", 1, 100.0, 90.0, 1.0),
    ...             MemoryRow("streaming", 20, 103.0, 90.0, 9.0)])
    3.0
    """
    return round(100.0 * (rows[-1].peak_rss_mb / rows[0].peak_rss_mb - 1.0), 9)


def memory_targets(results: BenchmarkResults) -> list[TargetCheck]:
    """Streaming peak RSS flat in K; materializing peak RSS linear in K."""
    checks = []
    streaming = results.memory_rows(STREAMING)
    materializing = results.memory_rows(MATERIALIZING)
    one_arena = results.memory_rows(STREAMING_ONE_ARENA)
    copy_mb = results.config["memory_images"] * results.config["memory_size"] ** 2 * 12 / 1e6
    slope = None
    if len(materializing) >= 2:
        ks = np.array([r.k for r in materializing], dtype=float)
        peaks = np.array([r.peak_rss_mb for r in materializing])
        slope, intercept = (float(v) for v in np.polyfit(ks, peaks, 1))
    if len(streaming) >= 2:
        first, last = streaming[0], streaming[-1]
        growth, goal = growth_pct(streaming), STREAMING_GROWTH_PCT
        extra = last.peak_rss_mb - first.peak_rss_mb
        why = ""
        if growth > goal:
            why = (
                f"Missed by {growth - goal:.1f} points: {extra:.0f} MB more at K={last.k} than "
                f"at K={first.k}, {extra / copy_mb:.1f} times one float32 copy of the data "
                f"({copy_mb:.1f} MB)"
            )
            if slope is not None:
                why += (
                    f"; materializing grew {slope:.1f} MB per copy, "
                    f"{slope * (last.k - first.k):.0f} MB over the same K"
                )
            why += "."
            if len(one_arena) >= 2:
                arena = growth_pct(one_arena)
                why += (
                    f" With glibc's malloc limited to one arena (MALLOC_ARENA_MAX=1) the same "
                    f"runs grew {arena:+.1f}% ({one_arena[0].peak_rss_mb:.0f} -> "
                    f"{one_arena[-1].peak_rss_mb:.0f} MB)"
                    + (": within the target with that setting." if arena <= goal else ".")
                )
        checks.append(
            TargetCheck(
                f"streaming peak RSS growth, K={first.k} to {last.k}",
                f"<= +{goal:g}%",
                f"{growth:+.1f}% ({first.peak_rss_mb:.0f} -> {last.peak_rss_mb:.0f} MB)",
                growth <= goal,
                why,
            )
        )
    if slope is not None:
        spread = float(np.sum((peaks - peaks.mean()) ** 2))
        r2 = 1.0 - float(np.sum((peaks - slope * ks - intercept) ** 2)) / spread if spread else 0.0
        met = bool(r2 >= 0.95 and slope > 0)
        checks.append(
            TargetCheck(
                "materializing peak RSS grows linearly in K",
                "linear: R^2 >= 0.95",
                f"{slope:+.1f} MB per copy (one float32 copy is {copy_mb:.1f} MB), "
                f"R^2 {r2:.3f}, {growth_pct(materializing):+.0f}% from K={ks[0]:g} to {ks[-1]:g}",
                met,
                "" if met else f"Missed: R^2 {r2:.3f}, slope {slope:.1f} MB per copy.",
            )
        )
    return checks


def check_targets(results: BenchmarkResults) -> list[TargetCheck]:
    """Compare the measurements with the targets; explain each miss from the numbers.

    First the fused augmenter's targets (speed against the chain and
    albumentations, step overhead), then the course pipeline's, then memory.
    """
    overheads = overhead_targets(results)
    return [
        *fused_speed_targets(results),
        *overheads[:2],
        *course_speed_targets(results),
        *overheads[2:],
        *memory_targets(results),
    ]
