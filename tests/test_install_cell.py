"""The Colab install cell keeps the TensorFlow and Keras that a learner already has.

The first code cell of every lesson runs ``%pip install "course-utils @ git+REPO_URL"`` in
Colab. This test runs that command, with the repository URL pointed at a snapshot of this
checkout, in a fresh virtual environment that already holds the oldest supported TensorFlow,
Keras and NumPy (``constraints-oldest.txt``), and checks that pip replaced nothing that was
installed, that the environment is consistent (``pip check``) and that every lesson's imports
work afterwards.

pip installs only from the oldest environment's wheels (``make test-oldest`` downloads them
into ``.venv-oldest/wheelhouse`` and points ``COURSE_WHEELHOUSE`` at it), offline: a
requirement that asked for another TensorFlow or Keras makes the install fail here instead of
downloading one.
"""

from __future__ import annotations

import ast
import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from IPython.core.inputtransformer2 import TransformerManager

from course_utils.environment import REPO_URL

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))

# About a minute of CPU time (pip and unpacking TensorFlow); the limit only catches a hang.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]


def _wheelhouse() -> Path:
    folder = os.environ.get("COURSE_WHEELHOUSE")
    if not folder or not Path(folder).is_dir():
        pytest.skip(
            "needs the oldest supported TensorFlow's wheels: `make test-oldest` runs it, "
            "with COURSE_WHEELHOUSE=.venv-oldest/wheelhouse"
        )
    return Path(folder)


def _code_cells(path: Path) -> list[str]:
    notebook = nbformat.read(path, as_version=4)
    return [cell.source for cell in notebook.cells if cell.cell_type == "code"]


def _install_commands() -> set[str]:
    """The ``%pip install`` line of each lesson's first code cell."""
    commands = set()
    for path in NOTEBOOKS:
        first = _code_cells(path)[0]
        lines = [line.strip() for line in first.splitlines() if "%pip install" in line]
        assert len(lines) == 1, f"{path.name}: the first code cell has one %pip install line"
        commands.add(lines[0])
    return commands


def _lesson_imports() -> list[str]:
    """Every import statement of every lesson (also inside ``with quiet_startup():``), once each."""
    statements: list[str] = []
    for path in NOTEBOOKS:
        for source in _code_cells(path):
            # IPython's own transformer turns magics (%pip, !ls) into Python, as a kernel does.
            tree = ast.parse(TransformerManager().transform_cell(source))
            nodes = [
                inner
                for node in tree.body
                for inner in (node.body if isinstance(node, ast.With) else [node])
            ]
            for node in nodes:
                if isinstance(node, ast.Import | ast.ImportFrom):
                    statement = ast.unparse(node)
                    if statement not in statements:
                        statements.append(statement)
    return statements


def _snapshot(tmp_path: Path) -> Path:
    """A one-commit git repository of this checkout's files as they are now."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    repo = tmp_path / "repo"
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():
            target = repo / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    git = ["git", "-c", "user.name=course", "-c", "user.email=course@example.invalid"]
    for args in (
        ["init", "-q"],
        ["add", "-A"],
        ["-c", "commit.gpgsign=false", "commit", "-qm", "x"],
    ):
        subprocess.run([*git, *args], cwd=repo, check=True, capture_output=True)
    return repo


def _installed(python: Path) -> dict[str, str]:
    code = (
        "import importlib.metadata as m, json; "
        "print(json.dumps({d.metadata['Name'].lower().replace('_', '-'): d.version "
        "for d in m.distributions()}))"
    )
    out = subprocess.run([python, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def _run(command: list, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(command, capture_output=True, text=True, **kwargs)
    assert result.returncode == 0, (
        f"{shlex.join(map(str, command))} failed ({result.returncode}):\n"
        f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    )
    return result


def test_every_lesson_has_the_same_install_command():
    commands = _install_commands()
    assert len(commands) == 1, f"the lessons' install commands differ: {sorted(commands)}"
    (command,) = commands
    assert f"git+{REPO_URL}" in command


def test_lesson_imports_are_found():
    imports = _lesson_imports()
    assert "import tensorflow as tf" in imports and "import keras" in imports
    assert any(statement.startswith("from course_utils") for statement in imports)


def test_colab_install_cell_replaces_nothing_and_the_lessons_import(tmp_path):
    wheelhouse = _wheelhouse()
    (command,) = _install_commands()
    repo = _snapshot(tmp_path)

    env = tmp_path / "env"
    _run([sys.executable, "-m", "venv", env])
    python = env / "bin" / "python"
    offline = {**os.environ, "PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(wheelhouse)}
    offline.pop("PIP_CONSTRAINT", None)
    pip = [python, "-m", "pip", "--disable-pip-version-check"]
    _run([*pip, "install", "--quiet", "-U", "pip"], env=offline)
    # What the learner already has: the oldest supported TensorFlow, Keras and NumPy.
    _run(
        [*pip, "install", "--quiet", "-c", ROOT / "constraints-oldest.txt"]
        + ["tensorflow", "keras", "numpy"],
        env=offline,
    )
    before = _installed(python)

    # The install cell's own command, with the repository URL pointed at the snapshot.
    args = shlex.split(command.split("%pip", 1)[1])
    pointed = [arg.replace(f"git+{REPO_URL}", f"git+file://{repo}") for arg in args]
    assert pointed != args, f"the install command names {REPO_URL}: {command}"
    _run([*pip, *pointed], env=offline, cwd=tmp_path)
    after = _installed(python)

    changed = {name: (v, after.get(name)) for name, v in before.items() if after.get(name) != v}
    assert not changed, f"the install cell replaced what was installed (before, after): {changed}"
    assert "course-utils" in after
    _run([*pip, "check"], env=offline)

    script = "\n".join(
        [
            "import os",
            "os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')",
            *_lesson_imports(),
            "import course_utils, keras, tensorflow",
            "print(course_utils.__file__, tensorflow.__version__, keras.__version__)",
        ]
    )
    result = _run([python, "-c", script], cwd=tmp_path, env={**os.environ, "MPLBACKEND": "Agg"})
    location, tf_version, keras_version = result.stdout.split()
    assert Path(location).is_relative_to(env), "course_utils comes from the installed package"
    assert (tf_version, keras_version) == (before["tensorflow"], before["keras"])
