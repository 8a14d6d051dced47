"""Cypher text and record mapping for the Neo4j graph store (``philos.datasources.neo4j``).

Every value reaches the server as a parameter. Relationship types cannot be parameters, so
patterns name them from ``RelationType`` members only (``type_pattern``); no outside string is
ever spliced into a query.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from neo4j import Record

from philos.domain import Direction, Provenance, ProvenanceKind, Relation, RelationType

__all__ = [
    "ARROWS",
    "GET_RELATIONS",
    "RELATIONS",
    "RELATION_EXISTS",
    "REMOVE_RELATION",
    "properties_of",
    "relations_from",
    "type_pattern",
]

_TYPE_NAME = re.compile(r"[A-Z][A-Z_]*")
# Relationship types end up in query text; make sure the enum can only ever put names there.
if not all(_TYPE_NAME.fullmatch(t.value) for t in RelationType):  # pragma: no cover
    raise RuntimeError("every RelationType value must be an upper-case Cypher identifier")

ARROWS = {
    Direction.OUTGOING: "-[r:{types}]->",
    Direction.INCOMING: "<-[r:{types}]-",
    Direction.BOTH: "-[r:{types}]-",
}

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# A list of relations comes back as one record holding a list of rows (``collect``), not as a
# record per relation: the driver reads each record in several small socket reads, each a
# task, which cost more client CPU than the query itself. And ``created_at`` comes back as two
# integers, not as a DateTime, which the driver would build in Python, value by value.
_RELATION_ROW = (
    "[a.id, b.id, type(r), r {.*, created_at: null}, "
    "r.created_at.epochSeconds, r.created_at.nanosecond]"
)
# a, r, b (already ordered) -> the one column ``relations_from`` reads
RELATIONS = f"collect({_RELATION_ROW}) AS rows"


def type_pattern(types: Iterable[RelationType | str] | None) -> str:
    """The relationship-type expression (``IS_A|PART_OF``) for a type filter.

    No filter (None or empty) means every ``RelationType``, so a shared database's other
    relationships never join a walk. Anything that is not a ``RelationType`` value raises
    ``ValueError``: only the enum's names reach the query text.
    """
    chosen = {RelationType(t) for t in types} if types else set(RelationType)
    return "|".join(sorted(t.value for t in chosen))


def _by_relation_id(variable: str) -> str:
    """A subquery binding ``a, r, b`` for the relation whose id is in ``variable``.

    One branch per type, so each one seeks that type's ``id`` index.
    """
    branches = "\n  UNION ALL\n".join(
        f"  MATCH (a:Concept)-[r:{t.value}]->(b:Concept) WHERE r.id = {variable} RETURN a, r, b"
        for t in RelationType
    )
    return f"CALL ({variable}) {{\n{branches}\n}}"


GET_RELATIONS = f"UNWIND $ids AS rid\n{_by_relation_id('rid')}\nRETURN {RELATIONS}"
RELATION_EXISTS = f"WITH $id AS rid\n{_by_relation_id('rid')}\nRETURN count(r) AS found"
# Answers the removed relation's ends, so its event names both concepts.
REMOVE_RELATION = (
    f"WITH $id AS rid\n{_by_relation_id('rid')}\n"
    "WITH r, a.id AS source, b.id AS target\nDELETE r\nRETURN source, target"
)


def _instant(seconds: Any, nanoseconds: Any) -> datetime:
    """A stored zoned DateTime, read as seconds since the epoch and the second's nanoseconds."""
    if not isinstance(seconds, int) or not isinstance(nanoseconds, int):
        raise TypeError(f"expected a stored DateTime, got {seconds!r}, {nanoseconds!r}")
    return _EPOCH + timedelta(seconds=seconds, microseconds=nanoseconds // 1000)


def relations_from(record: Record | None) -> list[Relation]:
    """The relations of a ``RETURN {RELATIONS}`` record, in the order they were collected."""
    return [_relation(row) for row in record["rows"]] if record is not None else []


def _relation(row: list[Any]) -> Relation:
    source_id, target_id, type_, props, seconds, nanoseconds = row
    return Relation(
        id=props["id"],
        source_id=source_id,
        target_id=target_id,
        type=RelationType(type_),
        weight=props["weight"],
        note=props.get("note"),
        provenance=Provenance(kind=ProvenanceKind(props["provenance"]), model=props.get("model")),
        author_id=props.get("author_id"),
        created_at=_instant(seconds, nanoseconds),
    )


def properties_of(relation: Relation) -> dict[str, Any]:
    created = relation.created_at
    return {
        "id": relation.id,
        "weight": float(relation.weight),
        "note": relation.note,
        "provenance": relation.provenance.kind.value,
        "model": relation.provenance.model,
        "author_id": relation.author_id,
        # stored as a zoned DateTime at UTC; a naive value is taken as UTC, as the SQL stores do
        "created_at": created.astimezone(UTC) if created.tzinfo else created.replace(tzinfo=UTC),
    }
