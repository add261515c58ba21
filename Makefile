# twin: two commands.
#   make demo   set up .venv and run the default scenario on the shipped map (writes runs/demo/)
#   make test   set up .venv with the test tools and run ruff, mypy and pytest
# PYTHON=/path/to/python3.12 overrides the interpreter search.

SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test
DEMO_SCENARIO := scenarios/andorra-bridge-closures.yaml
DEMO_OUT := runs/demo

# Find a Python >= 3.12 by *running* each candidate: a python3.12 on PATH can be a pyenv shim that fails.
find_python = $(shell \
  ok() { "$$1" -c 'import sys; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1; }; \
  for c in python3.14 python3.13 python3.12 python3 python; do \
    p=$$(command -v $$c 2>/dev/null) && ok "$$p" && { echo "$$p"; exit 0; }; \
  done; \
  root=$$(pyenv root 2>/dev/null || echo "$$HOME/.pyenv"); \
  for p in $$(ls -d "$$root"/versions/3.1[2-9]*/bin/python3 2>/dev/null | sort -rV); do \
    ok "$$p" && { echo "$$p"; exit 0; }; \
  done)

PYTHON ?= $(find_python)

.PHONY: demo test venv lint typecheck pytest clean bench help browser

help:
	@echo "make demo   run the default scenario on the shipped map (writes $(DEMO_OUT)/)"
	@echo "make test   run ruff, mypy and the test suite"
	@echo "make bench  run the benchmarks in benchmarks/ (not part of CI)"

$(BIN)/python:
	@if [ -z "$(PYTHON)" ]; then \
	  echo "twin needs Python >= 3.12 and none was found (tried python3.1x, python3, pyenv versions)."; \
	  echo "Install one (e.g. 'pyenv install 3.12', 'apt-get install python3.12 python3.12-venv', or python.org)"; \
	  echo "and run again, or point at it: make demo PYTHON=/path/to/python3.12"; \
	  exit 1; \
	fi
	@echo "creating $(VENV) with $(PYTHON)"
	"$(PYTHON)" -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

$(TEST_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test]"
	@$(MAKE) --no-print-directory browser
	@touch $@ $(STAMP)

# Headless Chromium for the report's browser test (tests/test_report_browser.py): Debian's package, installed
# as root where apt-get exists; anywhere else the test is skipped and the setup goes on.
browser:
	@if command -v chromium >/dev/null 2>&1; then exit 0; fi; \
	if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	    || echo "could not install chromium: the report's browser test will be skipped"; \
	else \
	  echo "no chromium and no apt-get as root: the report's browser test will be skipped"; \
	fi

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/twin run $(DEMO_SCENARIO) --out $(DEMO_OUT) --overwrite
	$(BIN)/twin map show maps/andorra --out $(DEMO_OUT)/map.png

lint: $(TEST_STAMP)
	$(BIN)/ruff check twin tests benchmarks
	$(BIN)/ruff format --check twin tests benchmarks

typecheck: $(TEST_STAMP)
	$(BIN)/mypy

pytest: $(TEST_STAMP)
	$(BIN)/python -m pytest -n 2 -q

test: lint typecheck pytest

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[bench]"
	$(BIN)/python benchmarks/city_build.py
	$(BIN)/python benchmarks/engine_run.py
	$(BIN)/python benchmarks/hazards.py
	$(BIN)/python benchmarks/lifelines.py
	$(BIN)/python benchmarks/traffic.py
	$(BIN)/python -m pip install --quiet -e ".[dask]"
	$(BIN)/python benchmarks/sweep.py
	$(BIN)/python benchmarks/traffic_vs_peers.py grid andorra --seeds 3 --uxsim-per-vehicle

clean:
	rm -rf $(VENV) runs .pytest_cache .mypy_cache .ruff_cache maps/*/.cache
