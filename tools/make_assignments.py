"""Turn the lessons' exercises and the capstone into graded assignments with otter-grader.

For every lesson notebook with exercise cells (code cells tagged ``exercise`` that call
``check("<id>", answer)``), this script writes an otter master notebook in which each
exercise cell becomes a question: its solution is the exercise's reference solution from
``course_utils.exercises`` and its one test is ``check("<id>", answer).ok``. ``otter assign``
then writes, under ``build/assignments/<lesson>/``:

* ``student/<lesson>.ipynb``: the lesson as it is, with the answer cells unanswered (no
  otter cells: it needs only ``course_utils``, and ``check()`` answers back as in the course);
* ``autograder/``: the solutions notebook and ``<lesson>-autograder_<date>.zip``, the
  autograder that ``otter run`` (locally, no Docker) or ``otter grade`` (Docker) uses.

Every student notebook is checked for solution code before the script finishes.

Usage::

    python tools/make_assignments.py                      # every lesson with exercises
    python tools/make_assignments.py 09_capstone 01_data_flow
    python tools/make_assignments.py --grade AUTOGRADER.zip SUBMISSION.ipynb [...] --timeout 600

``--grade`` runs ``otter run`` on each submission in a process of its own, with a time
limit, and prints one line per submission (score, points, or why it got none); one
submission that raises, loops or crashes the kernel never stops the others.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
OUTPUT = ROOT / "build" / "assignments"
OTTER = Path(sys.executable).with_name("otter")

#: Points per exercise where it is not 1: the capstone weighs the trained model most.
POINTS = {"09.model": 2, "09.pipeline": 3, "09.accuracy": 5}

_CHECK_CALL = re.compile(r"check\(\s*[\"']([\w.-]+)[\"']")


def exercise_cells(notebook: nbformat.NotebookNode) -> list[tuple[int, str]]:
    """(cell index, exercise id) of every code cell tagged ``exercise``."""
    found = []
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "code" and "exercise" in cell.metadata.get("tags", []):
            match = _CHECK_CALL.search(cell.source)
            if not match:
                raise ValueError(
                    f"cell {index} is tagged 'exercise' but calls no check(\"<id>\", answer)"
                )
            found.append((index, match.group(1)))
    return found


def question_name(exercise_id: str) -> str:
    """The otter question name of an exercise: ``"09.model"`` -> ``"q09_model"``."""
    return "q" + re.sub(r"\W", "_", exercise_id)


def _raw(text: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_raw_cell(text)


def _config(name: str) -> str:
    config = {
        "name": name,
        "requirements": "requirements.txt",
        "init_cell": False,  # the student notebook stays the lesson: no otter cells in it
        "check_all_cell": False,
        "export_cell": False,  # students hand in the .ipynb itself
        "run_tests": False,  # the round trip is tested by tests/test_assignments.py
        "solutions_pdf": False,
        "template_pdf": False,
        "generate": {"pdf": False, "show_stdout": True, "show_hidden": True},
    }
    return "# ASSIGNMENT CONFIG\n" + "\n".join(
        f"{key}: {json.dumps(value)}" for key, value in config.items()
    )


def _solution_cell(cell: nbformat.NotebookNode, exercise_id: str) -> nbformat.NotebookNode:
    """The answer cell with the reference solution: the prompt for students, both for otter."""
    from course_utils.exercises import get_exercise

    lines = cell.source.rstrip("\n").split("\n")
    checks = [i for i, line in enumerate(lines) if _CHECK_CALL.search(line)]
    prompt, tail = lines[: checks[-1]], lines[checks[-1] :]
    quote = "'''" if '"""' in cell.source else '"""'
    source = [f"{quote} # BEGIN PROMPT", *prompt, f"{quote} # END PROMPT"]
    source += ["# BEGIN SOLUTION NO PROMPT", get_exercise(exercise_id).solution.rstrip("\n")]
    source += ["# END SOLUTION", *tail]
    solved = nbformat.v4.new_code_cell("\n".join(source))
    solved.metadata = json.loads(json.dumps(cell.metadata))
    return solved


def _test_cell(exercise_id: str) -> nbformat.NotebookNode:
    result = f"_result_{question_name(exercise_id)}"
    return nbformat.v4.new_code_cell(
        f'{result} = check("{exercise_id}", answer)\nassert {result}.ok, str({result})'
    )


def master_notebook(path: str | Path) -> nbformat.NotebookNode:
    """The otter master notebook of a lesson: the lesson, each exercise cell a question.

    Raises
    ------
    ValueError
        If the lesson has no exercise cells.
    """
    path = Path(path)
    lesson = nbformat.read(path, as_version=4)
    found = dict(exercise_cells(lesson))
    if not found:
        raise ValueError(f"{path.name} has no exercise cells (code cells tagged 'exercise')")
    cells = [_raw(_config(path.stem))]
    for index, cell in enumerate(lesson.cells):
        if index not in found:
            cells.append(cell)
            continue
        exercise_id = found[index]
        points = POINTS.get(exercise_id, 1)
        cells += [
            _raw(
                f"# BEGIN QUESTION\nname: {question_name(exercise_id)}\npoints: {points}\n"
                "check_cell: false"  # the exercise cell's own check() is the feedback
            ),
            _raw("# BEGIN SOLUTION"),
            _solution_cell(cell, exercise_id),
            _raw("# END SOLUTION"),
            _raw("# BEGIN TESTS"),
            _test_cell(exercise_id),
            _raw("# END TESTS"),
            _raw("# END QUESTION"),
        ]
    master = nbformat.v4.new_notebook(cells=cells, metadata=lesson.metadata)
    return master


def tag_questions(path: str | Path, out: str | Path | None = None) -> Path:
    """Mark each cell that calls ``check("<id>", ...)`` so otter grades it right after the cell.

    Otter runs a question's test after a cell whose metadata lists it (``otter: tests``), in
    the state the notebook is in there; any test not run that way runs at the very end, when
    ``answer`` holds the last exercise's answer. The marks are written into the student
    notebooks and put back by :func:`grade`, in case an editor dropped them.
    """
    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            names = [question_name(found) for found in _CHECK_CALL.findall(cell.source)]
            if names:
                cell.metadata.setdefault("otter", {})["tests"] = names
    out = Path(out or path)
    nbformat.write(notebook, out)
    return out


def requirements() -> str:
    """The autograder's requirements: the course package and the versions it is tested with."""
    from course_utils.environment import REPO_URL

    pins = {}
    for line in (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines():
        name, _, version = line.partition("==")
        if version:
            pins[name.strip().lower()] = version.split(";")[0].strip()
    wanted = ["tensorflow", "keras", "numpy", "matplotlib", "ipywidgets", "scikit-image", "pillow"]
    lines = [f"{name}=={pins[name]}" for name in wanted if name in pins]
    return "\n".join([f"course-utils @ git+{REPO_URL}", *lines]) + "\n"


def solution_lines(notebook_path: str | Path) -> set[str]:
    """Lines of the lesson's reference solutions that the lesson itself does not show."""
    from course_utils.exercises import get_exercise

    lesson = nbformat.read(notebook_path, as_version=4)
    found = exercise_cells(lesson)
    shown = {
        line.strip()
        for index, cell in enumerate(lesson.cells)
        if index not in dict(found)
        for line in cell.source.splitlines()
    }
    lines = set()
    for _, exercise_id in found:
        for line in get_exercise(exercise_id).solution.splitlines():
            line = line.strip()
            if len(line) >= 12 and not line.startswith("#") and line not in shown:
                lines.add(line)
    return lines


def leaked_solutions(student_path: str | Path, lesson_path: str | Path) -> list[str]:
    """Solution lines (and otter markers) found in a student notebook; [] when it is clean."""
    text = Path(student_path).read_text(encoding="utf-8")
    notebook = nbformat.reads(text, as_version=4)
    student_lines = {
        line.strip() for cell in notebook.cells for line in cell.source.splitlines()
    }
    leaks = sorted(solution_lines(lesson_path) & student_lines)
    markers = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN PROMPT", "END PROMPT")
    leaks += [marker for marker in markers if marker in text]
    return leaks


@dataclass
class Built:
    """One assignment written by :func:`build`."""

    lesson: str
    student: Path
    autograder_zip: Path
    questions: dict[str, int] = field(default_factory=dict)


def build(lesson: str | Path, output: str | Path = OUTPUT) -> Built:
    """Write ``output/<lesson>/student`` and ``output/<lesson>/autograder`` with otter assign."""
    path = Path(lesson)
    if not path.suffix:
        path = NOTEBOOKS / f"{path.name}.ipynb"
    target = Path(output) / path.stem
    if target.exists():
        shutil.rmtree(target)  # our own build output, rebuilt from the lesson
    with tempfile.TemporaryDirectory(prefix="assign_") as work:
        master = Path(work) / path.name
        nbformat.write(master_notebook(path), master)
        (Path(work) / "requirements.txt").write_text(requirements(), encoding="utf-8")
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
        done = subprocess.run(
            [str(OTTER), "assign", "--no-pdfs", str(master), str(target)],
            cwd=work, env=env, capture_output=True, text=True,
        )
        if done.returncode != 0:
            raise RuntimeError(f"otter assign failed for {path.name}:\n{done.stdout}{done.stderr}")
    student = target / "student" / path.name
    for notebook in (student, target / "autograder" / path.name):
        tag_questions(notebook)
    leaks = leaked_solutions(student, path)
    if leaks:
        raise RuntimeError(f"{student} contains solution code: {leaks[:5]}")
    zips = sorted((target / "autograder").glob("*.zip"))
    found = exercise_cells(nbformat.read(path, as_version=4))
    return Built(
        path.stem, student, zips[-1], {e: POINTS.get(e, 1) for _, e in found}
    )


def lessons_with_exercises() -> list[Path]:
    """Every lesson notebook that has exercise cells, in course order."""
    out = []
    for path in sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")):
        if exercise_cells(nbformat.read(path, as_version=4)):
            out.append(path)
    return out


@dataclass
class Graded:
    """The grade of one submission."""

    submission: str
    score: float | None
    possible: float | None
    questions: dict[str, float] = field(default_factory=dict)
    error: str = ""
    seconds: float = 0.0

    def __str__(self) -> str:
        head = f"{self.submission}: "
        if self.score is None:
            return head + f"not graded ({self.error}) after {self.seconds:.0f} s"
        scores = ", ".join(f"{q} {s:g}" for q, s in self.questions.items())
        points = f"{self.score:g} of {self.possible:g} points"
        return head + f"{points} ({scores}) in {self.seconds:.0f} s"


def grade(autograder_zip: str | Path, submission: str | Path, timeout: float = 600) -> Graded:
    """Grade one submission with ``otter run`` (no Docker) in a process of its own.

    A cell that raises costs the questions that need it; a submission that runs past
    ``timeout`` seconds (a loop that never ends) or kills its kernel gets ``score=None``
    and an ``error`` that says why, and the grader itself carries on.
    """
    submission = Path(submission)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="grade_") as out:
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
        tagged = tag_questions(submission, Path(out) / submission.name)
        command = [str(OTTER), "run", "-a", str(autograder_zip), "-o", out, "--no-logo",
                   str(tagged)]
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
            start_new_session=True,
        )
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_tree(process.pid)
            process.communicate()
            return Graded(submission.name, None, None, error=f"timed out after {timeout:g} s",
                          seconds=time.perf_counter() - start)
        seconds = time.perf_counter() - start
        results = Path(out) / "results.json"
        if process.returncode != 0 or not results.exists():
            tail = (stdout + stderr).strip().splitlines()[-3:]
            return Graded(submission.name, None, None, error=" / ".join(tail), seconds=seconds)
        data = json.loads(results.read_text(encoding="utf-8"))
    scored = [t for t in data.get("tests", []) if "score" in t]  # not the "Public Tests" summary
    questions = {t["name"]: float(t["score"]) for t in sorted(scored, key=lambda t: t["name"])}
    possible = float(sum(t["max_score"] for t in scored))
    return Graded(submission.name, sum(questions.values()), possible, questions, seconds=seconds)


def _kill_tree(pid: int) -> None:
    """Stop otter run and every process under it, the kernel included.

    Jupyter starts each kernel in a session of its own, so killing otter's process group
    would leave a looping kernel behind: its processes are found through their parents.
    """
    import signal

    listing = subprocess.run(["ps", "-eo", "pid=,ppid="], capture_output=True, text=True).stdout
    children: dict[int, list[int]] = {}
    for line in listing.splitlines():
        child, parent = (int(part) for part in line.split())
        children.setdefault(parent, []).append(child)
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo += children.get(current, [])
    for victim in reversed(found):
        try:
            os.kill(victim, signal.SIGKILL)
        except ProcessLookupError:
            pass


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("lessons", nargs="*", help="lesson notebooks or names; default: all")
    parser.add_argument("--output", type=Path, default=OUTPUT, help="default build/assignments")
    parser.add_argument("--grade", type=Path, metavar="AUTOGRADER_ZIP",
                        help="grade the given submissions with this autograder instead")
    parser.add_argument("--timeout", type=float, default=600,
                        help="seconds per submission when grading (default 600)")
    args = parser.parse_args(argv)
    if args.grade:
        if not args.lessons:
            parser.error("--grade needs one or more submission notebooks")
        results = [grade(args.grade, s, args.timeout) for s in args.lessons]
        for result in results:
            print(result)
        return 0
    lessons = args.lessons or lessons_with_exercises()
    for lesson in lessons:
        start = time.perf_counter()
        built = build(lesson, args.output)
        print(
            f"{built.lesson}: {len(built.questions)} questions, "
            f"{sum(built.questions.values())} points; student {built.student}; "
            f"autograder {built.autograder_zip} ({time.perf_counter() - start:.0f} s)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
