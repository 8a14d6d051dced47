"""The GitOps examples: each manifest is valid for its CRD's schema (vendored under
deploy/gitops/schemas/), the schemas reject a misspelt field, and what the manifests point
at exists: the chart path, its values files, and values the chart's own schema accepts."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]  # no stubs installed (types-PyYAML)

from tests.deploy.chart import render
from tests.deploy.tools import CHART, DEPLOY, ROOT, assert_ok, load_yaml, module, run, tool

GITOPS = DEPLOY / "gitops"
SCHEMAS = GITOPS / "schemas"
EXAMPLES = {
    "argocd/application.yaml": "application-argoproj.io-v1alpha1.json",
    "flux/gitrepository.yaml": "gitrepository-source.toolkit.fluxcd.io-v1.json",
    "flux/helmrelease.yaml": "helmrelease-helm.toolkit.fluxcd.io-v2.json",
}
APPLICATION = load_yaml(GITOPS / "argocd" / "application.yaml")
GIT_REPOSITORY = load_yaml(GITOPS / "flux" / "gitrepository.yaml")
HELM_RELEASE = load_yaml(GITOPS / "flux" / "helmrelease.yaml")


def check(schema: str, manifest: Path) -> Any:
    return run([tool("check-jsonschema"), "--schemafile", str(SCHEMAS / schema), str(manifest)])


@pytest.mark.parametrize(("example", "schema"), sorted(EXAMPLES.items()))
def test_example_is_valid_for_its_crd_schema(example: str, schema: str) -> None:
    assert_ok(check(schema, GITOPS / example), f"check-jsonschema {example}")
    manifest = load_yaml(GITOPS / example)
    meta = json.loads((SCHEMAS / schema).read_text())["properties"]
    assert manifest["apiVersion"] == meta["apiVersion"]["const"]
    assert manifest["kind"] == meta["kind"]["const"]


MISTAKES = [
    ("argocd/application.yaml", ("spec", "source"), "targetRevison", "main"),
    ("argocd/application.yaml", ("spec", "syncPolicy", "automated"), "selfHeal", "yes"),
    ("argocd/application.yaml", ("spec",), "destinaton", {"namespace": "philos"}),
    ("flux/gitrepository.yaml", ("spec", "ref"), "brunch", "main"),
    ("flux/gitrepository.yaml", ("spec",), "interval", 300),
    ("flux/helmrelease.yaml", ("spec", "chart", "spec"), "reconcileStrategy", "Always"),
    ("flux/helmrelease.yaml", ("spec", "chart", "spec", "sourceRef"), "kind", "Git"),
    ("flux/helmrelease.yaml", ("spec", "test"), "enabled", True),
    ("flux/helmrelease.yaml", (), "metadata", {"name": "Philos Release"}),
]


@pytest.mark.parametrize(
    ("example", "where", "key", "value"),
    MISTAKES,
    ids=[f"{e.split('/')[1]}:{'.'.join((*w, k))}" for e, w, k, _ in MISTAKES],
)
def test_schema_rejects_a_mistake(
    example: str, where: tuple[str, ...], key: str, value: Any, tmp_path: Path
) -> None:
    manifest = copy.deepcopy(load_yaml(GITOPS / example))
    node = manifest
    for part in where:
        node = node[part]
    node[key] = value
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(manifest))
    result = check(EXAMPLES[example], bad)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Schema validation errors" in result.stdout


def test_readme_names_the_crd_versions_of_the_schemas() -> None:
    readme = (GITOPS / "README.md").read_text()
    for schema in EXAMPLES.values():
        comment = json.loads((SCHEMAS / schema).read_text())["$comment"]
        found = re.search(r"from (\S+) (v[\d.]+) ", comment)
        assert found, comment
        repo, tag = found.groups()
        assert f"`{schema}`" in readme
        row = next(line for line in readme.splitlines() if f"`{schema}`" in line)
        assert repo in row and f"**{tag}**" in row, row


def argo_values() -> dict[str, Any]:
    """What Argo CD passes to Helm: the value files in order, then valuesObject."""
    helm = APPLICATION["spec"]["source"]["helm"]
    merged: dict[str, Any] = {}
    for name in helm["valueFiles"]:
        merged = deep_merge(merged, load_yaml(ROOT / APPLICATION["spec"]["source"]["path"] / name))
    return deep_merge(merged, helm["valuesObject"])


def flux_values() -> dict[str, Any]:
    spec = HELM_RELEASE["spec"]
    merged: dict[str, Any] = {}
    for name in spec["chart"]["spec"]["valuesFiles"]:
        merged = deep_merge(merged, load_yaml(ROOT / name))
    return deep_merge(merged, spec["values"])


def deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def test_both_point_at_the_chart_and_the_same_namespace() -> None:
    source = APPLICATION["spec"]["source"]
    assert (ROOT / source["path"]) == CHART
    chart = HELM_RELEASE["spec"]["chart"]["spec"]
    assert (ROOT / chart["chart"]).resolve() == CHART
    ref = chart["sourceRef"]
    assert ref["kind"] == GIT_REPOSITORY["kind"]
    assert ref["name"] == GIT_REPOSITORY["metadata"]["name"]
    assert ref["namespace"] == GIT_REPOSITORY["metadata"]["namespace"]
    assert source["repoURL"] == GIT_REPOSITORY["spec"]["url"]
    assert source["targetRevision"] == GIT_REPOSITORY["spec"]["ref"]["branch"]
    namespace = APPLICATION["spec"]["destination"]["namespace"]
    assert namespace == HELM_RELEASE["spec"]["targetNamespace"] == "philos"
    assert source["helm"]["releaseName"] == HELM_RELEASE["spec"]["releaseName"]
    # Flux runs the chart's helm test Pods after install and upgrade.
    assert HELM_RELEASE["spec"]["test"]["enable"] is True


@pytest.mark.parametrize("controller", ["argocd", "flux"])
def test_their_values_pass_the_chart_schema_and_render(controller: str) -> None:
    values = argo_values() if controller == "argocd" else flux_values()
    module("helm_python").Chart.load(str(CHART)).validate_schema(values)
    r = render(values)
    hosts = [rule["host"] for rule in r.one("Ingress")["spec"]["rules"]]
    assert hosts == ["philos.example.com"]
    assert "HorizontalPodAutoscaler" in r.kinds()
    assert r.one("Deployment")["spec"]["template"]["spec"]["containers"][0]["image"].endswith(
        ":0.1.0"
    )


def test_the_two_examples_deploy_the_same_values() -> None:
    assert argo_values() == flux_values()
