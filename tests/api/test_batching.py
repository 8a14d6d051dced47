"""Nested lists never go N+1: the statement count is the same for 10 and for 50 concepts."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import neo4j
import pytest

from philos import domain
from philos.datasources.stores import Stores
from tests.api.client import Api
from tests.stores import MONGO_COMMANDS, clear_cache, counting, unwrap

NESTED = """query($n: Int!) { concepts(first: $n) { totalCount nodes {
    name thesisCount
    relations { type target { name relations(direction: OUTGOING) { type } } }
    theses { statement arguments { text } concept { slug } }
} } }"""


@contextmanager
def round_trips(stores: Stores) -> Iterator[dict[str, list[str]]]:
    """SQL statements, Cypher queries (wrapping the driver's transaction ``run``) and MongoDB commands
    (a pymongo command listener) made inside the block."""
    seen: dict[str, list[str]] = {"sql": [], "cypher": [], "mongo": []}
    monkeypatch = pytest.MonkeyPatch()
    graph = unwrap(stores.graph)
    if getattr(graph, "name", "") == "neo4j":
        # Every query, execute_query's included, runs through a managed transaction.
        tx_run = neo4j.AsyncManagedTransaction.run

        async def counted_run(tx: Any, query: str, *args: Any, **kwargs: Any) -> Any:
            seen["cypher"].append(query)
            return await tx_run(tx, query, *args, **kwargs)

        monkeypatch.setattr(neo4j.AsyncManagedTransaction, "run", counted_run)
    MONGO_COMMANDS.commands = seen["mongo"]
    MONGO_COMMANDS.recording = True
    try:
        with counting(stores) as statements:
            seen["sql"] = statements
            yield seen
    finally:
        MONGO_COMMANDS.recording = False
        monkeypatch.undo()


async def add_bulk(stores: Stores, n: int) -> None:
    ids = []
    for i in range(n):
        concept = domain.Concept(
            id=domain.new_id(), slug=f"bulk-{i:03d}", name=f"Bulk {i:03d}", summary="Generated."
        )
        await stores.concepts.create(concept)
        ids.append(concept.id)
        await stores.theses.create(
            domain.Thesis(
                id=domain.new_id(),
                concept_id=concept.id,
                statement=f"Claim number {i} about bulk.",
                stance=domain.Stance.AFFIRMS,
                arguments=(domain.Argument(domain.new_id(), domain.Polarity.PRO, "Because."),),
            )
        )
    for a, b in itertools.pairwise(ids):
        await stores.graph.relate(
            domain.Relation(
                id=domain.new_id(), source_id=a, target_id=b, type=domain.RelationType.RELATED_TO
            )
        )


async def _round_trips_by_size(api: Api) -> dict[int, dict[str, int]]:
    counts: dict[int, dict[str, int]] = {}
    for n in (10, 50):
        # A cold cache for each size, so every level reaches the stores.
        await clear_cache(api.stores)
        with round_trips(api.stores) as seen:
            data = await api.data(NESTED, {"n": n})
        assert len(data["concepts"]["nodes"]) == n
        counts[n] = {kind: len(calls) for kind, calls in seen.items()}
    return counts


async def test_statement_count_is_constant_in_page_size(api: Api, backend: str) -> None:
    await add_bulk(api.stores, 60)
    if backend == "postgres":
        # Everything in PostgreSQL: the query is compiled into one statement (philos/compile).
        assert api.stores.json_reader is not None
        compiled = await _round_trips_by_size(api)
        assert compiled[10] == compiled[50] == {"sql": 1, "cypher": 0, "mongo": 0}, compiled
        # Without the compiler the resolvers' DataLoaders keep to one statement per level.
        reader, api.stores.json_reader = api.stores.json_reader, None
        try:
            counts = await _round_trips_by_size(api)
        finally:
            api.stores.json_reader = reader
    else:
        # SQLite, or stores outside PostgreSQL: nothing to compile to.
        assert api.stores.json_reader is None
        counts = await _round_trips_by_size(api)
    assert counts[10] == counts[50], counts
    if backend == "production":
        # SQL: the page and the relation targets. Cypher: relations, then the targets'
        # relations. Mongo: theses and their counts.
        assert counts[50] == {"sql": 2, "cypher": 2, "mongo": 2}, counts
        return
    counts_sql = {n: c["sql"] for n, c in counts.items()}
    # One statement per level: the page (with its total), relations (their targets ride
    # along), the targets' relations, theses (arguments ride along; their concept is primed
    # from the page) and thesis counts.
    assert counts_sql[10] == counts_sql[50] == 5, counts


async def test_loader_answers_by_key_not_position(api: Api) -> None:
    data = await api.data(NESTED, {"n": 6})
    for node in data["concepts"]["nodes"]:
        for thesis in node["theses"]:
            assert thesis["concept"]["slug"]
        assert node["thesisCount"] == len(node["theses"])
