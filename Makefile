# Every target does its own set-up: a virtual environment in .venv, installed from
# this repository's files with the versions pinned in constraints.txt.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
EXTRAS ?= dev,data,factor,plots

.PHONY: install test lint demo docs clean

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e ".[$(EXTRAS)]"
	touch $@

install: $(VENV)/.installed

lint: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

test: lint
	OMP_NUM_THREADS=2 $(PY) -m pytest

demo: install
	$(PY) -m sklearn_hiss demo

# The HTML site in docs/_build/html: user guide, API pages and the gallery, whose
# examples all run during the build. Offline; any warning fails it.
$(VENV)/.docs-installed: $(VENV)/.installed
	$(PY) -m pip install --quiet -c constraints.txt -e ".[docs]"
	touch $@

docs: $(VENV)/.docs-installed
	rm -rf docs/generated
	$(PY) -m sphinx -W --keep-going -b html docs docs/_build/html

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis *.egg-info
