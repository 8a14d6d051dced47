"""The HTTP surface: transport errors, GET rules, limits, health, readiness, metrics, masking."""

from __future__ import annotations

from typing import Any

import pytest

from philos.datasources.stores import Stores
from tests.api.client import Api


async def test_get_runs_queries(api: Api) -> None:
    response = await api.client.get(
        "/graphql", params={"query": '{ concept(slug: "forms") { name } }'}
    )
    assert response.status_code == 200
    assert response.json() == {"data": {"concept": {"name": "Theory of Forms"}}}


async def test_mutation_over_get_is_405(api: Api) -> None:
    before = await api.data("{ concepts { totalCount } }")
    response = await api.client.get(
        "/graphql",
        params={
            "query": 'mutation { createConcept(input: {slug: "aa", name: "A", summary: "B"}) { __typename } }'
        },
    )
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert "POST" in response.json()["errors"][0]["message"]
    assert await api.data("{ concepts { totalCount } }") == before


@pytest.mark.parametrize(
    ("content", "content_type"),
    [(b"{not json", "application/json"), (b"[1, 2", "application/json"), (b"", "application/json")],
)
async def test_malformed_json_is_400(api: Api, content: bytes, content_type: str) -> None:
    response = await api.client.post(
        "/graphql", content=content, headers={"content-type": content_type}
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["message"]
    assert "Traceback" not in response.text


async def test_syntax_error_names_the_location(api: Api) -> None:
    body = await api.post("{ concepts { ")
    assert body["errors"][0]["message"].startswith("Syntax Error")
    assert body["errors"][0]["locations"] == [{"line": 1, "column": 14}]


async def test_unknown_field_is_a_validation_error(api: Api) -> None:
    errors = await api.errors("{ concepts { nodes { secret } } }")
    assert errors == ["Cannot query field 'secret' on type 'Concept'."]


async def test_body_over_the_limit_is_413(api: Api) -> None:
    huge = "{ concepts { totalCount } }" + " " * 1_100_000
    response = await api.client.post("/graphql", json={"query": huge})
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"


async def test_request_id_is_echoed_or_made(api: Api) -> None:
    given = await api.client.get("/health", headers={"x-request-id": "abc-123"})
    assert given.headers["x-request-id"] == "abc-123"
    made = await api.client.get("/health", headers={"x-request-id": "bad id\twith tab"})
    assert len(made.headers["x-request-id"]) == 32


async def test_graphiql_for_browsers(api: Api) -> None:
    response = await api.client.get("/graphql", headers={"accept": "text/html"})
    assert response.status_code == 200
    assert "graphiql" in response.text.lower()
    assert (await api.client.get("/")).status_code in (302, 307)


async def test_health_and_ready(api: Api) -> None:
    health = await api.client.get("/health")
    assert health.json() == {"status": "ok"}
    ready = await api.client.get("/ready")
    assert ready.status_code == 200
    assert ready.json() == {
        "status": "ready",
        "stores": {"concepts": "ok", "graph": "ok", "theses": "ok", "users": "ok", "cache": "ok"},
    }


@pytest.mark.parametrize(
    ("role", "status", "code"),
    [("theses", "degraded", 200), ("graph", "degraded", 200), ("concepts", "unavailable", 503)],
)
async def test_ready_follows_the_core_store(
    api: Api, monkeypatch: pytest.MonkeyPatch, role: str, status: str, code: int
) -> None:
    async def down() -> None:
        raise ConnectionError("refused")

    monkeypatch.setattr(getattr(api.stores, role), "ping", down)
    ready = await api.client.get("/ready")
    assert ready.status_code == code
    assert ready.json()["status"] == status
    assert ready.json()["stores"][role] == "unavailable"
    assert ready.json()["stores"]["users"] == "ok"


async def test_metrics_count_operations_by_name_and_outcome(api: Api) -> None:
    def sample(text: str, name: str, outcome: str) -> float:
        key = f'philos_graphql_requests_total{{operation="{name}",outcome="{outcome}"}} '
        for line in text.splitlines():
            if line.startswith(key):
                return float(line[len(key) :])
        return 0.0

    start = (await api.client.get("/metrics")).text
    await api.post("query Listing { concepts { totalCount } }")
    await api.post("query Listing { concepts(first: 500) { totalCount } }")
    await api.post("query Broken { nope }")
    end = (await api.client.get("/metrics")).text
    assert sample(end, "Listing", "ok") - sample(start, "Listing", "ok") == 1
    assert sample(end, "Listing", "error") - sample(start, "Listing", "error") == 1
    assert sample(end, "Broken", "error") - sample(start, "Broken", "error") == 1
    assert "philos_graphql_request_duration_seconds_bucket" in end


async def test_unexpected_errors_are_masked(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    async def explode(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("password=hunter2 at db-internal-host:5432")

    stores: Stores = api.stores
    monkeypatch.setattr(stores.concepts, "list", explode)
    if stores.json_reader is not None:  # the compiled statement fails the same way
        monkeypatch.setattr(stores.json_reader, "read_json", explode)
    response = await api.client.post(
        "/graphql",
        json={"query": "{ concepts { totalCount } }"},
        headers={"x-request-id": "req-42"},
    )
    body = response.json()
    assert response.status_code == 200
    error = body["errors"][0]
    assert error["message"] == "Unexpected error. Quote request id req-42 when reporting it."
    assert error["extensions"] == {"code": "INTERNAL_SERVER_ERROR", "requestId": "req-42"}
    assert "hunter2" not in response.text and "Traceback" not in response.text


async def test_errors_from_extension_hooks_are_masked_too(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    import philos.gateway.query_limits

    def explode(*_args: Any, **_kwargs: Any) -> int:
        raise RuntimeError("secret internals of the cost limit")

    monkeypatch.setattr(philos.gateway.query_limits, "operation_cost", explode)
    response = await api.client.post(
        "/graphql", json={"query": "{ concepts { totalCount } }"}, headers={"x-request-id": "r-9"}
    )
    error = response.json()["errors"][0]
    assert error["message"] == "Unexpected error. Quote request id r-9 when reporting it."
    assert error["extensions"] == {"code": "INTERNAL_SERVER_ERROR", "requestId": "r-9"}
    assert "secret" not in response.text
