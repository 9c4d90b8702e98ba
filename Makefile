# `make run` and `make test` work on a fresh clone: both create .venv and install the package first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test bench clean browser

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/bordersim run scenarios/sept2022.yaml

test: $(STAMP) browser
	$(BIN)/python -m pytest -q

# The browser app's test drives Debian's chromium. As root (CI) install it if missing; otherwise the test says
# why it is skipped.
browser:
	@command -v chromium >/dev/null || [ "$$(id -u)" != 0 ] || ! command -v apt-get >/dev/null || \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) || \
	  echo "chromium could not be installed: the browser test will be skipped"

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_run.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
