# Two commands do all the set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test

DEMO := .ems-demo

.PHONY: run check-demo test lint format docs bench clean vsix editor-check test-vscode

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

# The newcomer's tour: the demo project as a git repository with a scripted history
# (outside the tracked tree, in $(DEMO)/), scanned and walked, then the dashboard.
# Without a display (CI, ssh) the dashboard prints its URL and opens no browser.
run: $(STAMP)
	$(BIN)/python scripts/demo_repo.py $(DEMO)
	cd $(DEMO) && $(CURDIR)/$(BIN)/ems check --record --statistics . || test $$? -eq 1
	cd $(DEMO) && $(CURDIR)/$(BIN)/ems history --hotspots 5 .
	$(BIN)/ems dashboard $(DEMO) $(if $(DISPLAY)$(WAYLAND_DISPLAY),,--no-browser)

# The demo project checked in place, no git or dashboard: what ems check prints.
check-demo: $(STAMP)
	$(BIN)/ems check examples/demo --statistics || test $$? -eq 1

test: $(TEST_STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadgroup tests

# Types: mypy over src/ems ([tool.mypy] in pyproject.toml); every `# type: ignore` names
# its error code and must still be needed.
lint: $(TEST_STAMP)
	$(BIN)/ruff check src tests scripts benchmarks editor-client/e2e
	$(BIN)/ruff format --check src tests scripts benchmarks editor-client/e2e
	$(BIN)/mypy

format: $(TEST_STAMP)
	$(BIN)/ruff format src tests scripts benchmarks editor-client/e2e
	$(BIN)/ruff check --fix src tests scripts benchmarks editor-client/e2e

docs: $(STAMP)
	$(BIN)/python scripts/render_rule_docs.py

# The VS Code extension (editor-client/): npm ci from the committed lock file, then the bundle.
NPM ?= npm
CLIENT := editor-client
CLIENT_STAMP := $(CLIENT)/node_modules/.installed

$(CLIENT_STAMP): $(CLIENT)/package-lock.json
	cd $(CLIENT) && $(NPM) ci --no-audit --no-fund
	touch $@

# editor-client/ems-vscode.vsix (offline once node_modules exists).
vsix: $(CLIENT_STAMP)
	cd $(CLIENT) && $(NPM) run package

# What CI checks of the extension: types, lint, unit tests, and that the .vsix builds.
editor-check: $(CLIENT_STAMP)
	cd $(CLIENT) && $(NPM) run typecheck && $(NPM) run lint && $(NPM) test && $(NPM) run package

# Opt-in (not part of `make test`): the .vsix in a real VS Code host, code-server from npm,
# driven by Debian's headless Chromium. The first run sets up code-server under
# editor-client/.e2e/ (a few minutes: it builds VS Code's native modules).
test-vscode: $(TEST_STAMP) vsix
	bash $(CLIENT)/e2e/setup.sh
	$(BIN)/python -m pytest -p no:xdist -s $(CLIENT)/e2e

clean:
	rm -rf $(VENV) .ems $(DEMO) build dist src/*.egg-info $(CLIENT)/dist $(CLIENT)/dist-test $(CLIENT)/*.vsix
