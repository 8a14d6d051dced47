"""The bag of ports the schema, the resolvers and the seed work with."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any

from philos.datasources.cached import concept_key, thesis_key
from philos.datasources.events import EventHub
from philos.datasources.llm import LLM
from philos.datasources.ports import (
    AiJobStore,
    AiLedger,
    Cache,
    ConceptStore,
    Database,
    DeleteCheck,
    EventPublisher,
    FacetStore,
    GraphStore,
    JobQueue,
    JsonReader,
    RefreshTokenStore,
    Relay,
    Store,
    SuggestionStore,
    ThesisStore,
    UserStore,
)
from philos.datasources.resilience import request_calls
from philos.datasources.versions import DataVersions
from philos.domain import Concept, Dependant, Direction
from philos.domain.events import DomainEvent
from philos.timeouts import within

logger = logging.getLogger("philos.stores")
RELAY_TIMEOUT_SECONDS = 10.0


@dataclass
class Stores:
    """Every store the API uses, as its port, each behind its guard (``bootstrap.py`` builds
    them); nothing here knows which adapter answers."""

    database: Database
    concepts: ConceptStore
    graph: GraphStore
    theses: ThesisStore
    users: UserStore
    tokens: RefreshTokenStore
    facets: FacetStore
    suggestions: SuggestionStore
    ledger: AiLedger
    cache: Cache
    versions: DataVersions
    relay: Relay | None = None
    llm: LLM | None = None  # None: AI features off
    # Set when concepts, relations and theses all live in one PostgreSQL database: queries
    # that read only them are then answered by one JSON-building statement (philos/compile).
    json_reader: JsonReader | None = None
    # Domain events: this process's fan-out to subscribers, and the outbox's publisher.
    events: EventHub | None = None
    event_relay: EventPublisher | None = None
    jobs: AiJobStore | None = None  # AI mutations run in the background
    job_queue: JobQueue | None = None  # RabbitMQ's job queue; None: jobs run in-process
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def by_role(self) -> dict[str, Store]:
        """Each store under the name /ready reports it by."""
        return {
            "concepts": self.concepts,
            "graph": self.graph,
            "theses": self.theses,
            "users": self.users,
            "cache": self.cache,
        }

    async def delete_concept(self, concept_id: str, check: DeleteCheck | None = None) -> bool:
        """Delete a concept and everything that refers to it; False when there was none.

        In the SQL database that is one transaction (foreign keys cascade); separate graph
        and thesis stores hear of it through the outbox, which is relayed at once (and retried
        later if that fails). ``check`` sees every record the delete would remove, those in
        separate stores too, read while the concept is locked: none can be added before the
        delete commits (``datasources/anchored.py``). Cached theses of the concept are
        forgotten either way.
        """
        kept_here: list[Dependant] = []

        async def in_transaction(concept: Concept, here: Sequence[Dependant]) -> None:
            kept_here.extend(here)
            if check is not None:
                await check(concept, [*here, *await self._separate_dependants(concept.id)])

        deleted = await self.concepts.delete(concept_id, in_transaction)
        if deleted:
            await self.cache.delete([thesis_key(d.id) for d in kept_here if d.kind == "thesis"])
            await self.relay_now()
        return deleted

    async def _separate_dependants(self, concept_id: str) -> list[Dependant]:
        """The concept's relations and theses in the stores the relay serves."""
        found: list[Dependant] = []
        if self.relay is not None and self.relay.theses is not None:
            theses = await self.relay.theses.by_concepts([concept_id])
            found += [Dependant("thesis", t.id, t.author_id) for t in theses[concept_id]]
        if self.relay is not None and self.relay.graph is not None:
            edges = await self.relay.graph.edges_of([concept_id], Direction.BOTH)
            found += [Dependant("relation", r.id, r.author_id) for r in edges[concept_id]]
        return found

    async def relay_now(self) -> None:
        """Carry pending concept changes to the other stores before answering, so a client
        reads its own writes; on failure the background relay retries."""
        if self.relay is not None:
            # The relay's calls are the system's work, not the caller's: outside its budget.
            budget = request_calls.set(None)
            try:
                await within(self.relay.drain(limit=50), RELAY_TIMEOUT_SECONDS)
            except Exception as exc:  # the entry stays in the outbox
                logger.warning("outbox relay deferred: %r", exc)
            finally:
                request_calls.reset(budget)
            self.relay.kick()

    def run_in_background(self, work: Coroutine[Any, Any, None], name: str) -> None:
        """A task that lives as long as the stores (cancelled by ``aclose``)."""
        self._tasks.append(asyncio.create_task(work, name=name))

    def start_background(self) -> None:
        if self.relay is not None:
            self._tasks.append(asyncio.create_task(self.relay.run(), name="outbox-relay"))
        if self.event_relay is not None:
            self._tasks.append(asyncio.create_task(self.event_relay.run(), name="event-relay"))

    async def forget(self, event: DomainEvent) -> None:
        """A change, maybe made by another process: drop this process's cached copy of the
        record (a cache shared through Redis dropped it already; this is for one in-process)."""
        keys = {"concept": concept_key, "thesis": thesis_key}.get(event.entity)
        if keys is not None:
            await self.cache.delete([keys(event.record_id)])
        data = {"concept": "concepts", "thesis": "theses", "relation": "graph"}.get(event.entity)
        if data is not None:
            await self.versions.bump(data)

    async def start_events(self) -> None:
        """Start listening for domain events (for this process's subscriptions)."""
        if self.events is not None:
            self.events.before = self.forget
            await self.events.start()

    async def aclose(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        seen: set[int] = set()
        for store in self.by_role().values():
            if id(store) not in seen:
                seen.add(id(store))
                await store.aclose()
        if self.llm is not None:
            await self.llm.aclose()
        if self.job_queue is not None:
            await self.job_queue.aclose()
        if self.events is not None:
            self.events.close_all()
            await self.events.bus.aclose()
        await self.database.aclose()
