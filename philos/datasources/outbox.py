"""The outbox and its relay: how concept changes reach a separate graph or thesis store.

A concept change and its outbox entries (one per store that must hear of it) commit in one SQL
transaction, so entries exist exactly when the change happened. The relay applies each store's
entries in order, each idempotently (a node upsert by id; a delete that is a no-op the second
time), deleting an entry once it is applied. A failing entry stays, with its error, and is
retried after a growing, jittered delay, capped (``PHILOS_OUTBOX_MAX_DELAY``, 5 s); that
store's later entries wait behind it, so changes are never applied out of order, while the other
store's entries go on. A store that failed is watched: the running relay pings it at each
tick, and once a store that was down answers again — or its circuit breaker closes — its
entries are retried at once instead of after their back-off, so the relay catches up within
a second or so of the store's return. Several replicas may
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

from philos.domain import Concept, StoreUnavailableError, new_id, utcnow
from philos.domain.events import DomainEvent
from philos.timeouts import within

if TYPE_CHECKING:
    from philos.datasources.ports import EventBus, GraphStore, ThesisStore
    from philos.datasources.sql import SqlDatabase

logger = logging.getLogger("philos.outbox")

TOPIC_UPSERT = "concept.upsert"
TOPIC_DELETE = "concept.delete"
GRAPH = "graph"
THESES = "theses"
EVENTS = "events"  # domain events for the bus (``EventRelay``)
EVENTS_LOCK = 0x7068696C6F73  # the PostgreSQL advisory lock one publishing relay holds
# Which stores hear of which change: only the graph keeps a copy of concepts (id, slug, name).
TARGETS = {TOPIC_UPSERT: (GRAPH,), TOPIC_DELETE: (GRAPH, THESES)}
DEFAULT_MAX_DELAY_SECONDS = 5.0
PROBE_TIMEOUT_SECONDS = 2.0  # how long the relay waits for a watched store's ping


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


def retry_delay(attempts: int, cap: float = DEFAULT_MAX_DELAY_SECONDS) -> float:
    """Exponential back-off with jitter, capped: after an outage no entry waits long."""
    return float(random.uniform(0.5, 1.0) * min(cap, 0.5 * 2 ** min(attempts, 32)))  # noqa: S311


async def count_pending(db: SqlDatabase, targets: tuple[str, ...]) -> int:
    """How many outbox entries for ``targets`` wait to be applied."""
    from philos.datasources.sql.tables import outbox_t

    async with db.connect() as conn:
        query = select(func.count()).select_from(outbox_t).where(outbox_t.c.target.in_(targets))
        return int((await conn.execute(query)).scalar_one())


class OutboxRelay:
    def __init__(
        self,
        db: SqlDatabase,
        graph: GraphStore | None,
        theses: ThesisStore | None,
        *,
        max_delay: float = DEFAULT_MAX_DELAY_SECONDS,
    ) -> None:
        self.db = db
        self.graph = graph
        self.theses = theses
        self.max_delay = max_delay
        self._wake = asyncio.Event()
        # Targets whose last entry failed -> whether their store has since been seen down
        # (not answering a ping, or refused by its breaker).
        self._watched: dict[str, bool] = {}
        # Targets whose waiting entries are retried at the next drain, back-off or not.
        self._nudged: set[str] = set()

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
            async with self.db.begin(in_turn=False) as conn:  # it waits on the target store
                first = (
                    await conn.execute(
                        select(o.id).where(o.target == target).order_by(o.id).limit(1)
                    )
                ).scalar_one_or_none()
                if first is None:
                    self._watched.pop(target, None)  # nothing waits: no need to watch
                    return done
                due = [o.id == first]
                if target not in self._nudged:
                    due.append(o.next_attempt_at <= utcnow())
                row = (
                    await conn.execute(
                        select(outbox_t).where(*due).with_for_update(skip_locked=True)
                    )
                ).first()
                if row is None:  # not due yet, or another relay is applying it
                    return done
                self._nudged.discard(target)  # a nudge is spent on one attempt
                try:
                    await self.apply(target, row.topic, row.payload)
                except Exception as exc:  # any failure: keep the entry, retry later
                    delay = retry_delay(row.attempts + 1, self.max_delay)
                    # Refused by the breaker, the store was not even asked: say so quietly.
                    log = logger.info if _breaker_open(exc) else logger.warning
                    log(
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
                    self._watched[target] = self._watched.get(target, False) or _breaker_open(exc)
                    return done
                await conn.execute(delete(outbox_t).where(o.id == row.id))
                self._watched.pop(target, None)
                done += 1
        return done

    def nudge(self, target: str | None = None) -> None:
        """The store of ``target`` (default: every target) answers again: retry its waiting
        entries now rather than after their back-off."""
        for name in [target] if target else self.targets:
            self._watched.pop(name, None)
            self._nudged.add(name)
        self._wake.set()

    async def probe(self) -> None:
        """Ping each store whose last entry failed. One that was down and answers again gets
        its entries retried at once; one that answered all along failed for another reason,
        so its back-off alone paces the retries (no tight loop on an entry that cannot apply).
        """
        for target, seen_down in list(self._watched.items()):
            if not await self._answers(target):
                self._watched[target] = True
            elif seen_down:
                logger.info("the %s store answers again: relaying its waiting entries now", target)
                self.nudge(target)
            else:
                self._watched.pop(target, None)

    async def _answers(self, target: str) -> bool:
        """Whether the store answers a ping. The ping goes straight to the store (the guard
        lets pings through unwrapped), so it neither counts against nor resets its breaker."""
        store = self.graph if target == GRAPH else self.theses
        ping = getattr(store, "ping", None)
        if ping is None:
            return True  # nothing to ask: the back-off alone paces the retries
        try:
            await within(ping(), PROBE_TIMEOUT_SECONDS)
        except Exception:  # down, or not back yet
            return False
        return True

    async def pending(self) -> int:
        return await count_pending(self.db, (GRAPH, THESES))

    def kick(self) -> None:
        """Ask the running relay to drain now rather than at its next tick."""
        self._wake.set()

    async def run(self, interval: float = 1.0) -> None:
        """Drain forever; cancelled at shutdown."""
        while True:
            try:
                await self.probe()
                await self.drain()
            except Exception:  # a database hiccup must not kill the relay
                logger.exception("outbox drain failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), interval)
            self._wake.clear()


def _breaker_open(exc: Exception) -> bool:
    return isinstance(exc, StoreUnavailableError) and exc.reason == "circuit open"


# --- domain events ----------------------------------------------------------------------------


async def record_event(
    conn: AsyncConnection,
    kind: str,
    record_id: str,
    *,
    version: int | None,
    concept_ids: Sequence[str] = (),
    extra: dict[str, Any] | None = None,
) -> None:
    """Write the domain event ``kind`` (``concept.updated``) in the caller's transaction: it
    exists exactly when the change committed, and ``EventRelay`` puts it on the bus."""
    from philos.datasources.sql.tables import outbox_t

    now = utcnow()
    payload: dict[str, Any] = {
        # The entry's identity on the bus (its message id). Not the row id: SQLite reuses
        # the id of a deleted last row, and a consumer would drop the new event as a copy.
        "eventId": new_id(),
        "recordId": record_id,
        "version": version,
        "conceptIds": list(concept_ids),
        "occurredAt": now.isoformat(),
    }
    if extra:
        payload["extra"] = extra
    await conn.execute(
        insert(outbox_t).values(
            topic=kind,
            target=EVENTS,
            concept_id=record_id,
            payload=payload,
            created_at=now,
            attempts=0,
            next_attempt_at=now,
        )
    )


def event_of(row: Any) -> DomainEvent:
    payload = row.payload
    return DomainEvent(
        id=str(payload.get("eventId") or row.id),
        kind=row.topic,
        record_id=payload["recordId"],
        version=payload.get("version"),
        concept_ids=tuple(payload.get("conceptIds") or ()),
        occurred_at=payload.get("occurredAt") or "",
        extra=payload.get("extra") or {},
    )


class EventRelay:
    """Publishes the outbox's domain events to the bus, oldest first, and deletes each once
    the bus confirmed it: at least once (a crash between the confirm and the delete publishes
    it again, under the same message id, and consumers drop the copy). While the bus cannot
    take events they wait in the outbox, in order, and the relay retries with a capped
    back-off; ``kick`` (after a write, or when the bus is back) tries at once. On PostgreSQL
    one relay of all the replicas publishes at a time (a transaction-level advisory lock), so
    each record's events go out in the order of its changes."""

    def __init__(
        self,
        db: SqlDatabase,
        bus: EventBus,
        *,
        max_delay: float = DEFAULT_MAX_DELAY_SECONDS,
        on_published: Any = None,
        on_pending: Any = None,
    ) -> None:
        self.db = db
        self.bus = bus
        self.max_delay = max_delay
        self.on_published = on_published  # called with the number published (metrics)
        self.on_pending = on_pending  # called with the number still waiting, after each drain
        self._wake = asyncio.Event()
        self._attempts = 0
        self._not_before = 0.0

    async def drain(self, limit: int = 500) -> int:
        from philos.datasources.sql.tables import outbox_t

        o = outbox_t.c
        done = 0
        while done < limit:
            async with self.db.begin(in_turn=False) as conn:  # it waits on the bus
                if (
                    not self.db.is_sqlite
                    and not (
                        await conn.execute(select(func.pg_try_advisory_xact_lock(EVENTS_LOCK)))
                    ).scalar_one()
                ):
                    return done  # another replica is publishing: one at a time keeps the order
                rows = (
                    await conn.execute(
                        select(outbox_t)
                        .where(o.target == EVENTS)
                        .order_by(o.id)
                        .limit(min(100, limit - done))
                        .with_for_update(skip_locked=True)
                    )
                ).all()
                if not rows:
                    return done
                published: list[int] = []
                try:
                    for row in rows:
                        await self.bus.publish(event_of(row))
                        published.append(row.id)
                except Exception as exc:  # the bus is down: keep the rest, in order
                    self._attempts += 1
                    delay = retry_delay(self._attempts, self.max_delay)
                    self._not_before = asyncio.get_running_loop().time() + delay
                    logger.warning(
                        "publishing event %s failed, attempt %s, retry in %.1fs: %r",
                        rows[len(published)].id,
                        self._attempts,
                        delay,
                        exc,
                    )
                    if published:
                        await conn.execute(delete(outbox_t).where(o.id.in_(published)))
                    return done + len(published)
                await conn.execute(delete(outbox_t).where(o.id.in_(published)))
            self._attempts = 0
            done += len(published)
            if self.on_published is not None:
                self.on_published(len(published))
        return done

    async def pending(self) -> int:
        return await count_pending(self.db, (EVENTS,))

    def kick(self) -> None:
        """Publish now: a change was written, or the bus answers again."""
        self._not_before = 0.0
        self._wake.set()

    async def run(self, interval: float = 1.0) -> None:
        """Publish forever; cancelled at shutdown."""
        loop = asyncio.get_running_loop()
        while True:
            if loop.time() >= self._not_before:
                try:
                    await self.drain()
                except Exception:  # a database hiccup must not kill the relay
                    logger.exception("event outbox drain failed")
            if self.on_pending is not None:
                with contextlib.suppress(Exception):
                    self.on_pending(await self.pending())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), interval)
            self._wake.clear()
