"""Prometheus alert rules and their unit tests, Grafana dashboards, the compose Prometheus
config and the app's own /metrics output, all checked with promtool."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]  # no stubs installed (types-PyYAML)

from tests.deploy.tools import CHART, DEPLOY, assert_ok, run, tool

RULES = CHART / "files" / "alerts.yaml"
RULE_TESTS = DEPLOY / "prometheus" / "alerts.test.yaml"
DASHBOARDS = sorted((CHART / "files" / "dashboards").glob("*.json"))

# The metrics the app exports (histograms as their series) plus kube-state-metrics' restarts
# and Prometheus' own `up`. Rules and dashboards may use nothing else.
HISTOGRAMS = {
    "philos_graphql_request_duration_seconds",
    "philos_store_call_duration_seconds",
    "philos_ai_call_duration_seconds",
    "graphql_gateway_subgraph_execute_duration",
    "graphql_gateway_fetch_duration",
}
KNOWN_METRICS = {
    "philos_graphql_requests_total",
    "philos_http_requests_total",
    "philos_store_errors_total",
    "philos_breaker_state",
    "philos_cache_requests_total",
    "philos_ai_calls_total",
    "philos_ai_tokens_total",
    "philos_events_outbox_pending",
    "philos_events_dead_lettered_total",
    "philos_events_lost_total",
    "kube_pod_container_status_restarts_total",
    "graphql_gateway_subgraph_execute_errors",  # the federated gateway (docs/federation.md)
    "up",
} | {f"{h}_{suffix}" for h in HISTOGRAMS for suffix in ("bucket", "count", "sum")}
METRIC_RE = re.compile(
    r"\b((?:philos|kube|graphql_gateway)_[a-z0-9_]+|up)\b(?=\s*[{\[)=]|\s*$|\s*==)"
)

# Grafana's variables, replaced by something PromQL accepts before promtool parses the query.
GRAFANA_VARS = {
    "$__rate_interval": "5m",
    "$__interval": "1m",
    "$__range": "6h",
    "$job": ".*",
    "$operation": ".*",
    "$store": ".*",
    "$mutation": ".*",
    "$subgraph": ".*",
}


def rules() -> list[dict[str, Any]]:
    return [
        rule for group in yaml.safe_load(RULES.read_text())["groups"] for rule in group["rules"]
    ]


def dashboard_queries() -> list[tuple[str, str]]:
    """(where, expr) for every query in every dashboard, variables and panels alike."""
    found = []
    for path in DASHBOARDS:
        board = json.loads(path.read_text())
        for panel in board["panels"]:
            for target in panel.get("targets", []):
                found.append(
                    (f"{path.name} panel {panel['id']} {panel['title']!r}", target["expr"])
                )
        for var in board["templating"]["list"]:
            if var["type"] == "query":
                inner = re.fullmatch(r"label_values\((.*),\s*\w+\)", var["query"]["query"])
                assert inner, f"{path.name} variable {var['name']}: expected label_values(...)"
                found.append((f"{path.name} variable {var['name']}", inner.group(1)))
    return found


def substitute(expr: str) -> str:
    for var, value in sorted(GRAFANA_VARS.items(), key=lambda kv: -len(kv[0])):
        expr = expr.replace(var, value)
    assert "$" not in expr, f"unknown Grafana variable in {expr}"
    return expr


# --- alert rules -----------------------------------------------------------------------------


def test_alert_rules_pass_promtool_check() -> None:
    result = run([tool("promtool"), "check", "rules", str(RULES)])
    assert_ok(result, "promtool check rules")
    assert f"SUCCESS: {len(rules())} rules found" in result.stdout


def test_alert_rule_unit_tests_pass() -> None:
    result = run([tool("promtool"), "test", "rules", RULE_TESTS.name], cwd=RULE_TESTS.parent)
    assert_ok(result, "promtool test rules")
    assert "SUCCESS" in result.stdout


def test_every_alert_has_a_firing_and_a_quiet_unit_test() -> None:
    cases = yaml.safe_load(RULE_TESTS.read_text())["tests"]
    checks = [check for case in cases for check in case.get("alert_rule_test", [])]
    for rule in rules():
        name = rule["alert"]
        fires = [c for c in checks if c["alertname"] == name and c.get("exp_alerts")]
        quiet = [c for c in checks if c["alertname"] == name and not c.get("exp_alerts")]
        assert fires, f"{name}: no unit test where it fires"
        assert quiet, f"{name}: no unit test where it must stay quiet"


@pytest.mark.parametrize(
    ("what", "metric"),
    [
        ("error rate", "philos_graphql_requests_total"),
        ("p99 latency", "philos_graphql_request_duration_seconds_bucket"),
        ("store breaker open", "philos_breaker_state"),
        ("AI failure rate", "philos_ai_calls_total"),
        ("pod restarts", "kube_pod_container_status_restarts_total"),
    ],
)
def test_the_issue_alerts_exist(what: str, metric: str) -> None:
    assert any(metric in rule["expr"] for rule in rules()), f"no alert on {what} ({metric})"


def test_alerts_are_labelled_and_documented() -> None:
    runbook = (Path(__file__).resolve().parents[2] / "docs" / "operations.md").read_text().lower()
    for rule in rules():
        assert rule["labels"]["severity"] in {"critical", "warning", "info"}, rule["alert"]
        assert {"summary", "description", "runbook"} <= set(rule["annotations"]), rule["alert"]
        anchor = rule["annotations"]["runbook"].split("#", 1)[1]
        assert f"### {rule['alert'].lower()}" in runbook, f"{anchor}: no section in operations.md"


# --- metric names ----------------------------------------------------------------------------


def test_rules_and_dashboards_use_only_exported_metrics() -> None:
    exprs = [(rule["alert"], rule["expr"]) for rule in rules()] + dashboard_queries()
    for where, expr in exprs:
        names = set(METRIC_RE.findall(expr))
        assert names, f"{where}: no metric found in {expr}"
        assert names <= KNOWN_METRICS, f"{where}: unknown metrics {names - KNOWN_METRICS}"


# --- dashboards ------------------------------------------------------------------------------


def test_the_dashboards_exist() -> None:
    assert [p.name for p in DASHBOARDS] == [
        "philos-claude.json",
        "philos-datasources.json",
        "philos-federation.json",
        "philos-graphql.json",
        "philos-overview.json",
    ]


@pytest.mark.parametrize("path", DASHBOARDS, ids=[p.stem for p in DASHBOARDS])
def test_dashboard_is_well_formed(path: Path) -> None:
    board = json.loads(path.read_text())
    assert board["uid"] == path.stem
    assert board["title"].startswith("Philos / ")
    variables = {v["name"]: v for v in board["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    ids = [p["id"] for p in board["panels"]]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    cells: set[tuple[int, int]] = set()
    for panel in board["panels"]:
        pos = panel["gridPos"]
        assert pos["x"] >= 0 and pos["x"] + pos["w"] <= 24, f"panel {panel['id']} off the grid"
        covered = {
            (x, y)
            for x in range(pos["x"], pos["x"] + pos["w"])
            for y in range(pos["y"], pos["y"] + pos["h"])
        }
        assert not covered & cells, f"panel {panel['id']} overlaps another"
        cells |= covered
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        assert panel["targets"], f"panel {panel['id']} has no query"
        assert panel.get("description"), f"panel {panel['id']} has no description"
        refs = [t["refId"] for t in panel["targets"]]
        assert len(refs) == len(set(refs))


def test_every_dashboard_query_parses_with_promtool(tmp_path: Path) -> None:
    """promtool has no PromQL parser of its own, so each query becomes a recording rule."""
    queries = dashboard_queries()
    rules_file = {
        "groups": [
            {
                "name": "dashboards",
                "rules": [
                    {"record": f"dashboard_query_{i}", "expr": substitute(expr)}
                    for i, (_, expr) in enumerate(queries)
                ],
            }
        ]
    }
    path = tmp_path / "dashboards.rules.yaml"
    path.write_text(yaml.safe_dump(rules_file, sort_keys=False))
    result = run([tool("promtool"), "check", "rules", str(path)])
    where = "\n".join(f"dashboard_query_{i}: {w}" for i, (w, _) in enumerate(queries))
    assert result.returncode == 0, (
        f"{result.stdout}\n{result.stderr}\nwhich query is which:\n{where}"
    )
    assert f"SUCCESS: {len(queries)} rules found" in result.stdout


def test_promtool_rejects_a_broken_dashboard_query(tmp_path: Path) -> None:
    """The check above would catch a typo: promtool fails on a malformed query."""
    path = tmp_path / "broken.rules.yaml"
    broken = {"groups": [{"name": "g", "rules": [{"record": "r", "expr": "sum(rate(x[5m])"}]}]}
    path.write_text(yaml.safe_dump(broken))
    assert run([tool("promtool"), "check", "rules", str(path)]).returncode != 0


# --- Prometheus for docker-compose, and the app's own metrics --------------------------------


def test_compose_prometheus_config_loads_the_alert_rules(tmp_path: Path) -> None:
    """Lay the files out as docker-compose mounts them, then `promtool check config`."""
    compose = yaml.safe_load((DEPLOY.parent / "docker-compose.yml").read_text())
    mounts = compose["services"]["prometheus"]["volumes"]
    for mount in mounts:
        source, target = mount.split(":")[:2]
        if not source.startswith("./"):
            continue
        assert target.startswith("/etc/prometheus/")
        dest = tmp_path / target.removeprefix("/etc/prometheus/")
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(DEPLOY.parent / source, dest)
    result = run([tool("promtool"), "check", "config", "prometheus.yml"], cwd=tmp_path)
    assert_ok(result, "promtool check config")
    assert f"SUCCESS: {len(rules())} rules found" in result.stdout


def test_app_metrics_pass_promtool_check_metrics() -> None:
    from prometheus_client import generate_latest

    from philos.metrics import REGISTRY

    exposition = generate_latest(REGISTRY).decode()
    assert "philos_graphql_requests_total" in exposition
    result = run([tool("promtool"), "check", "metrics"], stdin=exposition)
    assert_ok(result, "promtool check metrics on the app's /metrics output")
