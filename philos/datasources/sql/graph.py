"""GraphStore on SQL: relations as rows, traversal by recursive CTEs.

The walk CTE collects distinct ``(concept, depth)`` pairs with ``UNION`` (not ``UNION ALL``), so a
cycle can only repeat a pair that is already there: the depth limit plus that de-duplication bound
the walk to ``nodes × depth`` rows however the graph loops.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from operator import itemgetter
from typing import Any

from sqlalchemy import (
    CTE,
    ColumnElement,
    Integer,
    Row,
    Select,
    String,
    all_,
    and_,
    any_,
    bindparam,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    union_all,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import IntegrityError

from philos.datasources.outbox import record_event
from philos.datasources.shared import group_edges
from philos.datasources.sql import SqlStore
from philos.datasources.sql.common import aware, is_missing_reference, missing_concept
from philos.datasources.sql.concepts import CONCEPT_ID_AT, concept_at
from philos.datasources.sql.tables import concepts_t, relations_t
from philos.domain import (
    Concept,
    ConflictError,
    Direction,
    NotFoundError,
    Page,
    PageResult,
    Path,
    Provenance,
    ProvenanceKind,
    Relation,
    RelationFilter,
    RelationType,
)

r = relations_t.c
# A concept's relations: by type, the strongest first (``GraphStore.edges_of``); also rendered
# into the compiled statements (philos/compile/columns.py).
EDGE_ORDER = (r.type, r.weight.desc(), r.id)


def relation_from_row(row: Row[Any]) -> Relation:
    """The relation in ``row``, its columns named as in the relations table."""
    m = row._mapping
    return _relation(*(m[name] for name in _RELATION_FIELDS))


# The relation's columns in the order ``_relation`` takes them, and where each is in a row of
# ``select(relations_t)`` (the relations' columns first, as every statement here selects them).
_RELATION_FIELDS = (
    "id", "source_id", "target_id", "type", "weight", "note", "provenance", "model", "author_id",
    "created_at",
)  # fmt: skip
_RELATION_AT = itemgetter(*(relations_t.columns.keys().index(name) for name in _RELATION_FIELDS))
_TYPES = {t.value: t for t in RelationType}
_KINDS = {k.value: k for k in ProvenanceKind}


def _relation(
    id: str,
    source_id: str,
    target_id: str,
    type: str,
    weight: float,
    note: str | None,
    provenance: str,
    model: str | None,
    author_id: str | None,
    created_at: Any,
) -> Relation:
    return Relation(
        id=id,
        source_id=source_id,
        target_id=target_id,
        type=_TYPES.get(type) or RelationType(type),
        weight=weight,
        note=note,
        provenance=Provenance(
            kind=_KINDS.get(provenance) or ProvenanceKind(provenance), model=model
        ),
        author_id=author_id,
        created_at=aware(created_at),
    )


def relation_at(row: Row[Any]) -> Relation:
    """The relation in a row whose first columns are the relations table's, in its order (a
    row of ``select(relations_t, …)``). By position, which costs a fraction of reading by
    name."""
    return _relation(*_RELATION_AT(row))


def _touching(keys: Any, direction: Direction, array: bool = False) -> ColumnElement[bool]:
    """Relations with an end among ``keys`` (ids, or a parameter bound to them; ``array``: a
    PostgreSQL array parameter) on the side ``direction`` names."""
    if direction is Direction.OUTGOING:
        return _among(r.source_id, keys, array)
    if direction is Direction.INCOMING:
        return _among(r.target_id, keys, array)
    return or_(_among(r.source_id, keys, array), _among(r.target_id, keys, array))


def _among(column: ColumnElement[str], keys: Any, array: bool) -> ColumnElement[bool]:
    return column == any_(keys) if array else column.in_(keys)


# The ends a relation list's items lead to, away from the concepts it was asked for.
_OTHER_ENDS = {
    Direction.OUTGOING: (r.target_id,),
    Direction.INCOMING: (r.source_id,),
    Direction.BOTH: (r.source_id, r.target_id),
}


def _type_filter(types: Sequence[RelationType] | None) -> list[Any]:
    return [r.type.in_([t.value for t in types])] if types else []


@functools.cache
def _with_ends(
    direction: Direction, typed: bool, array: bool
) -> tuple[Select[Any], tuple[int, ...]]:
    """``edges_with_ends``'s statement, built once per direction (whether types are given,
    and the parameters' kind), and where each other end's columns start in its rows. Each
    other end is joined after the relation's columns (``end0_name`` …), only where it is not
    one of the concepts asked for: one row per relation. The ids are bound as ``keys``, the
    types as ``types``; with ``array`` (PostgreSQL) each as one array, so the statement's text
    is the same for any number of them (an expanding ``IN`` is rendered anew on every
    execution, and is a new prepared statement for each length)."""
    keys: Any = bindparam("keys", type_=ARRAY(String)) if array else _expanding("keys")
    joined: Any = relations_t
    starts: list[int] = []
    labelled: list[Any] = []
    for n, end in enumerate(_OTHER_ENDS[direction]):
        other = concepts_t.alias(f"end{n}")
        elsewhere = end != all_(keys) if array else end.not_in(keys)
        joined = joined.outerjoin(other, and_(other.c.id == end, elsewhere))
        starts.append(len(relations_t.columns) + len(labelled))
        labelled.extend(col.label(f"end{n}_{col.name}") for col in other.c)
    conds = [_touching(keys, direction, array)]
    if typed:
        types = bindparam("types", type_=ARRAY(String)) if array else _expanding("types")
        conds.append(_among(r.type, types, array))
    stmt = select(relations_t, *labelled).select_from(joined).where(*conds).order_by(*EDGE_ORDER)
    return stmt, tuple(starts)


def _expanding(name: str) -> Any:
    return bindparam(name, expanding=True)


def _steps(direction: Direction, types: Sequence[RelationType] | None) -> CTE:
    """One row per traversable step ``a -> b`` in the requested direction."""
    conds = _type_filter(types)
    forward = select(r.source_id.label("a"), r.target_id.label("b")).where(*conds)
    backward = select(r.target_id.label("a"), r.source_id.label("b")).where(*conds)
    if direction is Direction.OUTGOING:
        return forward.cte("steps")
    if direction is Direction.INCOMING:
        return backward.cte("steps")
    return union_all(forward, backward).cte("steps")


def _walk(root: str, depth: int, direction: Direction, types: Sequence[RelationType] | None) -> Any:
    steps = _steps(direction, types)
    start = select(literal(root, String).label("cid"), literal(0, Integer).label("depth")).cte(
        "walk", recursive=True
    )
    step = (
        select(steps.c.b, (start.c.depth + 1).label("depth"))
        .join(start, steps.c.a == start.c.cid)
        .where(start.c.depth < depth)
    )
    walk = start.union(step)
    return select(walk.c.cid, func.min(walk.c.depth).label("distance")).group_by(walk.c.cid)


class SqlGraphStore(SqlStore):
    async def get_relations(self, ids: Sequence[str]) -> dict[str, Relation]:
        if not ids:
            return {}
        async with self.db.connect() as conn:
            rows = await conn.execute(select(relations_t).where(r.id.in_(set(ids))))
        return {row.id: relation_at(row) for row in rows}

    async def list_relations(self, filter: RelationFilter, page: Page) -> PageResult[Relation]:
        conds = []
        if filter.type is not None:
            conds.append(r.type == filter.type.value)
        if filter.source_id is not None:
            conds.append(r.source_id == filter.source_id)
        if filter.target_id is not None:
            conds.append(r.target_id == filter.target_id)
        seek = [*conds, r.id > page.after.id] if page.after is not None else conds
        rows_stmt = select(relations_t).where(*seek).order_by(r.id).limit(page.limit + 1)
        count_stmt = select(func.count()).select_from(relations_t).where(*conds)
        async with self.db.connect() as conn:
            rows = (await conn.execute(rows_stmt)).all()
            total = int((await conn.execute(count_stmt)).scalar_one())
            before = False
            if page.after is not None:
                first = select(r.id).where(*conds, r.id <= page.after.id).limit(1)
                before = (await conn.execute(first)).first() is not None
        return PageResult(
            items=[relation_at(row) for row in rows[: page.limit]],
            total=total,
            has_next=len(rows) > page.limit,
            has_previous=before,
        )

    async def edges_of(
        self,
        concept_ids: Sequence[str],
        direction: Direction,
        types: Sequence[RelationType] | None = None,
    ) -> dict[str, list[Relation]]:
        if not concept_ids:
            return {}
        keys = set(concept_ids)
        stmt = (
            select(relations_t)
            .where(_touching(keys, direction), *_type_filter(types))
            .order_by(*EDGE_ORDER)
        )
        async with self.db.connect() as conn:
            rows = (await conn.execute(stmt)).all()
        return group_edges((relation_at(row) for row in rows), concept_ids, direction)

    async def edges_with_ends(
        self,
        concept_ids: Sequence[str],
        direction: Direction,
        types: Sequence[RelationType] | None = None,
    ) -> tuple[dict[str, list[Relation]], dict[str, Concept]]:
        if not concept_ids:
            return {}, {}
        stmt, starts = _with_ends(direction, bool(types), not self.db.is_sqlite)
        params: dict[str, Any] = {"keys": sorted(set(concept_ids))}
        if types:
            params["types"] = [t.value for t in types]
        async with self.db.connect() as conn:
            rows = (await conn.execute(stmt, params)).all()
        ends: dict[str, Concept] = {}
        for row in rows:
            for start in starts:
                end_id = row[start + CONCEPT_ID_AT]
                if end_id is not None and end_id not in ends:
                    ends[end_id] = concept_at(row, start)
        edges = group_edges((relation_at(row) for row in rows), concept_ids, direction)
        return edges, ends

    async def neighbours(
        self,
        concept_id: str,
        depth: int,
        types: Sequence[RelationType] | None = None,
        direction: Direction = Direction.BOTH,
    ) -> dict[str, int]:
        async with self.db.connect() as conn:
            rows = await conn.execute(_walk(concept_id, depth, direction, types))
            return {row.cid: row.distance for row in rows if row.cid != concept_id}

    async def shortest_path(
        self,
        from_id: str,
        to_id: str,
        max_depth: int,
        types: Sequence[RelationType] | None = None,
    ) -> Path | None:
        if from_id == to_id:
            return Path(concept_ids=[from_id], relations=[])
        async with self.db.connect() as conn:
            rows = await conn.execute(_walk(from_id, max_depth, Direction.BOTH, types))
            distance = {row.cid: row.distance for row in rows}
            if to_id not in distance:
                return None
            # Walk back from the target, each step to a node one closer to the source; ties
            # go to the lowest (type, id) so the same graph always gives the same path.
            ids = [to_id]
            rels: list[Relation] = []
            current = to_id
            for k in range(distance[to_id] - 1, -1, -1):
                closer = [cid for cid, d in distance.items() if d == k]
                stmt = (
                    select(relations_t)
                    .where(
                        or_(
                            and_(r.source_id == current, r.target_id.in_(closer)),
                            and_(r.target_id == current, r.source_id.in_(closer)),
                        ),
                        *_type_filter(types),
                    )
                    .order_by(r.type, r.id)
                    .limit(1)
                )
                row = (await conn.execute(stmt)).first()
                if row is None:  # pragma: no cover - the distances guarantee a step exists
                    return None
                rel = relation_at(row)
                current = rel.source_id if rel.target_id == current else rel.target_id
                ids.append(current)
                rels.append(rel)
        ids.reverse()
        rels.reverse()
        return Path(concept_ids=ids, relations=rels)

    async def subgraph(
        self,
        root_id: str,
        depth: int,
        types: Sequence[RelationType] | None = None,
        max_nodes: int = 500,
    ) -> tuple[list[str], list[Relation], bool]:
        reach = await self.neighbours(root_id, depth, types, Direction.BOTH)
        ordered = sorted(reach.items(), key=lambda kv: (kv[1], kv[0]))
        truncated = len(ordered) > max_nodes - 1
        nodes = [root_id] + [cid for cid, _ in ordered[: max_nodes - 1]]
        keys = set(nodes)
        stmt = (
            select(relations_t)
            .where(r.source_id.in_(keys), r.target_id.in_(keys), *_type_filter(types))
            .order_by(r.type, r.id)
        )
        async with self.db.connect() as conn:
            rows = await conn.execute(stmt)
            edges = [relation_at(row) for row in rows]
        return nodes, edges, truncated

    async def relate(self, relation: Relation) -> Relation:
        values = {
            "id": relation.id,
            "source_id": relation.source_id,
            "target_id": relation.target_id,
            "type": relation.type.value,
            "weight": relation.weight,
            "note": relation.note,
            "provenance": relation.provenance.kind.value,
            "model": relation.provenance.model,
            "author_id": relation.author_id,
            "created_at": relation.created_at,
        }
        try:
            async with self.db.begin() as conn:
                await conn.execute(insert(relations_t).values(**values))
                if self.events:
                    await record_event(
                        conn,
                        "relation.created",
                        relation.id,
                        version=1,
                        concept_ids=[relation.source_id, relation.target_id],
                    )
        except IntegrityError as exc:
            if is_missing_reference(exc):  # a concept was deleted since it was looked up
                async with self.db.connect() as conn:
                    gone = await missing_concept(conn, [relation.source_id, relation.target_id])
                raise NotFoundError("concept", gone or relation.source_id) from exc
            raise ConflictError(
                f"These concepts are already related by {relation.type.value}; "
                "a (source, target, type) triple can exist only once."
            ) from exc
        self._evented()
        return relation

    async def remove_relation(self, relation_id: str) -> bool:
        async with self.db.begin() as conn:
            row = (
                await conn.execute(select(r.source_id, r.target_id).where(r.id == relation_id))
            ).first()
            result = await conn.execute(delete(relations_t).where(r.id == relation_id))
            if result.rowcount and row is not None and self.events:
                await record_event(
                    conn,
                    "relation.deleted",
                    relation_id,
                    version=2,
                    concept_ids=[row.source_id, row.target_id],
                )
        if result.rowcount:
            self._evented()
        return bool(result.rowcount)

    async def upsert_concepts(self, concepts: Sequence[Concept]) -> None:
        return None  # concepts are read from the concepts table itself

    async def remove_concept(self, concept_id: str) -> None:
        async with self.db.begin() as conn:
            await conn.execute(
                delete(relations_t).where(or_(r.source_id == concept_id, r.target_id == concept_id))
            )
