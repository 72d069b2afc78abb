"""Every lesson run as a learner would change it: each "Try it", other seeds, a folder of photos.

The variants come from the notebooks themselves:

* a markdown paragraph that starts with ``**Try it:**`` names its change as inline code
  spans ``NAME = value`` where ``NAME`` is assigned in the notebook's ``parameters``
  cell; all spans of one paragraph make one variant;
* every lesson with a ``SEED`` parameter also runs with ``SEED = 2``, with its exercise cells
  (cells tagged ``exercise``) given their reference solutions and every check required to
  pass, and with ``SEED = 1`` and ``DATASET`` set to a folder of five classes of JPEG and
  PNG photos (when it has a ``DATASET`` parameter). To save one kernel run per lesson the
  ``SEED = 2`` run is the lesson's last Try-it that leaves ``SEED`` alone, when it has one:
  the checks must pass whatever the learner tried;
* the default run is not repeated here: ``make notebooks`` (nbval) executes it.

``python tests/lesson_variants.py`` lists the variants; ``tests/test_lesson_variants.py``
executes them with papermill.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
PHOTO_CLASSES = ("cat", "astronaut", "coffee", "rocket", "camera")

_TRY_IT = re.compile(r"^\s*\*\*Try it:?\*\*:?", re.MULTILINE)
_ANY_TRY_IT = re.compile(r"try it", re.IGNORECASE)
_SPAN = re.compile(r"`([A-Z][A-Z0-9_]*)\s*=\s*([^`]+)`")


@dataclass(frozen=True)
class Variant:
    """One execution of one notebook."""

    notebook: str
    name: str
    parameters: dict = field(default_factory=dict)
    solutions: bool = False

    @property
    def id(self) -> str:
        return f"{self.notebook[:2]}-{self.name}"


def _cells(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def _source(cell: dict) -> str:
    source = cell["source"]
    return "".join(source) if isinstance(source, list) else source


def parameters(path: Path) -> dict:
    """The literal values assigned in the notebook's cell tagged ``parameters``."""
    cells = [c for c in _cells(path) if "parameters" in c.get("metadata", {}).get("tags", [])]
    if not cells:
        return {}
    if len(cells) > 1:
        raise ValueError(f"{path.name}: more than one cell is tagged 'parameters'")
    values = {}
    for node in ast.parse(_source(cells[0])).body:
        if not (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
        ):
            raise ValueError(
                f"{path.name}: the parameters cell must hold plain assignments of literals "
                f"(papermill injects new values after it); got {ast.unparse(node)!r}"
            )
        try:
            values[node.targets[0].id] = ast.literal_eval(node.value)
        except ValueError:
            raise ValueError(
                f"{path.name}: parameter {node.targets[0].id} must be a literal, computed in a "
                f"later cell; got {ast.unparse(node.value)!r}"
            ) from None
    return values


def try_its(path: Path) -> list[tuple[str, dict]]:
    """Each ``**Try it:**`` paragraph of the notebook and the parameters it sets.

    Raises
    ------
    ValueError
        For a "Try it" that is not in the ``**Try it:**`` form, sets no parameter,
        or names one that the parameters cell does not have.
    """
    known = parameters(path)
    found = []
    for cell in _cells(path):
        if cell["cell_type"] != "markdown":
            continue
        for paragraph in re.split(r"\n\s*\n", _source(cell)):
            mentions = len(_ANY_TRY_IT.findall(paragraph))
            if not mentions:
                continue
            if not _TRY_IT.match(paragraph) or mentions > 1:
                raise ValueError(
                    f"{path.name}: a 'Try it' must be its own paragraph starting with "
                    f"'**Try it:**'; got {paragraph.strip()[:80]!r}"
                )
            changes = {}
            for name, value in _SPAN.findall(paragraph):
                if name not in known:
                    raise ValueError(
                        f"{path.name}: Try it sets {name}, which is not in the parameters cell "
                        f"({', '.join(known)})"
                    )
                changes[name] = ast.literal_eval(value.strip())
            if not changes:
                raise ValueError(
                    f"{path.name}: a Try it must name its change as `NAME = value` of a "
                    f"parameter; got {paragraph.strip()[:80]!r}"
                )
            found.append((paragraph.strip(), changes))
    return found


def variants(folder: str | Path = "PHOTO_FOLDER", strict: bool = True) -> list[Variant]:
    """Every variant of every lesson; ``folder`` stands for the photo folder's path.

    With ``strict=False`` a notebook whose Try-it prompts are malformed keeps its other
    variants (the prompts are reported by a test of their own).
    """
    out = []
    for path in sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")):
        try:
            known = parameters(path)
            prompts = try_its(path)
        except ValueError:
            if strict:
                raise
            known, prompts = {}, []
        solutions = bool(exercise_cells(path))
        seed_2 = "seed-2-solutions" if solutions else "seed-2"
        carrier = max(
            (i for i, (_, changes) in enumerate(prompts) if "SEED" not in changes), default=None
        )
        for number, (_, changes) in enumerate(prompts, 1):
            if "SEED" in known and number - 1 == carrier:
                changes = {**changes, "SEED": 2}
                out.append(Variant(path.name, f"try-it-{number}-{seed_2}", changes, solutions))
            else:
                out.append(Variant(path.name, f"try-it-{number}", changes))
        if "SEED" in known:
            if carrier is None:
                out.append(Variant(path.name, seed_2, {"SEED": 2}, solutions))
            if "DATASET" in known:
                out.append(Variant(path.name, "photos-seed-1", {"SEED": 1, "DATASET": str(folder)}))
    return out


_CHECK_CALL = re.compile(r"check\(\s*[\"']([\w.-]+)[\"']")


def exercise_cells(path: Path) -> list[tuple[int, str]]:
    """(cell index, exercise id) of every code cell tagged ``exercise``."""
    found = []
    for index, cell in enumerate(_cells(path)):
        if "exercise" in cell.get("metadata", {}).get("tags", []):
            match = _CHECK_CALL.search(_source(cell))
            if not match:
                raise ValueError(
                    f"{path.name}: cell {index} is tagged 'exercise' but calls no "
                    f"check(\"<exercise id>\", answer)"
                )
            found.append((index, match.group(1)))
    return found


def with_solutions(path: Path, out: Path) -> Path:
    """Write a copy of the notebook whose exercise cells run their reference solutions."""
    from course_utils.exercises import get_exercise

    notebook = json.loads(path.read_text(encoding="utf-8"))
    for index, exercise_id in exercise_cells(path):
        solution = get_exercise(exercise_id).solution
        cell = notebook["cells"][index]
        cell["source"] = f'{solution}\ncheck("{exercise_id}", answer)\n'
    out.write_text(json.dumps(notebook, indent=1, ensure_ascii=False), encoding="utf-8")
    return out


def make_photo_folder(root: str | Path, per_class: int = 40, size: int = 96, seed: int = 0) -> Path:
    """Write a folder of five classes of photo crops, alternately JPEG and PNG.

    Each class is one of scikit-image's sample photos (``PHOTO_CLASSES``); each image a
    random crop of it, flipped or not, resized to ``size`` x ``size``.
    """
    from course_utils.data import sample_image

    root = Path(root)
    rng = np.random.default_rng(seed)
    for name in PHOTO_CLASSES:
        photo = sample_image(name)
        height, width = photo.shape[:2]
        target = root / name
        target.mkdir(parents=True, exist_ok=False)
        for i in range(per_class):
            side = int(min(height, width) * rng.uniform(0.5, 0.9))
            top = int(rng.integers(0, height - side + 1))
            left = int(rng.integers(0, width - side + 1))
            crop = photo[top : top + side, left : left + side]
            if rng.random() < 0.5:
                crop = crop[:, ::-1]
            image = Image.fromarray(np.ascontiguousarray(crop)).resize((size, size))
            if i % 2:
                image.save(target / f"{name}_{i:03d}.png")
            else:
                image.save(target / f"{name}_{i:03d}.jpg", quality=90)
    return root


if __name__ == "__main__":
    import sys

    if len(sys.argv) == 2 and sys.argv[1] not in {"-h", "--help"}:
        print(make_photo_folder(sys.argv[1]))
    else:
        for variant in variants():
            print(f"{variant.id:<28} {variant.parameters}")
