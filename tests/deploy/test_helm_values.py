"""values.schema.json: it accepts the shipped value sets and rejects bad ones, listed by hand
and generated (a misspelt key anywhere the schema is closed, a value of the wrong type for
any typed key)."""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Iterator
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]  # no stubs installed (types-PyYAML)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.deploy.chart import VALUE_SETS, render
from tests.deploy.tools import CHART, module

SCHEMA: dict[str, Any] = json.loads((CHART / "values.schema.json").read_text())
DEFAULTS: dict[str, Any] = yaml.safe_load((CHART / "values.yaml").read_text())


def test_values_schema_is_valid_json_schema() -> None:
    assert SCHEMA["additionalProperties"] is False
    assert set(DEFAULTS) <= set(SCHEMA["properties"]), "values.yaml keys missing from the schema"


def with_value(path: str, value: Any) -> dict[str, Any]:
    """Default values with one key replaced (dotted path)."""
    values = copy.deepcopy(DEFAULTS)
    *parents, last = path.split(".")
    node = values
    for key in parents:
        node = node[key]
    node[last] = value
    return values


HOST = "philos.example.com"
PATHS = [{"path": "/", "pathType": "Prefix"}]
SPREAD = {"maxSkew": 1, "topologyKey": "kubernetes.io/hostname"}

BAD_VALUES = [
    ("replicaCount", 0),
    ("replicaCount", "two"),
    ("image.repository", ""),
    ("image.pullPolicy", "Sometimes"),
    ("image.digest", "sha256:nothex"),
    ("ingress.host", HOST),  # the chart's former single-host keys are gone
    ("ingress.hosts", []),
    ("ingress.hosts", [{"host": "Not A Host", "paths": PATHS}]),
    ("ingress.hosts", [{"host": HOST, "paths": [{"path": "graphql", "pathType": "Prefix"}]}]),
    ("ingress.hosts", [{"host": HOST, "paths": [{"path": "/", "pathType": "Sometimes"}]}]),
    ("ingress.hosts", [{"host": HOST, "paths": []}]),
    ("ingress.hosts", [{"host": HOST, "path": "/"}]),
    ("ingress.tls", {"enabled": True, "secretName": "philos-tls"}),
    ("ingress.tls", [{"secretName": "philos-tls"}]),
    ("ingress.tls", [{"secretName": "Philos_TLS", "hosts": [HOST]}]),
    ("ingress.tls", [{"secret": "philos-tls", "hosts": [HOST]}]),
    ("service.type", "ExternalName"),
    ("autoscaling.targetCPUUtilizationPercentage", 150),
    ("autoscaling.minReplicas", 0),
    ("secret.databaseUrl", "mysql://philos@db/philos_concepts"),
    ("secret.redisUrl", "localhost:6379"),
    ("secret.jwtSecret", "too-short"),
    ("secret.existingSecret", "Not_A_Name"),
    ("config.env", "staging"),
    ("config.logLevel", "VERBOSE"),
    ("config.maxBodyBytes", 10),
    ("config.extraEnv", {"lower_case": "x"}),
    ("podAnnotations", {"example.com/owner": 1}),
    ("podLabels", {"team": "has spaces"}),
    ("podSecurityContext.runAsNonRoot", False),
    ("podSecurityContext.runAsUser", 0),
    ("podSecurityContext.runAsUsr", 10001),
    ("securityContext.readOnlyRootFilesystem", False),
    ("securityContext.allowPrivilegeEscalation", True),
    ("securityContext.privileged", True),
    ("securityContext.capabilities", {"drop": ["NET_RAW"]}),
    ("securityContext.capabilities", {"drop": ["ALL"], "add": ["SYS_ADMIN"]}),
    ("nodeSelector", {"disktype": 1}),
    ("tolerations", {"key": "dedicated"}),
    ("tolerations", [{"key": "dedicated", "operator": "Sometimes"}]),
    ("tolerations", [{"key": "dedicated", "efect": "NoSchedule"}]),
    ("affinity", {"nodeAfinity": {}}),
    ("affinity", {"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [{}]}}),
    ("topologySpreadConstraints", [{**SPREAD, "whenUnsatisfiable": "Maybe"}]),
    (
        "topologySpreadConstraints",
        [{**SPREAD, "whenUnsatisfiable": "ScheduleAnyway", "maxSkew": 0}],
    ),
    ("topologySpreadConstraints", [SPREAD]),
    ("topologySpreadConstraints", {"zone": True}),
    ("extraEnv", {"OTEL_SERVICE_NAME": "philos"}),
    ("extraEnv", [{"name": "OTEL_SERVICE_NAME"}]),
    ("extraEnv", [{"name": "OTEL_SERVICE_NAME", "value": 1}]),
    ("extraEnv", [{"name": "BAD NAME", "value": "x"}]),
    ("extraEnv", [{"name": "A", "value": "x", "valueFrom": {"fieldRef": {"fieldPath": "x"}}}]),
    ("extraEnv", [{"name": "A", "valueFrom": {"secretKeyRef": {"name": "s"}}}]),
    ("tests.enabled", "yes"),
    ("tests.resource", {}),
    ("networkPolicy.ingressFrom", []),
    ("networkPolicy.anthropic.cidrs", ["api.anthropic.com"]),
    ("serviceMonitor.interval", "30 seconds"),
    ("shutdown.preStopSleepSeconds", -1),
    ("podDisruptionBudget.maxUnavailable", 0),
    ("unknownTopLevelKey", True),
]


@pytest.mark.parametrize(("path", "value"), BAD_VALUES, ids=[p for p, _ in BAD_VALUES])
def test_schema_rejects_bad_values(path: str, value: Any) -> None:
    helm = module("helm_python")
    chart = helm.Chart.load(str(CHART))
    values = with_value(path, value)
    with pytest.raises(helm.HelmError):
        chart.validate_schema(values)
    # ...and a render (helm install/template) refuses them too.
    with pytest.raises(helm.HelmError):
        chart.render(values, name="philos", namespace="philos")


@pytest.mark.parametrize("value_set", sorted(VALUE_SETS))
def test_schema_accepts_the_shipped_values(value_set: str) -> None:
    helm = module("helm_python")
    helm.Chart.load(str(CHART)).validate_schema(VALUE_SETS[value_set])


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (
            {"shutdown": {"preStopSleepSeconds": 15, "gracefulTimeoutSeconds": 30}},
            "must be below shutdown.terminationGracePeriodSeconds",
        ),
        (
            {"autoscaling": {"enabled": True, "minReplicas": 5, "maxReplicas": 3}},
            "must not exceed autoscaling.maxReplicas",
        ),
        (
            {
                "ingress": {
                    "enabled": True,
                    "hosts": [{"host": HOST, "paths": PATHS}],
                    "tls": [{"secretName": "philos-tls", "hosts": ["api.example.com"]}],
                }
            },
            "ingress.tls host api.example.com is not in ingress.hosts",
        ),
    ],
    ids=["shutdown-longer-than-grace-period", "hpa-min-above-max", "tls-host-without-rule"],
)
def test_render_refuses_inconsistent_values(values: dict[str, Any], message: str) -> None:
    helm = module("helm_python")
    with pytest.raises(helm.HelmError, match=message):
        render(values)


# --- generated bad values --------------------------------------------------------------------

# Every optional list and map filled in, so the generated cases reach their items' keys too.
FULL: dict[str, Any] = {
    **copy.deepcopy(DEFAULTS),
    "ingress": {**DEFAULTS["ingress"], **VALUE_SETS["extended"]["ingress"]},
    "podAnnotations": {"example.com/owner": "platform"},
    "nodeSelector": {"kubernetes.io/os": "linux"},
    "tolerations": [
        {"key": "dedicated", "operator": "Equal", "value": "api", "effect": "NoSchedule"}
    ],
    "affinity": {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [
                    {
                        "matchExpressions": [
                            {"key": "kubernetes.io/arch", "operator": "In", "values": ["amd64"]}
                        ]
                    }
                ]
            }
        }
    },
    "extraEnv": [
        {"name": "OTEL_SERVICE_NAME", "value": "philos"},
        {"name": "PHILOS_EXTRA", "valueFrom": {"secretKeyRef": {"name": "extra", "key": "token"}}},
    ],
}


def resolve(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        node: Any = SCHEMA
        for part in schema["$ref"].removeprefix("#/").split("/"):
            node = node[part]
        schema = node
    return schema


Path = tuple[str | int, ...]


def walk(
    value: Any, schema: dict[str, Any], path: Path = ()
) -> Iterator[tuple[Path, Any, dict[str, Any]]]:
    """Every node of ``value`` with its path and (resolved) schema."""
    schema = resolve(schema)
    yield path, value, schema
    if isinstance(value, dict):
        props = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        for key, child in value.items():
            sub = props.get(key, extra if isinstance(extra, dict) else {})
            yield from walk(child, sub, (*path, key))
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for i, child in enumerate(value):
            yield from walk(child, schema["items"], (*path, i))


NODES = list(walk(FULL, SCHEMA))
# Maps whose schema allows no other key: a misspelt key must fail there.
CLOSED = [
    (p, v, s)
    for p, v, s in NODES
    if isinstance(v, dict) and v and s.get("additionalProperties") is False
]
# Scalars whose schema names their type or their values.
TYPED = [
    (p, v, s)
    for p, v, s in NODES
    if not isinstance(v, dict | list) and ({"type", "enum", "const"} & set(s))
]

JSON_TYPES = {
    "string": st.text(max_size=8),
    "integer": st.integers(-5, 5),
    "number": st.floats(-5, 5, allow_nan=False).filter(lambda f: not f.is_integer()),
    "boolean": st.booleans(),
    "array": st.lists(st.integers(), max_size=2),
    "object": st.dictionaries(st.sampled_from(["a", "b"]), st.integers(), max_size=2),
    "null": st.none(),
}


def set_at(values: dict[str, Any], path: Path, value: Any) -> None:
    node: Any = values
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value


def get_at(values: dict[str, Any], path: Path) -> Any:
    node: Any = values
    for key in path:
        node = node[key]
    return node


def misspell(key: str, rnd: random.Random) -> str:
    i = rnd.randrange(len(key))
    edits = [
        key[:i] + key[i + 1 :],  # a letter dropped
        key[:i] + key[i] * 2 + key[i + 1 :],  # a letter doubled
        key[:i] + key[i].swapcase() + key[i + 1 :],  # wrong case
        key + "s",
        key[:i] + "_" + key[i:],
    ]
    return rnd.choice([e for e in edits if e and e != key])


def test_the_generated_cases_reach_the_new_keys() -> None:
    closed = {".".join(str(k) for k in p) for p, _, _ in CLOSED}
    typed = {".".join(str(k) for k in p) for p, _, _ in TYPED}
    assert {"", "ingress", "ingress.hosts.0", "ingress.hosts.0.paths.0", "ingress.tls.0"} <= closed
    assert {
        "podSecurityContext",
        "securityContext",
        "tests",
        "topologySpreadConstraints.0",
    } <= closed
    assert {"tolerations.0", "affinity.nodeAffinity", "extraEnv.1.valueFrom.secretKeyRef"} <= closed
    assert {
        "ingress.hosts.1.paths.0.pathType",
        "topologySpreadConstraints.0.whenUnsatisfiable",
    } <= typed
    assert {"tests.enabled", "extraEnv.0.value", "podAnnotations.example.com/owner"} <= typed
    module("helm_python").Chart.load(str(CHART)).validate_schema(FULL)


SETTINGS = settings(
    max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)


@SETTINGS
@given(node=st.sampled_from(CLOSED), seed=st.integers(0, 2**16))
def test_schema_rejects_a_misspelt_key(node: tuple[Path, Any, dict[str, Any]], seed: int) -> None:
    path, value, schema = node
    rnd = random.Random(seed)
    key = rnd.choice(sorted(value))
    wrong = misspell(key, rnd)
    known = set(schema.get("properties", {}))
    if wrong in known:
        return
    values = copy.deepcopy(FULL)
    target = get_at(values, path)
    target[wrong] = target.pop(key)
    helm = module("helm_python")
    with pytest.raises(helm.HelmError):
        helm.Chart.load(str(CHART)).validate_schema(values)


def type_of(value: Any) -> set[str]:
    if isinstance(value, bool):
        return {"boolean"}
    if isinstance(value, int):
        return {"integer", "number"}
    if isinstance(value, float):
        return {"number"}
    if isinstance(value, str):
        return {"string"}
    if value is None:
        return {"null"}
    return {"array"} if isinstance(value, list) else {"object"}


# Helm merges the given values over values.yaml first: a map given for a key whose default is
# a scalar is dropped with a warning, and null deletes the key. Neither reaches the schema as a
# wrong type, so wrong types are drawn from the JSON types other than those two.
WRONG_TYPES = {k: v for k, v in JSON_TYPES.items() if k not in {"object", "null"}}


@st.composite
def wrong_typed(draw: st.DrawFn) -> tuple[Path, Any]:
    path, _, schema = draw(st.sampled_from(TYPED))
    allowed = schema.get("type")
    if allowed is not None:
        allowed = {allowed} if isinstance(allowed, str) else set(allowed)
        if "number" in allowed:
            allowed.add("integer")
        choices = sorted(set(WRONG_TYPES) - allowed)
        value = draw(st.one_of(*(WRONG_TYPES[t] for t in choices)))
    else:  # enum / const: any value outside them
        listed = schema.get("enum", [schema.get("const")])
        value = draw(st.one_of(*WRONG_TYPES.values()).filter(lambda v: v not in listed))
    return path, value


@SETTINGS
@given(case=wrong_typed())
def test_schema_rejects_a_value_of_the_wrong_type(case: tuple[Path, Any]) -> None:
    path, value = case
    values = copy.deepcopy(FULL)
    set_at(values, path, value)
    helm = module("helm_python")
    with pytest.raises(helm.HelmError):
        helm.Chart.load(str(CHART)).validate_schema(values)
