"""Peak memory of training on augmented data: streaming against materializing.

Each measurement is a fresh Python process (``run.py --memory-child``), since
peak RSS is per process: it trains a small CNN for K augmented epochs through
the course pipeline (streaming), or first stores K augmented float32 copies
and trains one epoch over them (materializing), optionally with glibc's
malloc limited to one arena.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import keras
import numpy as np

from augbench.config import (
    MATERIALIZING,
    MEMORY_MODES,
    STREAMING,
    STREAMING_ONE_ARENA,
    BenchConfig,
)
from augbench.methods import course_augmenter, make_images
from augbench.records import MemoryRow
from augbench.timing import progress
from course_utils.augment import apply_augmenter
from course_utils.pipeline import build_pipeline

#: The entry point the child processes run.
RUN_SCRIPT = Path(__file__).resolve().parents[1] / "run.py"


def reset_peak_rss() -> bool:
    """Set this process's peak RSS back to its current RSS (Linux only); True if it worked."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def peak_rss_mb() -> float:
    """This process's peak resident set size, in MB (10^6 bytes).

    On Linux the kernel's high-water mark (``VmHWM``), which :func:`reset_peak_rss`
    resets; elsewhere the peak since the process started.
    """
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024 / 1e6
    import psutil

    memory = psutil.Process().memory_info()
    return getattr(memory, "peak_wset", memory.rss) / 1e6  # Windows has peak_wset


def small_cnn(size: int) -> keras.Model:
    """A small CNN that keeps the memory runs short (the data, not the model, is measured)."""
    model = keras.Sequential(
        [
            keras.Input((size, size, 3)),
            keras.layers.Rescaling(1.0 / 255),
            keras.layers.Conv2D(8, 3, activation="relu"),
            keras.layers.MaxPooling2D(2),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    return model


def memory_child(mode: str, k: int, n: int, size: int, batch_size: int) -> dict[str, float]:
    """Train for ``k`` augmented epochs in this process; return its peak RSS in MB.

    The streaming modes train ``k`` epochs on the course pipeline;
    ``materializing`` first stores ``k`` augmented float32 copies of the ``n``
    images, then trains one epoch over all of them (the same number of steps).
    """
    import psutil

    if mode not in MEMORY_MODES:
        raise ValueError(f"mode must be one of {MEMORY_MODES}; got {mode!r}")
    start = time.perf_counter()
    keras.utils.set_random_seed(0)
    images, labels = make_images(n, size)
    augmenter = course_augmenter()
    model = small_cnn(size)
    before = psutil.Process().memory_info().rss / 1e6
    from_start = not reset_peak_rss()  # else the peak is taken from here on
    if mode == MATERIALIZING:
        copies = np.empty((k * n, size, size, 3), dtype=np.float32)
        for i in range(k):
            copies[i * n : (i + 1) * n] = apply_augmenter(augmenter, images, seed=i).numpy()
        model.fit(copies, np.tile(labels, k), batch_size=batch_size, epochs=1, verbose=0)
    else:
        dataset = build_pipeline(images, labels, augmenter=augmenter, batch_size=batch_size)
        model.fit(dataset, epochs=k, verbose=0, shuffle=False)
    return {
        "peak_rss_mb": peak_rss_mb(),
        "before_training_mb": before,
        "seconds": time.perf_counter() - start,
        "peak_since_process_start": from_start,
    }


def run_memory_child(mode: str, k: int, config: BenchConfig) -> MemoryRow:
    """Run :func:`memory_child` in a fresh Python process and read its result."""
    spec = {
        "mode": mode,
        "k": k,
        "n": config.memory_images,
        "size": config.memory_size,
        "batch_size": config.batch_size,
    }
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    if mode == STREAMING_ONE_ARENA:
        env["MALLOC_ARENA_MAX"] = "1"
    done = subprocess.run(
        [sys.executable, str(RUN_SCRIPT), "--memory-child", json.dumps(spec)],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"memory measurement {spec} failed:\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return MemoryRow(
        mode,
        k,
        result["peak_rss_mb"],
        result["before_training_mb"],
        result["seconds"],
        bool(result["peak_since_process_start"]),
    )


def measure_memory(config: BenchConfig) -> list[MemoryRow]:
    """Peak RSS for streaming and materializing at every K, one fresh process each.

    Streaming with one malloc arena is measured at the K values of ``config.arena_k``.
    """
    jobs = [(mode, k) for mode in (STREAMING, MATERIALIZING) for k in config.memory_k]
    jobs += [(STREAMING_ONE_ARENA, k) for k in config.arena_k]
    with ThreadPoolExecutor(max_workers=config.memory_workers) as pool:
        rows = list(pool.map(lambda job: run_memory_child(*job, config), jobs))
    progress("memory: " + ", ".join(f"{r.mode} K={r.k} {r.peak_rss_mb:.0f} MB" for r in rows))
    return rows
