# Two commands on a fresh machine: `make run` (the main job) and `make test` (the whole suite).
# Both bootstrap .venv from pyproject.toml; nothing is installed by hand.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
DEVNET ?= .devnet

.PHONY: run test bench clean venv

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,gm]'
	touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/eledger devnet --dir $(DEVNET) --nodes 4

test: $(STAMP)
	$(PY) -m pytest

bench: $(STAMP)
	$(PY) benchmarks/core.py

clean:
	rm -rf $(VENV) $(DEVNET) .pytest_cache .hypothesis build *.egg-info
