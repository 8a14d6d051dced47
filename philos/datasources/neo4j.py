"""GraphStore on Neo4j: concepts as nodes, relations as typed relationships, Cypher over Bolt.

The model is ``(:Concept {id, slug, name})-[:INFLUENCED_BY {id, weight, note, provenance, model,
author_id, created_at}]->(:Concept)``: the relationship type is the ``RelationType`` value. The
concept database stays the source of truth; ``relate`` MERGEs the two nodes by id and the outbox
relay fills in slug and name through ``upsert_concepts``.

A duplicate (source, target, type) is refused race-free: MERGE of a relationship between two
bound nodes locks both nodes before it creates, so of two writers of one triple exactly one
creates it and the other finds it. A duplicate relation id is refused by the per-type uniqueness
constraint, and across types by a check in the same transaction (two writers racing with one id
under two different types are not caught; ids are UUIDs).

Every value reaches the server as a parameter. Relationship types cannot be parameters, so
patterns name them from ``RelationType`` members only (``type_pattern``); no outside string is
ever spliced into a query. The shared query text and the record mapping are in
``neo4j_queries``.

Answers match the SQL adapter's, tie-breaks included:

- walks (``neighbours``, ``subgraph``, ``shortest_path``) go breadth-first, one query per level
  over the whole frontier (``UNWIND $frontier``), inside one read transaction. Each level expands
  only the nodes first reached by the level before, so a walk is at most ``depth`` queries that
  read each relationship at most once from each end; a variable-length pattern would enumerate
  every path instead, which grows exponentially with depth in a cyclic graph. The walk is
  bounded by the depth it is given; the API caps that (1–3 steps, 1–6 for paths).
- ``shortest_path`` keeps, for each node found, the relationships that reached it from the level
  before, then walks back from the target taking the lowest ``(type, id)`` at each step: the rule
  the SQL adapter applies with one query per step.

``setup`` creates a uniqueness constraint on ``Concept.id`` (MERGE and every lookup by concept
id use its index) and one on ``id`` for each relationship type: lookups by relation id seek
those indexes in a ``UNION`` over the types, since Neo4j has no property index across types.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import Any

from neo4j import (
    AsyncDriver,
    AsyncGraphDatabase,
    AsyncManagedTransaction,
    AsyncSession,
    RoutingControl,
)
from neo4j.exceptions import ConstraintError

from philos.datasources.neo4j_queries import (
    ARROWS,
    GET_RELATIONS,
    RELATION_EXISTS,
    RELATIONS,
    REMOVE_RELATION,
    properties_of,
    relations_from,
    type_pattern,
)
from philos.datasources.shared import group_edges
from philos.domain import (
    Concept,
    ConflictError,
    Direction,
    Page,
    PageResult,
    Path,
    Relation,
    RelationFilter,
    RelationType,
)

__all__ = ["Neo4jGraphStore", "type_pattern"]

# Transaction functions (managed transactions may run them again on a transient error) ---------


async def _relations_by_id(tx: AsyncManagedTransaction, ids: Sequence[str]) -> dict[str, Relation]:
    result = await tx.run(GET_RELATIONS, ids=list(dict.fromkeys(ids)))
    return {rel.id: rel for rel in relations_from(await result.single())}


async def _walk(
    tx: AsyncManagedTransaction,
    root: str,
    depth: int,
    direction: Direction,
    types: Sequence[RelationType] | None,
) -> dict[str, int]:
    """Breadth-first distances from ``root`` (included, at 0) up to ``depth`` steps."""
    query = (
        "UNWIND $frontier AS fid\n"
        f"MATCH (:Concept {{id: fid}}){ARROWS[direction].format(types=type_pattern(types))}(m)\n"
        "WHERE NOT m.id IN $seen\n"
        "RETURN DISTINCT m.id AS id"
    )
    distance = {root: 0}
    frontier = [root]
    for level in range(1, depth + 1):
        if not frontier:
            break
        result = await tx.run(query, frontier=frontier, seen=list(distance))
        frontier = [record["id"] async for record in result]
        distance.update((cid, level) for cid in frontier)
    return distance


async def _shortest_path(
    tx: AsyncManagedTransaction,
    from_id: str,
    to_id: str,
    max_depth: int,
    types: Sequence[RelationType] | None,
) -> Path | None:
    query = (
        "UNWIND $frontier AS fid\n"
        f"MATCH (:Concept {{id: fid}})-[r:{type_pattern(types)}]-(m)\n"
        "WHERE NOT m.id IN $seen\n"
        "RETURN fid AS via, m.id AS id, type(r) AS type, r.id AS rel_id"
    )
    seen = {from_id}
    frontier = [from_id]
    # node -> every (type, relation id, node one level closer) that reaches it
    steps: dict[str, list[tuple[str, str, str]]] = {}
    for _ in range(max_depth):
        if not frontier or to_id in seen:
            break
        result = await tx.run(query, frontier=frontier, seen=list(seen))
        found: dict[str, None] = {}
        async for record in result:
            steps.setdefault(record["id"], []).append(
                (record["type"], record["rel_id"], record["via"])
            )
            found[record["id"]] = None
        frontier = list(found)
        seen.update(frontier)
    if to_id not in seen:
        return None
    ids = [to_id]
    chosen: list[str] = []
    current = to_id
    while current != from_id:
        _type, rel_id, current = min(steps[current])
        chosen.append(rel_id)
        ids.append(current)
    by_id = await _relations_by_id(tx, chosen)
    ids.reverse()
    chosen.reverse()
    return Path(concept_ids=ids, relations=[by_id[rid] for rid in chosen])


async def _subgraph(
    tx: AsyncManagedTransaction,
    root_id: str,
    depth: int,
    types: Sequence[RelationType] | None,
    max_nodes: int,
) -> tuple[list[str], list[Relation], bool]:
    distance = await _walk(tx, root_id, depth, Direction.BOTH, types)
    reach = [(cid, d) for cid, d in distance.items() if cid != root_id]
    ordered = sorted(reach, key=lambda kv: (kv[1], kv[0]))
    # the same cut as the SQL adapter, slice arithmetic included
    truncated = len(ordered) > max_nodes - 1
    nodes = [root_id] + [cid for cid, _ in ordered[: max_nodes - 1]]
    result = await tx.run(
        "UNWIND $ids AS key\n"
        f"MATCH (a:Concept {{id: key}})-[r:{type_pattern(types)}]->(b:Concept)\n"
        "WHERE b.id IN $ids\n"
        "WITH a, r, b ORDER BY type(r), r.id\n"
        f"RETURN {RELATIONS}",
        ids=nodes,
    )
    edges = relations_from(await result.single())
    return nodes, edges, truncated


async def _relate(tx: AsyncManagedTransaction, relation: Relation) -> str | None:
    """Create the relation; the reason it already exists otherwise."""
    result = await tx.run(RELATION_EXISTS, id=relation.id)
    record = await result.single(strict=True)
    if record["found"]:
        return f"A relation with id '{relation.id}' already exists."
    # MERGE between two bound nodes locks both before it creates (LockingMerge), so of two
    # racing writers of one triple exactly one creates and the other finds it.
    result = await tx.run(
        "MERGE (a:Concept {id: $source_id})\n"
        "MERGE (b:Concept {id: $target_id})\n"
        f"MERGE (a)-[r:{type_pattern([relation.type])}]->(b)\n"
        "ON CREATE SET r += $props",
        source_id=relation.source_id,
        target_id=relation.target_id,
        props=properties_of(relation),
    )
    summary = await result.consume()
    if summary.counters.relationships_created == 0:
        return (
            f"These concepts are already related by {relation.type.value}; "
            "a (source, target, type) triple can exist only once."
        )
    return None


class Neo4jGraphStore:
    """The relationship graph in Neo4j 5 (Community is enough)."""

    name = "neo4j"

    def __init__(
        self,
        uri: str,
        *,
        user: str | None = None,
        password: str | None = None,
        database: str | None = None,
    ) -> None:
        auth = (user or "neo4j", password or "") if (user or password) else None
        self._driver = AsyncGraphDatabase.driver(uri, auth=auth)
        self.database = database

    @property
    def driver(self) -> AsyncDriver:
        """The underlying driver, for administration and instrumentation."""
        return self._driver

    def _session(self) -> AsyncSession:
        # share execute_query's bookmarks so a read in a session sees an earlier write
        return self._driver.session(
            database=self.database,
            bookmark_manager=self._driver.execute_query_bookmark_manager,
        )

    async def setup(self) -> None:
        """Create the constraints (and with them the indexes) the queries rely on."""
        statements = [
            "CREATE CONSTRAINT concept_id IF NOT EXISTS FOR (c:Concept) REQUIRE c.id IS UNIQUE"
        ]
        statements += [
            f"CREATE CONSTRAINT relation_id_{t.value.lower()} IF NOT EXISTS "
            f"FOR ()-[r:{t.value}]-() REQUIRE r.id IS UNIQUE"
            for t in RelationType
        ]
        for statement in statements:
            await self._driver.execute_query(statement, database_=self.database)

    async def ping(self) -> None:
        await self._driver.execute_query(
            "RETURN 1", database_=self.database, routing_=RoutingControl.READ
        )

    async def aclose(self) -> None:
        await self._driver.close()

    async def get_relations(self, ids: Sequence[str]) -> dict[str, Relation]:
        if not ids:
            return {}
        async with self._session() as session:
            return await session.execute_read(_relations_by_id, ids)

    async def list_relations(self, filter: RelationFilter, page: Page) -> PageResult[Relation]:
        types = type_pattern([filter.type] if filter.type else None)
        conds = [
            cond
            for cond, given in (
                ("a.id = $source", filter.source_id is not None),
                ("b.id = $target", filter.target_id is not None),
            )
            if given
        ]
        match = f"MATCH (a:Concept)-[r:{types}]->(b:Concept)"

        def where(*extra: str) -> str:
            both = [*conds, *extra]
            return f" WHERE {' AND '.join(both)}" if both else ""

        params: dict[str, Any] = {
            "source": filter.source_id,
            "target": filter.target_id,
            "after": page.after.id if page.after is not None else None,
            "take": page.limit + 1,
        }

        async def read(cypher: str) -> list[Any]:
            records, _, _ = await self._driver.execute_query(
                cypher, params, database_=self.database, routing_=RoutingControl.READ
            )
            return list(records)

        counted = await read(f"{match}{where()} RETURN count(r) AS total")
        seek = where("r.id > $after") if page.after is not None else where()
        records = await read(
            f"{match}{seek} WITH a, r, b ORDER BY r.id LIMIT $take RETURN {RELATIONS}"
        )
        before = False
        if page.after is not None:
            before = bool(await read(f"{match}{where('r.id <= $after')} RETURN r.id LIMIT 1"))
        found = relations_from(records[0] if records else None)
        return PageResult(
            items=found[: page.limit],
            total=int(counted[0]["total"]),
            has_next=len(found) > page.limit,
            has_previous=before,
        )

    async def edges_of(
        self,
        concept_ids: Sequence[str],
        direction: Direction,
        types: Sequence[RelationType] | None = None,
    ) -> dict[str, builtins.list[Relation]]:
        if not concept_ids:
            return {}
        pattern = ARROWS[direction].format(types=type_pattern(types))
        records, _, _ = await self._driver.execute_query(
            "UNWIND $ids AS key\n"
            f"MATCH (:Concept {{id: key}}){pattern}()\n"
            "WITH DISTINCT r\n"
            "MATCH (a)-[r]->(b)\n"
            "WITH a, r, b ORDER BY type(r), r.weight DESC, r.id\n"
            f"RETURN {RELATIONS}",
            ids=list(dict.fromkeys(concept_ids)),
            database_=self.database,
            routing_=RoutingControl.READ,
        )
        return group_edges(relations_from(records[0] if records else None), concept_ids, direction)

    async def edges_with_ends(
        self,
        concept_ids: Sequence[str],
        direction: Direction,
        types: Sequence[RelationType] | None = None,
    ) -> tuple[dict[str, builtins.list[Relation]], dict[str, Concept]]:
        # The nodes hold a projection of the concepts (id, slug, name), relayed from the
        # concept store: the concepts themselves are read there.
        return await self.edges_of(concept_ids, direction, types), {}

    async def neighbours(
        self,
        concept_id: str,
        depth: int,
        types: Sequence[RelationType] | None = None,
        direction: Direction = Direction.BOTH,
    ) -> dict[str, int]:
        async with self._session() as session:
            distance = await session.execute_read(_walk, concept_id, depth, direction, types)
        return {cid: d for cid, d in distance.items() if cid != concept_id}

    async def shortest_path(
        self,
        from_id: str,
        to_id: str,
        max_depth: int,
        types: Sequence[RelationType] | None = None,
    ) -> Path | None:
        if from_id == to_id:
            return Path(concept_ids=[from_id], relations=[])
        async with self._session() as session:
            return await session.execute_read(_shortest_path, from_id, to_id, max_depth, types)

    async def subgraph(
        self,
        root_id: str,
        depth: int,
        types: Sequence[RelationType] | None = None,
        max_nodes: int = 500,
    ) -> tuple[builtins.list[str], builtins.list[Relation], bool]:
        async with self._session() as session:
            return await session.execute_read(_subgraph, root_id, depth, types, max_nodes)

    async def relate(self, relation: Relation) -> Relation:
        try:
            async with self._session() as session:
                problem = await session.execute_write(_relate, relation)
        except ConstraintError as exc:  # the same id, concurrently, under the same type
            raise ConflictError(f"A relation with id '{relation.id}' already exists.") from exc
        if problem is not None:
            raise ConflictError(problem)
        return relation

    async def remove_relation(self, relation_id: str) -> bool:
        return await self.remove_relation_ends(relation_id) is not None

    async def remove_relation_ends(self, relation_id: str) -> tuple[str, str] | None:
        """Remove the relation; its (source, target) concept ids, or None if there was none."""
        records, _, _ = await self._driver.execute_query(
            REMOVE_RELATION, id=relation_id, database_=self.database
        )
        if not records:
            return None
        return str(records[0]["source"]), str(records[0]["target"])

    async def upsert_concepts(self, concepts: Sequence[Concept]) -> None:
        if not concepts:
            return
        await self._driver.execute_query(
            "UNWIND $rows AS row\n"
            "MERGE (c:Concept {id: row.id})\n"
            "SET c.slug = row.slug, c.name = row.name",
            rows=[{"id": c.id, "slug": c.slug, "name": c.name} for c in concepts],
            database_=self.database,
        )

    async def remove_concept(self, concept_id: str) -> None:
        await self._driver.execute_query(
            "MATCH (c:Concept {id: $id}) DETACH DELETE c", id=concept_id, database_=self.database
        )
