"""The GitHub Actions workflow and .gitlab-ci.yml: schema-valid, and the same stages."""

from __future__ import annotations

import itertools
import json
import re
import shlex
from typing import Any

import pytest

from tests.deploy.chart import render
from tests.deploy.tools import ROOT, assert_ok, load_yaml, run, tool

GITHUB = ROOT / ".github" / "workflows" / "ci.yml"
GITLAB = ROOT / ".gitlab-ci.yml"
STAGES = ["build", "test", "scan", "push", "deploy"]
SCANS = ["bandit", "hadolint", "checkov", "trivy"]


@pytest.mark.parametrize(
    ("path", "schema"),
    [(GITHUB, "vendor.github-workflows"), (GITLAB, "vendor.gitlab-ci")],
    ids=["github", "gitlab"],
)
def test_ci_file_matches_its_schema(path: Any, schema: str) -> None:
    result = run([tool("check-jsonschema"), "--builtin-schema", schema, str(path)])
    assert_ok(result, f"check-jsonschema {schema}")


def github_jobs() -> dict[str, Any]:
    jobs: dict[str, Any] = load_yaml(GITHUB)["jobs"]
    return jobs


def needs(job: dict[str, Any]) -> list[str]:
    value = job.get("needs", [])
    return [value] if isinstance(value, str) else list(value)


def test_github_jobs_run_in_stage_order() -> None:
    jobs = github_jobs()
    order = ["build", "test", "scan", "push", "deploy-dev", "deploy-prod"]
    assert list(jobs) == order
    for before, after in itertools.pairwise(order):
        assert before in needs(jobs[after]), f"{after} must wait for {before}"


def test_gitlab_has_the_same_stages() -> None:
    config = load_yaml(GITLAB)
    assert config["stages"] == STAGES
    stages = {
        name: job["stage"]
        for name, job in config.items()
        if isinstance(job, dict) and "stage" in job
    }
    assert set(stages.values()) == set(STAGES)


def script_text(job: dict[str, Any]) -> str:
    parts = []
    for step in job.get("steps", []):
        parts += [str(step.get("run", "")), str(step.get("uses", "")), str(step.get("with", ""))]
    for key in ("script", "before_script"):
        parts += [str(line) for line in job.get(key, [])]
    return "\n".join(parts)


def test_both_pipelines_run_every_scan() -> None:
    github = script_text(github_jobs()["scan"])
    gitlab = "\n".join(
        script_text(job) + str(job.get("image", ""))
        for job in load_yaml(GITLAB).values()
        if isinstance(job, dict) and job.get("stage") == "scan"
    )
    for scan in SCANS:
        assert scan in github, f"GitHub scan job lacks {scan}"
        assert scan in gitlab, f"GitLab scan stage lacks {scan}"
    for text in (github, gitlab):
        assert "bandit" in text and "-r philos" in text
        assert "deploy/Dockerfile" in text
        assert "--framework kubernetes" in text  # checkov on the rendered chart


def test_push_only_from_main() -> None:
    assert "refs/heads/main" in github_jobs()["push"]["if"]
    gitlab = load_yaml(GITLAB)
    assert gitlab["push-image"]["rules"] == [{"if": "$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH"}]


def test_deploy_dev_automatic_prod_manual() -> None:
    jobs = github_jobs()
    assert jobs["deploy-dev"]["environment"] == "dev"
    # GitHub's manual gate is the environment's required reviewers.
    assert jobs["deploy-prod"]["environment"] == "production"
    gitlab = load_yaml(GITLAB)
    assert "when" not in gitlab["deploy-dev"]["rules"][0]
    assert gitlab["deploy-prod"]["rules"][0]["when"] == "manual"
    template = gitlab[gitlab["deploy-prod"]["extends"]]
    for text in (
        script_text(jobs["deploy-dev"]),
        script_text(jobs["deploy-prod"]),
        script_text(template),
    ):
        assert "helm upgrade --install" in text
        assert "deploy/helm/philos" in text or "$CHART" in text
        assert "--atomic" in text


def test_github_tests_run_against_real_service_containers() -> None:
    workflow = load_yaml(ROOT / ".github" / "workflows" / "ci.yml")
    job = workflow["jobs"]["test"]
    images = {name: service["image"] for name, service in job["services"].items()}
    assert images == {
        "postgres": "postgres:16",
        "neo4j": "neo4j:5.26-community",
        "mongo": "mongo:7",
        "redis": "redis:7",
    }
    for variable in ("DATABASE_URL", "NEO4J_URI", "MONGODB_URI", "REDIS_URL"):
        host = job["env"][variable].split("@")[-1].split("://")[-1].split(":")[0]
        assert host in job["services"], (variable, host)
    assert any("bash .ci/run" in step.get("run", "") for step in job["steps"])


# What the deploy scripts' shell variables hold, for reading their helm flags offline.
SHELL_SAMPLES = {
    "CHART": "deploy/helm/philos",
    "TAG": "0123abcd",
    "CI_COMMIT_SHA": "0123abcd",
    "image": "ghcr.io/philos/philos",
    "IMAGE": "ghcr.io/philos/philos",
    "INGRESS_HOST": "philos-dev.example.com",
    "NAMESPACE": "philos-dev",
}


def helm_upgrade_values(script: str) -> dict[str, Any]:
    """The values a deploy job's `helm upgrade` passes: its -f file, then --set/--set-json."""
    text = re.sub(
        r"\$\{?(\w+)\}?", lambda m: SHELL_SAMPLES.get(m.group(1), m.group(0)), script
    ).replace("\\\n", " ")
    command = text[text.index("helm upgrade --install") :].split("\n")[0]
    tokens = shlex.split(command)
    values: dict[str, Any] = {}
    for flag, arg in itertools.pairwise(tokens):
        if flag == "-f":
            values = load_yaml(ROOT / arg)
        elif flag in {"--set", "--set-json"}:
            key, _, raw = arg.partition("=")
            *parents, last = key.split(".")
            node = values
            for part in parents:
                node = node.setdefault(part, {})
            node[last] = json.loads(raw) if flag == "--set-json" else raw
    return values


def test_deploy_jobs_pass_values_the_chart_accepts() -> None:
    jobs = github_jobs()
    gitlab = load_yaml(GITLAB)
    scripts = {
        "github deploy-dev": script_text(jobs["deploy-dev"]),
        "github deploy-prod": script_text(jobs["deploy-prod"]),
        "gitlab .helm-deploy": script_text(gitlab[gitlab["deploy-prod"]["extends"]]),
    }
    for name, script in scripts.items():
        values = helm_upgrade_values(script)
        assert values.get("image", {}).get("tag"), name
        r = render(values)  # validates against values.schema.json, then renders
        hosts = [rule["host"] for rule in r.one("Ingress")["spec"]["rules"]]
        tls_hosts = [h for entry in r.one("Ingress")["spec"]["tls"] for h in entry["hosts"]]
        assert set(tls_hosts) <= set(hosts), name
