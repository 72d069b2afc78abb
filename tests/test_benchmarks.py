"""Tests for benchmarks/run.py: ``--quick`` runs every measurement and writes the three results.

The quick run takes tiny sizes (its numbers mean nothing) and writes into a
temporary folder, so the committed results in benchmarks/ stay as they are.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

# Checked without importing them: the benchmark runs in a subprocess, and tf_keras is heavy.
MISSING = [
    name
    for name in ("tf_keras", "albumentations", "psutil", "nbclient")
    if importlib.util.find_spec(name) is None
]

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "benchmarks" / "run.py"
NOTEBOOK = REPO / "notebooks" / "10_quiz.ipynb"  # the quickest notebook to execute
METHODS = ["course pipeline", "ImageDataGenerator", "albumentations", "NumPy/Pillow"]
FUSED_METHODS = ["fused layer", "Keras layer chain", "albumentations", "ImageDataGenerator"]
SECTIONS = [
    "Targets",
    "Throughput",
    "Fused augmenter",
    "Course pipeline variants",
    "Cost of each transform",
    "Overhead on training",
    "Memory",
    "Course cost",
]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        bool(MISSING),
        reason="the benchmark needs the bench extra (pip install -e '.[bench]'); "
        f"missing: {', '.join(MISSING)}",
    ),
]


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
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert {p: p.stat().st_mtime_ns for p in SCRIPT.parent.glob("results.*")} == committed
    return out, json.loads((out / "results.json").read_text(encoding="utf-8"))


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


def test_quick_run_json_holds_every_measurement(quick_run):
    _, data = quick_run
    assert data["quick"] is True
    assert [(r["size"], r["method"]) for r in data["throughput"]] == [(16, m) for m in METHODS]
    idg = next(r for r in data["throughput"] if r["method"] == "ImageDataGenerator")
    assert idg["ratio_vs_idg"] == pytest.approx(1.0)
    assert all(r["images_per_s"] > 0 and len(r["seconds"]) == 2 for r in data["throughput"])
    assert all(r["images_per_cpu_s"] > 0 for r in data["throughput"])
    assert [(r["size"], r["method"]) for r in data["fused"]] == [(16, m) for m in FUSED_METHODS]
    chain = next(r for r in data["fused"] if r["method"] == "Keras layer chain")
    assert chain["ratio_vs_chain"] == pytest.approx(1.0)
    assert all(r["images_per_s"] > 0 and r["images_per_cpu_s"] > 0 for r in data["fused"])
    variants = {r["variant"]: r for r in data["variants"]}
    assert variants["course build_pipeline"]["ratio"] == pytest.approx(1.0)
    assert variants["XLA (jit_compile=True) on the augmentation"]["note"]  # ran or says why not
    assert [(r["size"], r["variant"]) for r in data["stages"]][0] == (16, "no augmentation")
    training = {r["config"]: r for r in data["training"]}
    assert len(training) == 6 and training["no augmentation"]["overhead_pct"] == 0.0
    assert "fused augmentation in tf.data (prefetch)" in training
    assert "fused augmentation inside the model" in training
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
        "course pipeline vs ImageDataGenerator",
        "course pipeline vs albumentations",
        "augmentation overhead per training step",
        "fused vs Keras layer chain at 16x16",
        "fused vs albumentations at 16x16",
        "fused augmentation overhead per training step",
        "streaming peak RSS growth, K=1 to 2",
        "materializing peak RSS grows linearly in K",
    ]
    assert all(t["met"] or t["why"] for t in data["targets"])  # every miss is explained


def test_quick_run_draws_a_13_by_8_5_inch_png_at_100_dpi(quick_run):
    out, _ = quick_run
    with Image.open(out / "results.png") as picture:
        assert picture.format == "PNG"
        assert picture.size == (1300, 850)
