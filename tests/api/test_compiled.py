"""Queries compiled to one SQL statement answer byte for byte what the resolvers answer.

Two apps share one PostgreSQL database seeded with the full corpus: one with the compiler
(the product default when everything lives in PostgreSQL), one without. Every query here, and
a few hundred generated selections, must get the same response body from both, and the
compiled app must have answered with a single statement.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis_graphql import Mode, queries
from sqlalchemy.exc import DBAPIError

from philos.bootstrap import create_app
from philos.compile.extension import COMPILED
from philos.compile.sql import Statement
from philos.datasources.resilience import BREAKER_STATE
from philos.datasources.stores import Stores
from philos.domain import (
    Concept,
    ConceptFilter,
    ConceptOrder,
    Page,
    Relation,
    RelationType,
    Role,
    new_id,
    utcnow,
)
from philos.seed.loader import read_corpus, seed
from tests.api.accounts import make_user
from tests.api.cursors import KEYSET_CURSORS, KEYSET_QUERIES, name_cursor
from tests.fuzz.strategies import SDL
from tests.settings import settings_for
from tests.stores import counting

pytestmark = pytest.mark.parametrize("backend", ["postgres"], indirect=True, scope="session")

CONCEPT_SCALARS = [
    "id",
    "slug",
    "name",
    "summary",
    "body",
    "tradition",
    "eraFrom",
    "eraTo",
    "tags",
    "aliases",
    "wikidataId",
    "sepUrl",
    "createdAt",
    "updatedAt",
    "version",
    "__typename",
]
THESIS_SCALARS = [
    "id",
    "conceptId",
    "statement",
    "stance",
    "tags",
    "status",
    "createdAt",
    "updatedAt",
    "version",
    "relatedConceptIds",
    "__typename",
]
RELATION_SCALARS = [
    "id",
    "type",
    "weight",
    "note",
    "createdAt",
    "sourceId",
    "targetId",
    "__typename",
]

QUERIES: list[tuple[str, dict[str, Any]]] = [
    ("{ __typename concepts(first: 1) { __typename } }", {}),
    ("{ concepts { totalCount nodes { " + " ".join(CONCEPT_SCALARS) + " } } }", {}),
    (
        "query($after: String) { concepts(first: 7, after: $after) { totalCount "
        "edges { cursor node { slug } } pageInfo { hasNextPage hasPreviousPage startCursor "
        "endCursor __typename } __typename } }",
        {"after": None},
    ),
    (
        "query($after: String) { concepts(first: 100, after: $after) { totalCount nodes { slug } "
        "pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }",
        {"after": name_cursor("Verif")},  # the last few concepts
    ),
    (
        "query($after: String) { concepts(first: 5, after: $after) { totalCount nodes { slug } "
        "edges { cursor } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }",
        {"after": name_cursor("zzz")},  # past the end, an empty page
    ),
    (
        "{ concepts(first: 30, orderBy: ERA_ASC) { nodes { slug eraFrom } } "
        "b: concepts(first: 30, orderBy: ERA_DESC) { nodes { slug eraFrom } } "
        "c: concepts(first: 30, orderBy: CREATED_AT_DESC) { nodes { slug } } "
        "d: concepts(first: 30, orderBy: NAME_DESC) { nodes { slug } } "
        "e: concepts(first: 30, orderBy: UPDATED_AT_DESC) { nodes { slug } } "
        "f: concepts(first: 30, orderBy: CREATED_AT_ASC) { nodes { slug } } "
        "g: concepts(first: 30, orderBy: RELEVANCE) { nodes { slug } } }",
        {},
    ),
    (
        "query($f: ConceptFilter) { concepts(filter: $f, first: 50) { totalCount "
        "nodes { slug tags tradition } } }",
        {"f": {"eraFrom": -500, "eraTo": 1900}},
    ),
    (
        "query($f: ConceptFilter) { concepts(filter: $f) { totalCount nodes { slug } } }",
        {"f": {"tradition": "stoicism", "tags": ["Ethics "]}},
    ),
    (
        "{ concepts(first: 20) { nodes { name theses(first: 2) { statement stance "
        "arguments { id polarity text strength __typename } "
        "sources { author work year url __typename } "
        "provenance { kind model promptVersion __typename } "
        + " ".join(THESIS_SCALARS)
        + " } thesisCount } } }",
        {},
    ),
    (
        "query($k: Int!, $s: Stance) { concepts(first: 50) { nodes { name "
        "theses(first: $k, stance: $s) { statement } } } }",
        {"k": 100, "s": "DENIES"},
    ),
    (
        "query($t: [RelationType!]) { concepts(first: 40) { nodes { name "
        "out: relations(direction: OUTGOING, types: $t) { type target { name } } "
        "in: relations(direction: INCOMING) { type source { slug eraFrom } } "
        "all: relations { " + " ".join(RELATION_SCALARS) + " provenance { kind model } } } } }",
        {"t": ["INFLUENCED_BY", "OPPOSES", "REFINES", "IS_A", "PART_OF"]},
    ),
    (
        "{ concepts(first: 10) { nodes { relations { target { relations { source { name "
        "theses(first: 1) { concept { slug author { displayName } } } } } } } } } }",
        {},
    ),
    (
        "query($s: String!) { concept(slug: $s) { id slug name summary tradition eraFrom eraTo "
        "author { id displayName role createdAt __typename } } }",
        {"s": "categorical-imperative"},
    ),
    ('{ concept(slug: "no-such-concept") { id } }', {}),
    ('{ concept(id: "not-an-id") { id } }', {}),
    ('{ concept(id: "00000000-0000-4000-8000-000000000000") { id } }', {}),
    (
        "{ theses(first: 15) { totalCount edges { cursor node { id statement concept { name } } } "
        "pageInfo { hasNextPage endCursor } } }",
        {},
    ),
    (
        "query($f: ThesisFilter) { theses(filter: $f, first: 100) { totalCount nodes { id } } }",
        {"f": {"stance": "AFFIRMS"}},
    ),
    (
        "fragment C on Concept { slug ...N } fragment N on Concept { name } "
        "query Q { concepts(first: 4) { nodes { ...C ... on Concept { version } "
        "k: slug slug } } } query Other { __typename }",
        {},
    ),
]
QUERIES.extend(KEYSET_QUERIES)
QUERIES_NAMED = {"fragment C on Concept": "Q"}


@pytest.fixture
async def clients(stores: Stores, sql_url: str, tmp_path: Any) -> AsyncIterator[list[Any]]:
    """(compiled client, resolver client, stores): the same database, response cache off."""
    assert stores.json_reader is not None, "the postgres wiring offers the compiled path"
    await seed(stores, read_corpus())
    editor = await make_user(stores, "editor", Role.EDITOR)
    await _add_edge_cases(stores, editor.id)
    # Generated selections nest lists freely; the cost limit is not what is under test here.
    settings = settings_for(
        sql_url, tmp_path, PHILOS_RESPONSE_CACHE_TTL=0, PHILOS_MAX_COST=10_000_000
    )
    resolvers_only = dataclasses.replace(stores, json_reader=None)
    async with (
        _client(create_app(settings, stores)) as compiled,
        _client(create_app(settings, resolvers_only)) as plain,
    ):
        yield [compiled, plain, stores]


def _client(app: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://philos.test")


async def _add_edge_cases(stores: Stores, author_id: str) -> None:
    """Values whose formatting differs most easily: whole-number weights, timestamps with no
    microseconds, an author, a concept with no tags."""
    now = utcnow().replace(microsecond=0)
    lone = Concept(
        id=new_id(),
        slug="aaa-edge-case",
        name="Aaa edge case",
        summary="A concept made to test formatting.",
        author_id=author_id,
        created_at=now,
        updated_at=now,
    )
    await stores.concepts.create(lone)
    page = await stores.concepts.list(ConceptFilter(), ConceptOrder.NAME_ASC, Page(limit=3))
    others = [c for c in page.items if c.id != lone.id]
    for weight, other in zip((1.0, 0.0), others, strict=False):
        await stores.graph.relate(
            Relation(
                id=new_id(),
                source_id=lone.id,
                target_id=other.id,
                type=RelationType.ANALOGOUS_TO,
                weight=weight,
                created_at=now,
            )
        )


async def _post(client: httpx.AsyncClient, query: str, variables: dict[str, Any]) -> bytes:
    body: dict[str, Any] = {"query": query, "variables": variables}
    for marker, name in QUERIES_NAMED.items():
        if marker in query:
            body["operationName"] = name
    response = await client.post("/graphql", json=body)
    assert response.status_code == 200, response.text
    return response.content


def _compiled_count() -> float:
    count: float = COMPILED.labels("sql")._value.get()
    return count


async def _compare(clients: list[Any], query: str, variables: dict[str, Any]) -> None:
    compiled, plain, stores = clients
    before = _compiled_count()
    with counting(stores) as statements:
        fast = await _post(compiled, query, variables)
    assert _compiled_count() == before + 1, f"not compiled: {query}"
    assert len(statements) == 1, statements
    slow = await _post(plain, query, variables)
    assert b'"errors"' not in slow, slow[:500]
    assert fast == slow, (
        f"{query}\n{variables}\ncompiled: {fast[:800]!r}\nresolvers: {slow[:800]!r}"
    )


async def test_compiled_answers_equal_resolver_answers(clients: list[Any]) -> None:
    for query, variables in QUERIES:
        await _compare(clients, query, variables)


def _selection(rng: random.Random, type_name: str, depth: int) -> str:
    """A random selection of a concept, thesis or relation, nesting up to ``depth`` more."""
    if type_name == "Concept":
        picked = rng.sample(CONCEPT_SCALARS, rng.randint(1, 4))
        if depth > 0:
            if rng.random() < 0.5:
                args = rng.choice(
                    ["", "(first: 3)", "(stance: AFFIRMS)", "(first: 1, stance: DENIES)"]
                )
                picked.append(f"theses{args} {{ {_selection(rng, 'Thesis', depth - 1)} }}")
            if rng.random() < 0.5:
                args = rng.choice(
                    ["", "(direction: OUTGOING)", "(direction: INCOMING, types: [IS_A, REFINES])"]
                )
                picked.append(f"relations{args} {{ {_selection(rng, 'Relation', depth - 1)} }}")
            if rng.random() < 0.3:
                picked.append("thesisCount")
        return " ".join(picked)
    if type_name == "Thesis":
        picked = rng.sample(THESIS_SCALARS, rng.randint(1, 4))
        if rng.random() < 0.4:
            picked.append(
                "arguments { "
                + " ".join(rng.sample(["id", "polarity", "text", "strength"], 2))
                + " }"
            )
        if rng.random() < 0.3:
            picked.append(
                "sources { " + " ".join(rng.sample(["author", "work", "year", "url"], 2)) + " }"
            )
        if depth > 0 and rng.random() < 0.3:
            picked.append(f"concept {{ {_selection(rng, 'Concept', depth - 1)} }}")
        return " ".join(picked)
    picked = rng.sample(RELATION_SCALARS, rng.randint(1, 4))
    if rng.random() < 0.3:
        picked.append("provenance { kind model promptVersion }")
    if depth > 0:
        end = rng.choice(["source", "target"])
        picked.append(f"{end} {{ {_selection(rng, 'Concept', depth - 1)} }}")
    return " ".join(picked)


async def test_generated_selections_agree(clients: list[Any]) -> None:
    rng = random.Random(20261127)
    for _ in range(150):
        first = rng.choice([1, 5, 20, 60])
        order = rng.choice(["NAME_ASC", "ERA_DESC", "CREATED_AT_ASC"])
        cursors = [c for o, c in KEYSET_CURSORS if o.value == order]
        after = rng.choice([None, *cursors])
        query = (
            f"query($after: String) {{ concepts(first: {first}, after: $after, orderBy: {order}) "
            f"{{ totalCount nodes {{ {_selection(rng, 'Concept', 2)} }} }} }}"
        )
        await _compare(clients, query, {"after": after})


async def test_what_cannot_be_compiled_runs_through_the_resolvers(clients: list[Any]) -> None:
    compiled, plain, _ = clients
    for query in (
        "{ concepts { nodes { neighbours { distance } } } }",  # not compiled: the graph walk
        "{ concepts(first: 1000) { totalCount } }",  # an error: the resolvers report it
        '{ concepts(after: "bogus") { totalCount } }',
        "{ concepts(first: 2) { nodes { slug @include(if: false) name } } }",
        "{ me { id } }",
        "{ __typename t1: __typename }",  # nothing to read: no statement at all
        # Ranked search runs in the store (philos/compile/coverage.py UNCOMPILED_FILTERS).
        '{ concepts(filter: {search: "  FORM  ", eraFrom: -500}) { totalCount nodes { slug } } }',
        '{ concepts(filter: {search: "100%_"}) { totalCount nodes { slug } } }',
        '{ theses(filter: {stance: AFFIRMS, search: "the"}) { totalCount nodes { id } } }',
        "{ concepts(first: 2) { nodes { searchHighlight } } }",
    ):
        before = _compiled_count()
        fast = await _post(compiled, query, {})
        assert _compiled_count() == before, query
        assert fast == await _post(plain, query, {})


async def test_a_failing_statement_falls_back_to_the_resolvers(
    clients: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    compiled, plain, stores = clients

    async def fail(*_args: Any) -> str:
        raise ConnectionResetError("connection lost mid-statement")

    query = "{ concepts(first: 3) { totalCount nodes { slug theses { statement } } } }"
    expected = await _post(plain, query, {})
    monkeypatch.setattr(stores.json_reader, "read_json", fail)
    before = COMPILED.labels("fallback")._value.get()
    assert await _post(compiled, query, {}) == expected
    assert COMPILED.labels("fallback")._value.get() == before + 1


def _generated_queries(count: int) -> list[str]:
    """Valid queries from the schema over the compiled root fields (hypothesis-graphql,
    derandomized), arguments inline."""
    found: list[str] = []

    @settings(
        max_examples=count,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(queries(SDL, fields=["concepts", "concept", "theses", "thesis"], mode=Mode.POSITIVE))
    def collect(query: str) -> None:
        found.append(query)

    collect()
    return found


async def test_schema_generated_queries_agree(clients: list[Any]) -> None:
    """Whatever the schema allows over these fields gets the same answer both ways, whether it
    compiles or not (then both run the resolvers)."""
    compiled, plain, _ = clients
    ran = 0
    # Searched lists, facets and highlights go to the resolvers on purpose: with them in the
    # schema, about a quarter of generated queries compile.
    for query in _generated_queries(300):
        before = _compiled_count()
        fast = await _post(compiled, query, {})
        slow = await _post(plain, query, {})
        assert fast == slow, f"{query}\ncompiled: {fast[:800]!r}\nresolvers: {slow[:800]!r}"
        ran += int(_compiled_count() > before)
    assert ran > 50, f"only {ran} of the generated queries compiled"


async def test_a_statement_postgres_rejects_does_not_open_the_breaker(
    clients: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A statement PostgreSQL refuses (a gap in the compiler, not an outage) falls back to the
    resolvers and does not count against the sql store's circuit breaker."""
    import philos.compile.extension

    compiled, plain, stores = clients
    broken = Statement("SELECT json_build_object('concepts', no_such_column)::text", ())
    monkeypatch.setattr(philos.compile.extension, "compile_operation", lambda *_: broken)
    query = "{ concepts(first: 2) { nodes { slug } } }"
    expected = await _post(plain, query, {})
    fallbacks = COMPILED.labels("fallback")._value.get()
    for _ in range(8):  # more than the breaker's threshold (5)
        assert await _post(compiled, query, {}) == expected
    assert COMPILED.labels("fallback")._value.get() == fallbacks + 8
    # Refusals in a row, with no successful call in between (as under concurrent load).
    for _ in range(8):
        with pytest.raises(DBAPIError):
            await stores.json_reader.read_json(broken.sql, broken.params)
    assert BREAKER_STATE.labels("sql")._value.get() == 0.0
    assert "concepts" in await stores.json_reader.read_json(
        "SELECT json_build_object('concepts', 1)::text", ()
    )
