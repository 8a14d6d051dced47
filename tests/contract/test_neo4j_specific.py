"""Neo4jGraphStore beyond the shared contract: schema, parameterised Cypher, races, and the
same answers as the SQL adapter on a random graph full of ties."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from neo4j import AsyncManagedTransaction

from philos.datasources.neo4j import Neo4jGraphStore, type_pattern
from philos.datasources.ports import GraphStore
from philos.datasources.sql import SqlDatabase
from philos.datasources.sql.graph import SqlGraphStore
from philos.domain import Concept, ConflictError, Direction, Relation, RelationType
from philos.domain import Path as GraphPath
from tests.contract.concepts import with_concepts

T = RelationType


@pytest.fixture
async def store(request: pytest.FixtureRequest) -> AsyncIterator[Neo4jGraphStore]:
    neo = Neo4jGraphStore(request.getfixturevalue("neo4j_uri"))
    await neo.setup()
    await neo.driver.execute_query("MATCH (n) DETACH DELETE n", database_=neo.database)
    yield neo
    await neo.aclose()


@pytest.fixture
def cypher(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, dict[str, Any]]]:
    """Every (query, parameters) the driver sends from here on."""
    sent: list[tuple[str, dict[str, Any]]] = []
    original = AsyncManagedTransaction.run

    async def run(
        self: AsyncManagedTransaction,
        query: str,
        parameters: dict[str, Any] | None = None,
        **kw: Any,
    ) -> Any:
        sent.append((query, {**(parameters or {}), **kw}))
        return await original(self, query, parameters, **kw)

    monkeypatch.setattr(AsyncManagedTransaction, "run", run)
    return sent


def relation(
    source: str, target: str, kind: RelationType, *, id: str | None = None, **kw: Any
) -> Relation:
    return Relation(
        id=id or str(uuid.uuid4()),
        source_id=source,
        target_id=target,
        type=kind,
        created_at=datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC),
        **kw,
    )


async def test_setup_creates_the_constraints_and_is_idempotent(store: Neo4jGraphStore) -> None:
    await store.setup()  # a second time: nothing fails, nothing doubles
    records, _, _ = await store.driver.execute_query("SHOW CONSTRAINTS", database_=store.database)
    found = {
        (r["entityType"], tuple(r["labelsOrTypes"]), tuple(r["properties"]), r["type"])
        for r in records
    }
    assert ("NODE", ("Concept",), ("id",), "UNIQUENESS") in found
    for t in RelationType:
        assert ("RELATIONSHIP", (t.value,), ("id",), "RELATIONSHIP_UNIQUENESS") in found
    assert len(records) == 1 + len(RelationType)


def test_type_pattern_names_only_relation_types() -> None:
    assert type_pattern([T.PART_OF, T.IS_A, T.IS_A]) == "IS_A|PART_OF"
    assert type_pattern(["OPPOSES"]) == "OPPOSES"
    assert type_pattern(None) == type_pattern([]) == "|".join(sorted(t.value for t in T))
    with pytest.raises(ValueError):
        type_pattern(["IS_A]-() DETACH DELETE n //"])
    with pytest.raises(ValueError):
        type_pattern(["is_a"])


async def test_values_reach_cypher_only_as_parameters(
    store: Neo4jGraphStore, cypher: list[tuple[str, dict[str, Any]]]
) -> None:
    hostile = ["a'}) DETACH DELETE n //", 'b"}) SET n.x = 1 RETURN 1 //', "c` RETURN 1 //"]
    await store.upsert_concepts([Concept(id=h, slug=h, name=h, summary="s") for h in hostile])
    r1 = relation(hostile[0], hostile[1], T.IS_A, id="x'}]->() DELETE r //", note="n' //")
    r2 = relation(hostile[1], hostile[2], T.OPPOSES, id="y`] //")
    await store.relate(r1)
    await store.relate(r2)
    assert await store.get_relations([r1.id, r2.id]) == {r1.id: r1, r2.id: r2}
    edges = await store.edges_of(hostile, Direction.BOTH, [T.IS_A, T.OPPOSES])
    assert [r.id for r in edges[hostile[1]]] == [r1.id, r2.id]
    assert await store.neighbours(hostile[0], 2) == {hostile[1]: 1, hostile[2]: 2}
    path = await store.shortest_path(hostile[0], hostile[2], 3)
    assert path is not None and path.relations == [r1, r2]
    nodes, _, _ = await store.subgraph(hostile[2], 2)
    assert nodes == [hostile[2], hostile[1], hostile[0]]
    assert await store.remove_relation(r2.id) is True
    await store.remove_concept(hostile[0])
    assert await store.neighbours(hostile[1], 3) == {}

    assert len(cypher) >= 10
    outside = [*hostile, r1.id, r2.id, "n' //"]
    for query, params in cypher:
        assert not any(value in query for value in outside), query
        assert params, f"a query without parameters: {query}"


async def test_lookup_by_relation_id_seeks_an_index(
    store: Neo4jGraphStore, cypher: list[tuple[str, dict[str, Any]]]
) -> None:
    r = relation("p", "q", T.REFINES)
    await store.relate(r)
    cypher.clear()
    assert await store.remove_relation(r.id) is True
    await store.get_relations([r.id])
    sent = list(cypher)  # EXPLAIN below goes through the spy too
    assert len(sent) == 2
    for query, params in sent:
        _, summary, _ = await store.driver.execute_query(
            "EXPLAIN " + query, params, database_=store.database
        )
        assert summary.plan is not None
        operators: list[str] = []
        pending = [summary.plan]
        while pending:
            op = pending.pop()
            operators.append(op["operatorType"].split("@")[0])
            pending.extend(op.get("children", []))
        seeks = [o for o in operators if "RelationshipUniqueIndexSeek" in o]
        assert len(seeks) == len(RelationType), operators
        assert not [o for o in operators if "Scan" in o], operators


async def test_relate_merges_bare_nodes_that_upsert_fills_in(store: Neo4jGraphStore) -> None:
    await store.relate(relation("a", "b", T.ENTAILS))
    await store.upsert_concepts([Concept(id="a", slug="alpha", name="Alpha", summary="s")])
    await store.upsert_concepts([Concept(id="a", slug="alpha-2", name="Alpha 2", summary="s")])
    records, _, _ = await store.driver.execute_query(
        "MATCH (c:Concept) RETURN c.id AS id, c.slug AS slug, c.name AS name ORDER BY id",
        database_=store.database,
    )
    assert [r.data() for r in records] == [
        {"id": "a", "slug": "alpha-2", "name": "Alpha 2"},
        {"id": "b", "slug": None, "name": None},
    ]


async def test_a_relation_id_is_taken_across_types(store: Neo4jGraphStore) -> None:
    first = relation("a", "b", T.IS_A)
    await store.relate(first)
    with pytest.raises(ConflictError):
        await store.relate(relation("c", "d", T.PART_OF, id=first.id))
    with pytest.raises(ConflictError):
        await store.relate(first)
    assert (await store.edges_of(["c"], Direction.BOTH))["c"] == []


async def test_racing_writers_of_one_triple_create_it_once(store: Neo4jGraphStore) -> None:
    await store.upsert_concepts([Concept(id=i, slug=i, name=i, summary="s") for i in "ab"])
    attempts = [relation("a", "b", T.INFLUENCED_BY) for _ in range(16)]
    # the same id under the same type, racing on different triples
    same_id = [relation("a", f"t{n}", T.ANALOGOUS_TO, id="one-id") for n in range(8)]
    outcomes = await asyncio.gather(
        *(store.relate(r) for r in attempts + same_id), return_exceptions=True
    )
    made = [o for o in outcomes if isinstance(o, Relation)]
    others = [o for o in outcomes if not isinstance(o, Relation)]
    assert len(made) == 2 and all(isinstance(o, ConflictError) for o in others), others
    edges = (await store.edges_of(["a"], Direction.OUTGOING))["a"]
    assert sorted(r.type.value for r in edges) == ["ANALOGOUS_TO", "INFLUENCED_BY"]


async def test_timestamps_come_back_as_the_same_instant_in_utc(store: Neo4jGraphStore) -> None:
    cest = timezone(timedelta(hours=2))
    zoned = replace(relation("a", "b", T.IS_A), created_at=datetime(2024, 6, 1, 12, 0, 0, 7, cest))
    naive = replace(relation("b", "c", T.IS_A), created_at=datetime(2024, 6, 1, 12, 0, 0, 7))
    await store.relate(zoned)
    await store.relate(naive)
    got = await store.get_relations([zoned.id, naive.id])
    assert got[zoned.id].created_at == zoned.created_at
    assert got[zoned.id].created_at.tzinfo is UTC
    assert got[naive.id].created_at == naive.created_at.replace(tzinfo=UTC)


async def test_remove_concept_detaches_and_is_idempotent(store: Neo4jGraphStore) -> None:
    kept = relation("b", "c", T.IS_A)
    await store.relate(relation("a", "b", T.IS_A))
    await store.relate(relation("c", "a", T.OPPOSES))
    await store.relate(kept)
    await store.remove_concept("a")
    await store.remove_concept("a")
    edges = await store.edges_of(["a", "b", "c"], Direction.BOTH)
    assert edges == {"a": [], "b": [kept], "c": [kept]}


# Parity with the SQL adapter -------------------------------------------------------------


def random_graph(seed: int, nodes: int, edges: int) -> tuple[list[str], list[Relation]]:
    rng = random.Random(seed)
    ids = [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(nodes)]
    types = [T.IS_A, T.OPPOSES, T.REFINES, T.RELATED_TO]  # few types: many (type) ties
    taken: set[tuple[str, str, RelationType]] = set()
    rels: list[Relation] = []
    while len(rels) < edges:
        a, b = rng.sample(ids, 2)
        kind = rng.choice(types)
        if (a, b, kind) in taken:
            continue
        taken.add((a, b, kind))
        rels.append(
            Relation(
                id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                source_id=a,
                target_id=b,
                type=kind,
                weight=rng.choice([0.25, 0.5, 0.5, 0.75]),
                note=rng.choice([None, "a note"]),
                created_at=datetime(2024, 1, 1, tzinfo=UTC) + timedelta(minutes=len(rels)),
            )
        )
    return ids, rels


FILTERS: list[list[RelationType] | None] = [None, [T.IS_A, T.REFINES]]


async def walks(g: GraphStore, root: str) -> list[object]:
    answers: list[object] = []
    for types in FILTERS:
        for depth in (1, 2, 3):
            for direction in Direction:
                answers.append(await g.neighbours(root, depth, types, direction))
            for max_nodes in (500, 6, 1):
                answers.append(await g.subgraph(root, depth, types, max_nodes))
    return answers


async def paths(g: GraphStore, pairs: list[tuple[str, str]]) -> list[object]:
    answers: list[object] = []
    for a, b in pairs:
        for types, max_depth in ((None, 6), (None, 2), (FILTERS[1], 6)):
            answers.append(await g.shortest_path(a, b, max_depth, types))
    return answers


async def test_same_answers_as_sql_on_a_random_graph(
    store: Neo4jGraphStore, tmp_path: Path
) -> None:
    db = SqlDatabase(f"sqlite+aiosqlite:///{tmp_path / 'parity.db'}")
    await db.create_schema()
    sql = SqlGraphStore(db)
    try:
        ids, rels = random_graph(seed=20240601, nodes=16, edges=36)
        ids.append(str(uuid.UUID(int=0, version=4)))  # an isolated concept
        await with_concepts(db, ids)  # on SQL, relations must name existing concepts
        await store.upsert_concepts([Concept(id=i, slug=i, name=i, summary="s") for i in ids])
        for r in rels:
            await sql.relate(r)
            await store.relate(r)
        probe = [*ids, "no-such-concept"]

        assert await store.get_relations(probe) == await sql.get_relations(probe)
        for types in FILTERS:
            for direction in Direction:
                assert await store.edges_of(probe, direction, types) == await sql.edges_of(
                    probe, direction, types
                )
        # roots (and batches of pairs) run side by side: they are independent reads
        mine = await asyncio.gather(*(walks(store, root) for root in probe))
        assert mine == await asyncio.gather(*(walks(sql, root) for root in probe))
        pairs = [(a, b) for a in probe for b in probe]
        random.Random(7).shuffle(pairs)
        batches = [pairs[n : n + 12] for n in range(0, 144, 12)]
        found = await asyncio.gather(*(paths(store, batch) for batch in batches))
        assert found == await asyncio.gather(*(paths(sql, batch) for batch in batches))
        lengths = {len(p.relations) for ps in found for p in ps if isinstance(p, GraphPath)}
        assert {1, 2, 3} <= lengths, lengths  # several lengths, ties among them
    finally:
        await db.aclose()
