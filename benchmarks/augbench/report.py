"""The report of one run: tables, Markdown, plain text, the plot and the written files.

The prose says what was measured and how each method was called; every
"why" comes from :mod:`augbench.targets`, computed from the same run.
"""

from __future__ import annotations

import json
from itertools import groupby
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from augbench.config import (
    ALBUMENTATIONS,
    BRIGHTNESS,
    CHAIN,
    CORES_KEY,
    COURSE,
    DEGREES,
    FUSED,
    FUSED_METHODS,
    IDG,
    LOAD_START_KEY,
    MEMORY_MODES,
    METHODS,
    NO_STEP,
    NUMPY_PILLOW,
    PIPELINE_ONLY,
    ROTATION,
    SHIFT,
    SIX,
)
from augbench.records import BenchmarkResults, SpeedRow, StepRow, VariantRow
from augbench.targets import costs_text
from course_utils import _display

Section = tuple[str, str, tuple[str, ...], list[tuple[str, ...]]]

SPEED_HEADERS = (
    "size",
    "method",
    "images/s",
    "ratio",
    "images per CPU second",
    "CPU ratio",
    "seconds per pass",
)


def method_notes() -> dict[str, str]:
    """How each method of the throughput comparison is called.

    >>> sorted(method_notes()) == sorted(METHODS)
    True
    """
    return {
        COURSE: "`build_pipeline(images, labels, augmenter=make_augmenter(flip='horizontal', "
        f"rotation={ROTATION}, brightness={BRIGHTNESS}))`: tf.data, batch-level parallel map, "
        "prefetch",
        IDG: f"`ImageDataGenerator(horizontal_flip=True, rotation_range={DEGREES:g}, "
        f"brightness_range=({1 - BRIGHTNESS:g}, {1 + BRIGHTNESS:g}), fill_mode='reflect')"
        ".flow(...)` from tf-keras; brightness is a factor (PIL), the closest it offers to a "
        "shift; one image at a time",
        ALBUMENTATIONS: f"`HorizontalFlip(p=0.5)`, `Rotate(limit={DEGREES:g}, "
        f"border_mode=BORDER_REFLECT)`, `RandomBrightnessContrast(brightness_limit="
        f"{BRIGHTNESS}, contrast_limit=0)`; one uint8 image at a time in one Python thread",
        NUMPY_PILLOW: "NumPy flip and brightness on the whole batch, `PIL.Image.rotate` "
        "(bilinear) per image; Pillow cannot reflect borders, so corners are black",
    }


def fused_note() -> str:
    """How the four methods of the fused comparison are called."""
    return (
        f" {FUSED}: `build_pipeline(..., augmenter=make_augmenter(**SIX, fused=True))`. "
        f"{CHAIN}: the same call without `fused` (RandomFlip, RandomRotation, RandomZoom, "
        "RandomTranslation, RandomBrightness, RandomContrast). albumentations: "
        "`HorizontalFlip`, `Affine(rotate, scale=(0.9, 1.1), translate_percent, "
        "border_mode=BORDER_REFLECT)`, `RandomBrightnessContrast(0.2, 0.2)`, one uint8 image "
        f"at a time. {IDG}: `horizontal_flip`, `rotation_range`, `zoom_range`, "
        "`width_shift_range`, `height_shift_range`, `brightness_range` (it has no contrast)."
    )


def throughput_note(results: BenchmarkResults) -> str:
    """Where albumentations is ahead of the course pipeline, with the measured transform costs.

    >>> throughput_note(BenchmarkResults({}, {}))
    ''
    """
    behind = []
    for size in sorted({r.size for r in results.throughput}):
        course = results.throughput_at(size, COURSE)
        alb = results.throughput_at(size, ALBUMENTATIONS)
        if alb.images_per_s > course.images_per_s:
            behind.append(
                f"{size}x{size} ({alb.images_per_s / course.images_per_s:.2f}x; per CPU second "
                f"{alb.images_per_cpu_s / course.images_per_cpu_s:.2f}x)"
            )
    if not behind:
        return ""
    return (
        f" Albumentations is ahead of the course pipeline at {', '.join(behind)}; "
        f"{costs_text(results, max(results.config['stage_sizes']))} (see Cost of each transform)."
    )


def speed_cells(r: SpeedRow) -> tuple[str, ...]:
    """One row of the throughput or fused table."""
    return (
        f"{r.size}x{r.size}",
        r.method,
        f"{r.images_per_s:.0f}",
        f"{r.ratio:.2f}x",
        f"{r.images_per_cpu_s:.0f}",
        f"{r.cpu_ratio:.2f}x",
        " ".join(f"{s:.3g}" for s in r.seconds),
    )


def variant_cells(v: VariantRow) -> tuple[str, ...]:
    """One row of the variants or transform-cost table ("-" where the variant failed).

    >>> variant_cells(VariantRow(32, "jit", float("nan"), float("nan"), float("nan"), "fails"))
    ('32x32', 'jit', '-', '-', '-', 'fails')
    """
    if not np.isfinite(v.images_per_s):
        return (f"{v.size}x{v.size}", v.variant, "-", "-", "-", v.note)
    num = _display.number
    speed, ms, ratio = f"{v.images_per_s:.0f}", num(v.ms_per_batch), f"{v.ratio:.2f}x"
    return (f"{v.size}x{v.size}", v.variant, speed, ms, ratio, v.note)


def step_cells(r: StepRow) -> tuple[str, ...]:
    """One row of the training table (no overheads for the pipeline alone)."""
    num = _display.number
    low, high = r.overhead_range
    relative = r.config != PIPELINE_ONLY  # the pipeline alone is no training set-up
    return (
        r.config,
        num(r.step_ms),
        f"{r.overhead_pct:+.1f}%" if relative else "-",
        f"{low:+.0f}% to {high:+.0f}%" if relative else "-",
        num(r.cpu_step_ms),
        f"{r.cpu_overhead_pct:+.1f}%" if relative else "-",
        str(r.steps),
    )


def stage_rows(results: BenchmarkResults) -> list[tuple[str, ...]]:
    """The fused-step table: each method's loop alone, what each step adds, and all six."""
    batch = results.config["batch_size"]
    rows = []
    for (size, method), group in groupby(results.fused_stages, key=lambda r: (r.size, r.method)):
        base = results.stage_at(size, method, NO_STEP)
        cells = [(r.step, r.ms_per_batch, r.cpu_ms_per_batch) for r in group]
        six = results.fused_at(size, method)
        if six is not None:
            cells.append(
                (
                    "all six (from the Fused augmenter table)",
                    1000 * batch / six.images_per_s,
                    1000 * batch / six.images_per_cpu_s,
                )
            )
        for step, ms, cpu in cells:
            added = step != NO_STEP and base is not None
            rows.append(
                (
                    f"{size}x{size}",
                    method,
                    step if step != NO_STEP else "none (the loop alone)",
                    f"{ms:.2f}",
                    f"{cpu:.2f}",
                    f"{ms - base.ms_per_batch:+.2f}" if added else "-",
                    f"{cpu - base.cpu_ms_per_batch:+.2f}" if added else "-",
                )
            )
    return rows


def sections(results: BenchmarkResults) -> list[Section]:
    """(section title, intro, headers, rows) of every table, in report order."""
    cfg = results.config
    size, batch = cfg["tuning_size"], cfg["batch_size"]
    peak_scope = (
        "since the process started"
        if any(r.peak_since_process_start for r in results.memory)
        else "from the start of training (libraries imported, data and model built)"
    )
    return [
        (
            "Targets",
            f"Batch {batch}; each target names its size. First the fused augmenter's targets, "
            "then the course pipeline's (standard layers, three transforms), then memory. "
            "Where a target is missed, the last column says by how much and gives the "
            "measurements of this run that bear on it.",
            ("target", "goal", "measured", "met", "by how much and why (when missed)"),
            [
                (t.name, t.goal, t.measured, "yes" if t.met else "NO", t.why)
                for t in results.targets
            ],
        ),
        (
            "Throughput",
            f"Images per second delivered as shuffled batches of {batch}, median of "
            f"{cfg['repeats']} passes over "
            + ", ".join(
                f"{n} images at {s}x{s}" for s, n in cfg["images"].items() if s in cfg["sizes"]
            )
            + f". Ratio = images/s divided by {IDG}'s at the same size. Images per CPU "
            "second count the CPU time of every thread of the process: they show the work "
            "each method does, however many cores it got." + throughput_note(results),
            SPEED_HEADERS,
            [speed_cells(r) for r in results.throughput],
        ),
        (
            "Fused augmenter",
            "The six transforms (random horizontal flip, rotation in "
            f"[-{DEGREES:g}, {DEGREES:g}] degrees, zoom and translation up to "
            f"{SIX['zoom']:g} and {SIX['translation']:g} of the size, brightness up to "
            f"{SIX['brightness']:g} and contrast up to {SIX['contrast']:g}) delivered as "
            f"shuffled batches of {batch}, median of {cfg['repeats']} passes over "
            + ", ".join(f"{cfg['images'][s]} images at {s}x{s}" for s in cfg["fused_sizes"])
            + f". Ratio = images/s divided by the {CHAIN}'s at the same size."
            + fused_note(),
            SPEED_HEADERS,
            [speed_cells(r) for r in results.fused],
        ),
        (
            "Cost of each step of the six transforms",
            "Milliseconds per batch of each method with only its geometric transforms (flip, "
            "rotation, zoom, translation; albumentations: `HorizontalFlip` + `Affine`) or only "
            "its colour transforms (brightness, contrast; albumentations: "
            "`RandomBrightnessContrast`), against the same loop without augmentation (tf.data "
            "shuffle, batch and cast for both Keras methods, one shared measurement; "
            "albumentations' per-image loop with an empty `Compose`), taking turns, median of "
            f"{cfg['repeats']} passes. Added = the row minus its method's loop alone. The "
            "last row of each method is all six transforms, from the Fused augmenter table.",
            ("size", "method", "step", "ms/batch", "CPU ms/batch", "added ms", "added CPU ms"),
            stage_rows(results),
        ),
        (
            "Course pipeline variants",
            f"At {size}x{size}, the same augmentation wired into tf.data in other ways; each "
            "row changes one thing from the course's `build_pipeline` (batch-level map, "
            "parallel calls, prefetch, uint8 until augmenting, a seed per batch). "
            "Ratio = images/s divided by the first row's.",
            ("size", "variant", "images/s", "ms/batch", "ratio", "note"),
            [variant_cells(v) for v in results.variants],
        ),
        (
            "Cost of each transform",
            "The course pipeline with one transform at a time. Ratio = images/s divided by "
            "the pipeline's without augmentation at the same size.",
            ("size", "transform", "images/s", "ms/batch", "ratio", "note"),
            [variant_cells(v) for v in results.stages],
        ),
        (
            "Overhead on training",
            f"Median time between training steps of the course CNN at {size}x{size}, batch "
            f"{batch}, {cfg['train_images']} images per epoch: one warm-up epoch, then "
            f"{cfg['repeats']} epochs per set-up, taking turns. The range is the smallest "
            "and largest overhead among the repeats; CPU ms/step is the process's CPU time "
            "(all threads) per step. The fused rows use the six transforms, the others the "
            "course augmentation. The last row times the course's augmented input pipeline "
            "alone (time between batches, no model).",
            (
                "set-up",
                "ms/step",
                "overhead",
                "range over repeats",
                "CPU ms/step",
                "CPU overhead",
                "steps",
            ),
            [step_cells(r) for r in results.training],
        ),
        (
            "Memory",
            f"Peak RSS {peak_scope} of a fresh process training a small CNN on "
            f"{cfg['memory_images']} images of {cfg['memory_size']}x{cfg['memory_size']} for "
            "K augmented epochs: "
            "streamed through the course pipeline (K epochs), or materialized first as K "
            "augmented float32 copies (one epoch over all of them: the same steps). The "
            "MALLOC_ARENA_MAX=1 rows stream with glibc's malloc limited to one arena.",
            ("mode", "K", "peak RSS (MB)", "RSS before training (MB)", "seconds"),
            [
                (
                    r.mode,
                    str(r.k),
                    f"{r.peak_rss_mb:.0f}",
                    f"{r.before_training_mb:.0f}",
                    f"{r.seconds:.1f}",
                )
                for r in results.memory
            ],
        ),
        (
            "Course cost",
            "Seconds to execute each notebook timed in this run (by default every "
            "notebooks/NN_*.ipynb in the working tree when the run reached this step), with "
            "nbclient, kernel start included, one after the other.",
            ("notebook", "seconds", "status"),
            [(n.notebook, f"{n.seconds:.1f}", n.status) for n in results.notebooks],
        ),
    ]


def markdown_report(results: BenchmarkResults) -> str:
    """The report written to ``results.md``."""
    lines = ["# Benchmarks: on-the-fly augmentation", ""]
    lines += ["Written by `make bench` (`python benchmarks/run.py`); do not edit by hand.", ""]
    if results.quick:
        lines += [
            "**Quick mode: tiny sizes to test the code paths; the numbers mean nothing.**",
            "",
        ]
    lines += [
        "Every comparison below was measured side by side in one run: the methods take "
        "turns within each repeat, and each timing excludes a warm-up pass and is the "
        "median of the repeats. Other processes running at the same time take cores from "
        "the methods: the load averages below tell how busy the machine was (a load above "
        "the core count means processes waited for a core). Absolute numbers vary from run "
        "to run; the ratios are the result.",
        "",
        *([f"**Note on this run:** {results.note}", ""] if results.note else []),
        _display.Table(("machine and libraries", ""), list(results.environment.items())).markdown(),
        "",
        "Augmentation compared in the throughput table: random horizontal flip (p = 0.5), "
        f"random rotation in [-{DEGREES:g}, {DEGREES:g}] degrees (bilinear, reflected "
        f"borders), random brightness shift in [-{SHIFT:g}, {SHIFT:g}] on the 0-255 scale.",
        "",
        _display.Table(("method", "how"), list(method_notes().items())).markdown(),
        "",
    ]
    for title, intro, headers, rows in sections(results):
        lines += [f"## {title}", "", intro, "", _display.Table(headers, rows).markdown(), ""]
    lines += ["![Benchmark results](results.png)", ""]
    lines += [f"Total benchmark time: {results.wall_seconds:.0f} s.", ""]
    return "\n".join(lines)


def text_report(results: BenchmarkResults) -> str:
    """Every table as aligned plain text (what ``run.py`` prints)."""
    parts = []
    for title, _intro, headers, rows in sections(results):
        parts += [title, _display.Table(headers, rows).text(), ""]
    return "\n".join(parts).rstrip()


def _speed_bars(ax, rows: list[SpeedRow], methods: tuple[str, ...], title: str) -> None:
    sizes = sorted({row.size for row in rows})
    methods = tuple(m for m in methods if any(r.method == m for r in rows))  # the ones measured
    width = 0.8 / max(len(methods), 1)
    for i, method in enumerate(methods):
        picked = [
            (j, r) for j, s in enumerate(sizes) for r in rows if r.size == s and r.method == method
        ]
        positions = [j + (i - (len(methods) - 1) / 2) * width for j, _ in picked]
        bars = ax.bar(positions, [r.images_per_s for _, r in picked], width, label=method)
        ax.bar_label(
            bars, labels=[f"{r.ratio:.1f}x" for _, r in picked], fontsize=7, rotation=90, padding=2
        )
    ax.set_xticks(np.arange(len(sizes)), [f"{s}x{s}" for s in sizes])
    ax.set_yscale("log")
    ax.margins(y=0.3)
    ax.set_ylabel("images per second (log scale)")
    ax.set_title(title)
    if methods:
        ax.legend(fontsize=8)


def _barh(ax, names: list[str], values: list[float], labels: list[str], xlabel: str) -> None:
    bars = ax.barh(np.arange(len(names)), values)
    ax.bar_label(bars, labels=labels, fontsize=7, padding=2)
    ax.set_yticks(np.arange(len(names)), names, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel(xlabel)
    ax.margins(x=0.35)


def plot_results(results: BenchmarkResults, fig: Figure | None = None) -> Figure:
    """Draw throughput, the fused comparison, step time, memory and notebook time.

    Parameters
    ----------
    results : BenchmarkResults
        One run's measurements.
    fig : matplotlib.figure.Figure, optional
        Figure to draw into (cleared first); a new 13 x 12.5 inch one by default.

    Returns
    -------
    matplotlib.figure.Figure
        Five axes: throughput, fused comparison, training step, peak memory
        and course cost.
    """
    if fig is None:
        fig = Figure(figsize=(13, 12.5), layout="constrained")
    fig.clear()
    axes = fig.subplot_mosaic([["speed", "fused"], ["step", "memory"], ["notebooks"] * 2])
    ax_speed, ax_fused, ax_step = axes["speed"], axes["fused"], axes["step"]
    ax_memory, ax_notebooks = axes["memory"], axes["notebooks"]

    _speed_bars(ax_speed, results.throughput, METHODS, f"Throughput (labels: ratio vs {IDG})")
    _speed_bars(
        ax_fused, results.fused, FUSED_METHODS, f"Six transforms (labels: ratio vs {CHAIN})"
    )

    _barh(
        ax_step,
        [row.config for row in results.training],
        [r.step_ms for r in results.training],
        [
            f"{r.step_ms:.1f} ms"
            + ("" if r.config == PIPELINE_ONLY else f" ({r.overhead_pct:+.0f}%)")
            for r in results.training
        ],
        "milliseconds per step (median)",
    )
    ax_step.set_title("Training step of the course CNN")

    for mode, marker in zip(MEMORY_MODES, "osv", strict=True):
        rows = results.memory_rows(mode)
        if rows:
            ax_memory.plot(
                [r.k for r in rows], [r.peak_rss_mb for r in rows], marker=marker, label=mode
            )
    ax_memory.set_xlabel("augmented epochs K")
    ax_memory.set_ylabel("peak RSS (MB)")
    ax_memory.set_title("Peak memory: streaming vs materializing K copies")
    ax_memory.legend(fontsize=8)
    ax_memory.grid(alpha=0.3)

    _barh(
        ax_notebooks,
        [row.notebook for row in results.notebooks],
        [r.seconds for r in results.notebooks],
        [f"{r.seconds:.0f} s {r.status}" for r in results.notebooks],
        "seconds to execute",
    )
    ax_notebooks.set_title("Course cost: executing each notebook")

    env = results.environment
    fig.suptitle(
        f"{env.get('CPU', '?')}, {env.get(CORES_KEY, '?').split(' / ')[0]} usable cores, load "
        f"{env.get(LOAD_START_KEY, '?').split()[0]} at start"
        + (" (quick mode: the numbers mean nothing)" if results.quick else ""),
        fontsize=10,
    )
    return fig


def write_results(results: BenchmarkResults, output_dir: Path) -> list[Path]:
    """Write ``results.md``, ``results.json`` and ``results.png`` into ``output_dir``."""
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    markdown, data, picture = (output_dir / f"results.{ext}" for ext in ("md", "json", "png"))
    markdown.write_text(markdown_report(results), encoding="utf-8")
    data.write_text(json.dumps(results.to_dict(), indent=1) + "\n", encoding="utf-8")
    plot_results(results).savefig(picture, dpi=100)
    return [markdown, data, picture]
