# `make demo` and `make test` work on a fresh Debian machine with Python 3.11; both idempotent.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
TORCH  := torch==2.14.1 torchvision==0.29.1

.PHONY: demo test test-fast bench lint dot chromium clean zoo readme screenshots images import-table

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# editable_mode=compat: a plain path entry, not setuptools' import-hook finder, which every
# Python process in the venv would import at start-up (about 11 ms of each `netdsl` command).
$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install -q -e . --config-settings editable_mode=compat
	touch $@

# torch is large: it is installed once per venv, and only for tests and benchmarks.
$(VENV)/.installed-test: $(VENV)/.installed
	$(BIN)/pip install -q $(TORCH)
	$(BIN)/pip install -q -e '.[test]' --config-settings editable_mode=compat
	touch $@

$(VENV)/.installed-bench: $(VENV)/.installed-test
	$(BIN)/pip install -q -e '.[bench]' --config-settings editable_mode=compat
	touch $@

# graphviz's `dot` renders diagrams; install it from Debian's packages when we can.
dot:
	@command -v dot >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing graphviz (for the dot program)"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq graphviz >/dev/null); \
	  else \
	    echo "netdsl: the 'dot' program is missing and this user cannot install it."; \
	    echo "        install it with: sudo apt-get install graphviz   (or brew install graphviz)"; \
	    echo "        until then, 'netdsl render -o x.dot' still writes .dot files"; \
	  fi; }

# The report's browser test runs Debian's Chromium through playwright (never playwright's own
# browser download, which this kind of machine cannot fetch).
CHROMIUM ?= /usr/bin/chromium
chromium:
	@[ -x "$(CHROMIUM)" ] || command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing chromium (for the report's browser test)"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null); \
	  else \
	    echo "netdsl: Chromium is missing and this user cannot install it; the report's"; \
	    echo "        browser test needs it: sudo apt-get install chromium"; \
	    echo "        (or point NETDSL_CHROMIUM at another Chromium or Chrome executable)"; \
	  fi; }

demo: $(VENV)/.installed dot
	$(BIN)/netdsl check specs/*.net
	$(BIN)/netdsl stats specs/resnet50.net --depth 1
	$(BIN)/netdsl stats specs/lenet5.net

test: $(VENV)/.installed-test dot chromium
	$(BIN)/python -m pytest -n 2 -p no:cacheprovider

# everything but the tests marked slow (see docs/contributing.md, "Fast and slow tests")
test-fast: $(VENV)/.installed-test dot chromium
	$(BIN)/python -m pytest -n 2 -p no:cacheprovider -m "not slow"

lint: $(VENV)/.installed-test
	$(BIN)/ruff check netdsl cli.py tests bench

bench: $(VENV)/.installed-bench
	$(BIN)/python bench/run_all.py

zoo: $(VENV)/.installed-test
	$(BIN)/python docs/make_zoo.py

import-table: $(VENV)/.installed-test
	$(BIN)/python docs/make_import.py

readme: $(VENV)/.installed
	$(BIN)/python docs/make_readme.py

# the report's screenshots in docs/images (Debian's Chromium through playwright)
screenshots: $(VENV)/.installed-test dot chromium
	$(BIN)/python docs/make_screenshots.py

# the diagrams in docs/images, each at its default depth (the deepest that fits a page)
IMAGES := resnet50 inception_v3 densenet121 efficientnet_b0 unet lenet5
images: $(VENV)/.installed dot
	for net in $(IMAGES); do $(BIN)/netdsl render specs/$$net.net -o docs/images/$$net.png || exit 1; done
	$(BIN)/netdsl render specs/googlenet.net -o docs/images/googlenet_depth2.png --depth 2

clean:
	rm -rf $(VENV) build *.egg-info
