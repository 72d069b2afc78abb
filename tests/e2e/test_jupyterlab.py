"""End to end: a lesson in a real JupyterLab 4, driven by headless Chromium.

Starts JupyterLab on a free localhost port with a random token, serving a
temporary copy of ``notebooks/`` (the repository is never written), opens the
augmentation lesson, runs all its cells, moves the rotation slider of the
augmentation explorer and answers the first quiz question, and checks that the
augmented image changes and the feedback appears. Screenshots go to
``build/e2e/``. The browser and the helpers come from ``conftest.py``.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
#: The lesson the test opens: it shows `augmentation_explorer(...)` and `quiz_widget(...)`.
LESSON = ROOT / "notebooks" / "02_data_augmentation.ipynb"
RUN_TIMEOUT_S = 240  # running every cell of the lesson

# JupyterLab settings for a quiet, deterministic page: no news or update
# toasts, and every cell kept in the page (no virtual scrolling).
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
}


@pytest.fixture(scope="module")
def lab(tmp_path_factory, browser, free_port, wait_until_up):
    """A JupyterLab server over a temporary copy of the notebooks; yields (url, notebook)."""
    work = tmp_path_factory.mktemp("lab")
    root = work / "notebooks"
    shutil.copytree(ROOT / "notebooks", root, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    notebook = LESSON.name
    settings = work / "settings"
    for name, values in LAB_SETTINGS.items():
        path = settings / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values), encoding="utf-8")
    port, token = free_port(), secrets.token_hex(16)
    env = dict(os.environ)
    env.pop("MPLBACKEND", None)  # the kernel shows figures inline, as for a learner
    env.update(
        TF_CPP_MIN_LOG_LEVEL="3",
        JUPYTER_CONFIG_DIR=str(work / "config"),
        JUPYTER_RUNTIME_DIR=str(work / "runtime"),
        JUPYTER_PLATFORM_DIRS="1",
    )
    env.pop("COURSE_STATIC_WIDGETS", None)
    command = [
        str(Path(sys.executable).with_name("jupyter")),
        "lab",
        "--no-browser",
        f"--port={port}",
        "--ip=127.0.0.1",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        f"--LabApp.user_settings_dir={settings}",
        f"--LabApp.workspaces_dir={work / 'workspaces'}",
        "--LabApp.news_url=",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")  # containers and CI machines often run as root
    log = (work / "lab.log").open("w")
    process = subprocess.Popen(
        command, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        wait_until_up(
            f"http://127.0.0.1:{port}/api/status?token={token}", process, 90, work / "lab.log"
        )
        yield f"http://127.0.0.1:{port}/lab/tree/{notebook}?token={token}", notebook
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)
        log.close()
        print((work / "lab.log").read_text(encoding="utf-8")[-2000:])


def _run_all(page) -> None:
    """Run every cell through the menu, as a learner would, and wait until done."""
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
    page.wait_for_function(
        """() => {
            const prompts = [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')];
            return prompts.length > 0 && prompts.every(p => /\\[\\d+\\]/.test(p.textContent));
        }""",
        timeout=RUN_TIMEOUT_S * 1000,
    )


def test_lesson_explorer_and_quiz_in_jupyterlab(lab, new_page, screenshots):
    from playwright.sync_api import expect

    url, notebook = lab
    started = time.monotonic()
    page = new_page()
    page.goto(url)
    page.locator(".jp-NotebookPanel .jp-Cell").first.wait_for()
    expect(page.locator(".jp-StatusBar-Widget", has_text="Idle").first).to_be_visible()
    _run_all(page)
    errors = page.locator(".jp-OutputArea-output[data-mime-type*='error']")
    assert errors.count() == 0, f"{notebook} raised: {errors.first.inner_text()[:2000]}"

    # The augmentation explorer: move the rotation slider (a fraction of a turn, as
    # RandomRotation's factor) with the keyboard.
    explorer = page.locator(".course-augmentation-explorer").first
    explorer.scroll_into_view_if_needed()
    expect(explorer).to_be_visible()
    result = explorer.locator("img").nth(1)
    expect(result).to_have_attribute("src", re.compile(r".+"))
    before_src = result.get_attribute("src")
    before_png = result.screenshot()
    explorer.screenshot(path=str(screenshots / "01_explorer_before.png"))
    handle = explorer.locator(".widget-slider .noUi-handle").first
    handle.focus()
    for _ in range(30):
        handle.press("ArrowRight")
    caption = explorer.locator(".augment-caption")
    expect(caption).to_contain_text(re.compile(r"rotated \+0\.\d+ turn \(\+\d+ deg\)"))
    expect(caption).to_contain_text("RandomRotation((0.")
    expect(result).not_to_have_attribute("src", before_src)
    page.wait_for_timeout(300)  # let the new image paint
    assert result.screenshot() != before_png, "the augmented image did not change"
    explorer.screenshot(path=str(screenshots / "02_explorer_rotated.png"))

    # The quiz: pick the first choice with the keyboard and check it.
    quiz = page.locator(".course-quiz").first
    quiz.scroll_into_view_if_needed()
    expect(quiz).to_contain_text("question 1 of")
    first_choice = quiz.locator("input[type='radio']").first
    first_choice.focus()
    first_choice.press("Space")
    expect(first_choice).to_be_checked()
    check = quiz.get_by_role("button", name="Check answer")
    check.focus()
    check.press("Enter")
    feedback = quiz.locator(".quiz-feedback")
    expect(feedback).to_be_visible()
    expect(feedback).to_contain_text("The answer is")
    expect(quiz).to_contain_text("score ")
    verdict = feedback.inner_text()
    assert "Correct." in verdict or "Not quite." in verdict
    quiz.screenshot(path=str(screenshots / "03_quiz_feedback.png"))
    page.screenshot(path=str(screenshots / "04_jupyterlab.png"))
    print(f"{notebook}: browser test took {time.monotonic() - started:.0f} s")


def test_slides_work_offline(tmp_path, new_page, screenshots):
    """A deck built by tools/make_slides.py runs reveal.js with every network request refused."""
    from playwright.sync_api import expect

    sys.path.insert(0, str(ROOT / "tools"))
    import make_slides

    lesson = min((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    try:
        urls = make_slides.install_assets(tmp_path, make_slides.DEFAULT_CACHE)
    except make_slides.SlidesError as error:
        pytest.skip(f"reveal.js could not be fetched for the offline deck: {error}")
    deck = make_slides.build_deck(lesson, tmp_path, urls, run=False)
    page = new_page(("file:", "data:", "blob:"), width=1280, height=800)
    page.goto(deck.as_uri())
    expect(page.locator(".reveal.ready")).to_have_count(1)
    first = page.locator(".slides > section").first
    expect(first).to_have_class(re.compile(r"\bpresent\b"))
    page.screenshot(path=str(screenshots / "05_slides_offline.png"))
    page.keyboard.press("ArrowRight")
    expect(first).not_to_have_class(re.compile(r"\bpresent\b"))
    assert page.refused == [], f"the deck tried to load {page.refused}"
    assert page.problems == [], f"JavaScript errors in the deck: {page.problems}"
