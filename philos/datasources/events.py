"""This process's share of the domain events: one listener on the bus, fanned out to every
open subscription here.

Delivery is at least once, so the hub drops what it has already seen: an event id seen before
(a redelivery, or an event the outbox published twice), and a change older than one already
passed on for the same record (its version is not newer). Each subscription has a bounded
queue; one that falls that far behind is closed (``SlowConsumer``) rather than allowed to
hold memory without limit or slow the others.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

from prometheus_client import Counter, Gauge

from philos.datasources.ports import EventBus
from philos.domain.events import DomainEvent
from philos.metrics import REGISTRY

logger = logging.getLogger("philos.events")

EVENTS_PUBLISHED = Counter(
    "philos_events_published", "Domain events the outbox put on the bus.", registry=REGISTRY
)
EVENTS_CONSUMED = Counter(
    "philos_events_consumed", "Domain events this process received.", ["kind"], registry=REGISTRY
)
EVENTS_DUPLICATE = Counter(
    "philos_events_duplicates",
    "Deliveries dropped as already seen (same id, or not newer than the record's last).",
    registry=REGISTRY,
)
EVENTS_REDELIVERED = Counter(
    "philos_events_redelivered", "Deliveries the bus marked as redelivered.", registry=REGISTRY
)
EVENTS_DEAD = Counter(
    "philos_events_dead_lettered", "Events given up on (dead-lettered).", registry=REGISTRY
)
EVENT_LAG = Gauge(
    "philos_events_lag_seconds",
    "Seconds between the last received event's commit and its arrival here.",
    registry=REGISTRY,
)
EVENTS_PENDING = Gauge(
    "philos_events_outbox_pending",
    "Domain events committed but not yet on the bus (RabbitMQ down, or behind).",
    registry=REGISTRY,
)
OPEN_SUBSCRIPTIONS = Gauge(
    "philos_subscriptions_open", "Subscriptions open on this process.", registry=REGISTRY
)
SLOW_CLOSED = Counter(
    "philos_subscriptions_slow_closed",
    "Subscriptions closed because their client read too slowly.",
    registry=REGISTRY,
)

SEEN_IDS = 50_000
SEEN_RECORDS = 50_000
DEFAULT_QUEUE_SIZE = 100


class SlowConsumer(Exception):
    """The subscriber fell ``queue_size`` events behind and was closed."""


@dataclass(eq=False)
class Listener:
    accepts: Callable[[DomainEvent], bool]
    queue: asyncio.Queue[DomainEvent | None]
    overflowed: bool = False
    closed: bool = False

    def offer(self, event: DomainEvent) -> None:
        if self.closed or not self.accepts(event):
            return
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            self.overflowed = True
            self.closed = True
            SLOW_CLOSED.inc()
            # Make room for the wake-up, so the reader learns it was closed.
            self.queue.get_nowait()
            self.queue.put_nowait(None)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            try:
                self.queue.put_nowait(None)
            except asyncio.QueueFull:
                self.queue.get_nowait()
                self.queue.put_nowait(None)


@dataclass
class EventHub:
    bus: EventBus
    queue_size: int = DEFAULT_QUEUE_SIZE
    _listeners: set[Listener] = field(default_factory=set)
    _seen: OrderedDict[str, None] = field(default_factory=OrderedDict)
    _versions: OrderedDict[str, int] = field(default_factory=OrderedDict)
    _started: bool = False
    _empty: asyncio.Event = field(default_factory=asyncio.Event)
    # Called with each event before it is passed on (drops this process's cached copies).
    before: Callable[[DomainEvent], Awaitable[None]] | None = None

    async def start(self) -> None:
        if not self._started:
            self._started = True
            await self.bus.listen(self.receive)

    async def receive(self, event: DomainEvent) -> None:
        """One delivery from the bus: passed on once, whatever the bus repeats."""
        EVENTS_CONSUMED.labels(event.kind).inc()
        if event.id and event.id in self._seen:
            EVENTS_DUPLICATE.inc()
            return
        key = f"{event.entity}:{event.record_id}"
        last = self._versions.get(key)
        if event.version is not None and last is not None and event.version <= last:
            EVENTS_DUPLICATE.inc()
            return
        if event.id:
            self._seen[event.id] = None
            if len(self._seen) > SEEN_IDS:
                self._seen.popitem(last=False)
        if event.version is not None:
            self._versions[key] = event.version
            self._versions.move_to_end(key)
            if len(self._versions) > SEEN_RECORDS:
                self._versions.popitem(last=False)
        _record_lag(event)
        if self.before is not None:
            await self.before(event)
        for listener in list(self._listeners):
            listener.offer(event)

    def listener(self, accepts: Callable[[DomainEvent], bool]) -> Listener:
        listener = Listener(accepts, asyncio.Queue(self.queue_size))
        self._listeners.add(listener)
        OPEN_SUBSCRIPTIONS.set(len(self._listeners))
        return listener

    def drop(self, listener: Listener) -> None:
        self._listeners.discard(listener)
        OPEN_SUBSCRIPTIONS.set(len(self._listeners))
        if not self._listeners:
            self._empty.set()

    async def emptied(self) -> None:
        """Wait until no subscription is open here."""
        if self._listeners:
            self._empty.clear()
            await self._empty.wait()

    async def events(self, accepts: Callable[[DomainEvent], bool]) -> AsyncIterator[DomainEvent]:
        """The events ``accepts`` picks, as they come; raises ``SlowConsumer`` if the reader
        falls too far behind, ends when the hub closes."""
        listener = self.listener(accepts)
        try:
            while True:
                event = await listener.queue.get()
                if event is None:
                    if listener.overflowed:
                        raise SlowConsumer
                    return
                yield event
        finally:
            self.drop(listener)

    @property
    def open(self) -> int:
        return len(self._listeners)

    def close_all(self) -> None:
        """End every subscription here (shutdown): each stream finishes after what it holds."""
        for listener in list(self._listeners):
            listener.close()


def _record_lag(event: DomainEvent) -> None:
    from datetime import datetime

    from philos.domain import utcnow

    if event.occurred_at:
        try:
            at = datetime.fromisoformat(event.occurred_at)
        except ValueError:
            return
        EVENT_LAG.set(max(0.0, (utcnow() - at).total_seconds()))
