"""The outbox and its relay: how concept changes reach a separate graph or thesis store.

A concept change and its outbox entries (one per store that must hear of it) commit in one SQL
transaction, so entries exist exactly when the change happened. The relay applies each store's
entries in order, each idempotently (a node upsert by id; a delete that is a no-op the second
time), deleting an entry once it is applied. A failing entry stays, with its error, and is
retried after a growing, jittered delay; that store's later entries wait behind it, so changes
are never applied out of order, while the other store's entries go on. Several replicas may
relay at once: an entry being applied is locked (``FOR UPDATE``; others skip that store until
it is done), and applying twice is harmless anyway.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from philos.domain import Concept, utcnow

if TYPE_CHECKING:
    from philos.datasources.ports import GraphStore, ThesisStore
    from philos.datasources.sql import SqlDatabase

logger = logging.getLogger("philos.outbox")

TOPIC_UPSERT = "concept.upsert"
TOPIC_DELETE = "concept.delete"
GRAPH = "graph"
THESES = "theses"
# Which stores hear of which change: only the graph keeps a copy of concepts (id, slug, name).
TARGETS = {TOPIC_UPSERT: (GRAPH,), TOPIC_DELETE: (GRAPH, THESES)}
MAX_DELAY_SECONDS = 60.0


async def enqueue(
    conn: AsyncConnection, topic: str, subject: Concept | str, stores: Sequence[str]
) -> None:
    """Write the entries for ``stores`` (those that are separate) in the caller's transaction."""
    from philos.datasources.sql.tables import outbox_t

    if isinstance(subject, Concept):
        concept_id = subject.id
        payload: dict[str, Any] = {"id": subject.id, "slug": subject.slug, "name": subject.name}
    else:
        concept_id, payload = subject, {"id": subject}
    now = utcnow()
    for target in TARGETS[topic]:
        if target in stores:
            await conn.execute(
                insert(outbox_t).values(
                    topic=topic,
                    target=target,
                    concept_id=concept_id,
                    payload=payload,
                    created_at=now,
                    attempts=0,
                    next_attempt_at=now,
                )
            )


def retry_delay(attempts: int) -> float:
    """Exponential back-off with full jitter, capped."""
    return float(random.uniform(0.5, 1.0) * min(MAX_DELAY_SECONDS, 0.5 * 2**attempts))  # noqa: S311


class OutboxRelay:
    def __init__(
        self,
        db: SqlDatabase,
        graph: GraphStore | None,
        theses: ThesisStore | None,
    ) -> None:
        self.db = db
        self.graph = graph
        self.theses = theses
        self._wake = asyncio.Event()

    @property
    def targets(self) -> list[str]:
        return [name for name, store in ((GRAPH, self.graph), (THESES, self.theses)) if store]

    async def apply(self, target: str, topic: str, payload: dict[str, Any]) -> None:
        if target == GRAPH and self.graph is not None:
            if topic == TOPIC_UPSERT:
                concept = Concept(
                    id=payload["id"], slug=payload["slug"], name=payload["name"], summary=""
                )
                await self.graph.upsert_concepts([concept])
                return
            if topic == TOPIC_DELETE:
                await self.graph.remove_concept(payload["id"])
                return
        if target == THESES and self.theses is not None and topic == TOPIC_DELETE:
            await self.theses.remove_concept(payload["id"])
            return
        raise ValueError(f"no way to apply {topic!r} to {target!r}")

    async def drain(self, limit: int = 500) -> int:
        """Apply each store's due entries in order, until none is due or one fails; returns
        how many were applied."""
        done = 0
        for target in self.targets:
            done += await self._drain(target, limit - done)
        return done

    async def _drain(self, target: str, limit: int) -> int:
        from philos.datasources.sql.tables import outbox_t

        o = outbox_t.c
        done = 0
        while done < limit:
            async with self.db.begin() as conn:
                first = (
                    await conn.execute(
                        select(o.id).where(o.target == target).order_by(o.id).limit(1)
                    )
                ).scalar_one_or_none()
                if first is None:
                    return done
                row = (
                    await conn.execute(
                        select(outbox_t)
                        .where(o.id == first, o.next_attempt_at <= utcnow())
                        .with_for_update(skip_locked=True)
                    )
                ).first()
                if row is None:  # not due yet, or another relay is applying it
                    return done
                try:
                    await self.apply(target, row.topic, row.payload)
                except Exception as exc:  # any failure: keep the entry, retry later
                    delay = retry_delay(row.attempts + 1)
                    logger.warning(
                        "outbox entry %s (%s %s for %s) failed, attempt %s, retry in %.1fs: %r",
                        row.id,
                        row.topic,
                        row.concept_id,
                        target,
                        row.attempts + 1,
                        delay,
                        exc,
                    )
                    await conn.execute(
                        update(outbox_t)
                        .where(o.id == row.id)
                        .values(
                            attempts=row.attempts + 1,
                            next_attempt_at=utcnow() + timedelta(seconds=delay),
                            last_error=repr(exc)[:500],
                        )
                    )
                    return done
                await conn.execute(delete(outbox_t).where(o.id == row.id))
                done += 1
        return done

    async def pending(self) -> int:
        from philos.datasources.sql.tables import outbox_t

        async with self.db.connect() as conn:
            return int(
                (await conn.execute(select(func.count()).select_from(outbox_t))).scalar_one()
            )

    def kick(self) -> None:
        """Ask the running relay to drain now rather than at its next tick."""
        self._wake.set()

    async def run(self, interval: float = 1.0) -> None:
        """Drain forever; cancelled at shutdown."""
        while True:
            try:
                await self.drain()
            except Exception:  # a database hiccup must not kill the relay
                logger.exception("outbox drain failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), interval)
            self._wake.clear()
