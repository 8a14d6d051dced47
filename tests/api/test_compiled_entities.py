"""A subgraph's ``_entities``, compiled to one SQL statement, answers byte for byte what its
resolvers answer.

The gateway asks the subgraphs for the fields they own on concepts it already holds with
``_entities(representations: [{__typename: "Concept", id: ...}, ...])``. On the all-PostgreSQL
wiring the compiler answers those like any other read. Here each subgraph that owns concept
fields runs twice over one database (compiled, resolvers only) and hypothesis-graphql draws
the selections from the subgraph's own schema, with representations drawn from ids that name
a concept, ids that name none, strings that are no id at all, and repeats; every answer must
be the same both ways, and those that compile must take one statement.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from graphql import NameNode, ObjectFieldNode, ObjectValueNode, StringValueNode
from hypothesis import strategies as st
from hypothesis_graphql import Mode, queries

from philos.bootstrap import create_app
from philos.compile.extension import COMPILED
from philos.datasources.stores import Stores
from philos.domain import ConceptFilter, ConceptOrder, Page, new_id
from philos.schema.federation import build_subgraph_schema
from philos.seed.loader import read_corpus, seed
from tests.security.documents import drawn
from tests.settings import settings_for
from tests.stores import counting

pytestmark = pytest.mark.parametrize("backend", ["postgres"], indirect=True, scope="session")

# The subgraphs that own fields of Concept (docs/federation.md).
SUBGRAPHS = ("concepts", "graph", "theses", "users")


def _representation(type_name: str, key: str) -> ObjectValueNode:
    return ObjectValueNode(
        fields=(
            ObjectFieldNode(
                name=NameNode(value="__typename"), value=StringValueNode(value=type_name)
            ),
            ObjectFieldNode(name=NameNode(value="id"), value=StringValueNode(value=key)),
        )
    )


def _documents(subgraph: str, ids: list[str], count: int) -> list[str]:
    """``_entities`` documents over the subgraph's schema (hypothesis-graphql, the same on
    every run): every selection the schema allows under ``_Entity``, concept representations
    inline."""
    keys = st.sampled_from([*ids, new_id(), "not-an-id", ""])
    documents = queries(
        build_subgraph_schema(subgraph)._schema,
        fields=["_entities"],
        custom_scalars={"_Any": keys.map(lambda key: _representation("Concept", key))},
        mode=Mode.POSITIVE,
    )
    found: list[str] = drawn(documents, count)
    return found


@pytest.fixture
async def subgraph_clients(
    stores: Stores, sql_url: str, tmp_path: Any
) -> AsyncIterator[tuple[dict[str, tuple[httpx.AsyncClient, httpx.AsyncClient]], list[str]]]:
    """Per subgraph: (compiled client, resolver client) on one seeded database; the ids of
    some of its concepts."""
    assert stores.json_reader is not None, "the postgres wiring offers the compiled path"
    await seed(stores, read_corpus())
    page = await stores.concepts.list(ConceptFilter(), ConceptOrder.NAME_ASC, Page(limit=12))
    ids = [c.id for c in page.items]
    resolvers_only = dataclasses.replace(stores, json_reader=None)
    clients: dict[str, tuple[httpx.AsyncClient, httpx.AsyncClient]] = {}
    opened: list[httpx.AsyncClient] = []
    for subgraph in SUBGRAPHS:
        settings_ = settings_for(
            sql_url,
            tmp_path / subgraph,
            PHILOS_SUBGRAPH=subgraph,
            PHILOS_RESPONSE_CACHE_TTL=0,
            PHILOS_MAX_COST=10_000_000,
        )
        pair = tuple(
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=create_app(settings_, wiring)),
                base_url="http://philos.test",
            )
            for wiring in (stores, resolvers_only)
        )
        opened.extend(pair)
        clients[subgraph] = (pair[0], pair[1])
    try:
        yield clients, ids
    finally:
        for client in opened:
            await client.aclose()


async def _post(client: httpx.AsyncClient, query: str) -> bytes:
    response = await client.post("/graphql", json={"query": query})
    assert response.status_code == 200, response.text
    return response.content


def _compiled() -> float:
    count: float = COMPILED.labels("sql")._value.get()
    return count


async def test_generated_entities_agree(subgraph_clients: Any, stores: Stores) -> None:
    clients, ids = subgraph_clients
    for subgraph, (compiled, plain) in clients.items():
        ran = 0
        for query in _documents(subgraph, ids, 60):
            before = _compiled()
            with counting(stores) as statements:
                fast = await _post(compiled, query)
            was_compiled = _compiled() > before
            slow = await _post(plain, query)
            assert fast == slow, (
                f"{subgraph}: {query}\ncompiled: {fast[:800]!r}\nresolvers: {slow[:800]!r}"
            )
            if was_compiled:
                assert len(statements) == 1, (query, statements)
                ran += 1
        # Arguments out of range and fields the compiler leaves to the resolvers (coverage.py)
        # send some documents to the resolvers; most must compile.
        assert ran > 10, f"{subgraph}: only {ran} generated _entities documents compiled"


async def test_what_the_gateway_sends_compiles(subgraph_clients: Any, stores: Stores) -> None:
    """The documents of the benchmark's federated (a) and (b), as the gateway words them."""
    clients, ids = subgraph_clients
    asked = [*ids[:5], new_id(), ids[0], "not-an-id"]
    representations = ", ".join(f'{{__typename: "Concept", id: "{key}"}}' for key in asked)
    for subgraph, selection in (
        ("theses", "theses { statement }"),
        ("graph", "relations(direction: OUTGOING) { type target { __typename id } }"),
        ("concepts", "name slug"),
    ):
        query = (
            f"{{ _entities(representations: [{representations}]) "
            f"{{ __typename ... on Concept {{ __typename id {selection} }} }} }}"
        )
        compiled, plain = clients[subgraph]
        before = _compiled()
        fast = await _post(compiled, query)
        assert _compiled() == before + 1, f"{subgraph}: not compiled"
        assert fast == await _post(plain, query)
        entities = json.loads(fast)["data"]["_entities"]
        assert [e is None for e in entities] == [False] * 5 + [True, False, True]
