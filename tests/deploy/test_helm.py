"""The Helm chart: lint, render for each value set, validate every object, reject bad values."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]  # no stubs installed (types-PyYAML)

from tests.deploy.chart import KUBE_VERSION, VALUE_SETS, Rendered
from tests.deploy.tools import CHART, DEPLOY, HERE, assert_ok, module, node_json, run, tool

OPERATOR_KINDS = {"ServiceMonitor", "PrometheusRule"}
TEST_PODS = ["Pod", "Pod"]  # the `helm test` hooks: /ready and one GraphQL query
EXPECTED_KINDS = {
    "default": [
        "ConfigMap",
        "Deployment",
        "PodDisruptionBudget",
        "Secret",
        "Service",
        "ServiceAccount",
        *TEST_PODS,
    ],
    "production": sorted(
        ["ConfigMap", "Deployment", "HorizontalPodAutoscaler", "Ingress", "NetworkPolicy"]
        + ["PodDisruptionBudget", "PrometheusRule", "Service", "ServiceAccount", "ServiceMonitor"]
        + ["ConfigMap"] * 5  # one per Grafana dashboard
        + TEST_PODS
        + ["NetworkPolicy"]  # the test Pods' own
    ),
    "minimal": ["ConfigMap", "Deployment", "Secret", "Service", *TEST_PODS],
    "trusted": [
        "ConfigMap",
        "ConfigMap",  # the trusted documents
        "Deployment",
        "PodDisruptionBudget",
        "Secret",
        "Service",
        "ServiceAccount",
        *TEST_PODS,
    ],
    "extended": [
        "ConfigMap",
        "Deployment",
        "Ingress",
        "PodDisruptionBudget",
        "Secret",
        "Service",
        "ServiceAccount",
        *TEST_PODS,
    ],
    "backup": [
        "ConfigMap",
        "CronJob",
        "Deployment",
        "NetworkPolicy",
        "NetworkPolicy",  # the backup job's own
        "NetworkPolicy",  # the test Pods' own
        "PodDisruptionBudget",
        "Secret",
        "Service",
        "ServiceAccount",
        *TEST_PODS,
    ],
    "worker": [
        "ConfigMap",
        "Deployment",
        "Deployment",  # the worker's
        "HorizontalPodAutoscaler",  # the worker's
        "PodDisruptionBudget",
        "Secret",
        "Service",
        "ServiceAccount",
        *TEST_PODS,
    ],
    "stores": [
        "ConfigMap",
        "Deployment",
        "PodDisruptionBudget",
        "Secret",
        "Service",
        "ServiceAccount",
        *TEST_PODS,
    ],
}
STORE_PORTS = {5432, 7687, 27017, 6379}


def api_deployment(r: Rendered) -> dict[str, Any]:
    (api,) = [
        d
        for d in r.all("Deployment")
        if d["metadata"]["labels"]["app.kubernetes.io/component"] == "api"
    ]
    return api


def pod_spec(r: Rendered) -> dict[str, Any]:
    spec: dict[str, Any] = api_deployment(r)["spec"]["template"]["spec"]
    return spec


def container(r: Rendered) -> dict[str, Any]:
    containers = pod_spec(r)["containers"]
    assert len(containers) == 1
    only: dict[str, Any] = containers[0]
    return only


def settings(r: Rendered) -> dict[str, str]:
    """The ConfigMap the container takes its environment from."""
    (name,) = [e["configMapRef"]["name"] for e in container(r)["envFrom"] if "configMapRef" in e]
    (config,) = [o for o in r.all("ConfigMap") if o["metadata"]["name"] == name]
    data: dict[str, str] = config["data"]
    return data


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


# --- lint and render -------------------------------------------------------------------------


@pytest.mark.parametrize("value_set", ["default", "production", "minimal", "extended", "backup"])
def test_helm_lint_strict(value_set: str) -> None:
    helm = module("helm_python")
    report = helm.lint(
        str(CHART), VALUE_SETS[value_set], strict=True, kube_version=f"v{KUBE_VERSION}"
    )
    problems = [m for m in report["messages"] if m["severity"] >= 2] + report["errors"]
    assert report["total_charts_linted"] == 1
    assert not problems, json.dumps(report, indent=2)


@pytest.mark.parametrize("value_set", sorted(EXPECTED_KINDS))
def test_chart_renders_the_expected_objects(rendered: dict[str, Rendered], value_set: str) -> None:
    assert rendered[value_set].kinds() == sorted(EXPECTED_KINDS[value_set])


@pytest.mark.parametrize("value_set", sorted(EXPECTED_KINDS))
def test_every_object_is_valid_for_kubernetes_1_30(
    rendered: dict[str, Rendered], value_set: str
) -> None:
    kv = module("kubernetes_validate")
    failures = []
    for obj in rendered[value_set].objects:
        if obj["kind"] in OPERATOR_KINDS:
            continue  # CRDs: checked with kubernetes-models below
        try:
            kv.validate(obj, KUBE_VERSION, strict=True)
        except kv.ValidationError as exc:
            failures.append(f"{obj['kind']}/{obj['metadata']['name']}: {exc.message}")
        except kv.SchemaNotFoundError as exc:
            failures.append(f"{obj['kind']}: no Kubernetes {KUBE_VERSION} schema ({exc})")
    assert not failures, "\n".join(failures)


def test_every_object_is_valid_for_kubernetes_models(
    rendered: dict[str, Rendered], node_modules: Path
) -> None:
    objects = rendered["production"].objects + rendered["stores"].objects
    results = node_json(HERE / "validate-models.cjs", objects)
    assert len(results) == len(objects)
    failures = [f"{r['kind']}/{r['name']}: {r['error']}" for r in results if not r["ok"]]
    assert not failures, "\n".join(failures)
    assert {r["kind"] for r in results} >= OPERATOR_KINDS


def test_operator_objects_have_no_unknown_fields(
    rendered: dict[str, Rendered], node_modules: Path, tmp_path: Path
) -> None:
    """The models' validate() accepts unknown keys; TypeScript's excess-property check on the
    models' interfaces does not, so a misspelt ServiceMonitor field fails here."""
    lines = []
    for kind in sorted(OPERATOR_KINDS):
        module_path = f"@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/{kind}"
        lines.append(f'import type {{ I{kind} }} from "{module_path}";')
    for i, obj in enumerate(
        o for o in rendered["production"].objects if o["kind"] in OPERATOR_KINDS
    ):
        lines.append(f"export const object{i}: I{obj['kind']} = {json.dumps(obj)};")
    (tmp_path / "check.ts").write_text("\n".join(lines) + "\n")
    (tmp_path / "tsconfig.json").write_text(
        json.dumps(
            {
                "compilerOptions": {
                    "strict": True,
                    "noEmit": True,
                    "module": "commonjs",
                    "moduleResolution": "node10",
                    "target": "es2020",
                    "skipLibCheck": True,
                    "types": [],
                    "baseUrl": ".",
                    "paths": {"*": [f"{node_modules}/*"]},
                },
                "files": ["check.ts"],
            }
        )
    )
    tsc = node_modules / "typescript" / "bin" / "tsc"
    assert_ok(run([tool("node"), str(tsc), "-p", "tsconfig.json"], cwd=tmp_path), "tsc")


# --- what the objects say --------------------------------------------------------------------


@pytest.mark.parametrize("value_set", sorted(VALUE_SETS))
def test_deployment_probes_shutdown_and_hardening(
    rendered: dict[str, Rendered], value_set: str
) -> None:
    r = rendered[value_set]
    spec, c = pod_spec(r), container(r)
    assert c["name"] == "philos"  # PhilosPodRestarting selects container="philos"
    assert c["readinessProbe"]["httpGet"]["path"] == "/ready"
    assert c["livenessProbe"]["httpGet"]["path"] == "/health"
    assert c["startupProbe"]["httpGet"]["path"] == "/health"
    port_names = {p["name"] for p in c["ports"]}
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        assert c[probe]["httpGet"]["port"] in port_names

    # philos serve --graceful-timeout N, after a preStop sleep, inside the grace period.
    args = c["args"]
    assert args[:1] == ["serve"]
    assert args[args.index("--host") + 1] == "0.0.0.0"
    graceful = int(args[args.index("--graceful-timeout") + 1])
    sleep_cmd = c["lifecycle"]["preStop"]["exec"]["command"]
    assert sleep_cmd[0] == "sleep"
    assert int(sleep_cmd[1]) + graceful < spec["terminationGracePeriodSeconds"]

    sc = c["securityContext"]
    assert sc["readOnlyRootFilesystem"] is True
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"]["drop"] == ["ALL"]
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["automountServiceAccountToken"] is False

    # The read-only root needs writable emptyDirs for the data dir and /tmp.
    mounts = {m["mountPath"]: m["name"] for m in c["volumeMounts"]}
    volumes = {v["name"]: v for v in spec["volumes"]}
    data_dir = settings(r)["PHILOS_DATA_DIR"]
    for path in (data_dir, "/tmp"):
        assert path in mounts, f"{path} is not mounted"
        assert "emptyDir" in volumes[mounts[path]]
    if r.values.get("resources", True):
        assert c["resources"]["requests"] and c["resources"]["limits"]


def test_default_secret_has_only_set_keys(rendered: dict[str, Rendered]) -> None:
    secret = rendered["default"].one("Secret")
    assert set(secret["stringData"]) == {"JWT_SECRET"}
    assert len(secret["stringData"]["JWT_SECRET"]) >= 32
    assert "DATABASE_URL" in rendered["default"].notes  # warns about the embedded database


def test_store_urls_go_to_the_secret_not_the_configmap(rendered: dict[str, Rendered]) -> None:
    r = rendered["stores"]
    secret = r.one("Secret")["stringData"]
    assert secret["DATABASE_URL"].endswith("@postgres:5432/philos_concepts")
    assert set(secret) == {
        "DATABASE_URL",
        "NEO4J_URI",
        "NEO4J_USER",
        "NEO4J_PASSWORD",
        "MONGODB_URI",
        "REDIS_URL",
        "RABBITMQ_URL",
        "JWT_SECRET",
        "ANTHROPIC_API_KEY",
    }
    config = settings(r)
    assert config["PHILOS_ENV"] == "production"
    # behind the ingress, client addresses come from X-Forwarded-For (per-IP rate limits)
    assert config["FORWARDED_ALLOW_IPS"] == "*"
    assert not any("://" in str(v) for v in config.values())
    env_from = container(r)["envFrom"]
    assert {"secretRef": {"name": r.one("Secret")["metadata"]["name"]}} in env_from
    assert "WARNING" not in r.notes
    assert r.one("Deployment")["spec"]["replicas"] == 3


def test_the_worker_has_its_own_deployment_and_hpa(rendered: dict[str, Rendered]) -> None:
    r = rendered["worker"]
    deployments = {d["metadata"]["name"]: d for d in r.all("Deployment")}
    (name,) = [n for n in deployments if n.endswith("-worker")]
    worker = deployments[name]
    pod = worker["spec"]["template"]
    assert pod["spec"]["containers"][0]["args"] == ["worker"]
    assert "replicas" not in worker["spec"]  # the HPA owns the count
    service = r.one("Service")
    assert not selects(service["spec"]["selector"], pod["metadata"]["labels"])
    pdb = r.one("PodDisruptionBudget")
    assert not selects(pdb["spec"]["selector"]["matchLabels"], pod["metadata"]["labels"])
    hpa = r.one("HorizontalPodAutoscaler")
    assert hpa["spec"]["scaleTargetRef"]["name"] == name
    assert hpa["spec"]["maxReplicas"] == 3
    assert "RABBITMQ_URL" in r.one("Secret")["stringData"]


def test_existing_secret_is_referenced_not_created(rendered: dict[str, Rendered]) -> None:
    r = rendered["production"]
    assert not r.all("Secret")
    assert {"secretRef": {"name": "philos-connections"}} in container(r)["envFrom"]
    annotations = r.one("Deployment")["spec"]["template"]["metadata"]["annotations"]
    assert "checksum/config" in annotations
    assert "checksum/secret" not in annotations


def test_service_and_pdb_select_the_pods(rendered: dict[str, Rendered]) -> None:
    r = rendered["production"]
    pod_labels = r.one("Deployment")["spec"]["template"]["metadata"]["labels"]
    service = r.one("Service")
    assert selects(service["spec"]["selector"], pod_labels)
    assert service["spec"]["ports"][0]["targetPort"] in {p["name"] for p in container(r)["ports"]}
    pdb = r.one("PodDisruptionBudget")
    assert pdb["spec"]["maxUnavailable"] == 1
    assert selects(pdb["spec"]["selector"]["matchLabels"], pod_labels)
    assert not rendered["minimal"].all("PodDisruptionBudget")


def test_hpa_scales_the_deployment_on_cpu(rendered: dict[str, Rendered]) -> None:
    r = rendered["production"]
    hpa, deployment = r.one("HorizontalPodAutoscaler"), r.one("Deployment")
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": deployment["metadata"]["name"],
    }
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (2, 10)
    (metric,) = hpa["spec"]["metrics"]
    assert metric["resource"]["name"] == "cpu"
    assert metric["resource"]["target"] == {"type": "Utilization", "averageUtilization": 70}
    # The HPA owns the replica count: a fixed one would fight it on every upgrade.
    assert "replicas" not in deployment["spec"]


def test_service_monitor_scrapes_the_service(rendered: dict[str, Rendered]) -> None:
    r = rendered["production"]
    monitor = r.one("ServiceMonitor")
    service = r.one("Service")
    assert selects(monitor["spec"]["selector"]["matchLabels"], service["metadata"]["labels"])
    (endpoint,) = monitor["spec"]["endpoints"]
    assert endpoint["path"] == "/metrics"
    assert endpoint["port"] in {p["name"] for p in service["spec"]["ports"]}
    assert monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    # Gated by a value, not by cluster capabilities.
    assert not rendered["default"].all("ServiceMonitor")


def test_prometheus_rule_carries_the_tested_rule_file(rendered: dict[str, Rendered]) -> None:
    rule = rendered["production"].one("PrometheusRule")
    assert rule["spec"] == yaml.safe_load((CHART / "files" / "alerts.yaml").read_text())


def test_grafana_dashboards_ship_as_sidecar_configmaps(rendered: dict[str, Rendered]) -> None:
    files = sorted((CHART / "files" / "dashboards").glob("*.json"))
    maps = [
        o for o in rendered["production"].all("ConfigMap") if "dashboard" in o["metadata"]["name"]
    ]
    assert len(maps) == len(files)
    shipped = {}
    for cm in maps:
        assert cm["metadata"]["labels"]["grafana_dashboard"] == "1"
        shipped.update(cm["data"])
    assert {name: json.loads(text) for name, text in shipped.items()} == {
        f.name: json.loads(f.read_text()) for f in files
    }


def test_minimal_release_uses_the_default_service_account(rendered: dict[str, Rendered]) -> None:
    r = rendered["minimal"]
    assert pod_spec(r)["serviceAccountName"] == "default"
    assert r.one("Deployment")["spec"]["replicas"] == 1


# --- checkov ---------------------------------------------------------------------------------


@pytest.mark.parametrize("value_set", ["default", "production", "worker"])
def test_checkov_passes_on_the_rendered_chart(
    rendered: dict[str, Rendered], value_set: str, tmp_path: Path
) -> None:
    manifest = tmp_path / f"{value_set}.yaml"
    manifest.write_text(yaml.safe_dump_all(rendered[value_set].objects))
    # The NetworkPolicy is off by default (its peers depend on the cluster's ingress controller
    # and Prometheus), so "pods without a NetworkPolicy" is expected there, and only there.
    # (--skip-check on the command line replaces the config file's list, so repeat that.)
    skips = yaml.safe_load((DEPLOY / "checkov.yaml").read_text())["skip-check"]
    # (The worker set leaves it off too.)
    no_policy = value_set in ("default", "worker")
    extra = ["--skip-check", ",".join([*skips, "CKV2_K8S_6"])] if no_policy else []
    result = run(
        [
            tool("checkov"),
            *extra,
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
    assert_ok(result, "checkov on the rendered chart")
    assert "Passed checks:" in result.stdout
