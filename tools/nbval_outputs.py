"""A pytest plugin for nbval runs: stderr fails a cell, and executed notebooks are kept.

``make notebooks`` loads it with ``-p nbval_outputs`` (``PYTHONPATH=tools``). nbval checks
that every cell runs and compares the outputs of ``# NBVAL_CHECK_OUTPUT`` cells; this plugin
adds two things to the same run, so no notebook has to be executed twice:

* a cell that writes anything to stderr (TensorFlow, absl or oneDNN log lines, warnings)
  fails, with what it wrote;
* each notebook whose cells all passed is written, with its fresh outputs, to
  ``build/executed/`` (the course site is built from there).

It reads the outputs nbval collected for each cell (``IPyNbCell.test_outputs``); should a
future nbval stop keeping them, nothing is written and the site executes the notebooks itself.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

EXECUTED = Path(__file__).resolve().parents[1] / "build" / "executed"
_NOTEBOOKS: dict[str, dict] = {}


def _stderr(outputs) -> str:
    return "".join(
        "".join(out.get("text", ""))
        for out in outputs or []
        if out.get("output_type") == "stream" and out.get("name") == "stderr"
    )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    outputs = getattr(item, "test_outputs", None)
    cell = getattr(item, "cell", None)
    if call.when != "call" or cell is None:
        return
    path = str(item.parent.fspath)
    state = _NOTEBOOKS.setdefault(path, {"nb": item.parent.nb, "ok": True})
    if outputs is None:
        state["ok"] = False
        return
    cell["outputs"] = list(outputs)
    cell["execution_count"] = None
    written = _stderr(outputs)
    if report.passed and written:
        report.outcome = "failed"
        report.longrepr = f"cell {item.cell_num} wrote to stderr:\n{written[:2000]}"
    if not report.passed:
        state["ok"] = False


def pytest_sessionfinish(session):
    for path, state in _NOTEBOOKS.items():
        if state["ok"]:
            EXECUTED.mkdir(parents=True, exist_ok=True)
            nbformat.write(state["nb"], EXECUTED / Path(path).name)
