"""Relations kept in Neo4j and theses kept in MongoDB: finding their adapters under the
wrappers, reading them through the ports, writing them back, and emptying them."""

from __future__ import annotations

from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any, cast

from sqlalchemy import Row

from philos.datasources.mongo import MongoThesisStore
from philos.datasources.mongo_documents import thesis_values as mongo_values
from philos.datasources.neo4j import Neo4jGraphStore, type_pattern
from philos.datasources.neo4j_queries import properties_of
from philos.datasources.sql.concepts import concept_from_row
from philos.datasources.sql.graph import relation_from_row
from philos.datasources.sql.theses import thesis_from_row, thesis_values
from philos.datasources.stores import Stores
from philos.domain import Concept, Direction, Relation, RelationType, Thesis

CHUNK = 500


def _under(store: object, kind: type) -> Any:
    """The adapter of class ``kind`` under a store's cache, anchor and guard wrappers."""
    while not isinstance(store, kind) and hasattr(store, "inner"):
        store = store.inner
    return store if isinstance(store, kind) else None


def graph_adapter(stores: Stores) -> Neo4jGraphStore | None:
    found: Neo4jGraphStore | None = _under(stores.graph, Neo4jGraphStore)
    return found


def thesis_adapter(stores: Stores) -> MongoThesisStore | None:
    found: MongoThesisStore | None = _under(stores.theses, MongoThesisStore)
    return found


def _row(values: dict[str, Any]) -> Row[Any]:
    return cast("Row[Any]", SimpleNamespace(_mapping=values))


def relation_record(r: Relation) -> dict[str, Any]:
    """A relation in the shape of a ``relations`` row."""
    return {
        "id": r.id,
        "source_id": r.source_id,
        "target_id": r.target_id,
        "type": r.type.value,
        "weight": r.weight,
        "note": r.note,
        "provenance": r.provenance.kind.value,
        "model": r.provenance.model,
        "author_id": r.author_id,
        "created_at": r.created_at.isoformat(),
    }


def thesis_record(th: Thesis) -> dict[str, Any]:
    """A thesis, with its arguments and sources, in the shape of a ``theses`` row."""
    row = thesis_values(th)
    return {**row, "created_at": th.created_at.isoformat(), "updated_at": th.updated_at.isoformat()}


def _parsed(record: dict[str, Any], *stamps: str) -> dict[str, Any]:
    from datetime import datetime

    return {**record, **{k: datetime.fromisoformat(record[k]) for k in stamps}}


async def read_relations(stores: Stores, concept_ids: Sequence[str]) -> list[dict[str, Any]]:
    """Relations leaving the concepts, only those whose other end is one of them too: a
    relation to a concept made after the SQL snapshot is left out."""
    known = set(concept_ids)
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(concept_ids), CHUNK):
        edges = await stores.graph.edges_of(concept_ids[start : start + CHUNK], Direction.OUTGOING)
        for relations in edges.values():
            for r in relations:
                if r.source_id in known and r.target_id in known:
                    found[r.id] = relation_record(r)
    return [found[k] for k in sorted(found)]


async def read_theses(stores: Stores, concept_ids: Sequence[str]) -> list[dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(concept_ids), CHUNK):
        by_concept = await stores.theses.by_concepts(concept_ids[start : start + CHUNK])
        for theses in by_concept.values():
            found.update((th.id, thesis_record(th)) for th in theses)
    return [found[k] for k in sorted(found)]


async def write_graph(
    graph: Neo4jGraphStore, concepts: Sequence[dict[str, Any]], relations: Sequence[dict[str, Any]]
) -> None:
    """The concept nodes (id, slug, name) and the relations, straight into Neo4j."""
    nodes: list[Concept] = [
        concept_from_row(_row(_parsed(c, "created_at", "updated_at"))) for c in concepts
    ]
    for start in range(0, len(nodes), CHUNK):
        await graph.upsert_concepts(nodes[start : start + CHUNK])
    # Into an emptied graph, many at a time: the archive's relations already obey the store's
    # rules (one per triple, unique ids), as the store they were read from enforced them.
    by_type: dict[RelationType, list[dict[str, Any]]] = {}
    for record in relations:
        r = relation_from_row(_row(_parsed(record, "created_at")))
        by_type.setdefault(r.type, []).append(
            {"source_id": r.source_id, "target_id": r.target_id, "props": properties_of(r)}
        )
    for kind, rows in by_type.items():
        for start in range(0, len(rows), CHUNK):
            await graph.driver.execute_query(
                "UNWIND $rows AS row\n"
                "MERGE (a:Concept {id: row.source_id})\n"
                "MERGE (b:Concept {id: row.target_id})\n"
                f"CREATE (a)-[r:{type_pattern([kind])}]->(b) SET r = row.props",
                rows=rows[start : start + CHUNK],
                database_=graph.database,
            )


async def write_theses(
    store: MongoThesisStore, theses: Sequence[dict[str, Any]], batch: int = CHUNK
) -> None:
    """The theses into an emptied collection, ``batch`` documents per insert."""
    docs = await store._docs()
    documents = [
        docs.model_validate({"id": th.id, **mongo_values(th)})
        for record in theses
        for th in [thesis_from_row(_row(_parsed(record, "created_at", "updated_at")))]
    ]
    for start in range(0, len(documents), batch):
        await insert_documents(docs, documents[start : start + batch])


async def insert_documents(docs: Any, documents: Sequence[Any]) -> None:
    """One ``insertMany`` (the unit a failing restore is interrupted at in the drills)."""
    await docs.insert_many(list(documents))


async def counts(stores: Stores) -> dict[str, int]:
    """Relations in Neo4j and theses in MongoDB, when they live there."""
    found: dict[str, int] = {}
    if (graph := graph_adapter(stores)) is not None:
        records, _, _ = await graph.driver.execute_query(
            "MATCH (:Concept)-[r]->(:Concept) RETURN count(r) AS n", database_=graph.database
        )
        found["relations"] = int(records[0]["n"])
    if (theses := thesis_adapter(stores)) is not None:
        docs = await theses._docs()
        found["theses"] = int(await docs.get_pymongo_collection().count_documents({}))
    return found


async def wipe(stores: Stores) -> None:
    """Empty Neo4j's concept graph and MongoDB's thesis collection, when they are used."""
    if (graph := graph_adapter(stores)) is not None:
        await graph.driver.execute_query(
            "MATCH (n:Concept) DETACH DELETE n", database_=graph.database
        )
    if (theses := thesis_adapter(stores)) is not None:
        docs = await theses._docs()
        await docs.get_pymongo_collection().delete_many({})
