"""The environment check of the welcome notebook.

Every test starts from plain Python, whatever runs the tests: a terminal inside JupyterLab
(which passes its ``JPY_*`` variables on), a kernel (``%run -m pytest``) or Colab. The
tests that need one of those set it up themselves.
"""

import os
import sys
import types

import IPython
import matplotlib as mpl
import pytest

from course_utils import environment
from course_utils.environment import (
    TESTED_VERSIONS,
    Check,
    EnvironmentReport,
    KerasVersionError,
    check_environment,
    require_keras,
    supported_range,
)


@pytest.fixture(autouse=True)
def plain_python(monkeypatch):
    """No Jupyter, IPython or Colab around the test, even when the tests run inside one."""
    for name in list(os.environ):
        if name.startswith(("JPY_", "COLAB_")) or name == "MPLBACKEND":
            monkeypatch.delenv(name)
    for name in [m for m in sys.modules if m == "google.colab" or m.startswith("google.colab.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setattr(IPython, "get_ipython", lambda: None)


def _shell(monkeypatch, name, base=object):
    """Make ``get_ipython()`` return a shell whose class is called ``name``."""
    shell = type(name, (base,), {"run_line_magic": lambda self, *args: None})()
    monkeypatch.setattr(IPython, "get_ipython", lambda: shell)
    return shell


def test_report_covers_python_libraries_device_and_front_end():
    report = check_environment()
    items = [check.item for check in report.checks]
    for item in ["python", "tensorflow", "keras", "numpy", "device", "front end"]:
        assert item in items
    assert report.ok
    assert report["tensorflow"].found.startswith("2.")
    for name, (oldest, newest) in TESTED_VERSIONS.items():
        assert report[name].tested == f"{oldest} to {newest}"
        assert report[name].advice == "", "the tests run inside the tested range"
    assert "CPU" in report["device"].found or "GPU" in report["device"].found
    assert report["front end"].found == "plain Python"


def test_report_renders_as_text_and_html():
    report = EnvironmentReport(
        [Check("python", "3.12.0", True), Check("keras", "missing", False, "pip install keras")]
    )
    text = str(report)
    assert "!! keras" in text and "pip install keras" in text
    assert "need attention" in text
    html = report._repr_html_()
    assert "<table>" in html and "pip install keras" in html
    assert not report.ok


def test_unknown_item_is_a_clear_error():
    with pytest.raises(KeyError, match="no check named 'gpu'"):
        check_environment()["gpu"]


def test_missing_package_gets_install_advice(monkeypatch):
    check = environment._package_check("no_such_module_xyz", "1.0", "testing")
    assert not check.ok and check.found == "missing"
    assert 'pip install "no_such_module_xyz>=1.0"' in check.advice


def test_old_package_gets_upgrade_advice():
    check = environment._package_check("numpy", "999.0", "array maths")
    assert not check.ok and 'pip install -U "numpy>=999.0"' in check.advice


@pytest.mark.parametrize(
    ("text", "expected"), [("2.21.0", (2, 21, 0)), ("3.0.0rc1", (3, 0, 0)), ("1.26", (1, 26))]
)
def test_version_parsing(text, expected):
    assert environment._version_tuple(text) == expected


def test_a_jupyter_terminal_is_plain_python(monkeypatch):
    """A terminal in JupyterLab inherits the server's variables; Python there is no kernel."""
    monkeypatch.setenv("JPY_PARENT_PID", "4242")
    monkeypatch.setenv("JPY_SESSION_NAME", "/home/learner/notebooks/00_welcome.ipynb")
    assert not environment.in_jupyter_kernel()
    assert environment._front_end() == "plain Python"
    assert check_environment()["front end"].found == "plain Python"
    assert environment._show_figures_inline() is False


@pytest.mark.parametrize(
    ("shell", "session", "front_end"),
    [
        ("ZMQInteractiveShell", True, "Jupyter (JupyterLab or Notebook)"),
        ("ZMQInteractiveShell", False, "Jupyter kernel"),
        ("TerminalInteractiveShell", True, "IPython terminal"),
    ],
)
def test_front_end_comes_from_the_shell(monkeypatch, shell, session, front_end):
    _shell(monkeypatch, shell)
    if session:
        monkeypatch.setenv("JPY_SESSION_NAME", "lesson.ipynb")
    assert environment._front_end() == front_end
    assert environment.in_jupyter_kernel() is (shell == "ZMQInteractiveShell")


def test_a_subclass_of_the_kernel_shell_is_a_kernel(monkeypatch):
    kernel = type("ZMQInteractiveShell", (), {})
    _shell(monkeypatch, "Shell", base=kernel)  # Colab's shell subclasses ipykernel's
    assert environment.in_jupyter_kernel()


def test_colab_detection(monkeypatch):
    assert not environment.in_colab()
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    assert environment.in_colab()
    assert environment._front_end() == "Google Colab"


def test_setup_styles_figures_for_projectors():
    with mpl.rc_context():
        environment.setup()
        assert mpl.rcParams["font.size"] >= 12
        assert mpl.rcParams["image.cmap"] == "viridis"


def test_inline_figures_only_inside_a_kernel(monkeypatch):
    assert environment._show_figures_inline() is False  # plain Python: nothing to do

    calls = []

    class ZMQInteractiveShell:  # the class name ipykernel's shell has
        def run_line_magic(self, name, line):
            calls.append((name, line))

    monkeypatch.setattr(IPython, "get_ipython", lambda: ZMQInteractiveShell())
    assert environment._show_figures_inline() is True
    assert calls == [("matplotlib", "inline")]


def _fake_module(monkeypatch, name, version):
    module = types.ModuleType(name)
    module.__version__ = version
    monkeypatch.setitem(sys.modules, name, module)


def test_too_old_tensorflow_names_the_range_and_the_command(monkeypatch):
    _fake_module(monkeypatch, "tensorflow", "2.15.1")
    oldest, newest = TESTED_VERSIONS["tensorflow"]
    check = environment._package_check("tensorflow", oldest, "tf.data")
    assert not check.ok and check.found == "2.15.1"
    assert check.tested == f"{oldest} to {newest}"
    assert f"older than {oldest}" in check.advice
    assert f'pip install -U "tensorflow>={oldest}"' in check.advice
    assert "restart the kernel" in check.advice


def test_too_old_keras_in_colab_says_to_restart_the_session(monkeypatch):
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    _fake_module(monkeypatch, "keras", "2.15.0")
    oldest = TESTED_VERSIONS["keras"][0]
    check = environment._package_check("keras", oldest, "the augmentation layers")
    assert not check.ok
    assert f'pip install -U "keras>={oldest}"' in check.advice
    assert "Runtime > Restart session" in check.advice


def test_newer_than_tested_passes_with_a_way_back(monkeypatch):
    _fake_module(monkeypatch, "keras", "3.99.0")
    oldest, newest = TESTED_VERSIONS["keras"]
    check = environment._package_check("keras", oldest, "the augmentation layers")
    assert check.ok, "a newer Keras is allowed: pip keeps what the learner has"
    assert f"newer than {newest}" in check.advice
    assert f'pip install "keras=={newest}.*"' in check.advice


def test_a_newer_patch_release_of_the_newest_tested_is_not_flagged(monkeypatch):
    newest = TESTED_VERSIONS["tensorflow"][1]
    _fake_module(monkeypatch, "tensorflow", f"{newest}.9")
    check = environment._package_check("tensorflow", TESTED_VERSIONS["tensorflow"][0], "tf")
    assert check.ok and check.advice == ""


def test_missing_core_library_gets_the_oldest_supported_version(monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorflow", None)  # makes the import fail
    oldest = TESTED_VERSIONS["tensorflow"][0]
    check = environment._package_check("tensorflow", oldest, "tf.data")
    assert not check.ok and check.found == "missing"
    assert f'pip install "tensorflow>={oldest}"' in check.advice


@pytest.mark.parametrize(
    ("version", "ok", "advice"),
    [((3, 9, 18), False, "needs Python 3.10 or newer"), ((3, 13, 1), True, "untested")],
)
def test_python_outside_the_tested_versions(version, ok, advice):
    check = environment._python_check(version)
    assert check.ok is ok and advice in check.advice
    assert check.tested == " and ".join(environment.TESTED_PYTHONS)


def test_tested_python_has_no_advice():
    tested = environment.TESTED_PYTHONS[0]
    check = environment._python_check((*map(int, tested.split(".")), 0))
    assert check.ok and check.advice == ""


def test_supported_range_names_every_tested_library():
    text = supported_range()
    for name, label in [("tensorflow", "TensorFlow"), ("keras", "Keras"), ("numpy", "NumPy")]:
        oldest, newest = TESTED_VERSIONS[name]
        assert f"{label} {oldest} to {newest}" in text
    assert text.endswith("on Python " + " and ".join(environment.TESTED_PYTHONS))


def test_report_shows_the_tested_range():
    report = EnvironmentReport([Check("keras", "3.15.1", True, tested="3.10 to 3.15")])
    assert "3.15.1 (tested 3.10 to 3.15)" in str(report)
    assert "<th>tested</th>" in report._repr_html_()
    assert "<td>3.10 to 3.15</td>" in report._repr_html_()


def test_require_keras_passes_on_the_installed_keras():
    import keras

    assert require_keras(TESTED_VERSIONS["keras"][0], "the course") == keras.__version__


def test_require_keras_names_feature_and_version(monkeypatch):
    _fake_module(monkeypatch, "keras", "3.10.0")
    message = (
        r"keras\.layers\.AdaptiveAveragePooling2D needs Keras 3\.13 or newer; "
        r"this environment has Keras 3\.10\.0\. Run `pip install -U \"keras>=3\.13\"`"
    )
    with pytest.raises(KerasVersionError, match=message):
        require_keras("3.13", "keras.layers.AdaptiveAveragePooling2D")
    assert issubclass(KerasVersionError, ImportError)


def test_require_keras_rejects_a_malformed_version():
    with pytest.raises(ValueError, match="version must look like '3.10'; got 'latest'"):
        require_keras("latest", "anything")
