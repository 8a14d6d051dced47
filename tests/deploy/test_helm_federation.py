"""The chart's federated deployment (``federation.enabled``): one Deployment, Service, HPA and
PDB per subgraph and for the gateway, the Ingress to the gateway, and NetworkPolicies that
let only the gateway reach the subgraphs; linted and validated like the rest of the chart."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]  # no stubs installed (types-PyYAML)

from tests.deploy.chart import KUBE_VERSION, VALUE_SETS, Rendered, render
from tests.deploy.tools import CHART, DEPLOY, HERE, assert_ok, module, node_json, run, tool

SUBGRAPHS = {
    "users": ("user-service", 4001),
    "concepts": ("concept-service", 4002),
    "graph": ("graph-service", 4003),
    "theses": ("thesis-service", 4004),
    "ai": ("claude-service", 4005),
}
PARTS = [*(service for service, _ in SUBGRAPHS.values()), "api-gateway"]
FEDERATED: dict[str, dict[str, Any]] = {
    "federated": {
        "federation": {"enabled": True},
        "secret": {"databaseUrl": "postgresql://philos:pw@postgres:5432/philos_concepts"},
    },
    "federated-production": {
        **VALUE_SETS["production"],
        "federation": {"enabled": True, "gateway": {"image": {"tag": "1.2.3"}}},
    },
    "federated-minimal": {**VALUE_SETS["minimal"], "federation": {"enabled": True}},
}


@pytest.fixture(scope="module")
def federated() -> dict[str, Rendered]:
    return {name: render(values) for name, values in FEDERATED.items()}


def named(r: Rendered, kind: str, part: str) -> dict[str, Any]:
    (found,) = [o for o in r.all(kind) if o["metadata"]["name"] == f"philos-{part}"]
    return found


def matches(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


@pytest.mark.parametrize("value_set", sorted(FEDERATED))
def test_helm_lint_strict(value_set: str) -> None:
    helm = module("helm_python")
    report = helm.lint(
        str(CHART), FEDERATED[value_set], strict=True, kube_version=f"v{KUBE_VERSION}"
    )
    problems = [m for m in report["messages"] if m["severity"] >= 2] + report["errors"]
    assert not problems, json.dumps(report, indent=2)


@pytest.mark.parametrize("value_set", sorted(FEDERATED))
def test_every_object_is_valid_for_kubernetes_1_30(
    federated: dict[str, Rendered], value_set: str
) -> None:
    kv = module("kubernetes_validate")
    failures = []
    for obj in federated[value_set].objects:
        if obj["kind"] in {"ServiceMonitor", "PrometheusRule"}:
            continue
        try:
            kv.validate(obj, KUBE_VERSION, strict=True)
        except kv.ValidationError as exc:
            failures.append(f"{obj['kind']}/{obj['metadata']['name']}: {exc.message}")
    assert not failures, "\n".join(failures)


def test_objects_are_valid_for_kubernetes_models(
    federated: dict[str, Rendered], node_modules: Path
) -> None:
    objects = federated["federated-production"].objects
    results = node_json(HERE / "validate-models.cjs", objects)
    failures = [f"{r['kind']}/{r['name']}: {r['error']}" for r in results if not r["ok"]]
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("value_set", sorted(FEDERATED))
def test_each_part_has_deployment_service_hpa_and_pdb(
    federated: dict[str, Rendered], value_set: str
) -> None:
    r = federated[value_set]
    for part in PARTS:
        deployment = named(r, "Deployment", part)
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        selector = deployment["spec"]["selector"]["matchLabels"]
        assert matches(selector, labels)
        assert matches(named(r, "Service", part)["spec"]["selector"], labels)
        assert matches(
            named(r, "PodDisruptionBudget", part)["spec"]["selector"]["matchLabels"], labels
        )
        hpa = named(r, "HorizontalPodAutoscaler", part)
        assert hpa["spec"]["scaleTargetRef"]["name"] == deployment["metadata"]["name"]
        assert hpa["spec"]["minReplicas"] >= 2
        # The API's own Service and PDB never select a subgraph's or the gateway's pods.
        api = next(o for o in r.all("Service") if o["metadata"]["name"] == "philos")
        assert not matches(api["spec"]["selector"], labels), part
    # Nothing else changed: the API Deployment is still there, with its own objects.
    assert len(r.all("Deployment")) == len(PARTS) + 1


def test_subgraphs_serve_their_slice_on_the_seed_ports(federated: dict[str, Rendered]) -> None:
    r = federated["federated-production"]
    for name, (service, port) in SUBGRAPHS.items():
        (container,) = named(r, "Deployment", service)["spec"]["template"]["spec"]["containers"]
        args = container["args"]
        assert args[:3] == ["serve", "--subgraph", name]
        assert args[args.index("--port") + 1] == str(port)
        assert container["ports"][0]["containerPort"] == port
        assert container["readinessProbe"]["httpGet"]["path"] == "/ready"
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        assert named(r, "Service", service)["spec"]["ports"][0]["port"] == port
    (gateway,) = named(r, "Deployment", "api-gateway")["spec"]["template"]["spec"]["containers"]
    assert gateway["image"].endswith("philos-gateway:1.2.3")
    env = {e["name"]: e["value"] for e in gateway["env"]}
    for service, port in SUBGRAPHS.values():
        variable = service.replace("-", "_").upper() + "_URL"
        assert env[variable] == f"http://philos-{service}:{port}/graphql"
    # One subgraph down must not take the gateway out of rotation: its readiness is its own.
    assert gateway["readinessProbe"]["httpGet"]["path"] == "/gateway-ready"


def test_prometheus_scrapes_every_part(federated: dict[str, Rendered]) -> None:
    r = federated["federated-production"]
    for part in PARTS:
        monitor = named(r, "ServiceMonitor", part)
        service = named(r, "Service", part)
        assert matches(monitor["spec"]["selector"]["matchLabels"], service["metadata"]["labels"])
        assert monitor["spec"]["endpoints"][0]["path"] == "/metrics"
    assert not federated["federated"].all("ServiceMonitor")  # only where the operator is


def test_the_ingress_points_at_the_gateway(federated: dict[str, Rendered]) -> None:
    ingress = federated["federated-production"].one("Ingress")
    for rule in ingress["spec"]["rules"]:
        for path in rule["http"]["paths"]:
            assert path["backend"]["service"]["name"] == "philos-api-gateway"


def test_only_the_gateway_reaches_the_subgraphs(federated: dict[str, Rendered]) -> None:
    r = federated["federated-production"]
    gateway_labels = named(r, "Deployment", "api-gateway")["spec"]["template"]["metadata"]["labels"]
    for service, port in SUBGRAPHS.values():
        labels = named(r, "Deployment", service)["spec"]["template"]["metadata"]["labels"]
        policies = [
            p
            for p in r.all("NetworkPolicy")
            if matches(p["spec"]["podSelector"]["matchLabels"], labels)
        ]
        assert len(policies) == 1, service
        (rule,) = policies[0]["spec"]["ingress"]
        pod_peers = [p for p in rule["from"] if "podSelector" in p and "namespaceSelector" not in p]
        assert [matches(p["podSelector"]["matchLabels"], gateway_labels) for p in pod_peers] == [
            True
        ]
        # The other peers are Prometheus's, exactly as for the API.
        others = [p for p in rule["from"] if p not in pod_peers]
        assert others == VALUE_SETS["production"].get("networkPolicy", {}).get(
            "metricsFrom", others
        )
        egress = named(r, "NetworkPolicy", "api-gateway")["spec"]["egress"]
        assert any(
            matches(e["to"][0].get("podSelector", {}).get("matchLabels", {}), labels)
            and e["ports"] == [{"port": port, "protocol": "TCP"}]
            for e in egress
        ), service
    # Only the AI subgraph may call out to the Anthropic API.
    for service, _port in SUBGRAPHS.values():
        egress = named(r, "NetworkPolicy", service)["spec"]["egress"]
        https = [e for e in egress if {"port": 443, "protocol": "TCP"} in e.get("ports", [])]
        assert bool(https) == (service == "claude-service"), service


def test_checkov_passes_on_the_federated_chart(
    federated: dict[str, Rendered], tmp_path: Path
) -> None:
    manifest = tmp_path / "federated.yaml"
    manifest.write_text(yaml.safe_dump_all(federated["federated-production"].objects))
    result = run(
        [
            tool("checkov"),
            "--config-file",
            str(DEPLOY / "checkov.yaml"),
            "--framework",
            "kubernetes",
            "--skip-download",
            "--quiet",
            "--compact",
            "-f",
            str(manifest),
        ],
        timeout=180,
    )
    assert_ok(result, "checkov on the federated chart")
