"""The one place that picks adapters from configuration.

- ``DATABASE_URL`` (default: SQLite under ``PHILOS_DATA_DIR``) holds concepts and users, and
  relations and theses unless they live elsewhere;
- ``NEO4J_URI`` moves the relationship graph to Neo4j, ``MONGODB_URI`` the theses to MongoDB;
  concept changes then reach them through the outbox relay;
- ``REDIS_URL`` makes the cache Redis (shared by replicas) instead of in-process;
- ``ANTHROPIC_API_KEY`` turns the AI mutations on (Claude, see ``docs/ai.md``);
- ``PHILOS_CACHE_TTL=0`` turns read-through caching off.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from philos.config import Settings
from philos.datasources.anchored import AnchoredGraphStore, AnchoredThesisStore, ConceptAnchor
from philos.datasources.cache import MemoryCache, RedisCache
from philos.datasources.cached import CachedConceptStore, CachedThesisStore, thesis_key
from philos.datasources.outbox import GRAPH, THESES, OutboxRelay
from philos.datasources.ports import (
    LLM,
    Cache,
    ConceptStore,
    DeleteCheck,
    GraphStore,
    RefreshTokenStore,
    Store,
    ThesisStore,
    UserStore,
)
from philos.datasources.resilience import Breakers, Guarded, request_calls
from philos.datasources.sql import SqlDatabase, SqlJsonReader
from philos.datasources.sql.concepts import SqlConceptStore
from philos.datasources.sql.graph import SqlGraphStore
from philos.datasources.sql.theses import SqlThesisStore
from philos.datasources.sql.users import SqlRefreshTokenStore, SqlUserStore
from philos.datasources.startup import (
    MONGODB_SCHEMES,
    NEO4J_SCHEMES,
    REDIS_SCHEMES,
    SQL_SCHEMES,
    StartupError,
    check_url,
    construct,
    describe,
    is_auth_error,
    reach,
)
from philos.datasources.versions import DataVersions
from philos.domain import Concept, Dependant, Direction
from philos.timeouts import within

logger = logging.getLogger("philos.wiring")
T = TypeVar("T")
SETUP_TIMEOUT_SECONDS = 10.0


@dataclass
class Stores:
    sql: SqlDatabase
    concepts: ConceptStore
    graph: GraphStore
    theses: ThesisStore
    users: UserStore
    tokens: RefreshTokenStore
    cache: Cache = field(default_factory=MemoryCache)
    relay: OutboxRelay | None = None
    versions: DataVersions | None = None
    llm: LLM | None = None  # None: AI features off
    # Set when concepts, relations and theses all live in one PostgreSQL database: queries
    # that read only them are then answered by one JSON-building statement (philos/compile).
    json_reader: SqlJsonReader | None = None
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
                await within(self.relay.drain(limit=50), SETUP_TIMEOUT_SECONDS)
            except Exception as exc:  # the entry stays in the outbox
                logger.warning("outbox relay deferred: %r", exc)
            finally:
                request_calls.reset(budget)
            self.relay.kick()

    def start_background(self) -> None:
        if self.relay is not None:
            self._tasks.append(asyncio.create_task(self.relay.run(), name="outbox-relay"))

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
        await self.sql.aclose()


async def _setup(store: object, variable: str, url: str) -> None:
    setup = getattr(store, "setup", None)
    if setup is None:
        return
    try:
        await within(setup(), SETUP_TIMEOUT_SECONDS)
    except Exception as exc:  # start anyway: the store's fields fail, the rest answers
        if is_auth_error(exc):  # except for credentials: waiting will not fix those
            raise StartupError(variable, url, describe(exc)) from exc
        logger.error("could not set up %s store: %r", getattr(store, "name", store), exc)


async def open_sql(settings: Settings) -> SqlDatabase:
    """The core SQL database, answering and at the newest migration; else ``StartupError``
    naming ``DATABASE_URL`` (or ``PHILOS_DATA_DIR`` for the default SQLite file)."""
    variable = "DATABASE_URL" if settings.database_url else "PHILOS_DATA_DIR"
    url = settings.database_url or settings.sql_url
    if settings.database_url:
        check_url(variable, url, SQL_SCHEMES)
    db = construct(variable, url, lambda: SqlDatabase(settings.sql_url))
    try:
        await reach(variable, url, db.ping(), SETUP_TIMEOUT_SECONDS)
        # No time limit on migrating: replicas wait their turn, and a migration may be long.
        await reach(variable, url, db.create_schema(), None)
    except BaseException:
        await db.aclose()
        raise
    return db


def _nudge_on_recovery(breakers: Breakers, relay: OutboxRelay, settings: Settings) -> None:
    """When a separate store's breaker closes (a call got through again), the relay retries
    that store's waiting entries at once instead of after their back-off."""
    targets = {}
    if settings.neo4j_uri:
        targets["neo4j"] = GRAPH
    if settings.mongodb_uri:
        targets["mongo"] = THESES

    def on_event(name: str, event_type: str, event: Any) -> None:
        if event_type == "state_changed" and event.state == "closed" and name in targets:
            relay.nudge(targets[name])

    breakers.factory.add_listener(on_event)


def build_llm(settings: Settings) -> LLM | None:
    """Claude when ``ANTHROPIC_API_KEY`` is set (``ANTHROPIC_BASE_URL`` points it at another
    endpoint), behind the per-process concurrency cap; else None, and AI mutations answer
    ``AiUnavailable``."""
    if not settings.anthropic_api_key:
        return None
    from philos.ai.limits import BoundedLLM
    from philos.datasources.claude import ClaudeLLM

    claude = ClaudeLLM(
        api_key=settings.anthropic_api_key,
        model=settings.ai_model,
        base_url=settings.anthropic_base_url,
        timeout=settings.ai_timeout,
        max_retries=settings.ai_max_retries,
    )
    return BoundedLLM(claude, settings.ai_max_concurrency, settings.ai_queue_timeout)


async def build_stores(settings: Settings) -> Stores:
    """Open every store and make sure its schema exists.

    Raises ``StartupError`` for a store URL that cannot be used (see ``startup.py``); a
    separate store that does not answer is logged, and the API starts without it."""
    check_separate_urls(settings)
    db = await open_sql(settings)
    try:
        return await _build_on(db, settings)
    except BaseException:
        await db.aclose()
        raise


def check_separate_urls(settings: Settings) -> None:
    """Refuse a malformed ``NEO4J_URI``, ``MONGODB_URI`` or ``REDIS_URL`` before connecting."""
    if settings.neo4j_uri:  # empty means unset, as everywhere
        check_url("NEO4J_URI", settings.neo4j_uri, NEO4J_SCHEMES)
    if settings.mongodb_uri:  # empty means unset, as everywhere
        check_url("MONGODB_URI", settings.mongodb_uri, MONGODB_SCHEMES)
    if settings.redis_url:  # empty means unset, as everywhere
        check_url("REDIS_URL", settings.redis_url, REDIS_SCHEMES)


async def _build_on(db: SqlDatabase, settings: Settings) -> Stores:
    setups: list[Awaitable[None]] = []
    graph: GraphStore
    if settings.neo4j_uri:
        from philos.datasources.neo4j import Neo4jGraphStore

        uri = settings.neo4j_uri
        graph = construct(
            "NEO4J_URI",
            uri,
            lambda: Neo4jGraphStore(
                uri, user=settings.neo4j_user, password=settings.neo4j_password
            ),
        )
        setups.append(_setup(graph, "NEO4J_URI", uri))
    else:
        graph = SqlGraphStore(db)

    theses: ThesisStore
    if settings.mongodb_uri:
        from philos.datasources.mongo import MongoThesisStore

        mongo_uri = settings.mongodb_uri
        theses = construct(
            "MONGODB_URI",
            mongo_uri,
            lambda: MongoThesisStore(mongo_uri, database=settings.mongodb_database),
        )
        setups.append(_setup(theses, "MONGODB_URI", mongo_uri))
    else:
        theses = SqlThesisStore(db)
    # Side by side: two stores that are down at start cost one setup timeout, not two.
    await asyncio.gather(*setups)

    external = bool(settings.neo4j_uri or settings.mongodb_uri)
    breakers = Breakers(settings.breaker_threshold, settings.breaker_reset)
    cache: Cache = cast(
        Cache,
        Guarded(
            (
                construct("REDIS_URL", settings.redis_url, lambda: RedisCache(redis_url))
                if (redis_url := settings.redis_url)
                else MemoryCache()
            ),
            "redis" if settings.redis_url else "memory",
            breakers,
            settings.store_timeout,
            fail_open=True,
        ),
    )
    versions = DataVersions(cache)

    def guard(store: T, name: str, *changes: str) -> T:
        """Put a store behind its guard; a write bumps the data versions of ``changes``."""

        async def bump() -> None:
            await versions.bump(*changes)

        return cast(
            T,
            Guarded(
                store, name, breakers, settings.store_timeout, after_write=bump if changes else None
            ),
        )

    graph = guard(graph, "neo4j" if settings.neo4j_uri else "sql", "graph")
    theses = guard(theses, "mongo" if settings.mongodb_uri else "sql", "theses")
    # Deleting a concept also deletes, in the same transaction, the relations and theses kept
    # in the SQL database, so a concept write counts as a write to those too.
    concept_changes = ["concepts"]
    if not settings.neo4j_uri:
        concept_changes.append("graph")
    if not settings.mongodb_uri:
        concept_changes.append("theses")
    concepts: ConceptStore = guard(
        SqlConceptStore(
            db,
            owns_graph=not settings.neo4j_uri,
            owns_theses=not settings.mongodb_uri,
            outbox=external,
        ),
        "sql",
        *concept_changes,
    )
    if settings.cache_ttl > 0:
        concepts = CachedConceptStore(concepts, cache, settings.cache_ttl)
        theses = CachedThesisStore(theses, cache, settings.cache_ttl)
    # Records written to a separate store name concepts that live here: each such write holds
    # its concepts, so a concurrent delete cannot leave it behind (in SQL, foreign keys do it).
    anchor = ConceptAnchor(db)
    if settings.neo4j_uri:
        graph = cast(GraphStore, AnchoredGraphStore(graph, anchor))
    if settings.mongodb_uri:
        theses = cast(ThesisStore, AnchoredThesisStore(theses, anchor))
    relay = (
        OutboxRelay(
            db,
            graph if settings.neo4j_uri else None,
            theses if settings.mongodb_uri else None,
            max_delay=settings.outbox_max_delay,
        )
        if external
        else None
    )
    if relay is not None:
        _nudge_on_recovery(breakers, relay, settings)
    json_reader = None
    if settings.sql_compile and not db.is_sqlite and not external:
        json_reader = guard(SqlJsonReader(db), "sql")
    return Stores(
        sql=db,
        json_reader=json_reader,
        concepts=concepts,
        graph=graph,
        theses=theses,
        users=guard(SqlUserStore(db), "sql", "users"),
        tokens=guard(SqlRefreshTokenStore(db), "sql"),
        versions=versions,
        cache=cache,
        relay=relay,
        llm=build_llm(settings),
    )
