"""tools/make_slides.py: slide metadata, offline assets, alt texts and a real deck."""

import base64
import hashlib
import io
import json
import subprocess
import sys
import tarfile
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import make_slides  # noqa: E402
from make_slides import (  # noqa: E402
    Package,
    SlidesError,
    add_slide_metadata,
    build_deck,
    external_references,
    fetch_package,
    has_math,
    install_assets,
    prepare_for_slides,
)

PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n").decode()


def _kinds(nb):
    return [cell.metadata["slideshow"]["slide_type"] for cell in nb.cells]


def _figure_output(alt=None):
    metadata = {"image/png": {"alt": alt}} if alt else {}
    return new_output(
        "display_data", data={"image/png": PNG, "text/plain": "<Figure>"}, metadata=metadata
    )


def _lesson():
    figure = new_code_cell("plot()")
    figure.outputs = [_figure_output()]
    long_code = new_code_cell("\n".join(f"x{i} = {i}" for i in range(20)))
    return new_notebook(
        cells=[
            new_markdown_cell("# 02 · A lesson\n\nIntro"),
            new_code_cell('import sys\nif "google.colab" in sys.modules:\n    %pip install x'),
            new_markdown_cell("Some text."),
            new_code_cell("a = 1"),
            long_code,
            new_markdown_cell("## A section"),
            figure,
            new_markdown_cell("### A detail"),
            new_code_cell("b = 2"),
            new_code_cell("c = 3"),
        ]
    )


# --------------------------------------------------------------------------- slide metadata


def test_default_slide_types():
    nb = _lesson()
    assert _kinds(add_slide_metadata(nb)) == [
        "slide",  # H1
        "skip",  # Colab install
        "-",  # text continues the slide
        "fragment",  # short code under text
        "subslide",  # code after code
        "slide",  # H2
        "subslide",  # a figure is too tall for a fragment
        "subslide",  # H3
        "fragment",
        "subslide",
    ]
    assert "slideshow" not in nb.cells[0].metadata  # the input is not modified


def test_author_slide_types_are_kept_unless_forced():
    nb = _lesson()
    nb.cells[3].metadata["slideshow"] = {"slide_type": "notes"}
    assert _kinds(add_slide_metadata(nb))[3] == "notes"
    assert _kinds(add_slide_metadata(nb))[5] == "slide"  # the others still get defaults
    assert _kinds(add_slide_metadata(nb, force=True))[3] == "fragment"


def test_tall_text_output_makes_a_subslide():
    cell = new_code_cell("print(table)")
    cell.outputs = [new_output("stream", name="stdout", text="row\n" * 20)]
    html = new_code_cell("table")
    html.outputs = [new_output("execute_result", data={"text/html": "<tr>" * 3}, execution_count=1)]
    text = new_code_cell("value")
    text.outputs = [new_output("execute_result", data={"text/plain": "1"}, execution_count=1)]
    nb = new_notebook(
        cells=[
            new_markdown_cell("x"),
            cell,
            new_markdown_cell("y"),
            html,
            new_markdown_cell("z"),
            text,
        ]
    )
    assert _kinds(add_slide_metadata(nb)) == ["-", "subslide", "-", "fragment", "-", "fragment"]


def test_raw_cells_are_skipped():
    nb = new_notebook(cells=[nbformat.v4.new_raw_cell("raw")])
    assert _kinds(add_slide_metadata(nb)) == ["skip"]


# --------------------------------------------------------------------------- preparing


def test_prepare_for_slides():
    kept = new_code_cell("# NBVAL_CHECK_OUTPUT\nprint(1)")
    kept.outputs = [
        new_output("stream", name="stdout", text="1\n"),
        new_output("stream", name="stderr", text="W0000 log line\n"),
        _figure_output(),
        _figure_output(alt="Loss per epoch"),
    ]
    nb = new_notebook(
        cells=[
            new_markdown_cell(
                "# Title\n[![Open In Colab](https://colab.research.google.com/b.svg)](https://c)"
                " and ![local](cat.png)"
            ),
            new_markdown_cell("## The curves"),
            kept,
        ]
    )
    ready = prepare_for_slides(nb)
    assert ready.cells[0].source == "# Title\n[Open In Colab](https://c) and ![local](cat.png)"
    code = ready.cells[2]
    assert code.source == "print(1)"
    assert [o.get("name") for o in code.outputs] == ["stdout", None, None]
    assert code.outputs[1].metadata["image/png"]["alt"] == "Figure under “The curves”"
    assert code.outputs[2].metadata["image/png"]["alt"] == "Loss per epoch"
    assert nb.cells[2].source.startswith("# NBVAL")  # the input is not modified


def test_figure_without_any_heading_is_still_described():
    cell = new_code_cell("plot()")
    cell.outputs = [_figure_output()]
    ready = prepare_for_slides(new_notebook(cells=[cell]))
    assert ready.cells[0].outputs[0].metadata["image/png"]["alt"] == "Figure"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The loss $L = -\\log p$ falls.", True),
        ("$$y = wx + b$$", True),
        ("\\(x\\)", True),
        ("It costs $5 and $10.", True),  # ambiguous dollars count as maths: MathJax is safe
        ("Prices: $ 5", False),
        ("No maths here.", False),
    ],
)
def test_has_math(text, expected):
    assert has_math(new_notebook(cells=[new_markdown_cell(text)])) is expected


def test_external_references():
    page = (
        '<script src="https://cdn.example/a.js"></script><link rel="stylesheet" '
        'href="//fonts.example/f.css"><img alt="x" src="https://img.example/i.png">'
        '<style>@import url("https://css.example/t.css");</style>'
        "<script type=module>import mermaid from 'https://m.example/m.mjs';</script>"
        '<script src="vendor/reveal.js/dist/reveal.js"></script>'
        '<a href="https://colab.research.google.com/x">a link is not loaded</a>'
    )
    assert external_references(page) == [
        "//fonts.example/f.css",
        "https://cdn.example/a.js",
        "https://css.example/t.css",
        "https://img.example/i.png",
        "https://m.example/m.mjs",
    ]


# --------------------------------------------------------------------------- assets


def _tarball(path: Path, files: dict[str, str]) -> str:
    with tarfile.open(path, "w:gz") as archive:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(f"package/{name}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return "sha512-" + base64.b64encode(hashlib.sha512(path.read_bytes()).digest()).decode()


def _fake_packages(cache: Path) -> dict[str, Package]:
    cache.mkdir(parents=True, exist_ok=True)
    specs = {
        "reveal": ("reveal.js", "9.9.9", {"dist/reveal.js": "R", "plugin/notes/notes.js": "N"}),
        "jquery": ("jquery", "9.9.9", {"dist/jquery.min.js": "J"}),
        "requirejs": ("requirejs", "9.9.9", {"require.js": "Q"}),
        "mathjax": ("mathjax", "9.9.9", {"MathJax.js": "M", "config/c.js": "C"}),
    }
    packages = {}
    for key, (name, version, files) in specs.items():
        integrity = _tarball(cache / f"{name}-{version}.tgz", files)
        keep = tuple(sorted({f.split("/")[0] if key != "reveal" else f for f in files}))
        packages[key] = Package(name, version, integrity, keep)
    return packages


def test_fetch_package_checks_integrity_and_unpacks_once(tmp_path):
    package = _fake_packages(tmp_path)["jquery"]
    folder = fetch_package(package, tmp_path)
    assert (folder / "dist/jquery.min.js").read_text() == "J"
    (tmp_path / "jquery-9.9.9.tgz").unlink()
    assert fetch_package(package, tmp_path) == folder  # cached: no tarball needed


def test_fetch_package_rejects_a_wrong_integrity(tmp_path):
    package = _fake_packages(tmp_path)["jquery"]
    forged = Package(package.name, package.version, "sha512-AAAA", package.keep)
    with pytest.raises(SlidesError, match="does not match the pinned sha512-AAAA"):
        fetch_package(forged, tmp_path)
    assert not (tmp_path / "jquery-9.9.9.tgz").exists()


def test_fetch_package_downloads_with_npm(tmp_path, monkeypatch):
    source = tmp_path / "registry"
    package = _fake_packages(source)["requirejs"]
    cache = tmp_path / "cache"
    calls = []

    def fake_run(command, **kwargs):
        calls.append(command)
        destination = Path(command[command.index("--pack-destination") + 1])
        (destination / "requirejs-9.9.9.tgz").write_bytes(
            (source / "requirejs-9.9.9.tgz").read_bytes()
        )
        out = json.dumps([{"filename": "requirejs-9.9.9.tgz"}])
        return subprocess.CompletedProcess(command, 0, stdout=out, stderr="")

    monkeypatch.setattr(make_slides.shutil, "which", lambda name: "/usr/bin/npm")
    monkeypatch.setattr(make_slides.subprocess, "run", fake_run)
    folder = fetch_package(package, cache)
    assert (folder / "require.js").read_text() == "Q"
    assert calls[0][:3] == ["/usr/bin/npm", "pack", "requirejs@9.9.9"]


def test_npm_missing(tmp_path, monkeypatch):
    monkeypatch.setattr(make_slides.shutil, "which", lambda name: None)
    with pytest.raises(SlidesError, match="npm is needed once to fetch jquery@1 .*--cdn"):
        make_slides._npm_pack("jquery@1", tmp_path)


def test_npm_failure(tmp_path, monkeypatch):
    monkeypatch.setattr(make_slides.shutil, "which", lambda name: "/usr/bin/npm")
    monkeypatch.setattr(
        make_slides.subprocess,
        "run",
        lambda command, **kw: subprocess.CompletedProcess(command, 1, "", "E404 not found"),
    )
    with pytest.raises(SlidesError, match="`npm pack jquery@1` failed:\nE404 not found"):
        make_slides._npm_pack("jquery@1", tmp_path)


def test_install_assets(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    monkeypatch.setattr(make_slides, "PACKAGES", _fake_packages(cache))
    out = tmp_path / "slides"
    urls = install_assets(out, cache)
    assert urls == {
        "reveal_url_prefix": "vendor/reveal.js-9.9.9",
        "jquery_url": "vendor/jquery-9.9.9/dist/jquery.min.js",
        "require_js_url": "vendor/requirejs-9.9.9/require.js",
        "mathjax_url": "vendor/mathjax-stub.js",
    }
    assert (out / urls["reveal_url_prefix"] / "dist/reveal.js").read_text() == "R"
    assert (out / urls["reveal_url_prefix"] / "plugin/notes/notes.js").is_file()
    for key in ("jquery_url", "require_js_url", "mathjax_url"):
        assert (out / urls[key]).is_file()
    assert "window.MathJax" in (out / "vendor/mathjax-stub.js").read_text()
    assert not (out / "vendor/mathjax-9.9.9").exists()
    with_math = install_assets(out, cache, math=True)
    assert (
        with_math["mathjax_url"] == "vendor/mathjax-9.9.9/MathJax.js?config=TeX-AMS_CHTML-full,Safe"
    )
    assert (out / "vendor/mathjax-9.9.9/config/c.js").read_text() == "C"


def test_install_assets_reports_a_wrong_pin(tmp_path, monkeypatch):
    packages = _fake_packages(tmp_path)
    jquery = packages["jquery"]
    packages["jquery"] = Package(jquery.name, jquery.version, jquery.integrity, ("nothing.js",))
    monkeypatch.setattr(make_slides, "PACKAGES", packages)
    with pytest.raises(SlidesError, match="jquery-9.9.9 has no nothing.js"):
        install_assets(tmp_path / "slides", tmp_path)


def test_real_pins_name_the_template_files():
    assert make_slides.PACKAGES["reveal"].version == "4.0.2"  # what nbconvert's template targets
    for package in make_slides.PACKAGES.values():
        assert package.integrity.startswith("sha512-") and len(package.integrity) == 95


# --------------------------------------------------------------------------- a real deck


def test_build_deck_executes_and_renders_offline(tmp_path):
    """Runs a small notebook in a kernel: static explorers, quiz as text, figures with alt."""
    folder = tmp_path / "notebooks"
    folder.mkdir()
    nb = new_notebook(
        cells=[
            new_markdown_cell("# 99 · Demo"),
            new_markdown_cell("## A figure"),
            new_code_cell(
                "from matplotlib.figure import Figure\n"
                "fig = Figure()\nfig.add_subplot().plot([1, 2])\n"
                "fig.suptitle('Loss falls with every epoch')\nfig"
            ),
            new_code_cell(
                "import sys\nprint('err' + 'token', file=sys.stderr)\nprint('out' + 'token')"
            ),
            new_markdown_cell("## The quiz"),
            new_code_cell(
                "import os\nfrom course_utils.quiz import quiz_widget\n"
                "print(os.environ['COURSE_STATIC_WIDGETS'])\nquiz_widget('01')"
            ),
        ],
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"}},
    )
    path = folder / "99_demo.ipynb"
    nbformat.write(nb, path)
    before = path.read_bytes()
    urls = {
        "reveal_url_prefix": "vendor/reveal",
        "jquery_url": "vendor/jquery.js",
        "require_js_url": "vendor/require.js",
        "mathjax_url": "vendor/mathjax-stub.js",
    }
    deck = build_deck(path, tmp_path, urls, timeout=120)
    assert path.read_bytes() == before  # the source notebook is never written
    page = deck.read_text(encoding="utf-8")
    assert deck.name == "99_demo.slides.html"
    assert external_references(page) == []
    assert 'src="vendor/reveal/dist/reveal.js"' not in page  # loaded through require.js
    assert '"vendor/reveal/dist/reveal.js"' in page
    assert 'alt="Loss falls with every epoch"' in page
    assert "No description has been provided" not in page
    assert "outtoken" in page and "errtoken" not in page
    assert "Show the answer" in page and "Quiz: Data flow" in page
    assert "widget-view+json" not in page
    assert page.count("<section") >= 4


def test_main_without_execution(tmp_path, monkeypatch, capsys):
    cell = new_code_cell("fig")
    cell.outputs = [_figure_output(alt="A stored figure")]
    nb = new_notebook(cells=[new_markdown_cell("# 98 · Stored"), cell])
    path = tmp_path / "98_stored.ipynb"
    nbformat.write(nb, path)
    asked = []

    def fake_assets(output_dir, cache, math=False):
        asked.append((output_dir, math))
        return {
            "reveal_url_prefix": "vendor/reveal",
            "mathjax_url": "vendor/m.js",
            "jquery_url": "vendor/j.js",
            "require_js_url": "vendor/r.js",
        }

    monkeypatch.setattr(make_slides, "install_assets", fake_assets)
    out = tmp_path / "slides"
    assert make_slides.main(["--output-dir", str(out), "--no-execute", str(path)]) == 0
    assert asked == [(out, False)]
    assert 'alt="A stored figure"' in (out / "98_stored.slides.html").read_text()
    assert '<a href="98_stored.slides.html">98_stored</a>' in (out / "index.html").read_text()
    assert "wrote" in capsys.readouterr().out


def test_main_reports_decks_that_need_a_network(tmp_path, monkeypatch, capsys):
    nb = new_notebook(cells=[new_markdown_cell('# T\n<img src="https://example.org/x.png">')])
    path = tmp_path / "97_remote.ipynb"
    nbformat.write(nb, path)
    monkeypatch.setattr(make_slides, "install_assets", lambda *a, **k: {})
    out = tmp_path / "slides"
    assert make_slides.main(["--output-dir", str(out), "--no-execute", str(path)]) == 1
    assert "https://example.org/x.png" in capsys.readouterr().err
    assert make_slides.main(["--output-dir", str(out), "--no-execute", "--cdn", str(path)]) == 0


def test_main_without_npm(tmp_path, monkeypatch, capsys):
    path = tmp_path / "96_x.ipynb"
    nbformat.write(new_notebook(cells=[new_markdown_cell("# X")]), path)

    def no_npm(*args, **kwargs):
        raise SlidesError("npm is needed once")

    monkeypatch.setattr(make_slides, "install_assets", no_npm)
    assert make_slides.main(["--output-dir", str(tmp_path / "s"), str(path)]) == 2
    assert "make_slides: npm is needed once" in capsys.readouterr().err


def test_main_missing_notebook(tmp_path):
    with pytest.raises(SystemExit) as exit_info:
        make_slides.main(["--output-dir", str(tmp_path), str(tmp_path / "nope.ipynb")])
    assert exit_info.value.code == 2
