# Two commands do all the set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test

.PHONY: run test lint format docs bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e .
	touch $@

# The example plug-in is not installed: tests register it for themselves
# (tests/integration/test_plugin.py); installed, it would report XPL001 on users' code.
# An older venv that has it gets it removed.
$(TEST_STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[test]'
	$(BIN)/python -m pip uninstall --quiet --yes ems-plugin-example 2>/dev/null || true
	touch $@

run: $(STAMP)
	$(BIN)/ems check examples/demo --statistics || test $$? -eq 1

test: $(TEST_STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadgroup tests

lint: $(TEST_STAMP)
	$(BIN)/ruff check src tests scripts benchmarks
	$(BIN)/ruff format --check src tests scripts benchmarks

format: $(TEST_STAMP)
	$(BIN)/ruff format src tests scripts benchmarks
	$(BIN)/ruff check --fix src tests scripts benchmarks

docs: $(STAMP)
	$(BIN)/python scripts/render_rule_docs.py

clean:
	rm -rf $(VENV) .ems build dist src/*.egg-info
