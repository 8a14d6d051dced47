"""The chart against a real Kubernetes API server (opt-in: `make k8s-check`).

Every object of every value set the deploy checks render is sent to kube-apiserver as a
server-side dry run with strict field validation, as ``kubectl apply --dry-run=server
--validate=strict`` would: all must be accepted. Then cases generated from those objects must be
refused: every field name misspelt in turn, every workload's selector made to miss its pod
labels, every container's requests raised above its limits. Schema checks (tests/deploy/
test_helm*.py) cannot see the last two. Without the binaries (``PHILOS_K8S_BIN``, built by
``tests/deploy/k8s/build.sh``) the module is skipped, saying how to run it."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.chart import NAMESPACE, VALUE_SETS, render
from tests.deploy.k8s.server import ApiServer, api_server, binaries

BIN = binaries()
pytestmark = pytest.mark.skipif(
    BIN is None,
    reason="opt-in: `make k8s-check` builds a real kube-apiserver and etcd, then runs these",
)
# Kinds from CRDs that a bare API server does not serve (the Prometheus operator's).
NOT_SERVED = {"ServiceMonitor", "PrometheusRule"}
# Maps whose keys are the user's (labels, selectors, config data): any key is valid there.
FREE_KEYS = {
    "labels",
    "annotations",
    "matchLabels",
    "selector",
    "nodeSelector",
    "data",
    "stringData",
}
WORKLOADS = {"Deployment", "StatefulSet", "DaemonSet"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    assert BIN is not None
    with api_server(BIN, Path(tmp_path_factory.mktemp("k8s"))) as found:
        created = found.client.post(
            "/api/v1/namespaces",
            json={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}},
        )
        assert created.status_code in (201, 409), created.text
        yield found


def _refusal(server: ApiServer, obj: dict[str, Any]) -> str:
    answer = server.dry_run(obj, NAMESPACE)
    assert answer.status_code in (400, 422), (answer.status_code, obj["kind"], answer.text[:300])
    message: str = answer.json().get("message", "")
    return message


@pytest.mark.parametrize("value_set", sorted(VALUE_SETS))
def test_every_rendered_object_is_accepted(server: ApiServer, value_set: str) -> None:
    skipped = set()
    for obj in render(VALUE_SETS[value_set]).objects:
        if not server.served(obj):
            skipped.add(obj["kind"])
            continue
        answer = server.dry_run(obj, NAMESPACE)
        assert answer.status_code in (200, 201), (obj["kind"], answer.text[:500])
    assert skipped <= NOT_SERVED, f"kinds the API server does not know: {skipped - NOT_SERVED}"


def _key_paths(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every field name's path in ``node``, leaving out the keys of free-form maps."""
    if isinstance(node, dict):
        if path and path[-1] in FREE_KEYS:
            return
        for key, value in node.items():
            if key in ("apiVersion", "kind"):
                continue
            yield (*path, key)
            yield from _key_paths(value, (*path, key))
    elif isinstance(node, list):
        for i, item in enumerate(node):
            yield from _key_paths(item, (*path, i))


def _misspelt(obj: dict[str, Any], path: tuple[Any, ...]) -> dict[str, Any]:
    changed = copy.deepcopy(obj)
    parent: Any = changed
    for step in path[:-1]:
        parent = parent[step]
    parent[f"{path[-1]}x"] = parent.pop(path[-1])
    return changed


def _production_objects(server: ApiServer) -> list[dict[str, Any]]:
    return [o for o in render(VALUE_SETS["production"]).objects if server.served(o)]


def test_every_misspelt_field_is_refused(server: ApiServer) -> None:
    tried = 0
    for obj in _production_objects(server):
        for path in _key_paths(obj):
            message = _refusal(server, _misspelt(obj, path))
            # A field of an object is unknown; a key of a checked map (resources.limits) invalid.
            assert "unknown field" in message or "Invalid value" in message, (
                obj["kind"],
                path,
                message,
            )
            tried += 1
    assert tried > 100


def _pod_specs(obj: dict[str, Any]) -> Iterator[dict[str, Any]]:
    if obj["kind"] in WORKLOADS:
        yield obj["spec"]["template"]["spec"]
    elif obj["kind"] == "CronJob":
        yield obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    elif obj["kind"] == "Pod":
        yield obj["spec"]


def test_a_selector_that_matches_no_pod_is_refused(server: ApiServer) -> None:
    workloads = [o for o in _production_objects(server) if o["kind"] in WORKLOADS]
    assert workloads
    for obj in workloads:
        for key in obj["spec"]["selector"]["matchLabels"]:
            changed = copy.deepcopy(obj)
            changed["spec"]["selector"]["matchLabels"][key] += "-elsewhere"
            message = _refusal(server, changed)
            assert "selector" in message, (obj["metadata"]["name"], key, message)


def test_requests_above_limits_are_refused(server: ApiServer) -> None:
    tried = 0
    for obj in _production_objects(server):
        for i, spec in enumerate(_pod_specs(obj)):
            for j, container in enumerate(spec.get("containers", [])):
                limits = container.get("resources", {}).get("limits", {})
                for resource in limits:
                    changed = copy.deepcopy(obj)
                    target = list(_pod_specs(changed))[i]["containers"][j]["resources"]
                    target.setdefault("requests", {})[resource] = _double(limits[resource])
                    message = _refusal(server, changed)
                    assert "must be less than or equal to" in message, (resource, message)
                    tried += 1
    assert tried > 0


def _double(quantity: Any) -> str:
    """Twice a Kubernetes quantity ("500m", "256Mi", "1")."""
    text = str(quantity)
    number = text.rstrip("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
    unit = text[len(number) :]
    return f"{float(number) * 2:g}{unit}"
