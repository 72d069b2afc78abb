"""Measure how fast, and how light on memory, on-the-fly augmentation is.

Run ``make bench`` (or ``python benchmarks/run.py``) from the repository root.
It writes ``results.md``, ``results.json`` and ``results.png`` into
``benchmarks/`` (or ``--out DIR``). Each measurement lives in its own module
of ``benchmarks/augbench`` and is taken side by side in one run on the
current machine:

1. ``throughput``: images/s of the course pipeline (random flip, rotation and
   brightness) at 32x32, 64x64 and 224x224 against ``ImageDataGenerator``
   (tf-keras), albumentations and plain NumPy/Pillow; variants of the course
   pipeline; the cost of each transform.
2. ``fused``: the fused augmenter (``make_augmenter(..., fused=True)``)
   against the Keras layer chain, albumentations and ``ImageDataGenerator``
   with six transforms at 32, 64, 150 and 224 px, and the cost of the
   geometric and the colour step of each.
3. ``training``: the course CNN's step time without augmentation, with
   augmentation in ``tf.data`` (prefetched) and inside the model.
4. ``memory``: peak RSS of a fresh process that trains for K augmented epochs
   by streaming, or by first materializing K augmented copies.
5. ``notebooks``: seconds to execute each notebook.

``targets`` checks the targets and ``report`` writes the files. Every timing
excludes a warm-up pass and is the median of repeats; the methods being
compared take turns within each repeat (``timing.round_robin``).

``--quick`` runs the same code on tiny sizes, with one notebook and without the
one-arena memory runs, in about a minute; ``tests/test_benchmarks.py`` uses it.
Its numbers mean nothing.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

from augbench.config import LOAD_END_KEY, BenchConfig, environment_info, load_average
from augbench.records import BenchmarkResults
from augbench.timing import timed_section

HERE = Path(__file__).resolve().parent
REPO = HERE.parent


def run_benchmarks(
    config: BenchConfig, notebooks: Sequence[Path] = (), quick: bool = False, note: str = ""
) -> BenchmarkResults:
    """Run every measurement and check the targets.

    Parameters
    ----------
    config : BenchConfig
        Sizes and repeats (:meth:`BenchConfig.quick` for a smoke run).
    notebooks : sequence of Path
        Notebooks to execute and time; empty skips that part.
    quick : bool
        Marks the results as a smoke run.
    note : str
        A remark on the conditions of this run, printed at the top of the report.

    Returns
    -------
    BenchmarkResults
    """
    from augbench import fused, memory, throughput, training
    from augbench.notebooks import measure_notebooks
    from augbench.targets import check_targets

    start = time.perf_counter()
    results = BenchmarkResults(environment_info(), asdict(config), quick=quick, note=note)
    results.throughput = timed_section("throughput", lambda: throughput.measure_throughput(config))
    results.fused = timed_section("fused", lambda: fused.measure_fused(config))
    results.fused_stages = timed_section("fused steps", lambda: fused.measure_fused_stages(config))
    results.variants = timed_section("variants", lambda: throughput.measure_variants(config))
    results.stages = timed_section("transforms", lambda: throughput.measure_transforms(config))
    results.training = timed_section("training", lambda: training.measure_training(config))
    results.memory = timed_section("memory", lambda: memory.measure_memory(config))
    results.notebooks = timed_section("notebooks", lambda: measure_notebooks(notebooks))
    results.environment[LOAD_END_KEY] = load_average()
    results.targets = check_targets(results)
    results.wall_seconds = time.perf_counter() - start
    return results


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Command-line options (see ``--help``).

    >>> parse_args(["--quick", "--notebooks"]).notebooks
    []
    """
    parser = argparse.ArgumentParser(
        description="Measure augmentation throughput, training overhead, memory and the time "
        "to execute each notebook; write results.md, results.json and results.png.",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="tiny sizes and only notebooks/00_welcome.ipynb: runs the same code in about a "
        "minute; the numbers mean nothing",
    )
    parser.add_argument(
        "--out",
        "--output-dir",
        dest="out",
        type=Path,
        default=HERE,
        help="folder for results.md/.json/.png (default: benchmarks/)",
    )
    parser.add_argument(
        "--notebooks",
        nargs="*",
        type=Path,
        default=None,
        metavar="NOTEBOOK",
        help="notebooks to time (default: every notebooks/NN_*.ipynb; with --quick, "
        "00_welcome); give none to skip timing notebooks",
    )
    parser.add_argument(
        "--note",
        default="",
        help="a remark on the conditions of this run for the top of results.md, e.g. what "
        "else was running",
    )
    parser.add_argument("--memory-child", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python benchmarks/run.py``."""
    args = parse_args(argv)
    if args.memory_child:
        from augbench.memory import memory_child

        print(json.dumps(memory_child(**json.loads(args.memory_child))), flush=True)
        return 0
    notebooks = args.notebooks
    if notebooks is None:
        notebooks = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))
        if args.quick:
            notebooks = notebooks[:1]
    config = BenchConfig.quick() if args.quick else BenchConfig()
    results = run_benchmarks(config, notebooks=notebooks, quick=args.quick, note=args.note)

    from augbench.report import text_report, write_results

    paths = write_results(results, args.out)
    print(text_report(results))
    print("Wrote " + ", ".join(str(p) for p in paths))
    return 0


if __name__ == "__main__":
    sys.exit(main())
