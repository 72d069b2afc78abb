"""End to end: the course website in headless Chromium, served locally and from disk.

Uses the site in ``build/site/`` (``make site``; built here first when it is
missing). A static server (``python -m http.server`` on 127.0.0.1, a free port)
serves it while Chromium, with every request off this machine refused, goes from
the home page through every lesson by the "next" links and checks on each page
its title, its figures (rendered, with alt text, as many as the executed
notebook has), its tables, the Colab and download links, and that no error or
stderr output shows. It then searches for a word that occurs in one lesson only,
opens a quiz answer, and opens the site from ``file://``. Screenshots go to
``build/e2e/``. The browser and the helpers come from ``conftest.py``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
SITE = Path(os.environ.get("COURSE_SITE", ROOT / "build" / "site"))
SITE_SRC = SITE.with_name(SITE.name + "-src")  # the Sphinx sources build_site.py lays out
IMAGE_MIMES = ("image/png", "image/jpeg", "image/svg+xml", "image/gif")
#: Output blocks that mean a lesson went wrong: a traceback or anything on stderr.
ERROR_OUTPUT = ".cell_output .output.stderr, .cell_output .output.traceback, .output.error"

sys.path.insert(0, str(ROOT / "tools" / "site"))
import build_site  # noqa: E402

# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def site() -> Path:
    """The built site; (re)built here, reusing executed lessons, when a lesson is newer."""
    home = SITE / "index.html"
    lessons = build_site.lesson_notebooks(ROOT / "notebooks")
    if not home.is_file() or any(
        not (SITE_SRC / lesson.name).is_file() or lesson.stat().st_mtime > home.stat().st_mtime
        for lesson in lessons
    ):
        build_site.build_site(
            ROOT / "notebooks", ROOT / "build" / "executed", SITE_SRC, SITE, log=print
        )
    return SITE


@pytest.fixture(scope="module")
def lessons(site) -> list[dict]:
    """What each lesson page must show, read from the notebooks the site was built from."""
    found = []
    for source in build_site.lesson_notebooks(ROOT / "notebooks"):
        prepared = SITE_SRC / source.name
        assert prepared.is_file(), f"{source.name} is not in the site: run make site"
        nb = json.loads(prepared.read_text(encoding="utf-8"))
        title = next(
            line[2:].strip()
            for cell in nb["cells"]
            if cell["cell_type"] == "markdown"
            for line in "".join(cell["source"]).splitlines()
            if line.startswith("# ")
        )
        images = tables = 0
        for cell in nb["cells"]:
            for output in cell.get("outputs", []):
                data = output.get("data", {})
                if any(mime in data for mime in IMAGE_MIMES):
                    images += 1
                elif "text/html" in data:
                    markup = "".join(data["text/html"])
                    images += markup.count("<img")
                    tables += markup.count("<table")
        found.append(
            {"page": f"{source.stem}.html", "notebook": source.name, "title": title,
             "images": images, "tables": tables}
        )  # fmt: skip
    return found


@pytest.fixture(scope="module")
def server(site, free_port, wait_until_up):
    """``python -m http.server`` on 127.0.0.1 over the site; yields its base URL."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1",
         "--directory", str(site)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_until_up(url, process)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def _check_images(page, where: str) -> int:
    """Every image of the article is loaded and has alt text; return how many outputs show."""
    for image in page.locator("article.bd-article img").all():
        alt = (image.get_attribute("alt") or "").strip()
        src = image.get_attribute("src") or ""
        assert alt and alt != src and not alt.endswith((".png", ".svg")), (
            f"{where}: image {src[:80]} has no alt text (alt={alt!r})"
        )
        image.scroll_into_view_if_needed()
        loaded = image.evaluate("img => img.complete && img.naturalWidth > 0")
        assert loaded, f"{where}: image {src[:80]} did not load"
    return page.locator(".cell_output img").count()


# --------------------------------------------------------------------------- the tests


def test_pages_load_nothing_from_the_network(site):
    """No page loads a script, style, font or image from another host (no CDN at view time)."""

    class Links(HTMLParser):
        def __init__(self):
            super().__init__()
            self.remote = []

        def handle_starttag(self, tag, attrs):
            attrs = dict(attrs)
            if tag in {"script", "img", "iframe", "source", "video", "audio"}:
                url = attrs.get("src") or ""
            elif tag == "link" and attrs.get("rel") not in {"canonical", "alternate"}:
                url = attrs.get("href") or ""
            else:
                return
            if re.match(r"^(https?:)?//", url):
                self.remote.append(f"<{tag}> {url}")

    pages = sorted(site.rglob("*.html"))
    assert len(pages) >= 3
    remote = {}
    for page in pages:
        links = Links()
        links.feed(page.read_text(encoding="utf-8"))
        if links.remote:
            remote[page.relative_to(site).as_posix()] = links.remote
    for css in site.rglob("*.css"):
        text = css.read_text(encoding="utf-8", errors="replace")
        found = re.findall(r"(?:url\(\s*['\"]?|@import\s+['\"])((?:https?:)?//[^'\")\s]+)", text)
        if found:
            remote[css.relative_to(site).as_posix()] = found
    assert not remote, f"pages that fetch from the network when viewed: {remote}"


def test_home_to_last_lesson_by_next_links(site, server, lessons, new_page, screenshots):
    from playwright.sync_api import expect

    started = time.monotonic()
    page = new_page((server, "data:", "blob:"))
    page.goto(server + "index.html")
    expect(page.locator("article h1").first).to_contain_text("Image classification")
    course_map = page.locator("article table").first
    for lesson in lessons:
        # Lessons of the course map link to their pages, with computed minutes beside them.
        link = course_map.locator(f"a[href='{lesson['page']}']")
        if link.count():
            row = link.first.locator("xpath=ancestor::tr")
            assert re.search(r"\b\d+\b", row.inner_text()), f"no minutes for {lesson['page']}"
    sidebar = page.locator(".bd-sidebar-primary")
    for lesson in lessons:
        expect(sidebar.locator(f"a[href='{lesson['page']}']")).to_have_count(1)
    page.screenshot(path=str(screenshots / "site_01_home.png"))

    visited, lesson_shot = [], False
    for lesson in lessons:
        page.locator("a.right-next").click()
        page.wait_for_load_state()
        where = lesson["page"]
        assert page.url.split("#")[0].endswith("/" + where), f"next led to {page.url}, not {where}"
        visited.append(where)
        expect(page.locator("article h1").first).to_contain_text(lesson["title"])
        assert page.title().startswith(lesson["title"][:20]), page.title()
        errors = page.locator(ERROR_OUTPUT)
        assert errors.count() == 0, f"{where} shows error output: {errors.first.inner_text()[:800]}"
        assert "Traceback (most recent call last)" not in page.locator("article").inner_text()
        shown = _check_images(page, where)
        assert shown >= lesson["images"], (
            f"{where}: {shown} figure(s) rendered, the executed lesson has {lesson['images']}"
        )
        if lesson["images"]:
            assert shown >= 1
        tables = page.locator(".cell_output table").count()
        assert tables >= lesson["tables"], f"{where}: {tables} of {lesson['tables']} tables"
        colab = page.locator("article a[href^='https://colab.research.google.com/github/']")
        assert colab.count() >= 1, f"{where} has no Colab link"
        assert colab.first.get_attribute("href").endswith("/notebooks/" + lesson["notebook"])
        download = page.locator("article a.download")
        assert download.count() >= 1, f"{where} has no download link"
        href = download.first.get_attribute("href")
        assert href.endswith(lesson["notebook"]), href
        with urllib.request.urlopen(server + href) as response:  # noqa: S310 - localhost
            notebook = json.loads(response.read())
        assert notebook["cells"], f"{href} is not the lesson notebook"
        if not lesson_shot and shown >= 2:  # the first lesson with figures, at its first one
            page.locator(".cell_output img").first.scroll_into_view_if_needed()
            page.screenshot(path=str(screenshots / "site_02_lesson_figures.png"))
            lesson_shot = True
    assert visited == [lesson["page"] for lesson in lessons]
    expect(page.locator("a.right-next")).to_have_count(0)
    assert page.refused == [], f"the site tried to load {page.refused}"
    assert page.problems == [], f"JavaScript errors: {page.problems}"

    page.close()
    print(f"site: walked {len(visited)} lessons in {time.monotonic() - started:.0f} s")


def _unique_word(site: Path, lessons: list[dict]) -> tuple[str, str]:
    """A word of one lesson page that no other page of the search index contains."""
    import snowballstemmer

    text = (site / "searchindex.js").read_text(encoding="utf-8")
    index = json.loads(text[text.index("(") + 1 : text.rindex(")")])
    docnames = index["docnames"]

    def docs(table: dict, stem: str) -> set[int]:
        value = table.get(stem, [])
        return {value} if isinstance(value, int) else set(value)

    stemmer = snowballstemmer.stemmer("porter")
    for lesson in lessons:
        number = docnames.index(lesson["page"].removesuffix(".html"))
        words = Counter(
            re.findall(r"\b[a-z]{9,}\b", (SITE_SRC / lesson["notebook"]).read_text("utf-8"))
        )
        for word, _ in words.most_common():
            stem = stemmer.stemWord(word)
            if docs(index["terms"], stem) | docs(index["titleterms"], stem) == {number}:
                return word, lesson["page"]
    pytest.fail("no word occurs in exactly one lesson of the search index")


def test_search_finds_a_word_of_one_lesson(site, server, lessons, new_page, screenshots):
    from playwright.sync_api import expect

    word, expected = _unique_word(site, lessons)
    page = new_page((server, "data:", "blob:"))
    page.goto(server + "index.html")
    page.locator("button.search-button-field").first.click()
    box = page.locator("#pst-search-dialog input[name='q']")
    expect(box).to_be_visible()
    box.fill(word)
    box.press("Enter")
    page.wait_for_url(re.compile(r"search\.html\?q="))
    results = page.locator("#search-results ul.search li a")
    expect(page.locator("#search-results .search-summary")).to_contain_text("found")
    expect(results.first).to_be_visible()
    pages = {href.split("#")[0].split("?")[0] for href in results.evaluate_all(
        "links => links.map(a => a.getAttribute('href'))")}  # fmt: skip
    assert pages == {expected}, f"searching {word!r} found {pages}, expected only {expected}"
    page.wait_for_timeout(500)  # the result's text excerpt is fetched and painted
    page.screenshot(path=str(screenshots / "site_03_search.png"))
    results.first.click()
    page.wait_for_load_state()
    assert page.url.split("?")[0].split("#")[0].endswith("/" + expected)
    assert page.refused == [] and page.problems == [], (page.refused, page.problems)
    page.close()


def test_quiz_answer_behind_a_reveal(site, server, lessons, new_page, screenshots):
    from playwright.sync_api import expect

    page = new_page((server, "data:", "blob:"))
    with_quiz = [
        lesson for lesson in lessons
        if "<details" in (site / lesson["page"]).read_text(encoding="utf-8")
    ]  # fmt: skip
    assert with_quiz, "no page shows a quiz with answers behind a reveal"
    page.goto(server + with_quiz[-1]["page"])
    reveal = page.locator(".cell_output details").first
    reveal.scroll_into_view_if_needed()
    answer = reveal.locator("summary ~ *").first
    expect(answer).to_be_hidden()
    reveal.locator("summary").click()
    expect(reveal).to_have_attribute("open", "")
    expect(answer).to_be_visible()
    # The question with its revealed answer (the list item that holds both).
    reveal.locator("xpath=..").screenshot(path=str(screenshots / "site_04_quiz_answer.png"))
    assert page.refused == [] and page.problems == [], (page.refused, page.problems)
    page.close()


def test_site_opens_from_disk_offline(site, lessons, new_page):
    """From ``file://`` with every other request refused: styled pages, figures, next links."""
    from playwright.sync_api import expect

    page = new_page(("file:", "data:", "blob:"))
    page.goto((site / "index.html").as_uri())
    expect(page.locator("article h1").first).to_be_visible()
    styled = page.evaluate(
        "() => [...document.querySelectorAll('link[rel=stylesheet]')].every(l => l.sheet)"
    )
    assert styled, "a stylesheet did not load from disk"
    # The theme's own layout applies (its stylesheet sets the primary sidebar as a flex column).
    display = page.locator(".bd-sidebar-primary").evaluate("e => getComputedStyle(e).display")
    assert display == "flex", f"the theme's CSS did not apply from disk (display: {display})"
    page.locator("a.right-next").click()
    page.wait_for_load_state()
    assert page.url == (site / lessons[0]["page"]).as_uri()
    with_figures = next((lesson for lesson in lessons if lesson["images"]), None)
    if with_figures:
        page.goto((site / with_figures["page"]).as_uri())
        _check_images(page, with_figures["page"])
    assert page.refused == [], f"the site tried to load {page.refused} from file://"
    assert page.problems == [], f"JavaScript errors from file://: {page.problems}"
    page.close()
