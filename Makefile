# Two commands on a fresh machine: `make run` (the main job) and `make test` (the whole suite).
# Both bootstrap .venv from pyproject.toml; nothing is installed by hand.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
DEVNET ?= .devnet
# The browser tests (tests/browser) drive Debian's Chromium through Playwright; Playwright's own
# browser download does not work offline, so `make browser` installs the distribution's package.
CHROMIUM := /usr/bin/chromium

.PHONY: run test bench browser clean venv

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,gm]'
	touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/eledger devnet --dir $(DEVNET) --nodes 4

test: $(STAMP) browser
	$(PY) -m pytest

# Installs Debian's chromium when it is missing and this is root with apt-get; otherwise says how
# (tests/browser then fail with the same instructions rather than skip).
browser:
	@if [ -x $(CHROMIUM) ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing Debian's chromium for tests/browser"; \
		DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium >/dev/null \
		|| { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium >/dev/null; }; \
	else \
		echo "$(CHROMIUM) is missing: install Debian's chromium (as root: apt-get install -y --no-install-recommends chromium); tests/browser will fail without it" >&2; \
	fi

bench: $(STAMP)
	$(PY) benchmarks/core.py

clean:
	rm -rf $(VENV) $(DEVNET) .pytest_cache .hypothesis build *.egg-info
