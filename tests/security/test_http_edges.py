"""Bodies, query strings and content codings that are not a GraphQL request: always a 4xx
GraphQL-shaped JSON answer with ``X-Request-ID``, never a 5xx, nothing changed, and the API
answers normally right after. Generated with hypothesis (bytes, non-object JSON, nesting
depths, Content-Encoding tokens), in process on every SQL backend."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

from philos.bootstrap import create_app
from philos.datasources.stores import Stores
from philos.seed.loader import seed
from tests.api.accounts import TOKENS, make_user
from tests.corpus import SMALL_CORPUS
from tests.settings import settings_for


def examples(strategy: st.SearchStrategy[Any], count: int = 40) -> list[Any]:
    """``count`` derandomised examples of ``strategy``, drawn up front: the checks below send
    them through the async in-process client, which hypothesis cannot drive itself."""
    drawn: list[Any] = []

    @settings(max_examples=count, derandomize=True, database=None, phases=[Phase.generate])
    @given(strategy)
    def collect(value: Any) -> None:
        drawn.append(value)

    collect()
    return drawn


JSON = {"content-type": "application/json"}
NORMAL = {"query": "{ concepts { totalCount } }"}
COUNT = "{ concepts { totalCount } }"
CREATE = 'mutation { createConcept(input: {slug: "zz-edge", name: "Edge", summary: "S"}) { __typename } }'

json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)
# A content coding token (RFC 9110 token characters), anything but identity.
tokens = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-.^_`|~",
    min_size=1,
    max_size=12,
).filter(lambda t: t.lower() != "identity")


@pytest.fixture
async def client(stores: Stores, sql_url: str, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    await seed(stores, SMALL_CORPUS)
    app = create_app(
        settings_for(sql_url, tmp_path, PHILOS_RATE_LIMIT_IP=0, PHILOS_RATE_LIMIT_USER=0), stores
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://philos.test"
    ) as c:
        yield c


def assert_client_error(response: httpx.Response, status: int | None = None) -> dict[str, Any]:
    assert 400 <= response.status_code < 500, (response.status_code, response.text)
    if status is not None:
        assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(
        ("application/json", "application/graphql-response+json")
    )
    assert len(response.headers["x-request-id"]) >= 1
    body: dict[str, Any] = response.json()
    assert body["errors"][0]["message"], body
    assert "data" not in body or body["data"] is None
    return body


async def count(client: httpx.AsyncClient) -> int:
    response = await client.post("/graphql", json=NORMAL)
    assert response.status_code == 200, response.text
    total: int = response.json()["data"]["concepts"]["totalCount"]
    return total


async def test_arbitrary_bytes_are_4xx_json(client: httpx.AsyncClient) -> None:
    before = await count(client)

    for body in examples(
        st.binary(max_size=200) | st.binary(max_size=50).map(lambda b: b'{"query":"' + b)
    ):
        response = await client.post("/graphql", content=body, headers=JSON)
        assert_client_error(response)

    assert await count(client) == before


async def test_invalid_utf8_is_400(client: httpx.AsyncClient) -> None:
    for body in (b'{"query":"\xff\xfe"}', '{"query":"{ a }"}'.encode("utf-16"), b"\xc3\x28"):
        body_json = assert_client_error(
            await client.post("/graphql", content=body, headers=JSON), 400
        )
    assert "UTF-8" in body_json["errors"][0]["message"]


async def test_json_that_is_not_an_object_is_400(client: httpx.AsyncClient) -> None:
    for value in examples(json_values.filter(lambda v: not isinstance(v, dict | list))):
        response = await client.post("/graphql", content=json.dumps(value).encode(), headers=JSON)
        assert_client_error(response, 400)

    for literal in (b"null", b"42", b'"x"', b"true", b"NaN", b"-Infinity", b"9" * 5000):
        assert_client_error(await client.post("/graphql", content=literal, headers=JSON), 400)


async def test_arrays_when_batching_is_off_are_400(client: httpx.AsyncClient) -> None:
    for value in examples(st.lists(json_values, max_size=4)):
        response = await client.post("/graphql", content=json.dumps(value).encode(), headers=JSON)
        assert_client_error(response, 400)


async def test_deep_nesting_is_400(client: httpx.AsyncClient) -> None:
    for depth, bracket in examples(
        st.tuples(st.integers(65, 100_000), st.sampled_from(["[", '{"a":']))
    ):
        body = (bracket * depth).encode()
        assert_client_error(await client.post("/graphql", content=body, headers=JSON), 400)
        inner = "[" * depth + "]" * depth
        request = f'{{"query":"{{ __typename }}","variables":{{"v":{inner}}}}}'
        assert_client_error(
            await client.post("/graphql", content=request.encode(), headers=JSON), 400
        )

    shallow = "[" * 60 + "]" * 60
    response = await client.post(
        "/graphql",
        content=f'{{"query":"{{ __typename }}","extensions":{{"v":{shallow}}}}}'.encode(),
        headers=JSON,
    )
    assert response.status_code == 200, response.text


async def test_wrong_operation_name_types_are_400_and_run_nothing(
    client: httpx.AsyncClient, stores: Stores
) -> None:
    editor = await make_user(stores, "edge-editor", __import__("philos.domain").domain.Role.EDITOR)
    auth = {**JSON, "authorization": f"Bearer {TOKENS.issue_access(editor)}"}
    before = await count(client)
    for name in (42, ["a"], {"a": 1}, True):
        body = json.dumps({"query": CREATE, "operationName": name}).encode()
        assert_client_error(await client.post("/graphql", content=body, headers=auth), 400)
    assert await count(client) == before


async def test_unsupported_content_encoding_is_415(client: httpx.AsyncClient) -> None:
    body = json.dumps(NORMAL).encode()

    for coding in examples(
        tokens | st.sampled_from(["gzip", "br", "deflate", "x-foo", "GZIP", "identity, gzip"])
    ):
        response = await client.post(
            "/graphql", content=body, headers={**JSON, "content-encoding": coding}
        )
        assert_client_error(response, 415)
        assert response.headers["accept-encoding"] == "identity"

    repeated = [
        ("content-type", "application/json"),
        ("content-encoding", "gzip"),
        ("content-encoding", "identity"),
    ]
    assert_client_error(await client.post("/graphql", content=body, headers=repeated), 415)
    ok = await client.post(
        "/graphql", content=body, headers={**JSON, "content-encoding": "identity"}
    )
    assert ok.status_code == 200


async def test_the_raw_request_cache_is_no_way_around_the_checks(client: httpx.AsyncClient) -> None:
    body = json.dumps({"query": "{ concepts(first: 2) { nodes { slug } } }"}).encode()
    for _ in range(3):  # cached, then indexed by its raw bytes
        assert (await client.post("/graphql", content=body, headers=JSON)).status_code == 200
    for coding in ("gzip", "br"):
        response = await client.post(
            "/graphql", content=body, headers={**JSON, "content-encoding": coding}
        )
        assert_client_error(response, 415)


@pytest.mark.parametrize(
    "query_string",
    [
        "query={__typename}&variables=42",
        "query={__typename}&variables=[1]",
        'query={__typename}&variables="x"',
        "query={__typename}&variables=true",
        "query={__typename}&variables=%ZZ",
        "query={__typename}&variables=%FF%FE",
        "query={__typename}&variables={",
        "query={__typename}&extensions=1",
        "query={__typename}&variables=" + "[" * 5000,
        "query={__typename}&variables={%22a%22:" + "[" * 100 + "]" * 100 + "}",
    ],
)
async def test_bad_query_string_values_are_400(
    client: httpx.AsyncClient, query_string: str
) -> None:
    assert_client_error(await client.get("/graphql?" + query_string), 400)
    assert await count(client) > 0


async def test_invalid_percent_encoding_in_the_query_is_a_client_error(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get(
        "/graphql?query=%FF%ZZ", headers={"accept": "application/graphql-response+json"}
    )
    assert_client_error(response, 400)


async def test_batches_of_things_that_are_not_requests_are_400(
    stores: Stores, sql_url: str, tmp_path: Path
) -> None:
    app = create_app(settings_for(sql_url, tmp_path, PHILOS_MAX_BATCH=3), stores)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://philos.test") as batching:
        for items in examples(
            st.lists(json_values.filter(lambda v: not isinstance(v, dict)), min_size=1, max_size=3)
        ):
            response = await batching.post(
                "/graphql", content=json.dumps(items).encode(), headers=JSON
            )
            assert_client_error(response, 400)
        mixed = [NORMAL, {"query": COUNT, "operationName": 7}]
        assert_client_error(await batching.post("/graphql", json=mixed), 400)
        fine = await batching.post("/graphql", json=[NORMAL, NORMAL])
        assert fine.status_code == 200 and len(fine.json()) == 2


async def test_anything_unhandled_is_a_json_500_with_the_request_id(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The last resort: an exception no layer answered (here: one raised on purpose where
    nothing catches it) still gets JSON, the request id and the security headers."""
    from philos.gateway.graphql import PhilosGraphQL

    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("boom: a bug below every handler")

    monkeypatch.setattr(PhilosGraphQL, "get_context", broken)
    for sent in ({"x-request-id": "last-resort-1"}, {}):
        response = await client.post("/graphql", json=NORMAL, headers=sent)
        assert response.status_code == 500
        assert response.headers["content-type"] == "application/json"
        request_id = response.headers["x-request-id"]
        assert request_id == sent.get("x-request-id", request_id) and request_id
        body = response.json()
        assert body["errors"][0]["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
        assert request_id in body["errors"][0]["message"] and "boom" not in response.text
        assert response.headers["x-content-type-options"] == "nosniff"
    monkeypatch.undo()
    assert await count(client) > 0
