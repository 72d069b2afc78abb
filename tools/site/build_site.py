"""Build the course website from the executed lessons (``make site``).

The site is a Sphinx project rendered by MyST-NB with sphinx-book-theme: a home
page with the course map, one page per lesson in course order with previous and
next links, a table of contents, full-text search, and every figure and table of
an executed run. Nothing is fetched when a page is viewed; the site opens from
``file://`` or any static server.

Steps:

1. The lessons are the notebooks in ``notebooks/`` (``NN_name.ipynb``), in the
   order of the course map (:data:`course_utils.course.LESSONS`), any others after
   them by number.
2. Each lesson needs an executed copy in ``build/executed/NN_name.ipynb`` that is
   newer than the notebook and than ``course_utils``. ``make test`` leaves these
   behind (the Try-it harness runs every lesson with its default parameters there
   through papermill); a missing or stale one is executed here the same way, with
   papermill, offline and with static widgets (``COURSE_STATIC_WIDGETS=1``), and
   stored there for the next build.
3. The executed copies are prepared for reading (no test markers, the Colab badge
   from a local file, alt text on every figure, a Colab link and a download link
   for the lesson's notebook) into ``build/site-src/`` beside the home page, and
   Sphinx renders them into ``build/site/``. MyST-NB never executes anything.

Usage::

    python tools/site/build_site.py                 # build/site/index.html
    python tools/site/build_site.py --jobs 1 --out /tmp/site
"""

from __future__ import annotations

import argparse
import copy
import html
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[2]
CONF_DIR = Path(__file__).resolve().parent
TEMPLATES = CONF_DIR / "templates"
BADGE = "images/colab-badge.svg"
CHECK_MARKER = "# NBVAL_CHECK_OUTPUT"
STATIC_ENV = "COURSE_STATIC_WIDGETS"
#: Every HTTP(S) request of a lesson goes to a closed local port, as in ``make test``.
OFFLINE_PROXY = "http://127.0.0.1:9"
LESSON_FILE = re.compile(r"^\d\d_[A-Za-z0-9_]+\.ipynb$")
REMOTE_IMAGE = re.compile(r"!\[([^\]]*)\]\(((?:https?:)?//[^)\s]*)\)")
HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$", re.M)
#: What TensorFlow's C++ runtime writes to the process's stderr while it loads, before absl's
#: logging is set up (TF_CPP_MIN_LOG_LEVEL does not reach it): a kernel that captures file
#: descriptor 2 puts it in the import cell. Only these lines are dropped; any other stderr stays.
CPP_STARTUP_LOG = re.compile(
    r"^(WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    r"|[IWEF]\d{4} \d\d:\d\d:\d+\.\d+\s+\d+ [\w./-]+\.cc:\d+\] .*)$"
)


class SiteError(RuntimeError):
    """A lesson could not be executed or the site could not be built."""


class LessonFailed(SiteError):
    """A lesson stopped with an error; ``partial`` holds the run up to the error, if any."""

    def __init__(self, message: str, partial: Path | None = None):
        super().__init__(message)
        self.partial = partial


# --------------------------------------------------------------------------- lessons


def lesson_notebooks(folder: Path) -> list[Path]:
    """The lessons in ``folder``, in course-map order, then any others by file name.

    Examples
    --------
    >>> [p.name for p in lesson_notebooks(ROOT / "notebooks")][0]
    '00_welcome.ipynb'
    """
    from course_utils.course import LESSONS

    present = {p.name: p for p in folder.glob("[0-9][0-9]_*.ipynb") if LESSON_FILE.match(p.name)}
    ordered = [present.pop(lesson.notebook) for lesson in LESSONS if lesson.notebook in present]
    return ordered + [present[name] for name in sorted(present)]


def _newest_dependency() -> float:
    """Modification time of the newest file of ``course_utils`` (code, quiz banks, data)."""
    package = ROOT / "course_utils"
    times = [
        p.stat().st_mtime
        for p in package.rglob("*")
        if p.is_file() and p.suffix in {".py", ".toml", ".json"} and "__pycache__" not in p.parts
    ]
    return max(times, default=0.0)


#: How IPython shows a matplotlib figure when no inline backend ran (``MPLBACKEND=Agg``).
FIGURE_AS_TEXT = re.compile(r"^<Figure size \d+x\d+ with \d+ Axes>$")


def staleness(executed: Path, source: Path, newest_dependency: float = 0.0) -> str | None:
    """Why ``executed`` cannot stand for a run of ``source`` now; None when it can.

    It must exist, be newer than the notebook and than ``course_utils``, have run to
    the end, and show its figures as images (a run with ``MPLBACKEND=Agg``, as under
    pytest's default backend, shows them as text only).
    """
    if not executed.is_file():
        return "not executed yet"
    mtime = executed.stat().st_mtime
    if mtime <= source.stat().st_mtime:
        return "older than the notebook"
    if mtime <= newest_dependency:
        return "older than course_utils"
    try:
        nb = json.loads(executed.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "not a readable notebook"
    if nb.get("metadata", {}).get("papermill", {}).get("exception"):
        return "stopped with an error"
    code = [c for c in nb.get("cells", []) if c.get("cell_type") == "code"]
    if not any(c.get("outputs") for c in code):
        return "has no outputs"
    for cell in code:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            text = "".join(data.get("text/plain", ""))
            if "image/png" not in data and FIGURE_AS_TEXT.match(text.strip()):
                return "shows its figures as text (executed without the inline backend)"
    return None


def kernel_env() -> dict[str, str]:
    """Environment for executing lessons: offline, static widgets, quiet TensorFlow."""
    env = dict(os.environ)
    env[STATIC_ENV] = "1"
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    env.setdefault("PYTHONHASHSEED", "0")
    # Figures inline, as for a learner, even when called from a test that set Agg.
    env["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        env[name] = OFFLINE_PROXY
    env["no_proxy"] = env["NO_PROXY"] = "localhost,127.0.0.1"
    return env


def execute(source: Path, target: Path, timeout: int = 600) -> float:
    """Execute ``source`` with papermill (default parameters) into ``target``; seconds taken.

    The run writes into a temporary file next to ``target`` and replaces it only when the
    notebook ran to the end, so a reader never sees half a notebook. A run that stops with
    an error is kept in ``.failed/`` beside ``target`` (never reused) and raises
    :class:`LessonFailed`.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".site-") as tmp:
        partial = Path(tmp) / target.name
        command = [
            sys.executable, "-m", "papermill", str(source), str(partial),
            "--cwd", str(source.parent), "--kernel", "python3",
            "--execution-timeout", str(timeout), "--no-progress-bar", "--log-level", "WARNING",
        ]  # fmt: skip
        run = subprocess.run(command, env=kernel_env(), capture_output=True, text=True, check=False)
        if run.returncode != 0:
            tail = (run.stdout + run.stderr)[-3000:]
            failed = None
            if partial.is_file():
                failed = target.parent / ".failed" / target.name
                failed.parent.mkdir(exist_ok=True)
                os.replace(partial, failed)
            raise LessonFailed(f"{source.name} did not run to the end:\n{tail}", failed)
        os.replace(partial, target)
    return time.monotonic() - started


def ensure_executed(
    sources: list[Path], executed_dir: Path, jobs: int = 2, log=print, helpers_count: bool = True
) -> tuple[dict[Path, Path], list[str]]:
    """Map each lesson to an up-to-date executed copy, executing those that need it.

    Returns the map and the errors of lessons that stopped with one; such a lesson maps
    to its run up to the error, so that the site shows the error where it happened.
    """
    newest = _newest_dependency() if helpers_count else 0.0
    targets = {source: executed_dir / source.name for source in sources}
    reasons = {s: staleness(t, s, newest) for s, t in targets.items()}
    stale = [s for s, reason in reasons.items() if reason]
    reused = len(sources) - len(stale)
    log(f"site: {reused} executed lesson(s) reused from {_rel(executed_dir)}, {len(stale)} to run")
    for source in stale:
        log(f"site:   {source.name}: {reasons[source]}")
    if stale:
        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            futures = {s: pool.submit(execute, s, targets[s]) for s in stale}
            errors = []
            for source, future in futures.items():
                try:
                    log(f"site: executed {source.name} in {future.result():.0f} s")
                except LessonFailed as error:
                    log(f"site: {source.name} stopped with an error")
                    errors.append(str(error))
                    if error.partial is None:
                        del targets[source]
                    else:
                        targets[source] = error.partial
    else:
        errors = []
    return targets, errors


# --------------------------------------------------------------------------- preparing


def colab_url(notebook: str) -> str:
    """The Colab link of a lesson: the course map's, or the same form for a new notebook."""
    from course_utils.course import LESSONS
    from course_utils.environment import REPO_URL

    for lesson in LESSONS:
        if lesson.notebook == notebook:
            return lesson.colab_url
    path = REPO_URL.removeprefix("https://github.com/")
    return f"https://colab.research.google.com/github/{path}/blob/main/notebooks/{notebook}"


def _local_images(markdown: str) -> str:
    """The Colab badge from the site's own copy; any other remote image becomes its alt text."""

    def replace(match: re.Match) -> str:
        alt, url = match.group(1), match.group(2)
        if "colab" in url.lower() and "badge" in url.lower():
            return f"![{alt or 'Open in Colab'}]({BADGE})"
        return alt

    return REMOTE_IMAGE.sub(replace, markdown)


def _links_cell(notebook: str) -> nbformat.NotebookNode:
    text = (
        ":::{container} course-links\n"
        f"[Open in Colab]({colab_url(notebook)}) · "
        f"{{download}}`Download the notebook ({notebook}) <downloads/{notebook}>` "
        "to run it in JupyterLab\n:::"
    )
    return nbformat.v4.new_markdown_cell(text)


def _html_alt_texts(markup: str, heading: str) -> str:
    """``<img>`` tags of an HTML output without alt text get "Image under <heading>"."""
    alt = html.escape(f"Image under “{heading}”" if heading else "Image", quote=True)

    def fix(match: re.Match) -> str:
        tag = match.group(0)
        if re.search(r"\balt\s*=\s*[\"']\s*[^\"'\s]", tag):
            return tag
        tag = re.sub(r"\salt\s*=\s*([\"'])\s*\1", "", tag)
        return tag[:4] + f' alt="{alt}"' + tag[4:]

    return re.sub(r"<img\b[^>]*>", fix, markup)


def _alt_text(output: dict, heading: str) -> str:
    for mime in ("image/png", "image/jpeg", "image/svg+xml"):
        alt = str(output.get("metadata", {}).get(mime, {}).get("alt", "")).strip()
        if alt:
            return alt
    return f"Figure under “{heading}”" if heading else "Figure"


def _without_startup_log(output: dict) -> dict | None:
    """A stderr stream without TensorFlow's C++ start-up lines (None when nothing is left)."""
    if output.get("output_type") != "stream" or output.get("name") != "stderr":
        return output
    text = output["text"] if isinstance(output["text"], str) else "".join(output["text"])
    lines = text.splitlines(keepends=True)
    kept = [line for line in lines if not CPP_STARTUP_LOG.match(line.rstrip("\n"))]
    if not "".join(kept).strip():
        return None
    output["text"] = "".join(kept)
    return output


def prepare(nb: nbformat.NotebookNode, notebook: str) -> nbformat.NotebookNode:
    """A copy of an executed lesson ready for the site.

    Drops cells papermill injected, removes ``# NBVAL_CHECK_OUTPUT`` lines and
    TensorFlow's C++ start-up log lines (:data:`CPP_STARTUP_LOG`), loads
    the Colab badge from the site (other remote images become their alt text),
    adds a Colab link and a download link under the title, and gives each cell
    with an image output an alt text (the output's own, else "Figure under
    <heading>"), as every ``<img>`` in an HTML output that has none. Other outputs
    are kept as they are, stderr included, so an error shows.

    Examples
    --------
    >>> nb = nbformat.v4.new_notebook(cells=[
    ...     nbformat.v4.new_markdown_cell("# 01 · Title\\n\\n[![Open In Colab]"
    ...         "(https://colab.research.google.com/assets/colab-badge.svg)](https://x)"),
    ...     nbformat.v4.new_code_cell("# NBVAL_CHECK_OUTPUT\\nprint(1)")])
    >>> out = prepare(nb, "01_title.ipynb")
    >>> out.cells[0].source.splitlines()[-1]
    '[![Open In Colab](images/colab-badge.svg)](https://x)'
    >>> out.cells[2].source
    'print(1)'
    """
    nb = copy.deepcopy(nb)
    nb.cells = [c for c in nb.cells if "injected-parameters" not in c.metadata.get("tags", [])]
    heading = ""
    cells, links_added = [], False
    for cell in nb.cells:
        cells.append(cell)
        if cell.cell_type == "markdown":
            cell.source = _local_images(cell.source)
            found = HEADING.findall(cell.source)
            if found:
                heading = found[-1][1].strip()
            if not links_added and re.search(r"^#\s", cell.source, re.M):
                cells.append(_links_cell(notebook))
                links_added = True
            continue
        if cell.cell_type != "code":
            continue
        lines = cell.source.splitlines()
        cell.source = "\n".join(line for line in lines if line.strip() != CHECK_MARKER)
        cell.outputs = [out for out in map(_without_startup_log, cell.get("outputs", [])) if out]
        for out in cell.outputs:
            if "text/html" in out.get("data", {}):
                markup = out["data"]["text/html"]
                markup = markup if isinstance(markup, str) else "".join(markup)
                out["data"]["text/html"] = _html_alt_texts(markup, heading)
        images = [
            out
            for out in cell.get("outputs", [])
            if {"image/png", "image/jpeg", "image/svg+xml"} & set(out.get("data", {}))
        ]
        if images:
            alts = list(dict.fromkeys(_alt_text(out, heading) for out in images))
            options = cell.metadata.setdefault("mystnb", {}).setdefault("image", {})
            options.setdefault("alt", "; ".join(alts))
    if not links_added:
        cells.insert(0, _links_cell(notebook))
    nb.cells = cells
    return nb


# --------------------------------------------------------------------------- home page


def course_map_markdown(names: list[str]) -> tuple[str, str]:
    """The course map table and its summary sentence, from ``course_utils.course``.

    Links to the notebooks become links to their pages; a lesson of the map whose
    notebook is not in the build stays as text.
    """
    from course_utils import course

    try:
        table = course.markdown_map()
        summary_line = getattr(course, "summary_line", None)
        if summary_line is not None:
            summary = summary_line()
        else:
            summary = f"The whole course takes about {course.total_minutes()} minutes."
    except (ValueError, KeyError, OSError) as error:
        # A lesson whose time is not stored yet: compute every time from the notebook.
        print(f"site: the stored course map failed ({error}); computing it", file=sys.stderr)
        rows = ["| # | Lesson | What you do | Minutes |", "|---|---|---|---|"]
        total = 0
        for lesson in course.LESSONS:
            path = ROOT / "notebooks" / lesson.notebook
            minutes = course.reading_time(path).minutes if path.is_file() else ""
            total += minutes or 0
            rows.append(
                f"| {lesson.notebook[:2]} | [{lesson.title}](notebooks/{lesson.notebook}) "
                f"| {lesson.summary} | {minutes} |"
            )
        table, summary = "\n".join(rows), f"The whole course takes about {total} minutes."

    def link(match: re.Match) -> str:
        text, name = match.group(1), match.group(2)
        return f"[{text}]({name})" if name in names else text

    return re.sub(r"\[([^\]]*)\]\(notebooks/([^)]+\.ipynb)\)", link, table), summary


def write_if_changed(path: Path, text: str | bytes) -> None:
    """Write ``path`` only when its content changes, so Sphinx rebuilds only what changed."""
    data = text.encode("utf-8") if isinstance(text, str) else text
    if path.is_file() and path.read_bytes() == data:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def stage(executed: dict[Path, Path], src: Path) -> None:
    """Lay out the Sphinx source folder: home page, prepared lessons, downloads, badge."""
    from course_utils.environment import REPO_URL

    names = [source.name for source in executed]
    wanted = {"index.md", BADGE, *names, *(f"downloads/{n}" for n in names)}
    if src.is_dir():
        for path in src.rglob("*"):
            if path.is_file() and path.relative_to(src).as_posix() not in wanted:
                path.unlink()
    table, summary = course_map_markdown(names)
    index = (TEMPLATES / "index.md").read_text(encoding="utf-8")
    index = index.format(
        repo_url=REPO_URL,
        summary=summary,
        course_map=table,
        toctree="\n".join(Path(n).stem for n in names),
    )
    write_if_changed(src / "index.md", index)
    write_if_changed(src / BADGE, (TEMPLATES / "colab-badge.svg").read_bytes())
    for source, target in executed.items():
        nb = nbformat.read(target, as_version=4)
        prepared = prepare(nb, source.name)
        write_if_changed(src / source.name, nbformat.writes(prepared) + "\n")
        write_if_changed(src / "downloads" / source.name, source.read_bytes())


def sphinx_build(src: Path, out: Path, doctrees: Path) -> list[str]:
    """Render ``src`` into ``out`` with Sphinx; return its warnings."""
    with tempfile.NamedTemporaryFile("r+", suffix=".log", encoding="utf-8") as warnings:
        command = [
            sys.executable, "-m", "sphinx", "-b", "html", "-q", "-c", str(CONF_DIR),
            "-d", str(doctrees), "-w", warnings.name, str(src), str(out),
        ]  # fmt: skip
        run = subprocess.run(command, capture_output=True, text=True, check=False)
        warnings.seek(0)
        lines = [line for line in warnings.read().splitlines() if line.strip()]
    if run.returncode != 0:
        tail = (run.stdout + run.stderr)[-3000:]
        raise SiteError(f"sphinx-build failed ({run.returncode}):\n{tail}")
    return lines


def build_site(
    notebooks: Path,
    executed_dir: Path,
    src: Path,
    out: Path,
    jobs: int = 2,
    log=print,
    helpers_count: bool = True,
) -> Path:
    """Build the whole site; return the path of its home page.

    Raises
    ------
    SiteError
        When there are no lessons, Sphinx fails, or a lesson stopped with an error (the
        site is still written then, with the error on that lesson's page).
    """
    sources = lesson_notebooks(notebooks)
    if not sources:
        raise SiteError(f"no lessons (NN_name.ipynb) in {notebooks}")
    started = time.monotonic()
    executed, errors = ensure_executed(
        sources, executed_dir, jobs=jobs, log=log, helpers_count=helpers_count
    )
    executed_s = time.monotonic() - started
    stage(executed, src)
    started = time.monotonic()
    warnings = sphinx_build(src, out, src.parent / f"{src.name}-doctrees")
    for line in warnings:
        log(f"site: warning: {line}")
    log(
        f"site: {len(sources)} lessons; execution {executed_s:.0f} s, sphinx "
        f"{time.monotonic() - started:.0f} s, {len(warnings)} warning(s); "
        f"open {_rel(out)}/index.html"
    )
    if errors:
        raise SiteError(
            "the site was built, but these lessons stopped with an error (their pages show "
            "it):\n\n" + "\n\n".join(errors)
        )
    return out / "index.html"


def _rel(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python tools/site/build_site.py",
        description="Build the course website from the executed lessons into a static folder.",
    )
    parser.add_argument("--notebooks", type=Path, default=ROOT / "notebooks")
    parser.add_argument(
        "--executed", type=Path, default=ROOT / "build" / "executed",
        help="executed lessons, reused when newer than their notebook (default: build/executed)",
    )  # fmt: skip
    parser.add_argument("--src", type=Path, default=ROOT / "build" / "site-src",
                        help="the Sphinx source folder this script lays out")  # fmt: skip
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "site")
    parser.add_argument("--jobs", type=int, default=2, help="lessons executed at once")
    parser.add_argument(
        "--keep-runs-after-helper-changes", action="store_true",
        help="reuse executed lessons that are older than a change to course_utils "
        "(still never older than their notebook); for a change that cannot alter outputs",
    )  # fmt: skip
    args = parser.parse_args(argv)
    try:
        build_site(
            args.notebooks, args.executed, args.src, args.out, jobs=args.jobs,
            helpers_count=not args.keep_runs_after_helper_changes,
        )  # fmt: skip
    except SiteError as error:
        print(f"site: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
