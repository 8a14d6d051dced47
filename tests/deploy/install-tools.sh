#!/usr/bin/env bash
# Installs the deploy-check tools that are not Python packages of the project's `dev` extra:
#   - the npm packages in package-lock.json (kubernetes-models, the prometheus-operator models,
#     TypeScript) into tests/deploy/node_modules;
#   - checkov, pinned in checkov-requirements.txt, into its own venv tests/deploy/.venv-checkov
#     (its packaging<24 pin conflicts with pytest's packaging>=24).
# promtool comes from Debian's `prometheus` package (apt-get install prometheus).
# Safe to run again: each step is skipped when its result is already there.
set -euo pipefail
cd "$(dirname "$0")"

if [ ! -f node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi

if [ ! -x .venv-checkov/bin/checkov ]; then
  "${PYTHON:-python3}" -m venv .venv-checkov
  .venv-checkov/bin/pip install --quiet --disable-pip-version-check -r checkov-requirements.txt
fi

command -v promtool >/dev/null || echo "promtool missing: apt-get install prometheus" >&2
