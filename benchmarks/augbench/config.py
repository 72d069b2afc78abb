"""What a benchmark run compares, at which sizes, and on which machine.

Nothing here imports TensorFlow: the report and its tests use these names
without loading it.
"""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

#: The course augmentation every method reproduces. Keras expresses rotation
#: as a fraction of a full turn and brightness as a fraction of the 0-255
#: range; the other libraries get the same ranges in their own units.
ROTATION = 0.1  # fraction of a turn: a random angle in [-36, 36] degrees
BRIGHTNESS = 0.2  # fraction of 0-255: a random shift in [-51, 51]
DEGREES = ROTATION * 360.0
SHIFT = BRIGHTNESS * 255.0

COURSE = "course pipeline"
IDG = "ImageDataGenerator"
ALBUMENTATIONS = "albumentations"
NUMPY_PILLOW = "NumPy/Pillow"
METHODS = (COURSE, IDG, ALBUMENTATIONS, NUMPY_PILLOW)

#: The six transforms of the fused comparison, as ``make_augmenter`` arguments.
SIX = dict(
    flip="horizontal",
    rotation=ROTATION,
    zoom=0.1,
    translation=0.1,
    brightness=BRIGHTNESS,
    contrast=0.2,
)
#: The geometric and the colour part of :data:`SIX`.
GEOMETRIC = ("flip", "rotation", "zoom", "translation")
COLOUR = ("brightness", "contrast")
FUSED = "fused layer"
CHAIN = "Keras layer chain"
FUSED_METHODS = (FUSED, CHAIN, ALBUMENTATIONS, IDG)

#: Steps of the fused comparison timed one at a time (see ``augbench.fused``).
NO_STEP = "none"
GEOMETRIC_STEP = "geometric (flip, rotation, zoom, translation)"
COLOUR_STEP = "colour (brightness, contrast)"
STEPS = (NO_STEP, GEOMETRIC_STEP, COLOUR_STEP)
STAGE_METHODS = (FUSED, CHAIN, ALBUMENTATIONS)

NO_AUGMENTATION = "no augmentation"
IN_TF_DATA = "augmentation in tf.data (prefetch)"
IN_MODEL = "augmentation inside the model"
PIPELINE_ONLY = "augmented input pipeline alone (no model)"
FUSED_IN_TF_DATA = "fused augmentation in tf.data (prefetch)"
FUSED_IN_MODEL = "fused augmentation inside the model"

STREAMING = "streaming"
STREAMING_ONE_ARENA = "streaming, MALLOC_ARENA_MAX=1"
MATERIALIZING = "materializing"
MEMORY_MODES = (STREAMING, MATERIALIZING, STREAMING_ONE_ARENA)

#: The targets (issue of the fused augmenter): at the largest fused size the
#: fused layer at least this many times the Keras chain ...
FUSED_VS_CHAIN = 5.0
#: ... at least as fast as albumentations at every size ...
FUSED_VS_ALBUMENTATIONS = 1.0
#: ... augmentation adds at most this many percent to a training step ...
OVERHEAD_PCT = 5.0
#: ... and streaming memory stays flat: peak RSS grows at most this many percent.
STREAMING_GROWTH_PCT = 5.0
#: The course pipeline (standard layers, three transforms) against the others.
COURSE_VS_IDG = 5.0
COURSE_VS_ALBUMENTATIONS = 1.0

LIBRARIES = (
    "tensorflow",
    "keras",
    "tf-keras",
    "numpy",
    "albumentations",
    "opencv-python-headless",
    "pillow",
    "scipy",
    "psutil",
    "nbclient",
)


@dataclass(frozen=True)
class BenchConfig:
    """Sizes and repeat counts of one benchmark run.

    Attributes
    ----------
    sizes : tuple of int
        Square image sizes for the throughput comparison.
    images : dict of int to int
        Images per pass at each size.
    repeats : int
        Timed passes (or epochs) per method; the median is reported. One more
        untimed pass warms up first.
    batch_size : int
        Batch size everywhere.
    tuning_size : int
        Image size of the pipeline variants and the training runs.
    stage_sizes : tuple of int
        Image sizes at which each transform is timed on its own.
    train_images : int
        Training set size for the step-time measurement.
    memory_k : tuple of int
        Numbers of augmented epochs (or copies) for the memory measurement.
    memory_images, memory_size : int
        Training set of each memory measurement.
    arena_k : tuple of int
        K values at which streaming is also measured with one malloc arena.
    memory_workers : int
        Memory subprocesses run at once (peak RSS is per process).
    fused_sizes : tuple of int
        Image sizes of the fused-augmenter comparison (images per pass from ``images``).

    Examples
    --------
    >>> BenchConfig().fused_sizes
    (32, 64, 150, 224)
    >>> BenchConfig.quick().images
    {16: 64}
    """

    sizes: tuple[int, ...] = (32, 64, 224)
    images: dict[int, int] = field(default_factory=lambda: {32: 2048, 64: 1024, 150: 256, 224: 256})
    repeats: int = 7
    batch_size: int = 32
    tuning_size: int = 32
    stage_sizes: tuple[int, ...] = (32, 224)
    train_images: int = 2048
    memory_k: tuple[int, ...] = (1, 5, 10, 20)
    memory_images: int = 1000
    memory_size: int = 32
    arena_k: tuple[int, ...] = (1, 20)
    memory_workers: int = 2
    fused_sizes: tuple[int, ...] = (32, 64, 150, 224)

    @classmethod
    def quick(cls) -> BenchConfig:
        """Tiny sizes that run every code path in seconds (the numbers mean nothing)."""
        return cls(
            sizes=(16,),
            images={16: 64},
            repeats=2,
            batch_size=16,
            tuning_size=16,
            stage_sizes=(16,),
            train_images=64,
            memory_k=(1, 2),
            memory_images=64,
            memory_size=16,
            arena_k=(),  # each memory run is a fresh process importing TensorFlow: seconds
            fused_sizes=(16,),
        )


def cpu_model() -> str:
    """The processor's model name (from /proc/cpuinfo on Linux), or platform's guess."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text(errors="replace").splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine() or "unknown"


def usable_cores() -> int:
    """Cores this process may run on (affinity-aware where the OS tells).

    >>> usable_cores() >= 1
    True
    """
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def load_average() -> str:
    """The 1, 5 and 15 minute load averages, or "n/a"."""
    if not hasattr(os, "getloadavg"):
        return "n/a"
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


CORES_KEY = "cores usable / logical"
LOAD_START_KEY = "load average at start (1, 5, 15 min)"
LOAD_END_KEY = "load average at end (1, 5, 15 min)"


def environment_info() -> dict[str, str]:
    """CPU model, core counts, OS, Python and library versions, load, date.

    >>> sorted(environment_info())[:3]
    ['CPU', 'OS', 'Python']
    """
    info = {
        "date (UTC)": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M"),
        "CPU": cpu_model(),
        CORES_KEY: f"{usable_cores()} / {os.cpu_count()}",
        "OS": platform.platform(),
        "Python": platform.python_version(),
        LOAD_START_KEY: load_average(),
    }
    for name in LIBRARIES:
        try:
            info[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            info[name] = "not installed"
    return info
