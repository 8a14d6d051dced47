"""Documents that ask only for ``__typename`` are answered without the operation pipeline
(``gateway/trivial.py``) exactly as the pipeline answers them, and every other document —
near misses included — still gets the pipeline's own answer and errors."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.routing import Route

from philos.bootstrap import create_app
from philos.datasources.stores import Stores
from philos.gateway.graphql import PhilosGraphQL
from philos.gateway.metrics import GRAPHQL_REQUESTS
from philos.gateway.trivial import typename_answer
from philos.seed.loader import seed
from tests.corpus import SMALL_CORPUS
from tests.settings import settings_for

MAX_TOKENS = 2000
REQUEST_ID = re.compile(rb"[0-9a-f]{32}")

# Selections: mostly ``__typename`` (aliased or not, names repeating), and the near misses
# the fast path must leave to the pipeline.
TYPENAME = st.sampled_from(
    ["__typename", "a: __typename", "b:__typename", "__typename: __typename"]
)
ALIASED = st.from_regex(r"\A[a-z_][a-z0-9_]{0,3}\Z").map(lambda a: f"{a}: __typename")
NEAR_MISS = st.sampled_from(
    [
        "__typename(x: 1)",
        "__typename @skip(if: true)",
        "__typename @include(if: false)",
        "__typename { a }",
        "a: __schema { queryType { name } }",
        '__type(name: "Query") { name }',
        "... on Query { __typename }",
        "... { __typename }",
        "...F",
        'a: concept(slug: "forms") { name }',
        "nope",
        "__typenam",
        "a: __typename(if: 1)",
        "__typename __typename",
    ]
)
SELECTION = st.one_of(TYPENAME, TYPENAME, ALIASED, ALIASED, NEAR_MISS)
PREFIX = st.sampled_from(
    [
        "",
        "",
        "query ",
        "query Q ",
        "query Q",
        "mutation ",
        "subscription ",
        "query($v: Int) ",
        "query Q @skip(if: true) ",
        "{ __typename } ",
    ]
)
SUFFIX = st.sampled_from(
    ["", "", " query Other { __typename }", " fragment F on Query { __typename }", " }", " #x"]
)
SEPARATOR = st.sampled_from([" ", ", ", "\n# a comment {\n", ","])


@st.composite
def requests(draw: st.DrawFn) -> dict[str, Any]:
    selections = draw(st.lists(SELECTION, min_size=0, max_size=18))
    separator = draw(SEPARATOR)
    query = f"{draw(PREFIX)}{{ {separator.join(selections)} }}{draw(SUFFIX)}"
    body: dict[str, Any] = {"query": query}
    name = draw(st.sampled_from([None, None, "Q", "Other", "X"]))
    if name is not None:
        body["operationName"] = name
    variables = draw(st.sampled_from([None, {}, {"v": 1}]))
    if variables is not None:
        body["variables"] = variables
    if draw(st.integers(0, 9)) == 0:
        body["extensions"] = {"x": 1}
    return body


def generated(count: int) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []

    @settings(
        max_examples=count,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(requests())
    def collect(body: dict[str, Any]) -> None:
        found.append(body)

    collect()
    return found


def _view(app: Any) -> PhilosGraphQL:
    for route in app.routes:
        if isinstance(route, Route) and isinstance(route.endpoint, PhilosGraphQL):
            return route.endpoint
    raise AssertionError("no GraphQL view")


def _client(app: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://philos.test")


@pytest.fixture(params=["test", "production"])
async def clients(
    request: pytest.FixtureRequest, stores: Stores, sql_url: str, tmp_path: Path
) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    """The app as served, and the same app with the fast path off (the full pipeline)."""
    await seed(stores, SMALL_CORPUS)
    options: dict[str, object] = {
        "PHILOS_ENV": request.param,
        "PHILOS_RATE_LIMIT_IP": 0,
        "PHILOS_RATE_LIMIT_USER": 0,
        "PHILOS_MAX_ALIASES": 6,
        "PHILOS_MAX_COST": 12,
    }
    settings_ = settings_for(sql_url, tmp_path, **options)
    fast_app = create_app(settings_, stores)
    full_app = create_app(settings_, stores)
    _view(full_app).typename_answers = None
    async with _client(fast_app) as fast, _client(full_app) as full:
        yield fast, full


async def _send(client: httpx.AsyncClient, body: dict[str, Any], accept: str) -> tuple[Any, ...]:
    response = await client.post("/graphql", json=body, headers={"accept": accept})
    # A masked error quotes its request's id, different each time.
    content = REQUEST_ID.sub(b"<id>", response.content)
    return response.status_code, response.headers.get("content-type"), content


async def test_both_paths_answer_alike(
    clients: tuple[httpx.AsyncClient, httpx.AsyncClient],
) -> None:
    fast, full = clients
    answered_fast = 0
    for body in generated(250):
        accept = "application/graphql-response+json" if len(body["query"]) % 2 else "*/*"
        expected = await _send(full, body, accept)
        found = typename_answer(body["query"], MAX_TOKENS)
        name = body.get("operationName") or (found.name if found else None) or "anonymous"
        ok = GRAPHQL_REQUESTS.labels(name, "ok")
        before = ok._value.get()
        got = await _send(fast, body, accept)
        assert got == expected, body
        # Twice: the second is a byte-for-byte repeat, answered before routing.
        assert await _send(fast, body, accept) == expected, body
        if found is not None and b'"errors"' not in got[2]:
            answered_fast += 1
            assert ok._value.get() - before == 2, body  # counted like any operation
    assert answered_fast > 25, f"only {answered_fast} generated documents took the fast path"


@pytest.mark.parametrize(
    "query",
    [
        "{ __typename }",
        "query { a: __typename, b: __typename a: __typename }",
        "query Q {\n  # health\n  __typename\n}",
    ],
)
async def test_a_trivial_document_is_answered_from_the_document(
    clients: tuple[httpx.AsyncClient, httpx.AsyncClient], query: str
) -> None:
    fast, _ = clients
    found = typename_answer(query, MAX_TOKENS)
    assert found is not None
    response = await fast.post("/graphql", json={"query": query})
    assert response.status_code == 200
    assert response.json() == {"data": dict.fromkeys(found.keys, "Query")}


@pytest.mark.parametrize(
    "query",
    [
        " ".join(f"a{i}: __typename" for i in range(7)),  # over PHILOS_MAX_ALIASES
        " ".join(["__typename"] * 13),  # over PHILOS_MAX_COST
        " ".join(["__typename"] * 2100),  # over the token limit
    ],
)
async def test_limits_hold_for_trivial_documents(
    clients: tuple[httpx.AsyncClient, httpx.AsyncClient], query: str
) -> None:
    fast, full = clients
    body = {"query": f"{{ {query} }}"}
    got = await _send(fast, body, "application/json")
    assert b'"errors"' in got[2]
    assert got == await _send(full, body, "application/json")
