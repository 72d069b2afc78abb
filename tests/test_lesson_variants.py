"""Execute every lesson variant a learner is invited to try, offline, and check the outputs.

``make variants`` runs this file (in parallel, offline); see ``tests/lesson_variants.py`` for
where the variants come from. Each run must finish without an error and without any
output on stderr (no TensorFlow, absl or oneDNN log lines, no warnings). The default runs
are executed by ``make notebooks`` (nbval) instead.
"""

from __future__ import annotations

import json
import os

import pytest
from lesson_variants import (
    NOTEBOOKS,
    exercise_cells,
    make_photo_folder,
    try_its,
    variants,
    with_solutions,
)

LESSON_FILES = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))


@pytest.mark.parametrize("path", LESSON_FILES, ids=lambda p: p.stem)
def test_try_it_prompts_are_well_formed(path):
    try_its(path)  # raises with the notebook and the paragraph at fault


@pytest.mark.parametrize("path", LESSON_FILES, ids=lambda p: p.stem)
def test_exercise_cells_name_known_exercises_of_their_lesson(path):
    from course_utils.exercises import exercises, get_exercise

    cells = exercise_cells(path)
    for _, exercise_id in cells:
        assert get_exercise(exercise_id).lesson == path.name[:2], exercise_id
    listed = [e.id for e in exercises(path.name[:2])]
    assert sorted(exercise_id for _, exercise_id in cells) == listed, (
        f"{path.name}: every exercise of the lesson has one exercise cell"
    )


@pytest.fixture(scope="session")
def photo_folder(tmp_path_factory):
    return make_photo_folder(tmp_path_factory.mktemp("photos") / "five_classes")


def _stderr(notebook: dict) -> list[str]:
    found = []
    for number, cell in enumerate(notebook["cells"]):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream" and output.get("name") == "stderr":
                found.append(f"cell {number}: {''.join(output['text'])[:300]}")
    return found


@pytest.mark.variants
@pytest.mark.parametrize("variant", variants(strict=False), ids=lambda v: v.id)
def test_lesson_variant_runs_clean(variant, photo_folder, tmp_path, monkeypatch):
    import papermill

    parameters = {
        key: str(photo_folder) if value == "PHOTO_FOLDER" else value
        for key, value in variant.parameters.items()
    }
    output = tmp_path / variant.notebook
    source = NOTEBOOKS / variant.notebook
    if variant.solutions:
        source = with_solutions(source, tmp_path / f"solved_{variant.notebook}")
        monkeypatch.setenv("COURSE_EXERCISES_STRICT", "1")
    monkeypatch.setenv("COURSE_STATIC_WIDGETS", "1")
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", os.environ.get("TF_CPP_MIN_LOG_LEVEL", "3"))
    papermill.execute_notebook(
        str(source),
        str(output),
        parameters=parameters,
        cwd=str(NOTEBOOKS),
        kernel_name="python3",
        progress_bar=False,
        log_output=False,
        execution_timeout=300,
    )
    executed = json.loads(output.read_text(encoding="utf-8"))
    stderr = _stderr(executed)
    assert not stderr, f"{variant.id} wrote to stderr:\n" + "\n".join(stderr)
