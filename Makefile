# convtx: the two commands of the README.
#   make report  - set up (venv + every framework) and run every case through every framework,
#                  writing out/report.html and out/results.json
#   make test    - set up (venv + frameworks + test tools + Chromium), type-check harness/ and adapters/,
#                  and run the test suite (tests/unit: fast, no framework; tests/frameworks: real ones)
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
OUT    ?= out
# make puts command-line variables (`make report OUT=x`) into its recipes' environment, which the result
# store's keys read: keep these out, so that runs with another OUT share their stored results.
unexport PYTHON VENV OUT

.PHONY: report test bench setup setup-test debs clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip setuptools wheel

$(VENV)/.setup-all: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[all]'
	touch $@

$(VENV)/.setup-test: pyproject.toml $(VENV)/.setup-all
	$(BIN)/python -m pip install --quiet -e '.[all,test]'
	touch $@

setup: $(VENV)/.setup-all
	@$(MAKE) --no-print-directory debs DEBS="clang"
setup-test: $(VENV)/.setup-test
	@$(MAKE) --no-print-directory debs DEBS="clang chromium"

# Debian packages: chromium for the report's browser test (playwright cannot download a browser
# here), clang for tinygrad's CPU backend (without it tinygrad runs its slow PYTHON device).
DEBS ?= clang chromium
debs:
	@missing=""; for p in $(DEBS); do \
	  case $$p in chromium) [ -x /usr/bin/chromium ] || missing="$$missing chromium";; \
	  *) command -v $$p >/dev/null 2>&1 || missing="$$missing $$p";; esac; done; \
	if [ -n "$$missing" ]; then \
	  if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	    (apt-get update -qq && apt-get install -y -qq $$missing >/dev/null) || echo "warning: could not install$$missing"; \
	  else echo "warning: missing Debian packages:$$missing (apt-get install$$missing)"; fi; \
	fi

report: setup
	$(BIN)/convtx run cases --checks --json $(OUT)/results.json --html $(OUT)/report.html

bench: setup
	$(BIN)/convtx bench --json $(OUT)/bench.json

test: setup-test
	$(BIN)/python tests/support/typecheck.py
	$(BIN)/python -m pytest tests

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache .hypothesis .mypy_cache
