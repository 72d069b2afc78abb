"""What the browser tests share: headless Chromium through Playwright, free ports, waiting
for a local server, and the folder the screenshots go to.

The browser is Debian's ``chromium`` (``tools/install_browser.sh`` installs it), driven by
Playwright through its executable path; no browser is downloaded. Without it (or without
the playwright package) the tests that ask for ``browser`` are skipped and say why.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
#: How long Playwright's waits and assertions wait: a busy machine needs far more than 5 s.
UI_TIMEOUT_MS = 60_000


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_until_up(
    url: str, process: subprocess.Popen, timeout: float = 30, log: Path | None = None
) -> None:
    """Poll ``url`` until it answers 200; fail early when ``process`` exits (with its log)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log.read_text(encoding="utf-8")[-3000:] if log else ""
            raise RuntimeError(
                f"the server for {url} exited with code {process.returncode}\n{tail}"
            )
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - localhost
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"nothing answered at {url} within {timeout} s")


@pytest.fixture(scope="session")
def free_port() -> Callable[[], int]:
    """A function that returns a free TCP port on 127.0.0.1."""
    return _free_port


@pytest.fixture(scope="session")
def wait_until_up() -> Callable[..., None]:
    """``wait_until_up(url, process, timeout=30, log=None)``: wait for a local server."""
    return _wait_until_up


@pytest.fixture(scope="session")
def screenshots() -> Path:
    """``build/e2e/``, where the browser tests leave their screenshots."""
    folder = ROOT / "build" / "e2e"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="session")
def browser():
    """Headless Chromium (a Playwright ``Browser``), started once for all browser tests."""
    if not CHROMIUM.exists():
        pytest.skip(
            f"Chromium not found at {CHROMIUM}: run tools/install_browser.sh "
            "(needs root or sudo for apt-get), or set CHROMIUM=/path/to/chromium"
        )
    try:
        from playwright.sync_api import expect, sync_playwright
    except ImportError:  # pragma: no cover - playwright is a dev dependency
        pytest.skip("the playwright package is not installed: pip install -e '.[dev]'")
    expect.set_options(timeout=UI_TIMEOUT_MS)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def new_page(browser):
    """``new_page(offline_except=None, width=1400, height=1000)``: a page of ``browser``.

    With ``offline_except`` (URL prefixes such as ``("file:", "data:")``) every other request
    is refused and listed in ``page.refused``; JavaScript errors are listed in
    ``page.problems``. The pages are closed after the test.
    """
    pages = []

    def make(offline_except: tuple[str, ...] | None = None, width: int = 1400, height: int = 1000):
        page = browser.new_page(viewport={"width": width, "height": height})
        page.set_default_timeout(UI_TIMEOUT_MS)
        page.refused, page.problems = [], []
        if offline_except is not None:

            def route(route):
                if route.request.url.startswith(offline_except):
                    route.continue_()
                else:
                    page.refused.append(route.request.url)
                    route.abort()

            page.route("**/*", route)
        page.on("pageerror", lambda error: page.problems.append(str(error)))
        pages.append(page)
        return page

    yield make
    for page in pages:
        if not page.is_closed():
            page.close()
