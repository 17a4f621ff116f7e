# Every target does its own set-up: a virtual environment in .venv, installed from
# this repository's files with the versions pinned in constraints.txt.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
EXTRAS ?= dev,data,factor,plots

.PHONY: install test lint demo clean

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

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis *.egg-info
