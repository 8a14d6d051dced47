# Every target creates .venv and installs what it needs on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run federation supergraph test lint fmt schema bench clean
FEDERATION := deploy/federation
GATEWAY := $(FEDERATION)/node_modules/.package-lock.json

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)  ## serve the API on the embedded default at http://127.0.0.1:8000/graphql
	$(BIN)/philos serve --host $${HOST:-127.0.0.1} --port $${PORT:-8000}

# The gateway and the composer, from the committed lock file.
$(GATEWAY): $(FEDERATION)/package-lock.json
	cd $(FEDERATION) && npm ci --no-audit --no-fund
	touch $(GATEWAY)

federation: $(STAMP) $(GATEWAY)  ## five subgraphs on ports 4001-4005 and the gateway at http://127.0.0.1:4000/graphql; Ctrl-C stops them
	$(BIN)/python $(FEDERATION)/run.py

supergraph: $(STAMP) $(GATEWAY)  ## recompose deploy/federation/supergraph.graphql from the subgraphs' SDL; the gateway's cost hints
	for s in users concepts graph theses ai; do \
	  $(BIN)/philos export-schema --subgraph $$s > $(FEDERATION)/subgraphs/$$s.graphql || exit 1; done
	cd $(FEDERATION) && node compose.mjs subgraphs supergraph.graphql
	$(BIN)/philos export-schema --cost-hints > $(FEDERATION)/cost-hints.json

test: $(STAMP) $(GATEWAY)  ## lint, type-check, then the whole suite (starts the real servers it needs)
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

bench: $(STAMP) $(GATEWAY)  ## Philos vs PostGraphile on a generated dataset; writes bench/results/ (see docs/benchmarks.md)
	command -v wrk >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wrk; }
	$(BIN)/python -m bench.run $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .import_linter_cache
