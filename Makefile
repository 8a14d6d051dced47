# Every target creates .venv and installs what it needs on first use: `make run` only what
# serving needs, the other targets the development and test tools as well.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUN_STAMP := $(VENV)/.run-installed
STAMP := $(VENV)/.installed

# The explorer (web/): built into philos/gateway/static, which Philos serves at /app.
NPM := $(shell command -v npm 2>/dev/null)
WEB_DEPS := web/node_modules/.package-lock.json
WEB_BUNDLE := philos/gateway/static/build-info.json
WEB_SOURCES := $(shell find web -path web/node_modules -prune -o -type f -print) README.md

FEDERATION := deploy/federation
APQ_CLIENT := tests/apq/node_modules/.package-lock.json
GATEWAY := $(FEDERATION)/node_modules/.package-lock.json

.PHONY: run federation supergraph test lint fmt schema bench k8s-check chaos clean web web-build

$(RUN_STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e .
	touch $(RUN_STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP) $(RUN_STAMP)

$(WEB_DEPS): web/package-lock.json
	cd web && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# Rebuilt whenever a file under web/ or the README (GraphiQL's examples) is newer.
$(WEB_BUNDLE): $(WEB_DEPS) $(WEB_SOURCES)
	cd web && npm run build

web-build: $(WEB_BUNDLE)  ## build the explorer and GraphiQL into philos/gateway/static (Node 20, npm)

web: $(WEB_DEPS)  ## the explorer with hot reload at http://127.0.0.1:5173/app/ against a running API (PHILOS_API, default http://127.0.0.1:8000)
	cd web && npx vite

# Without npm, `make run` serves whatever bundle is there (or a page saying how to build it).
run: $(RUN_STAMP) $(if $(NPM),$(WEB_BUNDLE))  ## serve the explorer and the API on the embedded default at http://$HOST:$PORT/app/ and /graphql (127.0.0.1:8000)
	exec $(BIN)/philos serve --host $${HOST:-127.0.0.1} --port $${PORT:-8000}

# The gateway and the composer, from the committed lock file.
$(GATEWAY): $(FEDERATION)/package-lock.json
	cd $(FEDERATION) && npm ci --no-audit --no-fund
	touch $(GATEWAY)

# Apollo Client for tests/apq, from its committed lock file.
$(APQ_CLIENT): tests/apq/package-lock.json
	cd tests/apq && npm ci --no-audit --no-fund --loglevel=error

federation: $(STAMP) $(GATEWAY)  ## five subgraphs on ports 4001-4005 and the gateway at http://127.0.0.1:4000/graphql; Ctrl-C stops them
	$(BIN)/python $(FEDERATION)/run.py

supergraph: $(STAMP) $(GATEWAY)  ## recompose deploy/federation/supergraph.graphql from the subgraphs' SDL; the gateway's cost hints
	for s in users concepts graph theses ai; do \
	  $(BIN)/philos export-schema --subgraph $$s > $(FEDERATION)/subgraphs/$$s.graphql || exit 1; done
	cd $(FEDERATION) && node compose.mjs subgraphs supergraph.graphql
	$(BIN)/philos export-schema --cost-hints > $(FEDERATION)/cost-hints.json

test: $(STAMP) $(WEB_BUNDLE) $(GATEWAY) $(APQ_CLIENT)  ## lint, type-check, then the whole suite (starts the real servers it needs)
	bash tests/deploy/install-tools.sh
	$(BIN)/ruff check philos tests bench
	$(BIN)/ruff format --check philos tests bench
	$(BIN)/lint-imports
	$(BIN)/mypy philos tests
	cd web && npx vitest run
	PYTHONUNBUFFERED=1 $(BIN)/pytest $(PYTEST_ARGS)

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

k8s-check: $(STAMP)  ## opt-in: the chart against a real kube-apiserver + etcd, built from the Go module proxy (see deploy/README.md)
	bash tests/deploy/k8s/build.sh
	PHILOS_K8S_BIN=$${PHILOS_K8S_BIN:-$$HOME/.cache/philos/k8s} $(BIN)/pytest -p no:cacheprovider tests/deploy/test_k8s_server.py

chaos: $(STAMP)  ## the fault drill, each fault held longer; prints and writes chaos-report.md (docs/operations.md, "Fault drill")
	PHILOS_DRILL=long PHILOS_DRILL_REPORT=$${PHILOS_DRILL_REPORT:-chaos-report.md} \
		$(BIN)/pytest tests/e2e/test_fault_drill.py -s -p no:cacheprovider $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .import_linter_cache web/node_modules philos/gateway/static
