# shipway: two commands on a fresh clone — `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test lint typecheck bench clean

$(STAMP): pyproject.toml
	@# the browser tests drive Debian's Chromium (Playwright cannot download one here)
	test -x /usr/bin/chromium || (apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)  ## create .venv with every extra the tests need

demo: install  ## start a server, track two scikit-learn models, compare them
	$(BIN)/shipway demo

lint: install
	$(BIN)/ruff check src tests bench tools
	$(BIN)/ruff format --check src tests bench tools
	$(BIN)/lint-imports

typecheck: install
	$(BIN)/mypy

test: install lint typecheck  ## the whole suite, PostgreSQL and S3 included
	$(BIN)/python -m pytest

bench: install  ## benchmarks; figures go in docs/benchmarks.md
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .shipway .pytest_cache .mypy_cache
