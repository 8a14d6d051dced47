# Every target creates .venv and installs what it needs on first use: `make run` only what
# serving needs, the other targets the development and test tools as well.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUN_STAMP := $(VENV)/.run-installed
STAMP := $(VENV)/.installed

.PHONY: run test lint fmt schema bench chaos clean

$(RUN_STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e .
	touch $(RUN_STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP) $(RUN_STAMP)

run: $(RUN_STAMP)  ## serve the API on the embedded default at http://$HOST:$PORT/graphql (127.0.0.1:8000)
	exec $(BIN)/philos serve --host $${HOST:-127.0.0.1} --port $${PORT:-8000}

test: $(STAMP)  ## lint, type-check, then the whole suite (starts the real servers it needs)
	bash tests/deploy/install-tools.sh
	$(BIN)/ruff check philos tests bench
	$(BIN)/ruff format --check philos tests bench
	$(BIN)/lint-imports
	$(BIN)/mypy philos tests
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check philos tests bench
	$(BIN)/ruff format --check philos tests bench
	$(BIN)/lint-imports
	$(BIN)/mypy philos tests

fmt: $(STAMP)
	$(BIN)/ruff check --fix philos tests bench
	$(BIN)/ruff format philos tests bench

schema: $(STAMP)  ## rewrite schema.graphql from the code
	$(BIN)/philos export-schema > schema.graphql

bench: $(STAMP)  ## Philos vs PostGraphile on a generated dataset; writes bench/results/ (see docs/benchmarks.md)
	command -v wrk >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wrk; }
	$(BIN)/python -m bench.run $(BENCH_ARGS)

chaos: $(STAMP)  ## the fault drill, each fault held longer; prints and writes chaos-report.md (docs/operations.md, "Fault drill")
	PHILOS_DRILL=long PHILOS_DRILL_REPORT=$${PHILOS_DRILL_REPORT:-chaos-report.md} \
		$(BIN)/pytest tests/e2e/test_fault_drill.py -s -p no:cacheprovider $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .import_linter_cache
