"""Relations and theses kept outside the SQL database stay anchored to their concepts.

In the SQL database foreign keys do this: a row whose concept is gone cannot be written, and
deleting a concept deletes its rows. A relation in Neo4j or a thesis in MongoDB names a concept
that lives in SQL, and the two cannot share a transaction. So:

- a relation or thesis is written to the other store while its concepts' rows are held in SQL,
  in a transaction that locks them as a foreign key would (``FOR KEY SHARE`` on PostgreSQL, the
  write lock on SQLite) and checks they still exist;
- deleting a concept locks its row for update (``SqlConceptStore.delete``), which waits for
  every such hold and makes new ones wait; its outbox entry then removes the concept's records
  from the other store (``datasources/outbox.py``).

Either order of a race ends with nothing pointing at a missing concept. A write that holds the
concept first has finished when the delete reads what the concept has: it is counted when the
delete checks who owns what, and the relay removes it with the rest. A write that comes second
finds the concept gone and answers NotFound without writing anything.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from contextlib import AsyncExitStack
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError

from philos.datasources.ports import GraphStore, ThesisStore
from philos.datasources.sql import SqlDatabase
from philos.datasources.sql.tables import concepts_t
from philos.domain import NotFoundError, Relation, StoreUnavailableError, Thesis

T = TypeVar("T")
c = concepts_t.c


class ConceptAnchor:
    """Runs a write to another store while the concepts it names are held in SQL."""

    def __init__(self, db: SqlDatabase) -> None:
        self.db = db

    async def write(self, concept_ids: Sequence[str], action: Callable[[], Awaitable[T]]) -> T:
        wanted = list(dict.fromkeys(concept_ids))
        async with AsyncExitStack() as stack:
            try:
                conn = await stack.enter_async_context(self.db.begin_locked())
                held = (
                    await conn.execute(
                        select(c.id)
                        .where(c.id.in_(wanted))
                        .with_for_update(read=True, key_share=True)
                    )
                ).scalars()
                found = set(held)
            except (DBAPIError, OSError) as exc:  # OSError: refused, reset, timed out
                raise StoreUnavailableError("sql", type(exc).__name__) from exc
            gone = next((i for i in wanted if i not in found), None)
            if gone is not None:
                raise NotFoundError("concept", gone)
            return await action()
        raise AssertionError("unreachable")  # pragma: no cover - the stack swallows nothing


class _Anchored:
    def __init__(self, inner: object, anchor: ConceptAnchor) -> None:
        self.inner = inner
        self.anchor = anchor
        self.name: str = getattr(inner, "name", "")

    def __getattr__(self, attr: str) -> object:
        return getattr(self.inner, attr)


class AnchoredGraphStore(_Anchored):
    """A separate graph store whose ``relate`` holds both concepts while it writes."""

    inner: GraphStore

    async def relate(self, relation: Relation) -> Relation:
        return await self.anchor.write(
            [relation.source_id, relation.target_id], lambda: self.inner.relate(relation)
        )


class AnchoredThesisStore(_Anchored):
    """A separate thesis store whose ``create`` holds the thesis's concept while it writes."""

    inner: ThesisStore

    async def create(self, thesis: Thesis) -> Thesis:
        return await self.anchor.write([thesis.concept_id], lambda: self.inner.create(thesis))
