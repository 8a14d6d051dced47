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

Domain events of these writes go to the SQL outbox too: a write that holds its concepts
records its event in the holding transaction (no event for a write that failed); one that
holds none (an update, a delete) records it right after the other store took the write, in a
transaction of its own, so a crash between the two loses that one event.

Once the other store has taken a write, the write is done: the caller is answered its success
even when the SQL database fails before the event is recorded or the hold committed (it went
away, say). That loses the event only, as a crash would, and is logged and counted in
``philos_events_lost_total``; answering the outage instead would have the caller repeat a write
that happened. An outage before the other store is asked fails the write, with nothing written.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from prometheus_client import Counter
from sqlalchemy import select

from philos.datasources.failures import Failure, classify
from philos.datasources.outbox import record_event
from philos.datasources.ports import ConceptHold, GraphStore, ThesisStore
from philos.datasources.sql import SqlDatabase
from philos.datasources.sql.tables import concepts_t
from philos.domain import Argument, NotFoundError, Relation, StoreUnavailableError, Thesis
from philos.metrics import REGISTRY

T = TypeVar("T")
c = concepts_t.c
logger = logging.getLogger("philos.stores")

EVENTS_LOST = Counter(
    "philos_events_lost",
    "Domain events of writes a store outside SQL took that the SQL outbox could not record "
    "(the SQL database failed between the two).",
    ["kind"],
    registry=REGISTRY,
)


class Change:
    """A domain event to record: kind, record id, version, concept ids, extra."""

    def __init__(
        self,
        kind: str,
        record_id: str,
        version: int | None,
        concept_ids: Sequence[str],
        extra: dict[str, Any] | None = None,
    ) -> None:
        self.kind, self.record_id, self.version = kind, record_id, version
        self.concept_ids, self.extra = list(concept_ids), extra


class ConceptAnchor:
    """Runs a write to another store while the concepts it names are held in SQL (the
    ``ConceptHold`` port; the composition root puts it behind the SQL store's guard)."""

    def __init__(self, db: SqlDatabase) -> None:
        self.db = db
        # Set by the composition root when domain events are on (see ``SqlStore.events``).
        self.events = False
        self.on_event: Callable[[], None] | None = None

    async def write(
        self,
        concept_ids: Sequence[str],
        action: Callable[[], Awaitable[T]],
        change: Callable[[T], Change] | None = None,
    ) -> T:
        result = await self._write(concept_ids, action, change)
        if self.events and change is not None and self.on_event is not None:
            self.on_event()
        return result

    async def record(self, change: Change) -> None:
        """The event of a write the other store has taken, in a transaction of its own."""
        if not self.events:
            return
        async with self.db.begin() as conn:
            await _record(conn, change)
        if self.on_event is not None:
            self.on_event()

    async def _write(
        self,
        concept_ids: Sequence[str],
        action: Callable[[], Awaitable[T]],
        change: Callable[[T], Change] | None,
    ) -> T:
        wanted = list(dict.fromkeys(concept_ids))
        taken, recorded = False, None
        try:
            async with self.db.begin_locked() as conn:
                held = (
                    await conn.execute(
                        select(c.id)
                        .where(c.id.in_(wanted))
                        .with_for_update(read=True, key_share=True)
                    )
                ).scalars()
                found = set(held)
                gone = next((i for i in wanted if i not in found), None)
                if gone is not None:
                    raise NotFoundError("concept", gone)
                result = await action()
                taken = True
                if self.events and change is not None:
                    recorded = change(result)
                    await _record(conn, recorded)
        except Exception as exc:
            # Before the other store took the write, a failure fails it: nothing is written,
            # and the SQL store's guard this runs behind judges the database's failure. After
            # it, the write is done and only its event can be lost.
            if not taken:
                raise
            _lost(recorded, exc)
        return result


class _Anchored:
    def __init__(self, inner: object, anchor: ConceptHold) -> None:
        self.inner = inner
        self.anchor = anchor
        self.name: str = getattr(inner, "name", "")

    def __getattr__(self, attr: str) -> object:
        return getattr(self.inner, attr)

    async def _record(self, change: Change) -> None:
        """Record the event of a write the other store took; the SQL store's guard answers
        an outage of the database as unavailable, which loses the event, not the write."""
        try:
            await self.anchor.record(change)
        except StoreUnavailableError as exc:
            _count_lost(change.kind, exc)


class AnchoredGraphStore(_Anchored):
    """A separate graph store whose ``relate`` holds both concepts while it writes."""

    inner: GraphStore

    async def relate(self, relation: Relation) -> Relation:
        return await self.anchor.write(
            [relation.source_id, relation.target_id],
            lambda: self.inner.relate(relation),
            lambda r: Change("relation.created", r.id, 1, [r.source_id, r.target_id]),
        )

    async def remove_relation(self, relation_id: str) -> bool:
        # A store that answers the removed relation's ends (Neo4j) lets the event name both
        # concepts, so relationChanged(conceptId) subscribers hear of the removal.
        remove_with_ends = getattr(self.inner, "remove_relation_ends", None)
        if remove_with_ends is None:
            removed = await self.inner.remove_relation(relation_id)
            ends: list[str] = []
        else:
            found = await remove_with_ends(relation_id)
            removed, ends = found is not None, list(found or ())
        if removed:
            await self._record(Change("relation.deleted", relation_id, 2, ends))
        return bool(removed)


class AnchoredThesisStore(_Anchored):
    """A separate thesis store whose ``create`` holds the thesis's concept while it writes."""

    inner: ThesisStore

    async def create(self, thesis: Thesis) -> Thesis:
        return await self.anchor.write(
            [thesis.concept_id],
            lambda: self.inner.create(thesis),
            lambda t: Change("thesis.created", t.id, t.version, [t.concept_id]),
        )

    async def update(self, thesis: Thesis, expected_version: int | None) -> Thesis:
        stored = await self.inner.update(thesis, expected_version)
        await self._record(_updated(stored))
        return stored

    async def delete(self, thesis_id: str) -> bool:
        before = (await self.inner.get_many([thesis_id])).get(thesis_id)
        deleted = await self.inner.delete(thesis_id)
        if deleted and before is not None:
            change = Change("thesis.deleted", thesis_id, before.version + 1, [before.concept_id])
            await self._record(change)
        return deleted

    async def add_argument(self, thesis_id: str, argument: Argument) -> Thesis:
        stored = await self.inner.add_argument(thesis_id, argument)
        await self._record(_updated(stored, {"argument": "added", "argumentId": argument.id}))
        return stored

    async def remove_argument(self, thesis_id: str, argument_id: str) -> Thesis:
        stored = await self.inner.remove_argument(thesis_id, argument_id)
        extra = {"argument": "removed", "argumentId": argument_id}
        await self._record(_updated(stored, extra))
        return stored


def _lost(change: Change | None, exc: Exception) -> None:
    """After the other store took a write: an SQL outage loses its event (re-raised
    otherwise, a bug of ours)."""
    if classify(exc) is not Failure.OUTAGE:
        raise exc
    _count_lost(change.kind if change is not None else "none", exc)


def _count_lost(kind: str, exc: Exception) -> None:
    EVENTS_LOST.labels(kind).inc()
    logger.warning(
        "the SQL database failed after a write was taken; its %s event is lost: %r",
        kind,
        exc,
    )


def _updated(thesis: Thesis, extra: dict[str, Any] | None = None) -> Change:
    return Change("thesis.updated", thesis.id, thesis.version, [thesis.concept_id], extra)


async def _record(conn: Any, change: Change) -> None:
    await record_event(
        conn,
        change.kind,
        change.record_id,
        version=change.version,
        concept_ids=change.concept_ids,
        extra=change.extra,
    )
