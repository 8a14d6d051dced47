"""What the chart puts on its pods: the spread over zones and nodes, extra environment
variables, annotations and scheduling, and the `helm test` Pods, whose scripts are also run
against a real `philos serve` on 127.0.0.1."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.chart import VALUE_SETS, Rendered, render
from tests.e2e.serve import free_port, start_server, stop_server

ZONE, NODE = "topology.kubernetes.io/zone", "kubernetes.io/hostname"


def pod_spec(r: Rendered) -> dict[str, Any]:
    spec: dict[str, Any] = r.one("Deployment")["spec"]["template"]["spec"]
    return spec


def test_replicas_spread_over_zones_then_nodes_by_default(rendered: dict[str, Rendered]) -> None:
    for name in ("default", "production", "stores"):
        r = rendered[name]
        pod_labels = r.one("Deployment")["spec"]["template"]["metadata"]["labels"]
        constraints = pod_spec(r)["topologySpreadConstraints"]
        assert [c["topologyKey"] for c in constraints] == [ZONE, NODE], name
        for c in constraints:
            # ScheduleAnyway: one zone or too few nodes still schedules every replica.
            assert c["whenUnsatisfiable"] == "ScheduleAnyway"
            assert c["maxSkew"] == 1
            selector = c["labelSelector"]["matchLabels"]
            assert selector and all(pod_labels[k] == v for k, v in selector.items())
            assert "helm.sh/chart" not in selector  # would change with every chart version


def test_own_spread_constraints_replace_the_default(rendered: dict[str, Rendered]) -> None:
    (constraint,) = pod_spec(rendered["extended"])["topologySpreadConstraints"]
    assert constraint == VALUE_SETS["extended"]["topologySpreadConstraints"][0]
    assert "topologySpreadConstraints" not in pod_spec(render({"topologySpreadConstraints": []}))


def test_pod_annotations_scheduling_and_extra_env(rendered: dict[str, Rendered]) -> None:
    r, values = rendered["extended"], VALUE_SETS["extended"]
    template = r.one("Deployment")["spec"]["template"]
    assert template["metadata"]["annotations"]["example.com/owner"] == "platform"
    assert "checksum/config" in template["metadata"]["annotations"]
    spec = template["spec"]
    for key in ("nodeSelector", "tolerations", "affinity"):
        assert spec[key] == values[key]
    (container,) = spec["containers"]
    assert container["env"] == values["extraEnv"]
    # the ConfigMap and Secret still come in whole; env entries win over them
    assert {"configMapRef", "secretRef"} == {k for e in container["envFrom"] for k in e}
    assert "env" not in pod_spec(rendered["default"])["containers"][0]


# --- helm test -------------------------------------------------------------------------------


def hook_pods(r: Rendered) -> dict[str, dict[str, Any]]:
    pods = {p["metadata"]["name"]: p for p in r.all("Pod")}
    assert all(p["metadata"]["annotations"]["helm.sh/hook"] == "test" for p in pods.values())
    return pods


@pytest.mark.parametrize("value_set", sorted(VALUE_SETS))
def test_helm_test_pods_check_ready_and_graphql_through_the_service(
    rendered: dict[str, Rendered], value_set: str
) -> None:
    r = rendered[value_set]
    pods = hook_pods(r)
    assert sorted(pods) == ["philos-test-graphql", "philos-test-ready"]
    (deployment,) = [
        d for d in r.all("Deployment") if not d["metadata"]["name"].endswith("-worker")
    ]
    api = deployment["spec"]["template"]["spec"]["containers"][0]
    service = r.one("Service")
    url = f"http://{service['metadata']['name']}:{service['spec']['ports'][0]['port']}"
    for pod in pods.values():
        spec = pod["spec"]
        assert spec["restartPolicy"] == "Never"
        assert spec["automountServiceAccountToken"] is False
        (c,) = spec["containers"]
        # the release's own image, pinned exactly as the API's
        assert c["image"] == api["image"]
        assert c["command"] == ["python", "-c"] and c["args"][1] == url
        assert c["securityContext"] == api["securityContext"]
        assert spec["securityContext"] == deployment["spec"]["template"]["spec"]["securityContext"]
        assert c["resources"]["limits"] and c["resources"]["requests"]
        assert pod["metadata"]["annotations"]["helm.sh/hook-delete-policy"]
        # neither the Service, the PDB nor the API's NetworkPolicy selector takes it for the API
        labels = pod["metadata"]["labels"]
        selector = service["spec"]["selector"]
        assert not all(labels.get(k) == v for k, v in selector.items())
    assert "/ready" in pods["philos-test-ready"]["spec"]["containers"][0]["args"][0]
    graphql = pods["philos-test-graphql"]["spec"]["containers"][0]["args"][0]
    assert "/graphql" in graphql and "__typename" in graphql and '"POST"' in graphql


def test_helm_test_pods_can_be_turned_off() -> None:
    r = render({"tests": {"enabled": False}, "networkPolicy": {"enabled": True}})
    assert not r.all("Pod")
    (rule,) = r.one("NetworkPolicy")["spec"]["ingress"]
    assert all("namespaceSelector" in peer for peer in rule["from"])
    assert "helm test" not in r.notes


def test_helm_test_pods_reach_only_dns_and_the_api(rendered: dict[str, Rendered]) -> None:
    r = rendered["production"]
    pods = hook_pods(r)
    api_labels = r.one("Deployment")["spec"]["template"]["metadata"]["labels"]
    (policy,) = [o for o in r.all("NetworkPolicy") if o["metadata"]["name"].endswith("-test")]
    spec = policy["spec"]
    for pod in pods.values():
        assert all(
            pod["metadata"]["labels"].get(k) == v
            for k, v in spec["podSelector"]["matchLabels"].items()
        )
    assert not all(api_labels.get(k) == v for k, v in spec["podSelector"]["matchLabels"].items())
    assert sorted(spec["policyTypes"]) == ["Egress", "Ingress"] and spec["ingress"] == []
    dns, api = spec["egress"]
    assert {p["port"] for p in dns["ports"]} == {53}
    (peer,) = api["to"]
    assert all(api_labels[k] == v for k, v in peer["podSelector"]["matchLabels"].items())
    assert api["ports"] == [{"port": "http", "protocol": "TCP"}]


def run_script(script: str, base: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", script, base],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_helm_test_scripts_pass_against_a_running_api(
    rendered: dict[str, Rendered], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    r = rendered["stores"]
    pods = hook_pods(r)
    # The API as the chart configures it: the ConfigMap's settings (production mode), a JWT
    # secret; the embedded database in a temporary directory instead of the stores.
    (config,) = [o for o in r.all("ConfigMap") if o["metadata"]["name"] == "philos"]
    for name, value in config["data"].items():
        if name != "PHILOS_DATA_DIR":
            monkeypatch.setenv(name, str(value))
    monkeypatch.setenv("JWT_SECRET", "x" * 48)
    served = start_server(tmp_path)
    try:
        for name, pod in sorted(pods.items()):
            result = run_script(pod["spec"]["containers"][0]["args"][0], str(served))
            assert result.returncode == 0, f"{name}:\n{result.stdout}\n{result.stderr}"
    finally:
        stop_server(served)
    # ...and fail where nothing answers.
    closed = f"http://127.0.0.1:{free_port()}"
    for name, pod in sorted(pods.items()):
        assert run_script(pod["spec"]["containers"][0]["args"][0], closed).returncode != 0, name
