"""One query inside every limit cannot crowd out everyone else.

- ``neighbours`` is batched per level for every parent (``loaders.walk_levels``): N parents
  cost ``depth`` store calls, and the walk answers exactly what the graph store's own walk does;
- the cost limit reflects store work: the issue's fan-out query is refused before anything
  runs, and every list field has a bounded cost (``first`` or a declared size);
- each request has a budget of store calls and of answer bytes;
- the heaviest queries the limits allow, sent in a loop by one client for 20 s, leave a second
  client's simple queries answering without errors, and no breaker opens.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator
from typing import Any

import graphql
import httpx
import pytest
from graphql import parse
from hypothesis import strategies as st

from philos.bootstrap import create_app
from philos.datasources.loaders import walk_levels
from philos.datasources.resilience import BREAKER_STATE
from philos.datasources.stores import Stores
from philos.domain import Direction, RelationType, Role
from philos.gateway.query_limits import operation_cost
from philos.schema.root import build_schema
from philos.seed.loader import read_corpus, seed
from philos.types.hints import STORE_COST, metadata
from tests.api.accounts import TOKENS, make_user
from tests.security.documents import drawn
from tests.settings import settings_for
from tests.stores import counting

CORPUS = read_corpus()  # the full sample corpus: a graph worth walking
SCHEMA: Any = build_schema()._schema
MAX_COST = 100_000
LOAD_SECONDS = 20.0
SIMPLE = '{ concept(slug: "dasein") { name tradition relations { type target { name } } } }'


def fan_out(aliases: int, first: int, depth: int) -> str:
    """The issue's shape: many aliases, each a page of concepts walking their neighbourhoods."""
    one = (
        f"concepts(first: {first}) {{ nodes {{ id neighbours(depth: {depth}) "
        "{ distance concept { id name tradition } } } }"
    )
    return "{ " + " ".join(f"a{i}: {one}" for i in range(aliases)) + " }"


def cost(query: str, variables: dict[str, Any] | None = None) -> int:
    return operation_cost(parse(query), None, variables, SCHEMA, 10**12)


async def _app_client(
    stores: Stores, sql_url: str, tmp_path: Any, **settings: object
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings_for(sql_url, tmp_path, **settings), stores)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://philos.test", timeout=60
    ) as http:
        yield http


@pytest.fixture
async def corpus_client(
    stores: Stores, sql_url: str, tmp_path: Any
) -> AsyncIterator[httpx.AsyncClient]:
    """The full corpus, no rate limits and no response cache (every request does its work)."""
    await seed(stores, CORPUS)
    async for http in _app_client(
        stores,
        sql_url,
        tmp_path,
        PHILOS_RATE_LIMIT_IP=0,
        PHILOS_RATE_LIMIT_USER=0,
        PHILOS_RESPONSE_CACHE_TTL=0,
    ):
        yield http


def _breakers_open() -> list[str]:
    return [s.labels["store"] for m in BREAKER_STATE.collect() for s in m.samples if s.value != 0.0]


# -- batching ------------------------------------------------------------------------------


walks = st.tuples(
    st.lists(st.integers(0, 10_000), min_size=1, max_size=12),
    st.integers(1, 3),
    st.lists(st.sampled_from(list(RelationType)), max_size=3, unique=True),
    st.sampled_from(list(Direction)),
)


async def test_walking_every_root_at_once_answers_what_the_store_walks(stores: Stores) -> None:
    await seed(stores, CORPUS)
    ids = sorted(c.id for c in CORPUS.concepts)
    for picks, depth, types, direction in drawn(walks, 40):
        roots = sorted({ids[p % len(ids)] for p in picks})
        batched = await walk_levels(stores, roots, depth, tuple(types), direction)
        for root in roots:
            alone = await stores.graph.neighbours(root, depth, types or None, direction)
            assert batched[root] == alone, (root, depth, types, direction)


async def test_neighbourhoods_of_a_page_cost_the_same_for_5_and_50_concepts(
    corpus_client: httpx.AsyncClient, stores: Stores
) -> None:
    counts = []
    for first in (5, 50):
        query = fan_out(1, first, 2)
        with counting(stores) as statements:
            body = (await corpus_client.post("/graphql", json={"query": query})).json()
        assert "errors" not in body, body
        assert len(body["data"]["a0"]["nodes"]) == first
        counts.append(len(statements))
    assert counts[0] == counts[1], counts


# -- the cost model ---------------------------------------------------------------------------


@pytest.mark.parametrize(("aliases", "depth"), [(15, 3), (6, 3), (15, 2)])
async def test_the_fan_out_query_is_refused_before_anything_runs(
    corpus_client: httpx.AsyncClient, stores: Stores, aliases: int, depth: int
) -> None:
    with counting(stores) as statements:
        body = (
            await corpus_client.post("/graphql", json={"query": fan_out(aliases, 100, depth)})
        ).json()
    assert body["errors"][0]["extensions"]["code"] == "COST_LIMIT_EXCEEDED"
    assert statements == []


def test_every_list_field_has_a_bounded_cost() -> None:
    """A list of objects is sized by its ``first`` or by a declared item count, so nesting
    unpaged lists (relations of relations of…) multiplies into the cost."""
    unbounded = []
    for name, named in SCHEMA.type_map.items():
        if name.startswith("__") or not isinstance(named, graphql.GraphQLObjectType):
            continue
        for field_name, field in named.fields.items():
            if not isinstance(graphql.get_nullable_type(field.type), graphql.GraphQLList):
                continue
            if isinstance(graphql.get_named_type(field.type), graphql.GraphQLScalarType):
                continue  # a list of scalars selects nothing inside it
            if "first" not in field.args and metadata(field).get(STORE_COST) is None:
                unbounded.append(f"{name}.{field_name}")
    assert unbounded == []


def test_nesting_unpaged_lists_multiplies_the_cost() -> None:
    inner = "name"
    costs = []
    for _ in range(4):
        inner = f"relations {{ target {{ {inner} }} }}"
        costs.append(cost(f'{{ concept(slug: "x") {{ {inner} }} }}'))
    assert all(b > 10 * a for a, b in itertools.pairwise(costs)), costs
    assert costs[-1] > MAX_COST


def test_walks_cost_more_with_every_step() -> None:
    for template in (
        '{{ graph(rootId: "x", depth: {d}) {{ nodes {{ id }} }} }}',
        '{{ path(fromId: "x", toId: "y", maxDepth: {d}) {{ length }} }}',
        '{{ concept(slug: "x") {{ neighbours(depth: {d}) {{ distance }} }} }}',
    ):
        costs = [cost(template.format(d=d)) for d in (1, 2, 3)]
        assert costs[0] < costs[1] < costs[2], (template, costs)


# -- budgets ----------------------------------------------------------------------------------


@pytest.fixture
async def tight_client(
    stores: Stores, sql_url: str, tmp_path: Any
) -> AsyncIterator[httpx.AsyncClient]:
    await seed(stores, CORPUS)
    async for http in _app_client(
        stores,
        sql_url,
        tmp_path,
        PHILOS_MAX_STORE_CALLS=3,
        PHILOS_MAX_RESPONSE_BYTES=4096,
        PHILOS_SQL_COMPILE=False,
    ):
        yield http


async def test_a_request_past_its_store_call_budget_stops_clearly(
    tight_client: httpx.AsyncClient,
) -> None:
    ids = sorted(c.id for c in CORPUS.concepts)
    # Five separate walks from the root: each is its own store call.
    query = (
        "{ "
        + " ".join(
            f'p{i}: path(fromId: "{ids[0]}", toId: "{ids[i]}") {{ length }}' for i in range(1, 6)
        )
        + " }"
    )
    for _ in range(3):  # again and again: the budget is per request, and counts nothing
        body = (await tight_client.post("/graphql", json={"query": query})).json()
        codes = {e["extensions"]["code"] for e in body["errors"]}
        assert codes == {"STORE_BUDGET_EXCEEDED"}, body
        assert "store calls" in body["errors"][0]["message"]
    small = (
        await tight_client.post("/graphql", json={"query": "{ concepts(first: 1) { totalCount } }"})
    ).json()
    assert "errors" not in small
    assert _breakers_open() == []


async def test_an_answer_past_the_size_limit_is_refused_and_not_cached(
    tight_client: httpx.AsyncClient,
) -> None:
    query = "{ concepts(first: 100) { nodes { id slug name summary body tags aliases } } }"
    for _ in range(2):
        response = await tight_client.post("/graphql", json={"query": query})
        body = response.json()
        assert response.status_code == 200
        assert body["data"] is None
        assert body["errors"][0]["extensions"]["code"] == "RESPONSE_TOO_LARGE"


# -- under load -------------------------------------------------------------------------------


def _heaviest(template: str, limit: int) -> str:
    """``template`` with the largest alias count, then ``first``, the cost limit allows."""
    best = ""
    for aliases in range(15, 0, -1):
        for first in (100, 50, 25, 10, 5, 2, 1):
            one = template.format(first=first)
            query = "{ " + " ".join(f"a{i}: {one}" for i in range(aliases)) + " }"
            if cost(query) <= limit:
                return query
    return best


HEAVY_SHAPES = [
    "concepts(first: {first}) {{ nodes {{ id neighbours(depth: 2) "
    "{{ distance concept {{ id name tradition relations {{ type }} }} }} }} }}",
    "concepts(first: {first}) {{ nodes {{ relations {{ type target {{ name relations "
    "{{ type target {{ name }} }} }} }} }} }}",
    "concepts(first: {first}) {{ nodes {{ name theses(first: 20) {{ statement arguments "
    "{{ text }} sources {{ work }} concept {{ name }} }} }} }}",
]


@pytest.mark.parametrize("backend", ["sqlite", "postgres"], indirect=True, scope="session")
async def test_the_heaviest_allowed_queries_leave_other_clients_answered(
    corpus_client: httpx.AsyncClient, stores: Stores
) -> None:
    ids = sorted(c.id for c in CORPUS.concepts)
    heavy = [_heaviest(shape, MAX_COST) for shape in HEAVY_SHAPES]
    walks = " ".join(
        f'g{i}: graph(rootId: "{ids[i]}", depth: 3) {{ nodes {{ id name }} edges {{ type }} }}'
        f' p{i}: path(fromId: "{ids[i]}", toId: "{ids[-1 - i]}", maxDepth: 6) {{ length }}'
        for i in range(7)
    )
    heavy.append("{ " + walks + " }")
    assert all(q and cost(q) <= MAX_COST for q in heavy)
    user = await make_user(stores, "reader", Role.READER)
    reader = {"authorization": f"Bearer {TOKENS.issue_access(user)}"}
    deadline = time.monotonic() + LOAD_SECONDS
    heavy_sent = 0
    heavy_codes: set[str] = set()
    simple_answers: list[float] = []

    async def heavy_client() -> None:
        nonlocal heavy_sent
        while time.monotonic() < deadline:
            query = heavy[heavy_sent % len(heavy)]
            response = await corpus_client.post("/graphql", json={"query": query})
            assert response.status_code == 200, response.text[:300]
            for error in response.json().get("errors") or ():
                heavy_codes.add(error["extensions"]["code"])
            heavy_sent += 1

    async def simple_client() -> None:
        while time.monotonic() < deadline:
            started = time.monotonic()
            response = await corpus_client.post("/graphql", json={"query": SIMPLE}, headers=reader)
            body = response.json()
            assert response.status_code == 200 and "errors" not in body, body
            assert body["data"]["concept"]["name"] == "Dasein"
            simple_answers.append(time.monotonic() - started)
            await asyncio.sleep(0.02)

    await asyncio.gather(heavy_client(), simple_client())
    assert heavy_sent >= len(heavy)
    # The heavy queries may be cut short by their own budgets, never by a store failing.
    assert heavy_codes <= {"STORE_BUDGET_EXCEEDED", "RESPONSE_TOO_LARGE"}, heavy_codes
    assert len(simple_answers) >= 20
    assert _breakers_open() == []
