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

import asyncio
import builtins
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from neo4j import (
    AsyncDriver,
    AsyncGraphDatabase,
    AsyncManagedTransaction,
    AsyncSession,
    EagerResult,
    RoutingControl,
)
from neo4j.exceptions import ConstraintError

from philos.config import STORE_IO_TIMEOUT
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

T = TypeVar("T")

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
        io_timeout: float = STORE_IO_TIMEOUT,
    ) -> None:
        """``io_timeout`` bounds each call on the driver (connecting, waiting for a pooled
        connection, the query and its retries): a call a request gave up on
        (``timeouts.within``) cannot hold its connection for longer. The driver has no read
        timeout of its own; the server's hint (``connection.recv_timeout_seconds``, 120 s by
        default) is the only other bound, so each call runs under ``asyncio.timeout``, and
        the driver drops a connection whose call was cut off."""
        auth = (user or "neo4j", password or "") if (user or password) else None
        self._driver = AsyncGraphDatabase.driver(
            uri,
            auth=auth,
            connection_timeout=io_timeout,
            connection_acquisition_timeout=io_timeout,
            max_transaction_retry_time=io_timeout,
        )
        self._io_timeout = io_timeout
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

    async def _query(
        self, cypher: str, parameters: dict[str, Any] | None = None, *, read: bool = False
    ) -> EagerResult:
        """One auto-retried statement, bounded by the store's I/O timeout."""
        routing = RoutingControl.READ if read else RoutingControl.WRITE
        async with asyncio.timeout(self._io_timeout):
            return await self._driver.execute_query(
                cypher, parameters, database_=self.database, routing_=routing
            )

    async def _transaction(self, work: Callable[..., Awaitable[T]], *args: Any, read: bool) -> T:
        """A managed transaction running ``work(tx, *args)``, bounded like ``_query``."""
        async with asyncio.timeout(self._io_timeout), self._session() as session:
            if read:
                return await session.execute_read(work, *args)
            return await session.execute_write(work, *args)

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
            await self._query(statement)

    async def ping(self) -> None:
        await self._query("RETURN 1", read=True)

    async def aclose(self) -> None:
        await self._driver.close()

    async def get_relations(self, ids: Sequence[str]) -> dict[str, Relation]:
        if not ids:
            return {}
        return await self._transaction(_relations_by_id, ids, read=True)

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
            return list((await self._query(cypher, params, read=True)).records)

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
        records, _, _ = await self._query(
            "UNWIND $ids AS key\n"
            f"MATCH (:Concept {{id: key}}){pattern}()\n"
            "WITH DISTINCT r\n"
            "MATCH (a)-[r]->(b)\n"
            "WITH a, r, b ORDER BY type(r), r.weight DESC, r.id\n"
            f"RETURN {RELATIONS}",
            {"ids": list(dict.fromkeys(concept_ids))},
            read=True,
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
        distance = await self._transaction(_walk, concept_id, depth, direction, types, read=True)
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
        return await self._transaction(_shortest_path, from_id, to_id, max_depth, types, read=True)

    async def subgraph(
        self,
        root_id: str,
        depth: int,
        types: Sequence[RelationType] | None = None,
        max_nodes: int = 500,
    ) -> tuple[builtins.list[str], builtins.list[Relation], bool]:
        return await self._transaction(_subgraph, root_id, depth, types, max_nodes, read=True)

    async def relate(self, relation: Relation) -> Relation:
        try:
            problem = await self._transaction(_relate, relation, read=False)
        except ConstraintError as exc:  # the same id, concurrently, under the same type
            raise ConflictError(f"A relation with id '{relation.id}' already exists.") from exc
        if problem is not None:
            raise ConflictError(problem)
        return relation

    async def remove_relation(self, relation_id: str) -> bool:
        return await self.remove_relation_ends(relation_id) is not None

    async def remove_relation_ends(self, relation_id: str) -> tuple[str, str] | None:
        """Remove the relation; its (source, target) concept ids, or None if there was none."""
        records, _, _ = await self._query(REMOVE_RELATION, {"id": relation_id})
        if not records:
            return None
        return str(records[0]["source"]), str(records[0]["target"])

    async def upsert_concepts(self, concepts: Sequence[Concept]) -> None:
        if not concepts:
            return
        await self._query(
            "UNWIND $rows AS row\n"
            "MERGE (c:Concept {id: row.id})\n"
            "SET c.slug = row.slug, c.name = row.name",
            {"rows": [{"id": c.id, "slug": c.slug, "name": c.name} for c in concepts]},
        )

    async def remove_concept(self, concept_id: str) -> None:
        await self._query("MATCH (c:Concept {id: $id}) DETACH DELETE c", {"id": concept_id})
