# The course's commands. `make lab` and `make test` are the two a newcomer needs;
# both create .venv and install the course into it on first use.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.course-installed
BENCH_STAMP := $(VENV)/.course-bench-installed
SITE_STAMP := $(VENV)/.course-site-installed
TEACH_STAMP := $(VENV)/.course-teach-installed
NOTEBOOKS := $(sort $(wildcard notebooks/[0-9][0-9]_*.ipynb))
export TF_CPP_MIN_LOG_LEVEL ?= 3
export PYTHONHASHSEED ?= 0

.PHONY: help install lab test lint unit notebooks variants e2e site course slides bench normalize clean
.PHONY: assignments

help:
	@echo "make lab     set up .venv and open the course in JupyterLab (NO_BROWSER=1 on servers)"
	@echo "make test    set up .venv, then ruff, pytest with coverage, nbval on every notebook"
	@echo "make test-oldest  the unit tests and every lesson on the oldest supported TensorFlow"
	@echo "make site    the course website (executed lessons, search, offline) into build/site/"
	@echo "make course  the same as make site"
	@echo "make slides  write one offline reveal.js deck per lesson into build/slides/"
	@echo "make bench   measure augmentation speed and memory into benchmarks/results.md"
	@echo "make assignments  student notebooks and otter autograders into build/assignments/"

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "The course needs Python 3.10 or newer; found " + sys.version.split()[0] + ". Run: make PYTHON=python3.12 ...")'
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev]"
	@touch $@

install: $(STAMP)

# The bench extra (tf-keras, albumentations, psutil): for make bench, and for the unit tests
# that compare with ImageDataGenerator and run the benchmark's quick mode.
$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev,bench]"
	@touch $@

lab: install
	@echo "Opening JupyterLab on notebooks/00_welcome.ipynb; the URL with its token is printed below."
	$(BIN)/jupyter lab notebooks/00_welcome.ipynb $(if $(NO_BROWSER),--no-browser,) \
		$(if $(filter 0,$(shell id -u)),--allow-root,)

lint: install
	$(BIN)/ruff check .
	$(BIN)/python tools/nbclean.py --check $(NOTEBOOKS)

# The unit tests and every docstring example of the package, on two workers (a test file each,
# the exercise tests a lesson each: tests/conftest.py); the 20 slowest tests are listed.
unit: $(BENCH_STAMP) $(TEACH_STAMP)
	$(BIN)/python -m pytest tests course_utils --doctest-modules -m "not e2e and not variants" \
		-n $(or $(JOBS),2) --dist loadfile --durations=20 --cov --cov-report=term \
		--cov-fail-under=90

# The lessons must run offline: every HTTP(S) request from the kernels goes to a closed port.
OFFLINE := http_proxy=http://127.0.0.1:9 https_proxy=http://127.0.0.1:9 \
	HTTP_PROXY=http://127.0.0.1:9 HTTPS_PROXY=http://127.0.0.1:9 no_proxy=localhost,127.0.0.1

# nbval runs each lesson once, with static widgets as in the course site; tools/nbval_outputs.py
# fails any cell that writes to stderr and keeps the executed notebooks in build/executed/.
notebooks: install
	$(OFFLINE) COURSE_STATIC_WIDGETS=1 PYTHONPATH=tools $(BIN)/python -m pytest --nbval-lax \
		--nbval-current-env --nbval-cell-timeout=300 --nbval-sanitize-with tests/nbval_sanitize.cfg \
		-p no:cov -p nbval_outputs -n $(or $(JOBS),2) --dist loadfile $(NOTEBOOKS)

# Every lesson as a learner changes it: each "Try it", SEED 1 and 2, a folder of photos.
variants: install
	$(OFFLINE) $(BIN)/python -m pytest tests/test_lesson_variants.py -m variants -p no:cov \
		-n $(or $(JOBS),2) -q --durations=0

e2e: install site
	tools/install_browser.sh
	$(BIN)/python -m pytest tests -m e2e -p no:cov

test: lint unit notebooks variants e2e

# The oldest TensorFlow, Keras and NumPy the course supports (constraints-oldest.txt), in a
# separate .venv-oldest: the unit tests (all but those marked slow, the grading round trip and
# the benchmark's quick run, to keep CI short), the Colab install cell's test and every lesson
# run there too. Its wheels are downloaded once into .venv-oldest/wheelhouse, and everything is
# installed from there offline, so that the install-cell test builds fresh environments quickly.
OLDEST_VENV ?= .venv-oldest
OLDEST_BIN := $(OLDEST_VENV)/bin
OLDEST_WHEELS := $(OLDEST_VENV)/wheelhouse
OLDEST_STAMP := $(OLDEST_VENV)/.course-installed

.PHONY: test-oldest

$(OLDEST_BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "The course needs Python 3.10 or newer; found " + sys.version.split()[0] + ". Run: make PYTHON=python3.12 ...")'
	$(PYTHON) -m venv $(OLDEST_VENV)

$(OLDEST_STAMP): pyproject.toml constraints-oldest.txt | $(OLDEST_BIN)/python
	$(OLDEST_BIN)/python -m pip download --quiet --no-deps --only-binary=:all: \
		--dest $(OLDEST_WHEELS) -r constraints-oldest.txt
	$(OLDEST_BIN)/python -m pip install --quiet --no-index --find-links $(OLDEST_WHEELS) -U pip
	$(OLDEST_BIN)/python -m pip install --quiet --no-index --find-links $(OLDEST_WHEELS) \
		-c constraints-oldest.txt -e ".[dev,bench]"
	@touch $@

# The lessons run as in make notebooks (a cell writing to stderr fails); the executed copies that
# the course site is built from (build/executed/, the newest versions') are put back afterwards.
test-oldest: $(OLDEST_STAMP)
	COURSE_WHEELHOUSE=$(abspath $(OLDEST_WHEELS)) $(OLDEST_BIN)/python -m pytest tests course_utils \
		--doctest-modules -m "not e2e and not variants and not slow" -p no:cov \
		-n $(or $(JOBS),2) --dist loadfile
	COURSE_WHEELHOUSE=$(abspath $(OLDEST_WHEELS)) $(OLDEST_BIN)/python -m pytest \
		tests/test_install_cell.py -p no:cov
	@rm -rf build/executed-newest; if [ -d build/executed ]; then mv build/executed build/executed-newest; fi
	$(OFFLINE) COURSE_STATIC_WIDGETS=1 PYTHONPATH=tools $(OLDEST_BIN)/python -m pytest --nbval-lax \
		--nbval-current-env --nbval-cell-timeout=300 --nbval-sanitize-with tests/nbval_sanitize.cfg \
		-p no:cov -p nbval_outputs -n $(or $(JOBS),2) --dist loadfile $(NOTEBOOKS); \
		status=$$?; rm -rf build/executed; \
		if [ -d build/executed-newest ]; then mv build/executed-newest build/executed; fi; exit $$status

# The site extra (Sphinx, MyST-NB, sphinx-book-theme): for make site and the site's browser test.
$(SITE_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev,site]"
	@touch $@

# The course website: built from the executed lessons in build/executed/ (make variants leaves
# them there); a missing or stale one is executed first, offline, with static widgets.
site: $(SITE_STAMP)
	$(OFFLINE) COURSE_STATIC_WIDGETS=1 $(BIN)/python tools/site/build_site.py

# The teach extra (otter-grader): for make assignments and the grading round trip of make test.
$(TEACH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev,teach]"
	@touch $@

# Student notebooks without solutions and an otter autograder for every lesson with exercises.
assignments: $(TEACH_STAMP)
	$(BIN)/python tools/make_assignments.py --output build/assignments

course: site
	@echo "make course builds the course website: open build/site/index.html"

slides: install
	@mkdir -p build/slides
	$(BIN)/python tools/make_slides.py --output-dir build/slides $(NOTEBOOKS)

bench: $(BENCH_STAMP)
	$(BIN)/python benchmarks/run.py

normalize: install
	$(BIN)/python tools/nbclean.py $(NOTEBOOKS)
	$(BIN)/python -m course_utils.course --write --readme README.md

clean:
	rm -rf build .pytest_cache .coverage htmlcov
