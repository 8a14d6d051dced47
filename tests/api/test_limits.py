"""Limits before execution, GraphQL-over-HTTP status codes and media types, production mode
and rate limits."""

from __future__ import annotations

import functools
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, cast

import httpx
import pytest

from philos.bootstrap import create_app
from philos.datasources.stores import Stores
from philos.gateway.validation import cached_validate
from tests.api.client import Api
from tests.settings import settings_for

GQL_RESPONSE = "application/graphql-response+json"


@pytest.fixture
def calls(api: Api, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Records every call that reaches the concept store: proof that a resolver ran. (The
    compiled path is off here, so every query that runs reaches the store.)"""
    seen: list[str] = []
    monkeypatch.setattr(api.stores, "json_reader", None)
    store = api.stores.concepts
    for name in ("list", "get_many", "get_many_by_slug"):
        original = getattr(store, name)

        async def wrapper(*args: Any, _original: Any = original, _name: str = name) -> Any:
            seen.append(_name)
            return await _original(*args)

        monkeypatch.setattr(store, name, wrapper)
    return seen


def nested(depth: int) -> str:
    # Each level a one-item list, so deep queries stay cheap and only the depth limit applies.
    inner = "slug"
    for _ in range(depth):
        inner = f"theses(first: 1) {{ concept {{ {inner} }} }}"
    return f'{{ concept(slug: "forms") {{ {inner} }} }}'


async def test_depth_limit(api: Api, calls: list[str]) -> None:
    ok = await api.post(nested(4))
    assert "errors" not in ok
    calls.clear()
    errors = await api.errors(nested(5))  # 1 + 5×2 = 11 levels
    assert "exceeds maximum operation depth of 10" in errors[0]
    assert calls == []


async def test_alias_limit(api: Api, calls: list[str]) -> None:
    aliases = " ".join(f'a{i}: concept(slug: "forms") {{ id }}' for i in range(16))
    errors = await api.errors(f"{{ {aliases} }}")
    assert "aliases" in errors[0].lower()
    assert calls == []


async def test_token_limit(api: Api, calls: list[str]) -> None:
    fields = " ".join(["__typename"] * 2100)
    errors = await api.errors(f"{{ {fields} }}")
    assert "more than 2000 tokens" in errors[0]
    assert calls == []


COSTLY = """query($n: Int!) { concepts(first: $n) { nodes {
    theses(first: 100) { statement arguments { text } } } } }"""


async def test_cost_limit_uses_the_variables(api: Api, calls: list[str]) -> None:
    body = await api.post(COSTLY, {"n": 100})
    assert body["errors"][0]["extensions"]["code"] == "COST_LIMIT_EXCEEDED"
    assert body["errors"][0]["extensions"]["limit"] == 100_000
    assert body["data"] is None
    assert calls == []
    cheap = await api.post(COSTLY, {"n": 2})
    assert "errors" not in cheap and calls == ["list"]


async def test_validation_cache_hits_with_every_limit_on(api: Api) -> None:
    query = '{ concept(slug: "forms") { name relations { type } } }'
    # Typed as a plain callable; it is functools.lru_cache's wrapper.
    cache = cast("functools._lru_cache_wrapper[Any]", cached_validate(512))
    await api.post(query)
    before = cache.cache_info()
    # Bodies that differ in spacing only: the same document, but not a byte-for-byte repeat
    # (which the response cache answers before validation; see test_cached_answers.py).
    for spacing in (" ", "  "):
        body = f'{{"query":{spacing}{json.dumps(query)}}}'.encode()
        response = await api.client.post(
            "/graphql", content=body, headers={"content-type": "application/json"}
        )
        assert response.status_code == 200
    after = cache.cache_info()
    # Validated once: the parser cache hands back the same document object, whose verdict is
    # kept by identity (validation.VERDICTS) before the LRU would even hash it.
    assert after.misses == before.misses
    assert after.hits == before.hits


async def test_batching_is_off_by_default(api: Api) -> None:
    response = await api.client.post(
        "/graphql", json=[{"query": "{ __typename }"}, {"query": "{ __typename }"}]
    )
    assert response.status_code == 400
    assert "batch" in response.text.lower()


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b"query=%7B__typename%7D", "application/x-www-form-urlencoded"),
        (b"{ __typename }", "text/plain"),
        (b'{"query": "{ __typename }"}', "text/plain;charset=UTF-8"),
        (b"--x\r\n", "multipart/form-data; boundary=x"),
    ],
)
async def test_non_json_bodies_are_415(api: Api, content: bytes, content_type: str) -> None:
    response = await api.client.post(
        "/graphql", content=content, headers={"content-type": content_type}
    )
    assert response.status_code == 415
    assert "JSON" in response.json()["errors"][0]["message"]


async def test_graphql_response_json_media_type_and_status(api: Api) -> None:
    headers = {"accept": GQL_RESPONSE}
    ok = await api.client.post("/graphql", json={"query": "{ __typename }"}, headers=headers)
    assert ok.status_code == 200
    assert ok.headers["content-type"].startswith(GQL_RESPONSE)
    for query in (
        "{ nope }",
        "{ concepts {",
        "query($n: Int!) { concepts(first: $n) { totalCount } }",
    ):
        bad = await api.client.post("/graphql", json={"query": query}, headers=headers)
        assert bad.status_code == 400, query
        assert bad.headers["content-type"].startswith(GQL_RESPONSE)
        assert "data" not in bad.json() and bad.json()["errors"]
    # A field error during execution is still a 200 with data.
    field_error = await api.client.post(
        "/graphql", json={"query": "{ concepts(first: 0) { totalCount } }"}, headers=headers
    )
    assert field_error.status_code == 200 and "data" in field_error.json()
    legacy = await api.client.post("/graphql", json={"query": "{ nope }"})
    assert legacy.status_code == 200
    assert legacy.headers["content-type"].startswith("application/json")


@pytest.fixture
async def production(
    stores: Stores, sql_url: str, tmp_path: Path
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings_for(sql_url, tmp_path, PHILOS_ENV="production"), stores)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://philos.test") as client:
        yield client


async def test_production_hides_introspection_graphiql_and_suggestions(
    production: httpx.AsyncClient,
) -> None:
    introspect = await production.post(
        "/graphql", json={"query": "{ __schema { types { name } } }"}
    )
    assert "introspection" in introspect.json()["errors"][0]["message"].lower()
    typo = await production.post("/graphql", json={"query": "{ concepz { totalCount } }"})
    message = typo.json()["errors"][0]["message"]
    assert "concepz" in message and "Did you mean" not in message
    page = await production.get("/graphql", headers={"accept": "text/html"})
    assert "graphiql" not in page.text.lower()
    fine = await production.post("/graphql", json={"query": "{ concepts { totalCount } }"})
    assert fine.json() == {"data": {"concepts": {"totalCount": 0}}}


async def test_development_suggests_fields(api: Api) -> None:
    errors = await api.errors("{ concepz { totalCount } }")
    assert "Did you mean 'concept' or 'concepts'?" in errors[0]


async def test_rate_limit_per_ip(stores: Stores, sql_url: str, tmp_path: Path) -> None:
    app = create_app(settings_for(sql_url, tmp_path, PHILOS_RATE_LIMIT_IP=3), stores)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://philos.test") as client:
        statuses = [
            (await client.post("/graphql", json={"query": "{ __typename }"})).status_code
            for _ in range(4)
        ]
        assert statuses == [200, 200, 200, 429]
        limited = await client.post("/graphql", json={"query": "{ __typename }"})
        assert 1 <= int(limited.headers["retry-after"]) <= 60
        assert "slow down" in limited.json()["errors"][0]["message"]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("{ ...missing }", "Unknown fragment 'missing'."),
        ("{ __typename ...missing }", "Unknown fragment 'missing'."),
        ("{ }", "Selection sets must not be empty."),
        (f'{{ a: __typename {nested(5)[1:-1]} b: concept(slug: "forms") {{ }} }}', "empty"),
    ],
)
async def test_documents_the_depth_rule_cannot_measure_get_errors(
    api: Api, calls: list[str], query: str, message: str
) -> None:
    """Not an unexpected error (the depth rule used to raise on them), and nothing runs."""
    body = await api.post(query)
    assert body["data"] is None
    assert any(message in e["message"] for e in body["errors"]), body
    assert all(
        e.get("extensions", {}).get("code") != "INTERNAL_SERVER_ERROR" for e in body["errors"]
    )
    assert calls == []
