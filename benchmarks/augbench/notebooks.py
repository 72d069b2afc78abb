"""Course cost: seconds to execute each notebook, one after the other, with nbclient."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

from augbench.records import NotebookRow
from augbench.timing import progress


def measure_notebooks(paths: Sequence[Path], timeout: int = 300) -> list[NotebookRow]:
    """Execute each notebook in memory with nbclient and time it.

    Each notebook runs with its own folder as working directory; the file
    itself is only read, never written. ``timeout`` is per cell, in seconds.
    """
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    rows = []
    for path in paths:
        path = Path(path)
        client = NotebookClient(
            nbformat.read(path, as_version=4),
            timeout=timeout,
            kernel_name="python3",
            resources={"metadata": {"path": str(path.parent)}},
        )
        start = time.perf_counter()
        try:
            client.execute()
            status = "ok"
        except CellExecutionError as error:
            status = f"error: {getattr(error, 'ename', '') or 'cell failed'}"
        except (CellTimeoutError, DeadKernelError) as error:
            status = f"error: {type(error).__name__}"
        rows.append(NotebookRow(path.name, time.perf_counter() - start, status))
        progress(f"notebook {path.name}: {rows[-1].seconds:.1f} s, {status}")
    return rows
