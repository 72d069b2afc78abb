"""The environment check of the welcome notebook."""

import matplotlib as mpl
import pytest

from course_utils import environment
from course_utils.environment import Check, EnvironmentReport, check_environment


def test_report_covers_python_libraries_device_and_front_end():
    report = check_environment()
    items = [check.item for check in report.checks]
    for item in ["python", "tensorflow", "keras", "numpy", "device", "front end"]:
        assert item in items
    assert report.ok
    assert report["tensorflow"].found.startswith("2.")
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
    assert "pip install no_such_module_xyz" in check.advice


def test_old_package_gets_upgrade_advice():
    check = environment._package_check("numpy", "999.0", "array maths")
    assert not check.ok and "pip install -U numpy" in check.advice


@pytest.mark.parametrize(
    ("text", "expected"), [("2.21.0", (2, 21, 0)), ("3.0.0rc1", (3, 0, 0)), ("1.26", (1, 26))]
)
def test_version_parsing(text, expected):
    assert environment._version_tuple(text) == expected


def test_colab_detection(monkeypatch):
    import sys
    import types

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
    import IPython

    assert environment._show_figures_inline() is False  # plain Python: nothing to do

    calls = []

    class ZMQInteractiveShell:  # the class name ipykernel's shell has
        def run_line_magic(self, name, line):
            calls.append((name, line))

    monkeypatch.setattr(IPython, "get_ipython", lambda: ZMQInteractiveShell())
    assert environment._show_figures_inline() is True
    assert calls == [("matplotlib", "inline")]
