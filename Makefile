# convtx: the two commands of the README.
#   make report  - set up (venv + every framework) and run every case through every framework,
#                  writing out/report.html and out/results.json
#   make test    - set up (venv + frameworks + test tools + Chromium) and run the test suite
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
OUT    ?= out

.PHONY: report test setup setup-test browser clean

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
setup-test: $(VENV)/.setup-test browser

# The HTML report is tested in Debian's Chromium (playwright cannot download a browser here).
browser:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	    (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) || echo "warning: could not install chromium"; \
	  else echo "warning: /usr/bin/chromium missing (apt-get install chromium)"; fi; \
	fi

report: setup
	$(BIN)/convtx run cases --checks --json $(OUT)/results.json --html $(OUT)/report.html

test: setup-test
	$(BIN)/python -m pytest tests

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache .hypothesis
