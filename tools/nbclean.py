"""Keep committed notebooks normalized, and refresh their reference outputs.

The course's policy (README, "Notebook outputs"): committed notebooks carry no
outputs, except code cells marked ``# NBVAL_CHECK_OUTPUT``. The output stored
for a marked cell is the reference that ``make test`` (nbval) requires a fresh
run to reproduce; such cells carry the constant execution count 1 (nbval skips
cells without one). Other execution counts and editor metadata are never
committed.

Usage::

    python tools/nbclean.py notebooks/*.ipynb            # normalize in place
    python tools/nbclean.py --check notebooks/*.ipynb    # exit 1 if any would change
    python tools/nbclean.py --refresh notebooks/04_cnn_layers.ipynb
        # execute, store the outputs of marked cells, normalize
"""

from __future__ import annotations

import argparse
import copy
import os
import sys
from pathlib import Path

import nbformat

CHECK_MARKER = "NBVAL_CHECK_OUTPUT"
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
KEPT_CELL_METADATA = ("tags", "slideshow")
KEPT_NOTEBOOK_METADATA = ("colab",)


def is_checked(cell: dict) -> bool:
    """True when a code cell's output is part of the committed reference."""
    return cell.get("cell_type") == "code" and CHECK_MARKER in cell.get("source", "")


#: nbval only compares cells that have an execution count, so checked cells
#: keep a constant one; every other cell has none.
CHECKED_EXECUTION_COUNT = 1


def _clean_output(output: dict) -> dict:
    output = copy.deepcopy(output)
    if "execution_count" in output:
        output["execution_count"] = CHECKED_EXECUTION_COUNT
    output.get("metadata", {}).pop("execution", None)
    return output


def normalize(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Return a normalized copy of ``nb`` (see the module docstring)."""
    nb = copy.deepcopy(nb)
    nb.nbformat, nb.nbformat_minor = 4, 5
    meta = {key: nb.metadata[key] for key in KEPT_NOTEBOOK_METADATA if key in nb.metadata}
    meta["kernelspec"] = dict(KERNELSPEC)
    meta["language_info"] = {"name": "python"}
    nb.metadata = nbformat.from_dict(meta)
    for index, cell in enumerate(nb.cells):
        cell.metadata = nbformat.from_dict(
            {key: cell.metadata[key] for key in KEPT_CELL_METADATA if key in cell.metadata}
        )
        if not cell.get("id"):
            cell["id"] = f"cell-{index:03d}"
        if cell.cell_type == "code":
            if is_checked(cell):
                cell.execution_count = CHECKED_EXECUTION_COUNT
                cell.outputs = [_clean_output(out) for out in cell.outputs]
            else:
                cell.execution_count = None
                cell.outputs = []
        else:
            cell.pop("outputs", None)
            cell.pop("execution_count", None)
            if not cell.get("attachments"):
                cell.pop("attachments", None)
    return nb


def dumps(nb: nbformat.NotebookNode) -> str:
    return nbformat.writes(nb) + "\n"


def refresh(path: Path, timeout: int = 600) -> nbformat.NotebookNode:
    """Execute ``path`` in its folder and return it with fresh outputs."""
    from nbclient import NotebookClient

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("PYTHONHASHSEED", "0")
    nb = nbformat.read(path, as_version=4)
    NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    ).execute()
    return nb


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="+", type=Path, help="notebook files")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="only report; exit 1 if any differ")
    mode.add_argument(
        "--refresh", action="store_true", help="execute first, keeping marked cells' outputs"
    )
    args = parser.parse_args(argv)

    stale = []
    for path in args.notebooks:
        if not path.is_file():
            parser.error(f"{path}: no such notebook")
        original = path.read_text(encoding="utf-8")
        nb = refresh(path) if args.refresh else nbformat.reads(original, as_version=4)
        cleaned = dumps(normalize(nb))
        if cleaned == original:
            continue
        if args.check:
            stale.append(path)
        else:
            path.write_text(cleaned, encoding="utf-8")
            print(f"normalized {path}")
    if stale:
        print(
            "These notebooks are not normalized (run `make normalize`):\n  "
            + "\n  ".join(str(p) for p in stale),
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
