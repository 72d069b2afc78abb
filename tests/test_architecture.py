"""The package's house rules: which module may import which (the README's architecture note).

Imports are read from the source (every ``import`` and ``from ... import``, also inside
functions), so a helper that reaches into a module it should not is caught here before it
makes the layers tangle.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "course_utils"

# Foundations import nothing of the course or only each other; concerns import foundations and
# the concerns listed. ``quiz`` re-exports the quiz widget from ``widgets`` lazily (on first
# use), so that lessons can keep importing ``quiz_widget`` from ``course_utils.quiz``.
FOUNDATIONS = {"_validation", "_quiet", "environment", "_display", "_download", "_shapes"}
ALLOWED = {
    "__init__": {"_quiet", "environment"},
    "_validation": set(),
    "_quiet": set(),
    "environment": set(),
    "_display": {"_validation"},
    "_download": {"_quiet"},
    "_shapes": {"_validation"},
    "_folders": {"_display", "_download", "_shapes", "_validation"},
    "data": {"_display", "_download", "_folders", "_shapes", "_validation"},
    "_scripts": {"_download", "data"},
    "fused": {"_validation"},
    "augment": {"_display", "_validation", "fused"},
    "models": {"_display", "_validation"},
    "plots": {"_display", "_validation", "models"},
    "trace": {"_display", "_validation", "models"},
    "pipeline": {"_display", "_validation", "augment", "models", "trace"},
    "compare": {"_display", "_validation"},
    "quiz": {"_display", "widgets"},
    "widgets": FOUNDATIONS | {"augment", "models", "plots", "quiz", "trace"},
    "course": {"_display", "environment", "quiz"},
    "exercises": FOUNDATIONS | {"data", "models", "trace", "compare", "fused", "exercises"},
}


def course_imports(path: Path) -> set[str]:
    """The top-level course_utils modules (or ``exercises``) that ``path`` imports."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "course_utils":
                found |= {alias.name for alias in node.names}
            elif node.module.startswith("course_utils."):
                found.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            found |= {
                alias.name.split(".")[1]
                for alias in node.names
                if alias.name.startswith("course_utils.")
            }
    return found


def _key(path: Path) -> str:
    relative = path.relative_to(PACKAGE).with_suffix("")
    return "exercises" if relative.parts[0] == "exercises" else relative.parts[0]


MODULES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_module_imports_only_what_the_architecture_allows(path):
    key = _key(path)
    assert key in ALLOWED, f"{key} is a new module: give it a row in ALLOWED and the README"
    extra = course_imports(path) - ALLOWED[key] - {key}
    assert not extra, f"course_utils/{path.relative_to(PACKAGE)} imports {sorted(extra)}"


def test_no_keras_internals_and_no_seed_generator_subclass():
    for path in MODULES:
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"^\s*(from|import) keras\.src", text, re.MULTILINE), path
        assert not re.search(r"class \w+\([^)]*SeedGenerator", text), path


def test_the_readme_describes_every_module():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    note = readme[readme.index("### Architecture") :]
    for key in sorted(set(ALLOWED) - {"__init__"}):
        name = "exercises/" if key == "exercises" else f"{key}.py"
        assert f"`{name}`" in note, f"the README's architecture note does not name {name}"


def test_the_import_reader_sees_nested_imports(tmp_path):
    source = tmp_path / "m.py"
    source.write_text(
        "import os\nfrom course_utils import _display\n"
        "def f():\n    from course_utils.models import build_course_cnn\n"
        "    import course_utils.trace\n"
    )
    assert course_imports(source) == {"_display", "models", "trace"}
