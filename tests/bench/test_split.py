"""The split wiring's parts of the benchmark, CI-safe (no Node, no wrk, no timing).

The generated dataset, loaded into PostgreSQL and copied into Neo4j and MongoDB the way the
harness does, reads back through Philos's Neo4j and MongoDB adapters exactly as through its
SQL ones; and the Neo4j GraphQL Library's answers are put into Philos's shape without a
relation lost, added or moved.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bench.dataset import load
from bench.neo4j_graphql import B_NEO4J_GRAPHQL, as_philos, cycle, template
from bench.queries import Shape
from bench.split import load_split
from philos.config import normalise_sql_url
from philos.datasources.mongo import MongoThesisStore
from philos.datasources.neo4j import Neo4jGraphStore
from philos.datasources.sql import SqlDatabase
from philos.datasources.sql.graph import SqlGraphStore
from philos.datasources.sql.theses import SqlThesisStore
from philos.domain import Direction, RelationType
from tests.bench.test_harness import TINY, bench_db

__all__ = ["bench_db"]  # the fixture, shared with test_harness

TYPES = sorted(t.value for t in RelationType)


async def test_split_load_reads_back_as_in_sql(
    bench_db: str, neo4j_uri: str, mongodb_uri: str
) -> None:
    await load(bench_db, TINY)
    graph = Neo4jGraphStore(neo4j_uri)
    database = f"philos_bench_{uuid.uuid4().hex[:10]}"
    docs = MongoThesisStore(mongodb_uri, database=database)
    db = SqlDatabase(normalise_sql_url(bench_db))
    try:
        await graph.driver.execute_query("MATCH (n) DETACH DELETE n")
        counts = await load_split(bench_db, neo4j_uri, mongodb_uri, database)
        assert counts["relationships"] == TINY.expected["relations"]
        assert counts["thesis documents"] == TINY.expected["theses"]
        async with db.connect() as conn:
            ids = [row[0] for row in await conn.exec_driver_sql("SELECT id FROM concepts")]
        assert len(ids) == TINY.concepts
        for direction in Direction:
            assert await graph.edges_of(ids, direction) == await SqlGraphStore(db).edges_of(
                ids, direction
            )
        assert await docs.by_concepts(ids) == await SqlThesisStore(db).by_concepts(ids)
        records, _, _ = await graph.driver.execute_query(
            "MATCH (c:Concept) RETURN c.id AS id, c.slug AS slug, c.name AS name"
        )
        async with db.connect() as conn:
            rows = await conn.exec_driver_sql("SELECT id, slug, name FROM concepts")
            in_sql = sorted(tuple(row) for row in rows)
        assert sorted((r["id"], r["slug"], r["name"]) for r in records) == in_sql
    finally:
        await graph.driver.execute_query("MATCH (n) DETACH DELETE n")
        await docs.client.drop_database(database)
        await graph.aclose()
        await docs.aclose()
        await db.aclose()


def test_peer_document_asks_each_type_once_in_order() -> None:
    aliases = [line.split(":")[0].strip() for line in B_NEO4J_GRAPHQL.splitlines()[3:-2]]
    assert aliases == TYPES
    assert "first: $k" in B_NEO4J_GRAPHQL
    # k from the relations per concept up: never fewer than a concept has of one type
    assert cycle("b", Shape(relations_per_concept=3))[0] == "3"
    with pytest.raises(KeyError):
        template("a", (0, None))  # it answers (b) only


names = st.text(alphabet="abcdefgh ", min_size=1, max_size=8)
concept = st.fixed_dictionaries(
    {"name": names},
    optional={t: st.lists(names, max_size=3) for t in TYPES},
)


@given(st.lists(concept, max_size=5))
def test_peer_answer_takes_philos_shape(concepts: list[dict[str, Any]]) -> None:
    answer = {
        "data": {
            "concepts": [
                {
                    "name": c["name"],
                    **{t: {"edges": [{"node": {"name": n}} for n in c.get(t, [])]} for t in TYPES},
                }
                for c in concepts
            ]
        }
    }
    nodes = as_philos(answer)["data"]["concepts"]["nodes"]
    assert [n["name"] for n in nodes] == [c["name"] for c in concepts]
    for node, source in zip(nodes, concepts, strict=True):
        expected = [{"type": t, "target": {"name": n}} for t in TYPES for n in source.get(t, [])]
        assert node["relations"] == expected
    errors = {"errors": [{"message": "boom"}], "data": None}
    assert as_philos(errors) is errors
