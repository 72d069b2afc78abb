"""The install metadata agree (pyproject.toml, environment.yml, constraints), and every module of
the package imports on its own, without side effects, and has what it exports."""

import importlib
import os
import pkgutil
import re
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

import course_utils
from course_utils.environment import (
    MINIMUM_VERSIONS,
    TESTED_PYTHONS,
    TESTED_VERSIONS,
    supported_range,
)

ROOT = Path(__file__).resolve().parents[1]
CONSTRAINTS = ["constraints.txt", "constraints-oldest.txt"]


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


def _pins(filename: str) -> dict[str, str]:
    pins = {}
    for line in (ROOT / filename).read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            pins[_name(name)] = version.strip()
    return pins


def _requirements(*extras: str) -> dict[str, Requirement]:
    project = _pyproject()["project"]
    listed = list(project["dependencies"])
    for extra in extras:
        listed += project["optional-dependencies"][extra]
    return {_name(r): Requirement(r) for r in listed}


def _minor(version: str) -> str:
    return ".".join(version.split(".")[:2])


@pytest.mark.parametrize("filename", CONSTRAINTS)
def test_constraints_pin_every_runtime_dependency(filename):
    pins = _pins(filename)
    for requirement in _pyproject()["project"]["dependencies"]:
        if "python_version" in requirement:
            continue
        assert _name(requirement) in pins, f"{filename} does not pin {requirement}"


@pytest.mark.parametrize("filename", CONSTRAINTS)
def test_constraints_lie_inside_the_install_requirements(filename):
    pins = _pins(filename)
    for name, requirement in _requirements("dev", "bench").items():
        if name in pins and requirement.marker is None:
            assert requirement.specifier.contains(pins[name]), (
                f"{filename} pins {name}=={pins[name]}, outside pyproject's {requirement}"
            )


@pytest.mark.parametrize(
    ("filename", "end"), [("constraints.txt", 1), ("constraints-oldest.txt", 0)]
)
def test_constraints_are_the_ends_of_the_tested_range(filename, end):
    pins = _pins(filename)
    for name, tested in TESTED_VERSIONS.items():
        assert _minor(pins[name]) == tested[end], (
            f"{filename} pins {name}=={pins[name]}; TESTED_VERSIONS says {tested[end]}"
        )
    # tf-keras (the bench extra) is released in step with TensorFlow.
    assert _minor(pins["tf-keras"]) == _minor(pins["tensorflow"])


def test_install_requirements_start_at_the_oldest_tested_versions():
    requirements = _requirements()
    for name, (oldest, newest) in TESTED_VERSIONS.items():
        specifier = requirements[name].specifier
        lower = [s.version for s in specifier if s.operator in (">=", "~=")]
        assert lower == [oldest], f"{name}: pyproject's lower bound is {lower}, tested {oldest}"
        assert specifier.contains(f"{newest}.0"), f"{name}: {specifier} excludes {newest}"
    tensorflow = TESTED_VERSIONS["tensorflow"]
    assert Version(tensorflow[0]) < Version(tensorflow[1]), "at least two TensorFlow minors"


def test_environment_check_minimums_are_pyprojects_lower_bounds():
    requirements = _requirements()
    pip_names = {"skimage": "scikit-image", "PIL": "pillow"}
    for module, minimum, _why in MINIMUM_VERSIONS:
        specifier = requirements[pip_names.get(module, module)].specifier
        lower = [Version(s.version) for s in specifier if s.operator in (">=", "~=")]
        assert lower == [Version(minimum)], f"{module}: check says {minimum}, pyproject {specifier}"


def test_the_tests_run_on_a_tested_python():
    running = f"{sys.version_info.major}.{sys.version_info.minor}"
    assert running in TESTED_PYTHONS, f"Python {running} runs the tests; add it to TESTED_PYTHONS"


def test_readme_states_the_tested_range():
    readme = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    assert supported_range() in readme, f"the README names the tested range: {supported_range()}"


def _modules() -> list[str]:
    """Every module of the package, found by walking it (sub-packages included)."""
    return sorted(
        info.name
        for info in pkgutil.walk_packages(course_utils.__path__, prefix="course_utils.")
        if not info.name.rsplit(".", 1)[-1].startswith("__")
    )


def test_the_walk_finds_every_module_file():
    files = {
        ".".join(p.relative_to(ROOT).with_suffix("").parts)
        for p in (ROOT / "course_utils").rglob("*.py")
        if p.name != "__init__.py" and "__pycache__" not in p.parts
    }
    assert files <= set(_modules()), f"modules the walk misses: {files - set(_modules())}"


def test_import_has_no_side_effects():
    """The package's promise: importing it seeds nothing, styles nothing, loads no TensorFlow."""
    code = (
        "import random, sys, numpy as np, matplotlib as mpl; before = dict(mpl.rcParams); "
        "state, py_state = np.random.get_state()[1].copy(), random.getstate(); "
        "import course_utils; "
        "assert dict(mpl.rcParams) == before, 'rcParams changed on import'; "
        "assert 'tensorflow' not in sys.modules, 'tensorflow imported on import'; "
        "assert (np.random.get_state()[1] == state).all() and random.getstate() == py_state"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_every_module_imports_without_side_effects():
    """Each module on its own: no rcParams change, no seeding, no download, no output."""
    code = (
        "import importlib, random, sys, numpy as np, matplotlib as mpl; "
        "import tensorflow, keras; "  # TensorFlow draws from `random` as it loads: not ours
        "before = dict(mpl.rcParams); state = np.random.get_state()[1].copy(); "
        "py_state = random.getstate(); "
        f"[importlib.import_module(m) for m in {_modules()!r}]; "
        "assert dict(mpl.rcParams) == before, 'rcParams changed on import'; "
        "assert (np.random.get_state()[1] == state).all(), 'numpy seeded on import'; "
        "assert random.getstate() == py_state, 'random seeded on import'"
    )
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "http_proxy": "http://127.0.0.1:9"}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "", f"a module prints on import: {result.stdout!r}"


@pytest.mark.parametrize("name", _modules())
def test_every_module_has_what_it_exports(name):
    module = importlib.import_module(name)
    exported = getattr(module, "__all__", [])
    missing = [n for n in exported if not hasattr(module, n)]
    assert not missing, f"{name}.__all__ names what it lacks: {missing}"
    assert len(set(exported)) == len(exported), f"{name}.__all__ repeats names"
    assert module.__doc__, f"{name} has no module docstring"


def test_console_commands_are_declared_and_run():
    from course_utils import _scripts

    declared = _pyproject()["project"]["scripts"]
    assert declared == _scripts.COMMANDS
    for command, target in declared.items():
        module, _, function = target.partition(":")
        main = getattr(importlib.import_module(module), function)
        with pytest.raises(SystemExit) as caught:
            main(["--help"])
        assert caught.value.code == 0, command
    for script in sorted((ROOT / "data_scripts").glob("*.py")):
        text = script.read_text(encoding="utf-8")
        assert "sys.path" not in text, f"{script.name} bootstraps sys.path"
        assert f"from course_utils._scripts import {script.stem}" in text


@pytest.mark.parametrize("target", ["lab", "test", "test-oldest", "course", "slides", "bench"])
def test_makefile_has_documented_targets(target):
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert re.search(rf"^{target}:", makefile, flags=re.M)
    assert f"make {target}" in (ROOT / "README.md").read_text(encoding="utf-8")


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert re.search(r"^make test\nmake test-oldest$", ci, flags=re.M)
    assert "make test" in (ROOT / "README.md").read_text(encoding="utf-8")
