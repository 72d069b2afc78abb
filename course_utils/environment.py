"""Where am I running, and is everything the course needs installed?

:func:`check_environment` is the environment check of the welcome notebook.
It returns an :class:`EnvironmentReport`, which shows itself as an HTML table
in Jupyter and as plain text in a terminal, and gives plain advice for each
thing that is missing, too old or newer than the course is tested on.
:func:`require_keras` is the call-time check of a helper that needs a newer
Keras than the oldest supported one. :func:`setup` applies the course-wide
plotting style; nothing here runs on import.
"""

from __future__ import annotations

import html
import importlib
import importlib.metadata
import os
import platform
import re
import sys
from dataclasses import dataclass, field

#: The course repository. The README, the Colab badges and the Colab install
#: cell of every notebook use this URL; ``tests/test_notebooks_format.py``
#: checks that they agree with it.
REPO_URL = "https://github.com/cnn-augmentation-course/cnn-augmentation-course"

#: The oldest and newest release (major.minor) of each core library that the
#: course is tested on, end to end: ``make test`` runs the newest
#: (``constraints.txt``), ``make test-oldest`` the oldest
#: (``constraints-oldest.txt``). ``pyproject.toml`` allows from the oldest up to
#: the next major release, so that pip keeps a newer TensorFlow or Keras that a
#: learner already has instead of replacing it; ``tests/test_packaging.py``
#: keeps the four files in step.
TESTED_VERSIONS: dict[str, tuple[str, str]] = {
    "tensorflow": ("2.19", "2.21"),
    "keras": ("3.10", "3.15"),
    "numpy": ("1.26", "2.4"),
}

#: The Python versions the tests run on. Others that the libraries support
#: (``requires-python`` in ``pyproject.toml``) are untested.
TESTED_PYTHONS: tuple[str, ...] = ("3.11",)

#: Oldest versions the lessons need: (import name, minimum, why). The minimums
#: are the lower bounds of ``pyproject.toml``; the first three come from
#: :data:`TESTED_VERSIONS`.
MINIMUM_VERSIONS: tuple[tuple[str, str, str], ...] = (
    ("tensorflow", TESTED_VERSIONS["tensorflow"][0], "tf.data and the Keras 3 backend"),
    (
        "keras",
        TESTED_VERSIONS["keras"][0],
        "the augmentation layers and keras.layers.Pipeline the lessons use",
    ),
    ("numpy", TESTED_VERSIONS["numpy"][0], "array maths in every notebook"),
    ("matplotlib", "3.9", "every figure"),
    ("ipywidgets", "8.1", "the interactive explorers and quizzes"),
    ("skimage", "0.24", "the real sample photos (the cat)"),
    ("PIL", "10.0", "reading image files"),
)

_MIN_PYTHON = (3, 10)

_PIP_NAMES = {"skimage": "scikit-image", "PIL": "pillow"}


@dataclass(frozen=True)
class Check:
    """One line of the environment report.

    Attributes
    ----------
    item : str
        What was checked, e.g. ``"tensorflow"``.
    found : str
        What was found, e.g. a version string or ``"missing"``.
    ok : bool
        Whether it is good enough for the course.
    advice : str
        What to do about it; empty when there is nothing to do.
    tested : str
        The range the course is tested on, e.g. ``"2.19 to 2.21"``; empty for
        items without one.

    Examples
    --------
    >>> Check("keras", "missing", False, "pip install keras").ok
    False
    """

    item: str
    found: str
    ok: bool
    advice: str = ""
    tested: str = ""


@dataclass(frozen=True)
class EnvironmentReport:
    """The result of :func:`check_environment`.

    Attributes
    ----------
    checks : list of Check
        One entry per item, in display order.

    Examples
    --------
    >>> report = EnvironmentReport([Check("python", "3.11.9", True)])
    >>> print(report)
    ok python  3.11.9
    Everything the course needs is here.
    >>> report["python"].found
    '3.11.9'
    """

    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every check passed."""
        return all(check.ok for check in self.checks)

    def __getitem__(self, item: str) -> Check:
        for check in self.checks:
            if check.item == item:
                return check
        raise KeyError(f"no check named {item!r}; have {[c.item for c in self.checks]}")

    def __str__(self) -> str:
        width = max(len(check.item) for check in self.checks)
        lines = []
        for check in self.checks:
            mark = "ok " if check.ok else "!! "
            line = f"{mark}{check.item.ljust(width)}  {check.found}"
            if check.tested:
                line += f" (tested {check.tested})"
            if check.advice:
                line += f"  -> {check.advice}"
            lines.append(line)
        verdict = (
            "Everything the course needs is here."
            if self.ok
            else ("Some things need attention (lines marked !!).")
        )
        return "\n".join([*lines, verdict])

    def _repr_html_(self) -> str:
        rows = "".join(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>".format(
                "&#10004;" if c.ok else "&#10008;",
                html.escape(c.item),
                html.escape(c.found),
                html.escape(c.tested),
                html.escape(c.advice),
            )
            for c in self.checks
        )
        verdict = (
            "Everything the course needs is here."
            if self.ok
            else ("Some things need attention (rows marked &#10008;).")
        )
        return (
            "<table><thead><tr><th></th><th>item</th><th>found</th><th>tested</th>"
            "<th>advice</th>"
            f"</tr></thead><tbody>{rows}</tbody></table><p>{verdict}</p>"
        )


def _version_tuple(version: str) -> tuple[int, ...]:
    """``"2.21.0rc1"`` -> ``(2, 21, 0)``: the leading numeric release parts."""
    parts = []
    for piece in version.split("."):
        digits = re.match(r"\d*", piece).group()
        if not digits:
            break
        parts.append(int(digits))
        if digits != piece:
            break
    return tuple(parts)


def in_colab() -> bool:
    """Return True when running inside Google Colab.

    Examples
    --------
    >>> in_colab()  # a doctest runs in plain Python
    False
    """
    return "google.colab" in sys.modules


def _shell() -> object | None:
    """The running IPython shell, or None in plain Python (or without IPython)."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython ships with every Jupyter install
        return None
    return get_ipython()


def in_jupyter_kernel() -> bool:
    """Return True inside a Jupyter kernel (JupyterLab, Notebook, VS Code, Colab).

    The one test of "can this process show rich output and widgets": the kernel's shell
    is an ipykernel ``ZMQInteractiveShell``. Environment variables are not asked: a
    terminal opened in JupyterLab inherits the server's ``JPY_*`` variables, yet Python
    started there is plain Python.

    Examples
    --------
    >>> in_jupyter_kernel()  # a doctest runs outside a kernel
    False
    """
    # By class name (Colab's shell subclasses it), so that ipykernel is never imported here.
    return any(kind.__name__ == "ZMQInteractiveShell" for kind in type(_shell()).__mro__)


def _front_end() -> str:
    if in_colab():
        return "Google Colab"
    if in_jupyter_kernel():
        if "JPY_SESSION_NAME" in os.environ:  # set by Jupyter Server for a notebook's kernel
            return "Jupyter (JupyterLab or Notebook)"
        return "Jupyter kernel"
    return "plain Python" if _shell() is None else "IPython terminal"


def supported_range() -> str:
    """The tested range of TensorFlow, Keras, NumPy and Python, as one sentence.

    Returns
    -------
    str
        For example ``"TensorFlow 2.19 to 2.21, Keras 3.10 to 3.15, NumPy 1.26
        to 2.4, on Python 3.11"``.

    Examples
    --------
    >>> supported_range().startswith("TensorFlow ")
    True
    """
    labels = {"tensorflow": "TensorFlow", "keras": "Keras", "numpy": "NumPy"}
    parts = [f"{labels[name]} {low} to {high}" for name, (low, high) in TESTED_VERSIONS.items()]
    return ", ".join(parts) + ", on Python " + " and ".join(TESTED_PYTHONS)


def _restart_note() -> str:
    if in_colab():
        return ", then Runtime > Restart session"
    return ", then restart the kernel"


def _package_check(module: str, minimum: str, why: str) -> Check:
    pip_name = _PIP_NAMES.get(module, module)
    tested_range = TESTED_VERSIONS.get(module)
    tested = f"{tested_range[0]} to {tested_range[1]}" if tested_range else ""
    try:
        mod = importlib.import_module(module)
    except ImportError:
        return Check(
            module,
            "missing",
            False,
            f'needed for {why}: run `pip install "{pip_name}>={minimum}"`{_restart_note()}',
            tested,
        )
    version = getattr(mod, "__version__", None) or importlib.metadata.version(pip_name)
    if _version_tuple(version) < _version_tuple(minimum):
        return Check(
            module,
            version,
            False,
            f"older than {minimum}, the oldest the course supports, needed for {why}: "
            f'run `pip install -U "{pip_name}>={minimum}"`{_restart_note()}',
            tested,
        )
    if tested_range and _version_tuple(version)[:2] > _version_tuple(tested_range[1])[:2]:
        return Check(
            module,
            version,
            True,
            f"newer than {tested_range[1]}, the newest the course is tested on: the lessons "
            f"should run; if one fails inside {pip_name}, run "
            f'`pip install "{pip_name}=={tested_range[1]}.*"`{_restart_note()}',
            tested,
        )
    return Check(module, version, True, "", tested)


class KerasVersionError(ImportError):
    """The installed Keras is too old for one feature of a helper.

    Raised by :func:`require_keras`; the message names the feature, the Keras
    version it needs, the version found and the command that installs it.

    Examples
    --------
    >>> try:
    ...     require_keras("99.0", "a feature of the future")
    ... except KerasVersionError as error:
    ...     print(str(error).split(";")[0])
    a feature of the future needs Keras 99.0 or newer
    """


def require_keras(version: str, feature: str) -> str:
    """Check, at call time, that the installed Keras is at least ``version``.

    A helper that uses something newer than the oldest Keras the course
    supports (:data:`TESTED_VERSIONS`) calls this first, so that an older Keras
    gets one clear error naming the need instead of an ``AttributeError`` from
    deep inside Keras.

    Parameters
    ----------
    version : str
        The oldest Keras release that has ``feature``, e.g. ``"3.13"``.
    feature : str
        What needs it, as the learner would recognise it, e.g.
        ``"keras.layers.AdaptiveAveragePooling2D"``.

    Returns
    -------
    str
        The installed Keras version.

    Raises
    ------
    KerasVersionError
        When the installed Keras is older than ``version`` (a subclass of
        ``ImportError``).

    Examples
    --------
    >>> require_keras("3.0", "keras.layers.RandomFlip")  # doctest: +ELLIPSIS
    '3...'
    """
    if not _version_tuple(version):
        raise ValueError(f"version must look like '3.10'; got {version!r}")
    import keras

    installed = keras.__version__
    if _version_tuple(installed) < _version_tuple(version):
        raise KerasVersionError(
            f"{feature} needs Keras {version} or newer; this environment has Keras "
            f'{installed}. Run `pip install -U "keras>={version}"`{_restart_note()}. '
            f"The rest of the course runs on Keras {TESTED_VERSIONS['keras'][0]} and newer."
        )
    return installed


def _device_check() -> Check:
    try:
        import tensorflow as tf
    except ImportError:
        return Check("device", "unknown (no TensorFlow)", False, "install TensorFlow first")
    gpus = tf.config.list_physical_devices("GPU")
    cores = os.cpu_count() or 1
    if gpus:
        return Check("device", f"{len(gpus)} GPU(s) and {cores} CPU core(s)", True)
    return Check(
        "device",
        f"CPU only, {cores} core(s)",
        True,
        "" if cores >= 2 else "one core: lessons run, about twice as slowly",
    )


def _python_check(version_info: tuple[int, ...]) -> Check:
    found = ".".join(str(v) for v in version_info)
    minor = ".".join(str(v) for v in version_info[:2])
    tested = " and ".join(TESTED_PYTHONS)
    minimum = ".".join(str(v) for v in _MIN_PYTHON)
    if tuple(version_info[:2]) < _MIN_PYTHON:
        advice = f"the course needs Python {minimum} or newer: install a newer Python"
        return Check("python", found, False, advice, tested)
    if minor not in TESTED_PYTHONS:
        advice = f"untested: the tests run on Python {tested}; the lessons should run here too"
        return Check("python", found, True, advice, tested)
    return Check("python", found, True, "", tested)


def check_environment() -> EnvironmentReport:
    """Check Python, the course's libraries, the device and the front end.

    Returns
    -------
    EnvironmentReport
        One :class:`Check` per item; ``report.ok`` is True when all pass.
        Missing or too-old items carry advice on how to fix them; TensorFlow,
        Keras and NumPy also name the range the course is tested on
        (:data:`TESTED_VERSIONS`), and a version newer than that range passes
        with a note on what to do if a lesson fails.

    Examples
    --------
    >>> report = check_environment()
    >>> report["python"].ok
    True
    """
    checks = [_python_check(sys.version_info[:3])]
    checks += [_package_check(*entry) for entry in MINIMUM_VERSIONS]
    checks.append(_device_check())
    checks.append(Check("front end", _front_end(), True))
    checks.append(Check("platform", f"{platform.system()} {platform.machine()}", True))
    return EnvironmentReport(checks)


def setup(quiet: bool = True) -> None:
    """Apply the course-wide style: legible, colour-blind-safe figures.

    Call it once in a notebook's Setup section. It sets matplotlib defaults
    that read well on a projector (larger fonts, the ``tableau-colorblind10``
    colour cycle, ``viridis`` for images of values) and, with ``quiet=True``,
    silences TensorFlow's C++ log lines (this only takes full effect when
    called before TensorFlow is first imported).

    Parameters
    ----------
    quiet : bool, default True
        Silence TensorFlow's informational logging.

    Notes
    -----
    In a Jupyter kernel it also switches on inline figures, so that a
    :class:`matplotlib.figure.Figure` returned by a course helper as a cell's
    last value is drawn below the cell (the helpers never touch pyplot).

    Examples
    --------
    >>> import matplotlib as mpl
    >>> with mpl.rc_context():  # restores the previous style afterwards
    ...     setup()
    ...     print(mpl.rcParams["image.cmap"], mpl.rcParams["font.size"])
    viridis 12.0
    """
    import matplotlib as mpl
    import matplotlib.style

    if quiet:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    _show_figures_inline()
    matplotlib.style.use("tableau-colorblind10")
    mpl.rcParams.update(
        {
            "figure.dpi": 100,
            "figure.figsize": (8, 4.5),
            "font.size": 12,
            "axes.titlesize": 13,
            "axes.labelsize": 12,
            "image.cmap": "viridis",
            "axes.grid": False,
        }
    )


def _show_figures_inline() -> bool:
    """Draw returned Figures inline when running in a Jupyter kernel.

    Returns True when inline figures were switched on.
    """
    if not in_jupyter_kernel():
        return False
    _shell().run_line_magic("matplotlib", "inline")
    return True
