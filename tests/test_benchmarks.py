"""Tests for the benchmark (benchmarks/run.py and its modules in benchmarks/augbench).

``--quick`` runs every measurement on tiny sizes (its numbers mean nothing) and
writes into a temporary folder, so the committed results in benchmarks/ stay
as they are. The report and the targets are tested by value from hand-made
measurements, and every module's examples run as doctests.
"""

from __future__ import annotations

import doctest
import importlib
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "benchmarks" / "run.py"
# run.py imports its modules as the package ``augbench`` next to it; so do these tests.
sys.path.insert(0, str(SCRIPT.parent))

from augbench import config as cfg  # noqa: E402
from augbench import targets  # noqa: E402
from augbench.records import (  # noqa: E402
    BenchmarkResults,
    MemoryRow,
    SpeedRow,
    StageRow,
    StepRow,
)

# Checked without importing them: the benchmark runs in a subprocess, and tf_keras is heavy.
MISSING = [
    name
    for name in ("tf_keras", "albumentations", "psutil", "nbclient")
    if importlib.util.find_spec(name) is None
]
needs_bench = pytest.mark.skipif(
    bool(MISSING),
    reason="the benchmark needs the bench extra (pip install -e '.[bench]'); "
    f"missing: {', '.join(MISSING)}",
)

NOTEBOOK = REPO / "notebooks" / "10_quiz.ipynb"  # the quickest notebook to execute
METHODS = ["course pipeline", "ImageDataGenerator", "albumentations", "NumPy/Pillow"]
FUSED_METHODS = ["fused layer", "Keras layer chain", "albumentations", "ImageDataGenerator"]
SECTIONS = [
    "Targets",
    "Throughput",
    "Fused augmenter",
    "Cost of each step of the six transforms",
    "Course pipeline variants",
    "Cost of each transform",
    "Overhead on training",
    "Memory",
    "Course cost",
]
MODULES = [
    "config",
    "records",
    "timing",
    "methods",
    "throughput",
    "fused",
    "training",
    "memory",
    "notebooks",
    "targets",
    "report",
]
LIGHT = ["config", "records", "timing", "targets"]  # no TensorFlow, no course_utils


# --------------------------------------------------------------------------------------------
# The quick run, end to end
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """Run ``benchmarks/run.py --quick`` once into a temporary folder."""
    out = tmp_path_factory.mktemp("bench")
    committed = {p: p.stat().st_mtime_ns for p in SCRIPT.parent.glob("results.*")}
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--out", str(out), "--notebooks", str(NOTEBOOK)]
        + ["--note", "A test run."],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert {p: p.stat().st_mtime_ns for p in SCRIPT.parent.glob("results.*")} == committed
    return out, json.loads((out / "results.json").read_text(encoding="utf-8"))


@pytest.mark.slow
@needs_bench
def test_quick_run_writes_markdown_with_every_section_and_the_machine(quick_run):
    out, _ = quick_run
    text = (out / "results.md").read_text(encoding="utf-8")
    assert "Quick mode" in text
    assert "**Note on this run:** A test run." in text
    headings = [line[3:] for line in text.splitlines() if line.startswith("## ")]
    assert headings == SECTIONS
    for key in ("CPU", "cores usable / logical", "tensorflow", "tf-keras", "albumentations"):
        assert f"| {key} |" in text
    assert "load average at start" in text and "load average at end" in text
    assert f"| {NOTEBOOK.name} |" in text
    assert "![Benchmark results](results.png)" in text


@pytest.mark.slow
@needs_bench
def test_quick_run_json_holds_every_measurement(quick_run):
    _, data = quick_run
    assert data["quick"] is True
    assert [(r["size"], r["method"]) for r in data["throughput"]] == [(16, m) for m in METHODS]
    idg = next(r for r in data["throughput"] if r["method"] == "ImageDataGenerator")
    assert idg["ratio"] == pytest.approx(1.0) and idg["reference"] == "ImageDataGenerator"
    assert all(r["images_per_s"] > 0 and len(r["seconds"]) == 2 for r in data["throughput"])
    assert all(r["images_per_cpu_s"] > 0 for r in data["throughput"])
    assert [(r["size"], r["method"]) for r in data["fused"]] == [(16, m) for m in FUSED_METHODS]
    chain = next(r for r in data["fused"] if r["method"] == "Keras layer chain")
    assert chain["ratio"] == pytest.approx(1.0) and chain["reference"] == "Keras layer chain"
    assert all(r["images_per_s"] > 0 and r["images_per_cpu_s"] > 0 for r in data["fused"])
    stages = [(r["method"], r["step"].split()[0]) for r in data["fused_stages"]]
    assert stages == [
        (method, step)
        for method in ("fused layer", "Keras layer chain", "albumentations")
        for step in ("none", "geometric", "colour")
    ]
    assert all(r["ms_per_batch"] > 0 and r["cpu_ms_per_batch"] > 0 for r in data["fused_stages"])
    variants = {r["variant"]: r for r in data["variants"]}
    assert variants["course build_pipeline"]["ratio"] == pytest.approx(1.0)
    assert variants["XLA (jit_compile=True) on the augmentation"]["note"]  # ran or says why not
    assert [(r["size"], r["variant"]) for r in data["stages"]][0] == (16, "no augmentation")
    training = {r["config"]: r for r in data["training"]}
    assert list(training) == [
        "no augmentation",
        "augmentation in tf.data (prefetch)",
        "augmentation inside the model",
        "fused augmentation in tf.data (prefetch)",
        "fused augmentation inside the model",
        "augmented input pipeline alone (no model)",
    ]
    assert training["no augmentation"]["overhead_pct"] == 0.0
    assert all(
        r["step_ms"] > 0 and r["cpu_step_ms"] > 0 and r["steps"] > 0 for r in training.values()
    )
    memory = {(r["mode"], r["k"]) for r in data["memory"]}
    assert memory == {
        ("streaming", 1),
        ("streaming", 2),
        ("materializing", 1),
        ("materializing", 2),
    }
    assert all(r["peak_rss_mb"] >= r["before_training_mb"] * 0.5 > 0 for r in data["memory"])
    assert [(n["notebook"], n["status"]) for n in data["notebooks"]] == [(NOTEBOOK.name, "ok")]
    names = [t["name"] for t in data["targets"]]
    assert names == [
        "fused vs Keras layer chain at 16x16",
        "fused vs albumentations at 16x16",
        "fused overhead per training step, in tf.data, 16x16",
        "fused overhead per training step, inside the model, 16x16",
        "course pipeline vs ImageDataGenerator at 16x16",
        "course pipeline vs albumentations at 16x16",
        "course overhead per training step, in tf.data, 16x16",
        "course overhead per training step, inside the model, 16x16",
        "streaming peak RSS growth, K=1 to 2",
        "materializing peak RSS grows linearly in K",
    ]
    assert all(t["met"] or t["why"] for t in data["targets"])  # every miss is explained


@pytest.mark.slow
@needs_bench
def test_quick_run_draws_a_13_by_12_5_inch_png_at_100_dpi(quick_run):
    out, _ = quick_run
    with Image.open(out / "results.png") as picture:
        assert picture.format == "PNG"
        assert picture.size == (1300, 1250)


# --------------------------------------------------------------------------------------------
# Module boundaries
# --------------------------------------------------------------------------------------------


def test_config_records_timing_and_targets_import_neither_tensorflow_nor_course_utils():
    code = (
        f"import sys; sys.path.insert(0, {str(SCRIPT.parent)!r}); "
        + "; ".join(f"import augbench.{name}" for name in LIGHT)
        + "; print(sorted(m for m in ('tensorflow', 'keras', 'course_utils') if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize("name", ["throughput", "fused", "training", "methods"])
def test_every_timed_measurement_uses_the_one_timing_loop(name):
    source = (SCRIPT.parent / "augbench" / f"{name}.py").read_text(encoding="utf-8")
    assert "round_robin(passes, config.repeats)" in source or "measure_speeds(" in source
    assert "range(config.repeats" not in source and "range(repeats" not in source


def test_run_py_is_a_thin_entry_point():
    source = SCRIPT.read_text(encoding="utf-8")
    assert len(source.splitlines()) < 200
    assert "def round_robin" not in source and "def check_targets" not in source


@pytest.mark.parametrize("name", MODULES)
def test_module_examples_run_as_doctests(name):
    module = importlib.import_module(f"augbench.{name}")
    failed, _ = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert failed == 0


# --------------------------------------------------------------------------------------------
# The targets and the report, by value
# --------------------------------------------------------------------------------------------

ENV = {
    "CPU": "test CPU",
    cfg.CORES_KEY: "2 / 2",
    cfg.LOAD_START_KEY: "1.50 1.00 1.00",
    cfg.LOAD_END_KEY: "2.50 1.00 1.00",
}
CONFIG = {
    "sizes": [32],
    "images": {32: 2048, 224: 256},
    "repeats": 7,
    "batch_size": 32,
    "tuning_size": 32,
    "stage_sizes": [32],
    "train_images": 2048,
    "memory_images": 1000,
    "memory_size": 32,
    "fused_sizes": [32, 224],
}


def speed(size, method, per_s, per_cpu_s, reference):
    return SpeedRow(size, method, per_s, 0.0, per_cpu_s, 0.0, [1.0], reference)


def step(config, ms, cpu_ms, base_ms=20.0, base_cpu=36.0, spread=(0.0, 0.0)):
    return StepRow(
        config, ms, 100 * (ms / base_ms - 1), spread, cpu_ms, 100 * (cpu_ms / base_cpu - 1), 441
    )


@pytest.fixture
def results() -> BenchmarkResults:
    """A run at 32 and 224 px in which the fused layer wins at 32 and loses at 224."""
    r = BenchmarkResults(dict(ENV), dict(CONFIG))
    r.fused = [
        speed(32, cfg.FUSED, 40000.0, 20000.0, cfg.CHAIN),
        speed(32, cfg.CHAIN, 5000.0, 2500.0, cfg.CHAIN),
        speed(32, cfg.ALBUMENTATIONS, 8000.0, 4000.0, cfg.CHAIN),
        speed(224, cfg.FUSED, 800.0, 400.0, cfg.CHAIN),
        speed(224, cfg.CHAIN, 200.0, 100.0, cfg.CHAIN),
        speed(224, cfg.ALBUMENTATIONS, 1600.0, 1600.0, cfg.CHAIN),
    ]
    for method, none, geometric, colour in [
        (cfg.FUSED, 2.0, 60.0, 10.0),
        (cfg.CHAIN, 2.0, 140.0, 20.0),
        (cfg.ALBUMENTATIONS, 0.5, 15.0, 5.0),
    ]:
        r.fused_stages += [
            StageRow(224, method, cfg.NO_STEP, none, none),
            StageRow(224, method, cfg.GEOMETRIC_STEP, geometric, geometric),
            StageRow(224, method, cfg.COLOUR_STEP, colour, colour),
        ]
    r.training = [
        step(cfg.NO_AUGMENTATION, 20.0, 36.0),
        step(cfg.FUSED_IN_TF_DATA, 20.5, 37.0),
        step(cfg.FUSED_IN_MODEL, 22.0, 40.0, spread=(-2.0, 12.0)),
    ]
    r.memory = [
        MemoryRow(cfg.STREAMING, 1, 700.0, 650.0, 2.0),
        MemoryRow(cfg.STREAMING, 20, 749.0, 650.0, 14.0),
        MemoryRow(cfg.MATERIALIZING, 1, 740.0, 650.0, 2.0),
        MemoryRow(cfg.MATERIALIZING, 20, 1500.0, 650.0, 14.0),
        MemoryRow(cfg.STREAMING_ONE_ARENA, 1, 700.0, 650.0, 2.0),
        MemoryRow(cfg.STREAMING_ONE_ARENA, 20, 707.0, 650.0, 13.0),
    ]
    r.targets = targets.check_targets(r)
    return r


def by_name(results: BenchmarkResults) -> dict:
    return {t.name: t for t in results.targets}


def test_targets_follow_the_fused_augmenter_goals(results):
    checks = by_name(results)
    assert list(checks) == [
        "fused vs Keras layer chain at 224x224",
        "fused vs albumentations at 32x32",
        "fused vs albumentations at 224x224",
        "fused overhead per training step, in tf.data, 32x32",
        "fused overhead per training step, inside the model, 32x32",
        "streaming peak RSS growth, K=1 to 20",
        "materializing peak RSS grows linearly in K",
    ]
    assert [t.goal for t in results.targets[:5]] == [">= 5x", ">= 1x", ">= 1x", "<= +5%", "<= +5%"]
    assert [t.met for t in results.targets] == [False, True, False, True, False, False, True]
    assert checks["fused vs albumentations at 32x32"].measured == "5.00x (per CPU second 5.00x)"
    assert checks["fused vs albumentations at 32x32"].why == ""


def test_a_missed_speed_target_says_by_how_much_and_gives_the_measured_step_costs(results):
    why = by_name(results)["fused vs albumentations at 224x224"].why
    assert why.startswith("Missed by 50.0% (800 images/s where 1600 were needed).")
    assert "Per CPU second it is 0.25x albumentations (400 against 1600 images), short of" in why
    assert "It kept 2.0 of 2 cores busy on average, albumentations 1.0" in why
    assert "load average 1.50 at start, 2.50 at end" in why
    assert "fused layer: loop alone 2.00 / 2.00, geometric step adds 58.00 / 58.00" in why
    assert "albumentations: loop alone 0.50 / 0.50, geometric step adds 14.50 / 14.50" in why
    assert (
        "CPU ms each step adds per batch, fused layer against albumentations: geometric 58.00 "
        "against 14.50 (4.00x), colour 8.00 against 4.50 (1.78x); the largest difference is "
        "the geometric step, 43.50 CPU ms more per batch."
    ) in why
    chain = by_name(results)["fused vs Keras layer chain at 224x224"]
    assert chain.measured == "4.00x (per CPU second 4.00x)"
    assert chain.why.startswith("Missed by 20.0% (800 images/s where 1000 were needed).")
    assert (
        "fused layer against Keras layer chain: geometric 58.00 against 138.00 (0.42x), colour "
        "8.00 against 18.00 (0.44x); no step of the fused layer costs more CPU time than Keras "
        "layer chain's."
    ) in chain.why


def test_a_missed_overhead_target_gives_step_and_cpu_times(results):
    check = by_name(results)["fused overhead per training step, inside the model, 32x32"]
    assert check.measured == "+10.0% (repeats -2% to +12%; CPU time +11.1%)"
    assert check.why.startswith("Missed by 5.0 points. Without augmentation a step takes 20.00 ms")
    assert "36.00 CPU ms (1.8 of 2 cores busy); with it 22.00 ms and 40.00 CPU ms" in check.why
    assert "(+4.00 CPU ms, +11.1%)" in check.why
    assert (
        "input pipeline alone (no model) costs 1.60 CPU ms per batch (Fused augmenter table"
        in check.why
    )
    assert "the target lies within this run's spread" in check.why


def test_memory_targets_from_the_rows(results):
    checks = by_name(results)
    flat = checks["streaming peak RSS growth, K=1 to 20"]
    assert (flat.met, flat.measured) == (False, "+7.0% (700 -> 749 MB)")
    assert "; materializing grew 40.0 MB per copy, 760 MB over the same K." in flat.why
    assert "grew +1.0% (700 -> 707 MB): within the target with that setting." in flat.why
    linear = checks["materializing peak RSS grows linearly in K"]
    assert linear.met and linear.measured.startswith("+40.0 MB per copy")


def test_a_streaming_miss_compares_with_one_copy_and_one_arena():
    r = BenchmarkResults(dict(ENV), dict(CONFIG))
    r.memory = [
        MemoryRow(cfg.STREAMING, 1, 700.0, 650.0, 2.0),
        MemoryRow(cfg.STREAMING, 20, 749.0, 650.0, 14.0),
        MemoryRow(cfg.STREAMING_ONE_ARENA, 1, 700.0, 650.0, 2.0),
        MemoryRow(cfg.STREAMING_ONE_ARENA, 20, 707.0, 650.0, 13.0),
    ]
    (check,) = targets.memory_targets(r)
    assert not check.met and check.measured == "+7.0% (700 -> 749 MB)"
    assert check.why == (
        "Missed by 2.0 points: 49 MB more at K=20 than at K=1, 4.0 times one float32 copy of "
        "the data (12.3 MB). With glibc's malloc limited to one arena (MALLOC_ARENA_MAX=1) the "
        "same runs grew +1.0% (700 -> 707 MB): within the target with that setting."
    )


def test_markdown_report_has_the_targets_table_and_states_no_unmeasured_cause(results):
    from augbench.report import markdown_report, text_report

    text = markdown_report(results)
    assert (
        "| fused vs Keras layer chain at 224x224 | >= 5x | 4.00x (per CPU second 4.00x) | NO |"
        in (text)
    )
    assert "| 224x224 | fused layer | geometric (flip, rotation, zoom, translation) | 60.00 |" in (
        text
    )
    assert (
        "| 224x224 | fused layer | all six (from the Fused augmenter table) | 40.00 | 80.00 |"
        in (text)
    )
    for claim in ("OpenCV", "kernels on", "float32 gathers", "held them", "cores that other"):
        assert claim not in text
    assert "fused vs albumentations at 224x224" in text_report(results)


def test_plot_results_draws_one_axes_per_measurement(results):
    from augbench.report import plot_results

    fig = plot_results(results)
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == [
        "Throughput (labels: ratio vs ImageDataGenerator)",
        "Six transforms (labels: ratio vs Keras layer chain)",
        "Training step of the course CNN",
        "Peak memory: streaming vs materializing K copies",
        "Course cost: executing each notebook",
    ]
    fused_axes = fig.axes[1]
    heights = sorted(round(bar.get_height()) for bar in fused_axes.patches)
    assert heights == [200, 800, 1600, 5000, 8000, 40000]  # 2 sizes x 3 methods measured
    assert list(fig.get_size_inches()) == [13.0, 12.5]


def test_write_results_writes_the_three_files_and_the_json_round_trips(results, tmp_path):
    from augbench.report import write_results

    paths = write_results(results, tmp_path / "out")
    assert [p.name for p in paths] == ["results.md", "results.json", "results.png"]
    data = json.loads(paths[1].read_text(encoding="utf-8"))
    assert data["fused_stages"][1] == {
        "size": 224,
        "method": "fused layer",
        "step": "geometric (flip, rotation, zoom, translation)",
        "ms_per_batch": 60.0,
        "cpu_ms_per_batch": 60.0,
    }
    assert [t["met"] for t in data["targets"]] == [t.met for t in results.targets]
