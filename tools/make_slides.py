"""Turn lesson notebooks into reveal.js slide decks that work offline.

Each notebook is executed in a fresh kernel (in its own folder, so relative
paths work; the source notebook is only read, never written) and exported with
nbconvert's ``SlidesExporter`` into ``<output-dir>/<name>.slides.html``, plus an
``index.html`` listing the decks. reveal.js, jQuery and RequireJS (and MathJax
when a notebook contains maths) are copied next to the decks from their npm
packages, pinned by version and checked against their published sha512
integrity, so the decks open from disk without a network. The packages are
fetched once with ``npm pack`` into a cache (``build/vendor``); later builds
reuse the cache and need no network at all.

Slides come from each cell's ``slideshow.slide_type`` metadata (in JupyterLab:
the property inspector, "Slide Type"). Cells without one get sensible defaults
from :func:`add_slide_metadata`, so every lesson gets a deck: each H1/H2
heading starts a slide, an H3 a sub-slide, a short code cell under text appears
as a fragment, taller ones (a figure, a long table) and further code cells as
sub-slides below, and the Colab install cell is skipped.

During execution the environment variable ``COURSE_STATIC_WIDGETS=1`` makes the
explorers and quizzes of ``course_utils`` show static figures and text, and
every matplotlib figure is shown as a PNG whose alt text is the figure's title.

Usage::

    python tools/make_slides.py --output-dir build/slides notebooks/0*.ipynb
    python tools/make_slides.py --no-execute ...   # use the outputs stored in the notebooks
"""

from __future__ import annotations

import argparse
import base64
import copy
import hashlib
import html
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE_DIR = Path(__file__).resolve().parent / "slides_template"
TEMPLATE_NAME = "course_reveal"
DEFAULT_CACHE = ROOT / "build" / "vendor"
VENDOR = "vendor"  # folder next to the decks that holds the copied assets
CHECK_MARKER = "NBVAL_CHECK_OUTPUT"
STATIC_ENV = "COURSE_STATIC_WIDGETS"
REMOTE_IMAGE = re.compile(r"!\[([^\]]*)\]\((?:https?:)?//[^)]*\)")


@dataclass(frozen=True)
class Package:
    """An npm package the decks need, pinned by version and integrity.

    Attributes
    ----------
    name, version : str
        What ``npm pack name@version`` fetches.
    integrity : str
        The registry's ``sha512-...`` integrity of the tarball.
    keep : tuple of str
        Paths inside the package copied next to the decks (files or folders).
    """

    name: str
    version: str
    integrity: str
    keep: tuple[str, ...]

    @property
    def folder(self) -> str:
        return f"{self.name}-{self.version}"


# reveal.js 4.0.2 is the version nbconvert's reveal template is written for.
PACKAGES = {
    "reveal": Package(
        "reveal.js",
        "4.0.2",
        "sha512-LWZSUenufF1gpD7npxJ7KfoQQFKgc1D6XrLTFgKlwWNP1BQ74hT48KONFWMAw+8R/QUeaScCLCLrBVHDfFIEiw==",
        ("dist", "plugin/notes", "LICENSE"),
    ),
    "jquery": Package(
        "jquery",
        "3.7.1",
        "sha512-m4avr8yL8kmFN8psrbFFFmB/If14iN5o9nw/NgnnM+kybDJpRsAynV2BsfpTYrTRysYUdADVD7CkUUizgkpLfg==",
        ("dist/jquery.min.js", "LICENSE.txt"),
    ),
    "requirejs": Package(
        "requirejs",
        "2.3.7",
        "sha512-DouTG8T1WanGok6Qjg2SXuCMzszOo0eHeH9hDZ5Y4x8Je+9JB38HdTLT4/VA8OaUhBa0JPVHJ0pyBkM1z+pDsw==",
        ("require.js",),
    ),
    "mathjax": Package(
        "mathjax",
        "2.7.7",
        "sha512-OOl0B2/0tSJAtAZarXnQuLDBLgTNRqiI9VqHTQzPsxf4okT2iIpDrvaklK9x2QEMD1sDj4yRn11Ygci41DxMAQ==",
        (
            "MathJax.js",
            "config",
            "extensions",
            "jax/element",
            "jax/input/TeX",
            "jax/output/CommonHTML",
            "fonts/HTML-CSS/TeX/woff",
            "localization/en",
            "LICENSE",
        ),
    ),
}

# Stands in for MathJax when no notebook has maths: reveal's template calls
# MathJax.Hub on every slide change.
MATHJAX_STUB = (
    "window.MathJax = {Hub: {getAllJax: function () { return []; }, Rerender: function () {},\n"
    "  Config: function () {}, Queue: function () {}}};\n"
)

# Run in the kernel before the first cell: matplotlib figures become PNGs
# whose metadata carries an alt text taken from the figure's titles. Registered
# again before every cell, because importing pyplot installs the inline
# backend's own formatter.
KERNEL_SETUP = r"""
def _course_slides_setup():
    import io
    from IPython import get_ipython
    from matplotlib.figure import Figure

    def figure_png(fig):
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
        title = fig._suptitle.get_text() if fig._suptitle is not None else ""
        if not title:
            title = "; ".join(ax.get_title() for ax in fig.axes if ax.get_title())
        return buffer.getvalue(), {"alt": title}

    def register(*_):
        get_ipython().display_formatter.formatters["image/png"].for_type(Figure, figure_png)

    import matplotlib.pyplot  # noqa: F401  (activates the inline backend, which sets its own)

    register()
    get_ipython().events.register("pre_run_cell", register)


_course_slides_setup()
del _course_slides_setup
"""


class SlidesError(RuntimeError):
    """A deck cannot be built; the message says what to do."""


# --------------------------------------------------------------------------- slide metadata


def _heading_level(source: str) -> int:
    match = re.match(r"\s*(#{1,6})\s", source)
    return len(match.group(1)) if match else 0


def _is_colab_install(cell: nbformat.NotebookNode) -> bool:
    return (
        cell.cell_type == "code"
        and "google.colab" in cell.source
        and "pip install" in (cell.source)
    )


def _weight(cell: nbformat.NotebookNode) -> int:
    """Rough height of a code cell in lines: its code plus its outputs (a picture is 15)."""
    lines = len(cell.source.strip().splitlines())
    for output in cell.get("outputs", []):
        data = output.get("data", {})
        if output.get("output_type") == "stream" and output.get("name") == "stdout":
            lines += len(output.get("text", "").splitlines())
        elif any(key.startswith("image/") for key in data):
            lines += 15
        elif "text/html" in data:
            lines += max(3, str(data["text/html"]).count("<tr"))
        elif "text/plain" in data:
            lines += len(str(data["text/plain"]).splitlines())
    return lines


def add_slide_metadata(
    nb: nbformat.NotebookNode, force: bool = False, fragment_lines: int = 14
) -> nbformat.NotebookNode:
    """Return a copy of ``nb`` with a ``slideshow.slide_type`` on every cell.

    Cells the author already gave a slide type keep it (unless ``force``); the
    others get defaults: a markdown cell starting with an H1 or H2 heading
    starts a ``"slide"``, an H3 a ``"subslide"``, other markdown continues the
    current slide (``"-"``); a code cell right after text appears as a
    ``"fragment"`` when it is short (code plus outputs at most ``fragment_lines``
    lines, a picture counting 15), otherwise, and after other code, it starts a
    ``"subslide"`` below; the Colab install cell is ``"skip"``. Run it on an
    executed notebook so that outputs count.

    Parameters
    ----------
    nb : nbformat.NotebookNode
        The notebook; not modified.
    force : bool, default False
        Replace the slide types the author set.
    fragment_lines : int, default 14
        Tallest code cell still shown as a fragment of the slide above it.

    Returns
    -------
    nbformat.NotebookNode
        The copy with slide types.

    Examples
    --------
    >>> nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("## Data")])
    >>> add_slide_metadata(nb).cells[0].metadata["slideshow"]
    {'slide_type': 'slide'}
    """
    nb = copy.deepcopy(nb)
    previous = None
    for cell in nb.cells:
        given = cell.metadata.get("slideshow", {}).get("slide_type")
        if given and not force:
            kind = given
        elif cell.cell_type == "markdown":
            level = _heading_level(cell.source)
            kind = "slide" if level in (1, 2) else "subslide" if level == 3 else "-"
        elif _is_colab_install(cell):
            kind = "skip"
        elif cell.cell_type == "code":
            small = _weight(cell) <= fragment_lines
            kind = "fragment" if previous == "markdown" and small else "subslide"
        else:
            kind = "skip"
        cell.metadata["slideshow"] = {"slide_type": kind}
        if kind != "skip":
            previous = cell.cell_type
    return nb


# --------------------------------------------------------------------------- cleaning


def prepare_for_slides(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Return a copy ready to export offline: no test markers, no remote images, alt texts.

    Removes ``# NBVAL_CHECK_OUTPUT`` lines from code and log lines (stderr) from
    outputs; replaces Markdown images
    loaded from the web (such as the Colab badge) by their alt text, keeping any
    link around them; and gives each PNG output without an ``alt`` in its
    metadata the text "Figure under <heading>", from the nearest heading above.

    Examples
    --------
    >>> nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(
    ...     "[![Open In Colab](https://colab.research.google.com/badge.svg)](https://x)")])
    >>> prepare_for_slides(nb).cells[0].source
    '[Open In Colab](https://x)'
    """
    nb = copy.deepcopy(nb)
    heading = nb.metadata.get("title", "")
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = REMOTE_IMAGE.sub(r"\1", cell.source)
            if _heading_level(cell.source):
                heading = cell.source.strip().splitlines()[0].lstrip("#").strip()
        if cell.cell_type != "code":
            continue
        lines = cell.source.splitlines()
        cell.source = "\n".join(line for line in lines if line.strip() != f"# {CHECK_MARKER}")
        cell.outputs = [
            out
            for out in cell.get("outputs", [])
            if not (out.get("output_type") == "stream" and out.get("name") == "stderr")
        ]
        for output in cell.get("outputs", []):
            if "image/png" not in output.get("data", {}):
                continue
            meta = output.setdefault("metadata", {}).setdefault("image/png", {})
            if not str(meta.get("alt", "")).strip():
                meta["alt"] = f"Figure under “{heading}”" if heading else "Figure"
    return nb


def has_math(nb: nbformat.NotebookNode) -> bool:
    """True when a markdown cell contains TeX maths (``$...$``, ``$$``, ``\\(``)."""
    pattern = re.compile(r"\$\$|\\\(|\\\[|(?<![\\$])\$[^$\s][^$\n]*\$")
    return any(pattern.search(c.source) for c in nb.cells if c.cell_type == "markdown")


# --------------------------------------------------------------------------- execution


def kernel_env() -> dict[str, str]:
    """Environment of the kernel that executes a notebook for slides."""
    env = dict(os.environ)
    env[STATIC_ENV] = "1"
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    env.setdefault("PYTHONHASHSEED", "0")
    env["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    return env


def execute(nb: nbformat.NotebookNode, folder: Path, timeout: int = 600) -> nbformat.NotebookNode:
    """Execute a copy of ``nb`` in ``folder`` with static widgets; return the copy."""
    from nbclient import NotebookClient

    nb = copy.deepcopy(nb)
    setup = nbformat.v4.new_code_cell(KERNEL_SETUP)
    nb.cells.insert(0, setup)
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(folder)}},
        store_widget_state=False,
    )
    try:
        client.execute(env=kernel_env())
    finally:
        nb.cells.remove(setup)
    return nb


# --------------------------------------------------------------------------- assets


def _integrity(path: Path) -> str:
    digest = hashlib.sha512(path.read_bytes()).digest()
    return "sha512-" + base64.b64encode(digest).decode("ascii")


def _npm_pack(spec: str, destination: Path) -> Path:
    """Download ``spec`` (``name@version``) as a tarball with ``npm pack``."""
    npm = shutil.which("npm")
    if npm is None:
        raise SlidesError(
            f"npm is needed once to fetch {spec} for offline slides (install Node.js, e.g. "
            "`apt-get install nodejs npm`), or run with --cdn to load reveal.js from the web"
        )
    destination.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [npm, "pack", spec, "--json", "--pack-destination", str(destination)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise SlidesError(f"`npm pack {spec}` failed:\n{result.stderr.strip()}")
    return destination / json.loads(result.stdout)[0]["filename"]


def fetch_package(package: Package, cache: Path) -> Path:
    """Return the unpacked package folder in ``cache``, fetching it if needed.

    The tarball's sha512 must match ``package.integrity``; it is unpacked with
    tarfile's ``data`` filter (no links or paths outside the folder).
    """
    folder = cache / package.folder
    if (folder / "package").is_dir():
        return folder / "package"
    tarball = cache / f"{package.folder}.tgz"
    if not tarball.is_file():
        downloaded = _npm_pack(f"{package.name}@{package.version}", cache)
        if downloaded != tarball:
            downloaded.replace(tarball)
    found = _integrity(tarball)
    if found != package.integrity:
        tarball.unlink()
        raise SlidesError(
            f"{tarball.name}: integrity {found} does not match the pinned {package.integrity}"
        )
    staging = Path(tempfile.mkdtemp(prefix=".unpack-", dir=cache))
    with tarfile.open(tarball) as archive:
        if hasattr(tarfile, "data_filter"):
            archive.extractall(staging, filter="data")
        else:  # pragma: no cover - Python < 3.10.12
            archive.extractall(staging)  # noqa: S202 - integrity checked above
    staging.replace(folder)
    return folder / "package"


def install_assets(output_dir: Path, cache: Path, math: bool = False) -> dict[str, str]:
    """Copy the decks' JavaScript and CSS next to them; return the nbconvert URL settings.

    Parameters
    ----------
    output_dir : Path
        Where the decks go; assets land in ``output_dir / "vendor"``.
    cache : Path
        Where the npm tarballs are kept between builds.
    math : bool
        Also install MathJax (about 12 MB); otherwise a small stand-in.

    Returns
    -------
    dict
        ``reveal_url_prefix``, ``jquery_url``, ``require_js_url`` and
        ``mathjax_url``, relative to the decks.
    """
    vendor = output_dir / VENDOR
    names = ["reveal", "jquery", "requirejs"] + (["mathjax"] if math else [])
    for key in names:
        package = PACKAGES[key]
        source = fetch_package(package, cache)
        target = vendor / package.folder
        stamp = target / ".complete"
        if stamp.is_file():
            continue
        for item in package.keep:
            src, dst = source / item, target / item
            if src.is_dir():
                shutil.copytree(src, dst, dirs_exist_ok=True)
            elif src.is_file():
                dst.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, dst)
            else:
                raise SlidesError(f"{package.folder} has no {item}; is the pin right?")
        stamp.write_text(package.integrity, encoding="utf-8")
    stub = vendor / "mathjax-stub.js"
    if not math:
        vendor.mkdir(parents=True, exist_ok=True)
        stub.write_text(MATHJAX_STUB, encoding="utf-8")
    mathjax = (
        f"{VENDOR}/{PACKAGES['mathjax'].folder}/MathJax.js?config=TeX-AMS_CHTML-full,Safe"
        if math
        else f"{VENDOR}/mathjax-stub.js"
    )
    return {
        "reveal_url_prefix": f"{VENDOR}/{PACKAGES['reveal'].folder}",
        "jquery_url": f"{VENDOR}/{PACKAGES['jquery'].folder}/dist/jquery.min.js",
        "require_js_url": f"{VENDOR}/{PACKAGES['requirejs'].folder}/require.js",
        "mathjax_url": mathjax,
    }


def external_references(page: str) -> list[str]:
    """URLs a page would fetch from the network: script, link, img and iframe sources,
    CSS imports and JavaScript module imports.

    Examples
    --------
    >>> external_references('<script src="https://cdn.example/x.js"></script>')
    ['https://cdn.example/x.js']
    """
    remote = r"((?:https?:)?//[^\"')\s]+)"
    urls = re.findall(r"<(?:script|link|img|iframe)\b[^>]*?\b(?:src|href)=[\"']" + remote, page)
    urls += re.findall(r"@import\s+(?:url\()?[\"']?" + remote, page)
    urls += re.findall(r"\bimport\s+[\w{}\s,*]+\s+from\s+[\"']" + remote, page)
    return sorted(set(urls))


# --------------------------------------------------------------------------- export


def export_deck(nb: nbformat.NotebookNode, name: str, urls: dict[str, str]) -> str:
    """Render a prepared notebook as a reveal.js page (HTML text)."""
    from nbconvert import SlidesExporter

    exporter = SlidesExporter(
        extra_template_basedirs=[str(TEMPLATE_DIR)],
        template_name=TEMPLATE_NAME,
        reveal_theme="white",
        reveal_scroll=True,
        reveal_number="c/t",
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        **urls,
    )
    page, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": name}})
    return page


def build_deck(
    path: Path,
    output_dir: Path,
    urls: dict[str, str],
    run: bool = True,
    timeout: int = 600,
) -> Path:
    """Build ``output_dir/<name>.slides.html`` from the notebook at ``path``.

    The notebook file is only read. Returns the path of the deck.
    """
    nb = nbformat.read(path, as_version=4)
    if run:
        nb = execute(nb, path.parent, timeout=timeout)
    nb = prepare_for_slides(add_slide_metadata(nb))
    page = export_deck(nb, path.stem, urls)
    deck = output_dir / f"{path.stem}.slides.html"
    deck.write_text(page, encoding="utf-8")
    return deck


def write_index(decks: list[Path], output_dir: Path) -> Path:
    """Write ``index.html`` linking every deck."""
    items = "".join(
        f'<li><a href="{html.escape(d.name)}">{html.escape(d.name.removesuffix(".slides.html"))}'
        "</a></li>"
        for d in decks
    )
    page = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        "<title>Course slides</title></head><body><h1>Course slides</h1>"
        f"<p>Open a deck; arrow keys move between slides, Esc shows the overview.</p>"
        f"<ul>{items}</ul></body></html>\n"
    )
    index = output_dir / "index.html"
    index.write_text(page, encoding="utf-8")
    return index


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="+", type=Path, help="notebook files")
    parser.add_argument("--output-dir", type=Path, default=ROOT / "build" / "slides")
    parser.add_argument(
        "--no-execute", action="store_true", help="use the outputs stored in the notebooks"
    )
    parser.add_argument("--timeout", type=int, default=600, help="seconds per cell")
    parser.add_argument(
        "--cache", type=Path, default=DEFAULT_CACHE, help="where npm tarballs are kept"
    )
    parser.add_argument(
        "--cdn",
        action="store_true",
        help="load reveal.js and friends from the web instead of local copies",
    )
    args = parser.parse_args(argv)

    missing = [str(p) for p in args.notebooks if not p.is_file()]
    if missing:
        parser.error(f"no such notebook: {', '.join(missing)}")
    args.output_dir.mkdir(parents=True, exist_ok=True)
    notebooks = [nbformat.read(p, as_version=4) for p in args.notebooks]
    try:
        urls = (
            {}
            if args.cdn
            else install_assets(args.output_dir, args.cache, math=any(map(has_math, notebooks)))
        )
    except SlidesError as error:
        print(f"make_slides: {error}", file=sys.stderr)
        return 2
    decks, online = [], []
    for path in args.notebooks:
        deck = build_deck(
            path, args.output_dir, urls, run=not args.no_execute, timeout=args.timeout
        )
        remote = [] if args.cdn else external_references(deck.read_text(encoding="utf-8"))
        if remote:
            online.append(f"{deck} loads {', '.join(remote)}")
        print(f"wrote {deck}")
        decks.append(deck)
    print(f"wrote {write_index(decks, args.output_dir)}")
    if online:
        print(
            "make_slides: these decks would need a network:\n  " + "\n  ".join(online),
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
