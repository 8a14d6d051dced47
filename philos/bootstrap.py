"""The composition root: the one place that picks adapters from configuration, puts each
behind its guard and hands the rest of Philos a bag of ports (``Stores``).

- ``DATABASE_URL`` (default: SQLite under ``PHILOS_DATA_DIR``) holds concepts and users, the AI
  features' records, and relations and theses unless they live elsewhere;
- ``NEO4J_URI`` moves the relationship graph to Neo4j, ``MONGODB_URI`` the theses to MongoDB
  (``SEPARATE``); concept changes then reach them through the outbox relay;
- ``REDIS_URL`` makes the cache Redis (shared by replicas) instead of in-process;
- ``RABBITMQ_URL`` carries domain events between processes through RabbitMQ (else an
  in-process bus): every SQL write records its event in the outbox, and ``EventRelay``
  publishes it;
- ``ANTHROPIC_API_KEY`` turns the AI mutations on (Claude, see ``docs/ai.md``);
- ``PHILOS_CACHE_TTL=0`` turns read-through caching off.

Nothing else in ``philos/`` imports an adapter module (``make lint`` checks it); the entry
points (``philos serve``, the CLI, tests) start here.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from starlette.applications import Starlette

from philos.config import Settings, get_settings
from philos.datasources.anchored import AnchoredGraphStore, AnchoredThesisStore, ConceptAnchor
from philos.datasources.bus import LocalBus
from philos.datasources.cache import MemoryCache, RedisCache
from philos.datasources.cached import CachedConceptStore, CachedThesisStore
from philos.datasources.events import EVENTS_PENDING, EVENTS_PUBLISHED, EventHub
from philos.datasources.llm import LLM
from philos.datasources.outbox import GRAPH, THESES, EventRelay, OutboxRelay
from philos.datasources.ports import (
    AiJobStore,
    AiLedger,
    Cache,
    ConceptHold,
    ConceptStore,
    EventBus,
    FacetStore,
    GraphStore,
    JobQueue,
    JsonReader,
    RefreshTokenStore,
    Store,
    SuggestionStore,
    ThesisStore,
    UserStore,
)
from philos.datasources.resilience import Breakers, guarded
from philos.datasources.sql import SqlDatabase, SqlJsonReader, SqlStore
from philos.datasources.sql.concepts import SqlConceptStore
from philos.datasources.sql.facets import SqlFacetStore
from philos.datasources.sql.graph import SqlGraphStore
from philos.datasources.sql.jobs import SqlAiJobStore
from philos.datasources.sql.suggestions import SqlAiLedger, SqlSuggestionStore
from philos.datasources.sql.theses import SqlThesisStore
from philos.datasources.sql.users import SqlRefreshTokenStore, SqlUserStore
from philos.datasources.startup import (
    MONGODB_SCHEMES,
    NEO4J_SCHEMES,
    RABBITMQ_SCHEMES,
    REDIS_SCHEMES,
    SQL_SCHEMES,
    StartupError,
    check_url,
    construct,
    describe,
    is_auth_error,
    reach,
)
from philos.datasources.stores import Stores
from philos.datasources.versions import DataVersions
from philos.gateway.app import create_app as build_app
from philos.timeouts import within

logger = logging.getLogger("philos.wiring")
T = TypeVar("T")
SETUP_TIMEOUT_SECONDS = 10.0


def create_app(settings: Settings | None = None, stores: Stores | None = None) -> Starlette:
    """The app: around ``stores`` when given (tests share theirs), else around the stores
    opened at start-up from ``settings`` (seeded if ``PHILOS_SEED_ON_START``) and closed at
    shutdown."""
    return build_app(settings, stores, open_stores=open_for_serving)


async def open_for_serving(settings: Settings) -> Stores:
    stores = await build_stores(settings)
    if settings.seed_on_start:
        from philos.seed.loader import seed_missing

        await seed_missing(stores)
    await stores.start_events()
    stores.start_background()
    if stores.jobs is not None and stores.job_queue is None:
        # No broker: the AI jobs of a process that stopped are taken over here.
        from philos.ai.jobs import resume
        from philos.schema.ai import RUNNERS
        from philos.tokens import Tokens, load_secret

        tokens = Tokens(load_secret(settings))
        stores.run_in_background(resume(stores, settings, tokens, RUNNERS), "ai-job-resume")
    return stores


def serve_app() -> Starlette:
    """The factory ``philos serve`` runs: JSON logs first, then the app. (Configured here, in
    the serving process, so ``--reload`` workers log the same way.)"""
    from philos.gateway.logs import configure_logging

    settings = get_settings()
    configure_logging(settings.log_level)
    return create_app(settings)


@dataclass(frozen=True)
class Separate:
    """A store that may live outside the SQL database: the setting that moves it there, the
    URL schemes it takes, the guard's name for it, and how to open it."""

    variable: str
    schemes: tuple[str, ...]
    guard_name: str
    data: str  # the data version its writes bump
    uri: Callable[[Settings], str | None]
    open: Callable[[Settings, str], Store]


def _neo4j(settings: Settings, uri: str) -> Store:
    from philos.datasources.neo4j import Neo4jGraphStore

    return Neo4jGraphStore(
        uri,
        user=settings.neo4j_user,
        password=settings.neo4j_password,
        io_timeout=settings.store_io_timeout,
    )


def _mongo(settings: Settings, uri: str) -> Store:
    from philos.datasources.mongo import MongoThesisStore

    return MongoThesisStore(
        uri, database=settings.mongodb_database, io_timeout=settings.store_io_timeout
    )


SEPARATE = {
    "graph": Separate("NEO4J_URI", NEO4J_SCHEMES, "neo4j", "graph", lambda s: s.neo4j_uri, _neo4j),
    "theses": Separate(
        "MONGODB_URI", MONGODB_SCHEMES, "mongo", "theses", lambda s: s.mongodb_uri, _mongo
    ),
}


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
    db = construct(
        variable, url, lambda: SqlDatabase(settings.sql_url, io_timeout=settings.store_io_timeout)
    )
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
    from philos.ai.quotas import BoundedLLM
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
    for separate in SEPARATE.values():
        if uri := separate.uri(settings):  # empty means unset, as everywhere
            check_url(separate.variable, uri, separate.schemes)
    if settings.redis_url:
        check_url("REDIS_URL", settings.redis_url, REDIS_SCHEMES)
    if settings.rabbitmq_url:
        check_url("RABBITMQ_URL", settings.rabbitmq_url, RABBITMQ_SCHEMES)


def build_job_queue(settings: Settings) -> JobQueue | None:
    """RabbitMQ's AI job queue when ``RABBITMQ_URL`` is set (``philos worker`` consumes it);
    else None, and AI jobs run in the API process."""
    if not settings.rabbitmq_url:
        return None
    from philos.datasources.rabbitmq import RabbitJobQueue

    return RabbitJobQueue(settings.rabbitmq_url)


def build_bus(settings: Settings) -> EventBus:
    """RabbitMQ when ``RABBITMQ_URL`` is set, else the in-process bus."""
    url = settings.rabbitmq_url
    if not url:
        return LocalBus()
    from philos.datasources.events import EVENTS_DEAD, EVENTS_REDELIVERED
    from philos.datasources.rabbitmq import RabbitBus

    return construct(
        "RABBITMQ_URL",
        url,
        lambda: RabbitBus(
            url, on_dead_letter=EVENTS_DEAD.inc, on_redelivery=EVENTS_REDELIVERED.inc
        ),
    )


async def _open_separate(settings: Settings) -> dict[str, Any]:
    """The graph and thesis stores configured to live apart, set up side by side (two that
    are down at start cost one set-up timeout, not two)."""
    opened: dict[str, Any] = {}
    setups: list[Awaitable[None]] = []
    for role, separate in SEPARATE.items():
        if uri := separate.uri(settings):
            opened[role] = construct(separate.variable, uri, _opener(separate, settings, uri))
            setups.append(_setup(opened[role], separate.variable, uri))
    await asyncio.gather(*setups)
    return opened


def _opener(separate: Separate, settings: Settings, uri: str) -> Callable[[], Store]:
    return lambda: separate.open(settings, uri)


def _open_cache(settings: Settings, breakers: Breakers) -> Cache:
    redis_url = settings.redis_url
    cache: Cache = (
        construct("REDIS_URL", redis_url, lambda: RedisCache(redis_url))
        if redis_url
        else MemoryCache(max_bytes=settings.memory_cache_bytes)
    )
    name = "redis" if redis_url else "memory"
    return guarded(cache, Cache, name, breakers, settings.store_timeout, fail_open=True)


async def _build_on(db: SqlDatabase, settings: Settings) -> Stores:
    separate = await _open_separate(settings)
    breakers = Breakers(settings.breaker_threshold, settings.breaker_reset)
    cache = _open_cache(settings, breakers)
    versions = DataVersions(cache)

    def guard(store: T, port: type, name: str, *changes: str) -> T:
        """Put a store behind its guard; a write bumps the data versions of ``changes``."""

        async def bump() -> None:
            await versions.bump(*changes)

        return guarded(
            store,
            port,
            name,
            breakers,
            settings.store_timeout,
            after_write=bump if changes else None,
        )

    def name_of(role: str) -> str:
        return SEPARATE[role].guard_name if role in separate else "sql"

    bus = build_bus(settings)
    event_relay = EventRelay(
        db,
        bus,
        max_delay=settings.outbox_max_delay,
        on_published=EVENTS_PUBLISHED.inc,
        on_pending=EVENTS_PENDING.set,
    )
    if hasattr(bus, "on_reconnect"):
        bus.on_reconnect = event_relay.kick  # the broker is back: publish what waits

    def evented(store: T) -> T:
        """An SQL store records its changes' events in their transactions."""
        if isinstance(store, SqlStore):
            store.events = True
            store.on_event = event_relay.kick
        return store

    graph: GraphStore = guard(
        evented(separate.get("graph") or SqlGraphStore(db)), GraphStore, name_of("graph"), "graph"
    )
    theses: ThesisStore = guard(
        evented(separate.get("theses") or SqlThesisStore(db)),
        ThesisStore,
        name_of("theses"),
        "theses",
    )
    # Deleting a concept also deletes, in the same transaction, the relations and theses kept
    # in the SQL database (and their suggestions), so a concept write counts as a write to those.
    concept_changes = ["concepts", "suggestions", *(r for r in SEPARATE if r not in separate)]
    concepts: ConceptStore = guard(
        evented(
            SqlConceptStore(
                db,
                owns_graph="graph" not in separate,
                owns_theses="theses" not in separate,
                outbox=bool(separate),
            )
        ),
        ConceptStore,
        "sql",
        *concept_changes,
    )
    if settings.cache_ttl > 0:
        concepts = CachedConceptStore(concepts, cache, settings.cache_ttl)
        theses = CachedThesisStore(theses, cache, settings.cache_ttl)
    # Records written to a separate store name concepts that live here: each such write holds
    # its concepts, so a concurrent delete cannot leave it behind (in SQL, foreign keys do it).
    held = ConceptAnchor(db)
    held.events, held.on_event = True, event_relay.kick
    anchor = guard(held, ConceptHold, "sql")  # its hold, events and commit are SQL calls
    if "graph" in separate:
        graph = cast(GraphStore, AnchoredGraphStore(graph, anchor))
    if "theses" in separate:
        theses = cast(ThesisStore, AnchoredThesisStore(theses, anchor))
    relay = None
    if separate:
        relay = OutboxRelay(
            db,
            graph if "graph" in separate else None,
            theses if "theses" in separate else None,
            max_delay=settings.outbox_max_delay,
        )
        _nudge_on_recovery(breakers, relay, settings)
    json_reader = None
    if settings.sql_compile and not db.is_sqlite and not separate:
        json_reader = guard(SqlJsonReader(db), JsonReader, "sql")
    return Stores(
        database=db,
        json_reader=json_reader,
        concepts=concepts,
        graph=graph,
        theses=theses,
        users=guard(evented(SqlUserStore(db)), UserStore, "sql", "users"),
        tokens=guard(SqlRefreshTokenStore(db), RefreshTokenStore, "sql"),
        facets=guard(SqlFacetStore(db), FacetStore, "sql"),
        # A suggestion accepted also makes a relation, written through the graph store.
        suggestions=guard(SqlSuggestionStore(db), SuggestionStore, "sql", "suggestions"),
        ledger=guard(SqlAiLedger(db), AiLedger, "sql"),
        jobs=guard(evented(SqlAiJobStore(db)), AiJobStore, "sql"),
        job_queue=build_job_queue(settings),
        versions=versions,
        cache=cache,
        relay=relay,
        llm=build_llm(settings),
        events=EventHub(bus, queue_size=settings.ws_queue_size),
        event_relay=event_relay,
    )
