"""The install metadata: pyproject.toml, environment.yml and constraints.txt agree."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

import course_utils

ROOT = Path(__file__).resolve().parents[1]


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _conda_pip_entries() -> list[str]:
    """The `pip:` list of environment.yml, comments removed."""
    entries, in_pip = [], False
    for line in (ROOT / "environment.yml").read_text(encoding="utf-8").splitlines():
        if re.match(r"^\s*- pip:\s*$", line):
            in_pip = True
            continue
        if in_pip:
            match = re.match(r"^\s{6}- (.+?)\s*(#.*)?$", line)
            if not match:
                break
            entries.append(match.group(1))
    return entries


def _name(requirement: str) -> str:
    return re.split(r"[<>=~!;\[ ]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def test_version_is_exposed():
    assert re.fullmatch(r"\d+\.\d+\.\d+", course_utils.__version__)


def test_install_requirements_use_ranges_not_pins():
    project = _pyproject()["project"]
    requirements = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        requirements += extra
    pinned = [r for r in requirements if "==" in r]
    assert not pinned, f"install requirements must be ranges, found pins: {pinned}"


def test_conda_environment_matches_pyproject():
    runtime = _pyproject()["project"]["dependencies"]
    conda = _conda_pip_entries()
    assert conda, "environment.yml has no pip: section"
    missing = [r for r in runtime if r not in conda]
    assert not missing, f"environment.yml lacks (or disagrees on) {missing}"
    dev = {_name(r): r for r in _pyproject()["project"]["optional-dependencies"]["dev"]}
    for entry in conda:
        if entry in runtime or entry == "-e .":
            continue
        assert _name(entry) in dev, f"environment.yml has {entry!r}, unknown to pyproject.toml"
        expected = dev[_name(entry)]
        assert entry == expected, f"{entry!r} disagrees with pyproject's {expected!r}"


def test_conda_environment_comments_name_notebooks():
    text = (ROOT / "environment.yml").read_text(encoding="utf-8")
    for line in text.partition("dependencies:")[2].splitlines():
        if re.match(r"^\s+- ", line) and "pip:" not in line:
            assert re.search(r"#\s*(\d\d|every notebook|installs)", line), (
                f"each dependency says which notebook needs it: {line.strip()!r}"
            )


def test_constraints_pin_every_runtime_dependency():
    pins = {}
    for line in (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            pins[_name(name)] = version
    for requirement in _pyproject()["project"]["dependencies"]:
        if "python_version" in requirement:
            continue
        assert _name(requirement) in pins, f"constraints.txt does not pin {requirement}"


def test_import_has_no_side_effects():
    code = (
        "import sys, matplotlib as mpl; before = dict(mpl.rcParams); "
        "import course_utils; "
        "assert dict(mpl.rcParams) == before, 'rcParams changed on import'; "
        "assert 'tensorflow' not in sys.modules, 'tensorflow imported on import'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("target", ["lab", "test", "course", "slides", "bench"])
def test_makefile_has_documented_targets(target):
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert re.search(rf"^{target}:", makefile, flags=re.M)
    assert f"make {target}" in (ROOT / "README.md").read_text(encoding="utf-8")


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert re.search(r"^make test$", ci, flags=re.M)
    assert "make test" in (ROOT / "README.md").read_text(encoding="utf-8")
