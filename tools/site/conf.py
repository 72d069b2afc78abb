"""Sphinx configuration of the course website (``make site``).

The pages come from executed notebooks that ``tools/site/build_site.py`` lays
out in a source folder beside the home page; this file is the configuration
folder (``sphinx-build -c tools/site``). MyST-NB reads the notebooks and never
executes them: their outputs are already there. Everything a page loads ships
with the installed packages, so the site builds and opens without a network.
"""

from __future__ import annotations

from course_utils.environment import REPO_URL

project = "Image classification with CNNs and data augmentation"
author = "The course's authors"
copyright = "the course's authors, Apache-2.0"  # noqa: A001 - Sphinx's name for it
language = "en"

extensions = ["myst_nb"]

# The notebooks arrive executed; MyST-NB only renders them.
nb_execution_mode = "off"
# A stderr stream in a lesson is a bug the site must show, not hide (the browser test looks).
nb_output_stderr = "show"
# Explorers and quizzes carry a static image or HTML beside their widget view; the site has no
# kernel, so it shows those and loads no widget JavaScript from a CDN.
nb_mime_priority_overrides = [
    ("html", "application/vnd.jupyter.widget-view+json", None),
    ("html", "application/vnd.jupyter.widget-state+json", None),
]
nb_ipywidgets_js = {}
myst_enable_extensions = ["colon_fence"]
myst_heading_anchors = 3

source_suffix = {".md": "myst-nb", ".ipynb": "myst-nb"}
master_doc = "index"
exclude_patterns = ["downloads/**", "**.ipynb_checkpoints"]
# The source a page was built from is the executed copy; the download link offers the lesson.
html_copy_source = False
html_show_sourcelink = False

html_theme = "sphinx_book_theme"
html_title = "CNNs and data augmentation"
html_static_path = ["_static"]
html_css_files = ["course.css"]
html_last_updated_fmt = None
html_theme_options = {
    "repository_url": REPO_URL,
    "repository_branch": "main",
    "path_to_docs": "notebooks",
    "use_repository_button": True,
    "use_download_button": False,
    "launch_buttons": {"colab_url": "https://colab.research.google.com"},
    "home_page_in_toc": True,
    "show_navbar_depth": 1,
    "show_toc_level": 2,
}
