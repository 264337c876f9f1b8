# Two commands on a fresh machine: `make run` (the main job) and `make test` (the whole suite).
# Both bootstrap .venv from pyproject.toml; nothing is installed by hand.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
DEVNET ?= .devnet
# The browser tests (tests/browser) drive Debian's Chromium through Playwright; Playwright's own
# browser download does not work offline, so `make browser` installs the distribution's package,
# and a small Chinese font so that screenshots of the zh pages show characters, not boxes.
CHROMIUM := /usr/bin/chromium
CJK_FONT := /usr/share/fonts/truetype/wqy/wqy-microhei.ttc
BROWSER_PACKAGES := chromium fonts-wqy-microhei

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

# Installs Debian's chromium (and the font) when missing and this is root with apt-get; otherwise
# says how (tests/browser then fail with the same instructions rather than skip).
browser:
	@if [ -x $(CHROMIUM) ] && [ -f $(CJK_FONT) ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing Debian's $(BROWSER_PACKAGES) for tests/browser"; \
		DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $(BROWSER_PACKAGES) >/dev/null \
		|| { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $(BROWSER_PACKAGES) >/dev/null; }; \
	else \
		echo "$(CHROMIUM) or $(CJK_FONT) is missing: install Debian's $(BROWSER_PACKAGES) (as root: apt-get install -y --no-install-recommends $(BROWSER_PACKAGES)); tests/browser fail without Chromium" >&2; \
	fi

clean:
	rm -rf $(VENV) $(DEVNET) .pytest_cache .hypothesis build *.egg-info
