"""Reaching into a wiring's stores: the adapter under its wrappers, emptying every store,
counting the SQL statements and MongoDB commands sent, and a snapshot of the SQL tables."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pymongo import monitoring
from sqlalchemy import delete, event, select

from philos.datasources.cache import MemoryCache
from philos.datasources.resilience import Guarded
from philos.datasources.sql.tables import metadata
from philos.datasources.stores import Stores
from tests.sql_access import sql_db


def unwrap(store: object) -> object:
    """The adapter under its cache and guard wrappers."""
    while hasattr(store, "inner"):
        store = store.inner
    return store


async def wipe(stores: Stores) -> None:
    """Empty every store of a wiring: SQL tables, and Neo4j, MongoDB and Redis when used."""
    async with sql_db(stores).begin() as conn:
        for table in reversed(metadata.sorted_tables):
            await conn.execute(delete(table))
    graph = unwrap(stores.graph)
    if getattr(graph, "name", "") == "neo4j":
        await graph.driver.execute_query(  # type: ignore[attr-defined]
            "MATCH (n) DETACH DELETE n",
            database_=graph.database,  # type: ignore[attr-defined]
        )
    theses = unwrap(stores.theses)
    if getattr(theses, "name", "") == "mongo":
        documents = await theses._docs()  # type: ignore[attr-defined]
        await documents.get_pymongo_collection().delete_many({})
    await clear_cache(stores)
    close_breakers(stores)


def _sql_guard(stores: Stores) -> Guarded[Any]:
    """The guard around the wiring's SQL concept store (under its cache wrapper)."""
    guard: object = stores.concepts
    while not isinstance(guard, Guarded):
        guard = guard.inner  # type: ignore[attr-defined]
    return guard


def close_breakers(stores: Stores) -> None:
    """Every breaker of the wiring closed: what one test did to a store is not the next's."""
    _sql_guard(stores)._breakers.close_all()


async def sql_breaker_state(stores: Stores) -> str:
    """The state of the SQL store's breaker: closed, half-opened or opened."""
    guard = _sql_guard(stores)
    return await guard._breakers.state(guard._store)


async def clear_cache(stores: Stores) -> None:
    cache = unwrap(stores.cache)
    if isinstance(cache, MemoryCache):
        cache.clear()
    else:
        await cache._redis.flushdb()  # type: ignore[attr-defined]


class MongoCommands(monitoring.CommandListener):
    """Counts commands sent to MongoDB by every client of the session (registered globally,
    before any client exists); ``recording`` turns counting on."""

    def __init__(self) -> None:
        self.recording = False
        self.commands: list[str] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if self.recording:
            self.commands.append(event.command_name)

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        return None

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        return None


# Registered on first import: tests/conftest.py imports this module before any client exists.
MONGO_COMMANDS = MongoCommands()
monitoring.register(MONGO_COMMANDS)


@contextmanager
def counting(stores: Stores) -> Iterator[list[str]]:
    """SQL statements, through SQLAlchemy's cursor hook."""
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    engine = sql_db(stores).engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


async def snapshot(stores: Stores) -> dict[str, list[Any]]:
    """Every SQL table's rows, as sorted tuples of strings."""
    async with sql_db(stores).connect() as conn:
        return {
            table.name: sorted(
                (tuple(map(str, row)) for row in await conn.execute(select(table))), key=str
            )
            for table in metadata.sorted_tables
        }
