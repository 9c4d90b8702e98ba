# `make run` and `make test` work on a fresh clone: both create .venv and install the package first, with the
# versions pinned in requirements.lock (`make lock` regenerates it). `make run` installs what running needs;
# `make test` adds the test tools and the optional features the tests exercise.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
LOCK   := requirements.lock
RUN_STAMP  := $(VENV)/.installed-run
TEST_STAMP := $(VENV)/.installed-test

.PHONY: run test bench lock clean browser

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(RUN_STAMP): pyproject.toml setup.py $(LOCK) | $(BIN)/python
	$(BIN)/python -m pip install --quiet -c $(LOCK) -e .
	touch $@

$(TEST_STAMP): pyproject.toml setup.py $(LOCK) | $(BIN)/python
	$(BIN)/python -m pip install --quiet -c $(LOCK) -e '.[test]'
	touch $@ $(RUN_STAMP)

# --force: `make run` regenerates results/sept2022/, replacing the last one (other commands keep existing results)
run: $(RUN_STAMP)
	$(BIN)/bordersim run sept2022 --force

test: $(TEST_STAMP) browser
	$(BIN)/python -m pytest -q

# The browser app's test drives Debian's chromium. As root (CI) install it if missing; otherwise the test says
# why it is skipped.
browser:
	@command -v chromium >/dev/null || [ "$$(id -u)" != 0 ] || ! command -v apt-get >/dev/null || \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) || \
	  echo "chromium could not be installed: the browser test will be skipped"

bench: $(RUN_STAMP)
	$(BIN)/python benchmarks/bench_run.py

# Pin every package `make test` installs (a superset of `make run`'s) for Python 3.11, with uv.
lock: | $(BIN)/python
	$(BIN)/python -m pip install --quiet uv
	$(BIN)/uv pip compile --python-version 3.11 pyproject.toml --extra test -o $(LOCK)

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
