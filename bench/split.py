"""The split wiring's stores: a throwaway Neo4j and MongoDB-wire server (FerretDB) next to the
benchmark's PostgreSQL, holding the same generated dataset the way Philos's production wiring
keeps it.

Concepts stay in PostgreSQL (the source of truth); relations go to Neo4j as
``(:Concept {id, slug, name})-[:TYPE {id, weight, ...}]->(:Concept)`` and theses to MongoDB as
one document per thesis. The records are read back from PostgreSQL through Philos's own row
mappings (``concept_from_row``, ``relation_from_row``, ``thesis_from_row``) and written in
bulk in the adapters' own layout: concept nodes through ``Neo4jGraphStore.upsert_concepts``
(what the outbox relay calls), relationships with the properties ``properties_of`` gives
(what ``relate`` sets, one ``UNWIND`` per type instead of one transaction per relation), and
thesis documents through the store's Beanie document class (what ``create`` inserts, as one
``insert_many``). The load is then counted in each store and checked against PostgreSQL.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from bench.common import BenchError, _cpu_list, log, pin_tree
from bench.options import Options
from philos.config import normalise_sql_url
from philos.datasources.mongo import MongoThesisStore
from philos.datasources.mongo_documents import thesis_values
from philos.datasources.neo4j import Neo4jGraphStore
from philos.datasources.neo4j_queries import properties_of
from philos.datasources.sql import SqlDatabase
from philos.datasources.sql.concepts import concept_from_row
from philos.datasources.sql.graph import relation_from_row
from philos.datasources.sql.tables import concepts_t, relations_t, theses_t
from philos.datasources.sql.theses import thesis_from_row
from philos.domain import Concept, Relation, RelationType, Thesis
from tests.services.servers import FerretDBServer, Neo4jServer

MONGODB_DATABASE = "philos_bench"
CHUNK = 1000


@dataclass
class SplitStores:
    """Where the split wiring's relations and theses live, and the servers' processes."""

    neo4j_uri: str
    mongodb_uri: str
    neo4j: Neo4jServer
    mongo: FerretDBServer

    def describe(self) -> str:
        return (
            f"Neo4j 5.26 Community (embedded launcher, heap {self.neo4j.heap}, page cache "
            f"{self.neo4j.page_cache_mb} MB) and FerretDB v1.24.2 (SQLite backend), both from "
            "tests/services/servers/, pinned with PostgreSQL"
        )

    @property
    def pids(self) -> dict[str, int]:
        return {
            name: pid
            for name, pid in (("neo4j", self.neo4j.pid), ("ferretdb", self.mongo.pid))
            if pid is not None
        }


@contextlib.contextmanager
def throwaway_split(opts: Options, postgres_url: str) -> Iterator[SplitStores]:
    """Neo4j and FerretDB started side by side, pinned with PostgreSQL, loaded from it."""
    neo4j, mongo = Neo4jServer(), FerretDBServer()
    mongo.log_level = "warn"  # no line per connection while under load
    try:
        started = time.monotonic()
        mongo_url = mongo.start()
        neo4j_url = neo4j.start()
        cpus = _cpu_list(opts.postgres_cpus)
        for server in (neo4j, mongo):
            if server.pid is not None:
                pin_tree(server.pid, cpus)
        log(
            f"Neo4j {neo4j_url} and FerretDB {mongo_url} up in "
            f"{time.monotonic() - started:.1f}s (pinned to CPU {opts.postgres_cpus})"
        )
        stores = SplitStores(neo4j_url, mongo_url, neo4j, mongo)
        counts = asyncio.run(load_split(postgres_url, neo4j_url, mongo_url))
        log(
            f"split stores loaded in {counts.pop('seconds'):.1f}s: "
            + ", ".join(f"{k} {v:,}" for k, v in counts.items())
        )
        yield stores
    finally:
        neo4j.cleanup()
        mongo.cleanup()


async def _read_sql(url: str) -> tuple[list[Concept], list[Relation], list[Thesis]]:
    db = SqlDatabase(normalise_sql_url(url))
    try:
        async with db.connect() as conn:
            concepts = [concept_from_row(r) for r in await conn.execute(select(concepts_t))]
            relations = [relation_from_row(r) for r in await conn.execute(select(relations_t))]
            theses = [thesis_from_row(r) for r in await conn.execute(select(theses_t))]
    finally:
        await db.aclose()
    return concepts, relations, theses


async def load_split(
    postgres_url: str, neo4j_uri: str, mongodb_uri: str, database: str = MONGODB_DATABASE
) -> dict[str, Any]:
    """Copy concept nodes and relations into Neo4j (expected empty) and theses into the
    MongoDB ``database``; raise ``BenchError`` unless every store then holds exactly what
    PostgreSQL does."""
    started = time.monotonic()
    concepts, relations, theses = await _read_sql(postgres_url)
    graph = Neo4jGraphStore(neo4j_uri)
    docs = MongoThesisStore(mongodb_uri, database=database)
    try:
        await graph.setup()
        await docs.setup()
        for i in range(0, len(concepts), CHUNK):
            await graph.upsert_concepts(concepts[i : i + CHUNK])
        for kind in RelationType:
            rows = [
                {"source": r.source_id, "target": r.target_id, "props": properties_of(r)}
                for r in relations
                if r.type is kind
            ]
            for i in range(0, len(rows), CHUNK):
                await graph.driver.execute_query(
                    "UNWIND $rows AS row\n"
                    "MATCH (a:Concept {id: row.source}), (b:Concept {id: row.target})\n"
                    f"CREATE (a)-[r:{kind.value}]->(b) SET r = row.props",
                    rows=rows[i : i + CHUNK],
                )
        document = await docs._docs()
        for i in range(0, len(theses), CHUNK):
            await document.insert_many(
                [
                    document.model_validate({"id": t.id, **thesis_values(t)})
                    for t in theses[i : i + CHUNK]
                ]
            )
        found = await _count(graph, docs)
    finally:
        await graph.aclose()
        await docs.aclose()
    expected = {
        "concept nodes": len(concepts),
        "named concept nodes": len(concepts),
        "relationships": len(relations),
        "relationships with an id": len(relations),
        "thesis documents": len(theses),
    }
    if found != expected:
        raise BenchError(f"the split stores hold {found}, PostgreSQL {expected}")
    return {**found, "seconds": time.monotonic() - started}


async def _count(graph: Neo4jGraphStore, docs: MongoThesisStore) -> dict[str, int]:
    async def one(cypher: str) -> int:
        records, _, _ = await graph.driver.execute_query(cypher)
        return int(records[0]["n"])

    collection = (await docs._docs()).get_pymongo_collection()
    return {
        "concept nodes": await one("MATCH (c:Concept) RETURN count(c) AS n"),
        "named concept nodes": await one(
            "MATCH (c:Concept) WHERE c.name IS NOT NULL AND c.slug IS NOT NULL RETURN count(c) AS n"
        ),
        "relationships": await one("MATCH (:Concept)-[r]->(:Concept) RETURN count(r) AS n"),
        "relationships with an id": await one(
            "MATCH (:Concept)-[r]->(:Concept) WHERE r.id IS NOT NULL RETURN count(r) AS n"
        ),
        "thesis documents": int(await collection.count_documents({})),
    }
