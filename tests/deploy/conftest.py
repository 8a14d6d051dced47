"""Fixtures for the deploy checks: the rendered chart, and the node packages the model checks
need. The helpers live in ``tests/deploy/tools.py`` and ``tests/deploy/chart.py``."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.deploy.chart import VALUE_SETS, Rendered, render
from tests.deploy.tools import HERE, assert_ok, run, tool


@pytest.fixture(scope="session")
def rendered() -> dict[str, Rendered]:
    return {name: render(values) for name, values in VALUE_SETS.items()}


# --- node packages ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def node_modules() -> Path:
    """tests/deploy/node_modules, installed from package-lock.json when missing."""
    target = HERE / "node_modules"
    tool("node")
    if not (target / ".package-lock.json").is_file():
        result = run([tool("npm"), "ci", "--no-audit", "--no-fund"], cwd=HERE, timeout=300)
        assert_ok(result, "npm ci in tests/deploy")
    return target
