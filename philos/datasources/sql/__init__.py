"""The SQL adapter: every store on one SQLAlchemy async engine.

SQLite (aiosqlite) is the embedded default; PostgreSQL (asyncpg) is used when ``DATABASE_URL``
says so. The same statements run on both. Foreign keys are enforced on both: SQLite only does so
when each connection asks (``PRAGMA foreign_keys=ON``, set as it opens).
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import event, text
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from philos.config import STORE_IO_TIMEOUT
from philos.datasources.sql.tables import metadata
from philos.domain.search import names_similarity, text_score, words
from philos.timeouts import waiting_turn

# Whether this task, or the call that started it, holds the SQLite writer's turn.
_writing: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "philos_sqlite_writing", default=False
)


class SqlDatabase:
    """Owns the engine; the stores borrow it."""

    def __init__(
        self, url: str, *, echo: bool = False, io_timeout: float = STORE_IO_TIMEOUT
    ) -> None:
        """``io_timeout`` bounds, on PostgreSQL, opening a connection, taking one from the
        pool and each statement (asyncpg's ``command_timeout``): a call that a request gave
        up on (``timeouts.within``) cannot hold its connection for longer. Migrations are
        not bounded (``create_schema``)."""
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        kwargs: dict[str, Any] = {"echo": echo}
        if self.is_sqlite:
            _ensure_parent_dir(url)
            kwargs["connect_args"] = {"timeout": 15}
        else:
            kwargs.update(pool_size=10, max_overflow=10, pool_timeout=io_timeout)
            kwargs["connect_args"] = {"timeout": io_timeout, "command_timeout": io_timeout}
        # JSON columns (arguments, sources, aliases) go through orjson both ways.
        kwargs["json_serializer"] = lambda value: orjson.dumps(value).decode()
        kwargs["json_deserializer"] = orjson.loads
        self.engine: AsyncEngine = create_async_engine(url, **kwargs)
        # SQLite takes one writer at a time. Left to SQLite, waiting writers poll the lock
        # with growing sleeps (its busy handler) and a burst of them leaves it idle between
        # turns; here they queue in this process, first come first served, and each starts
        # the moment the one before commits. ``busy_timeout`` still covers other processes.
        self._writer = asyncio.Lock() if self.is_sqlite else None
        # Reads run in autocommit: no BEGIN/ROLLBACK round trips around each SELECT.
        self.read_engine: AsyncEngine = self.engine.execution_options(isolation_level="AUTOCOMMIT")
        if self.is_sqlite:
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        else:
            event.listen(self.engine.sync_engine.pool, "checkout", _reject_closed)

    async def create_schema(self) -> None:
        """Bring the schema to the newest migration (Alembic, ``migrations/``). Replicas
        starting together on PostgreSQL take turns through an advisory lock."""
        if self.is_sqlite:
            await self._migrate_sqlite()
            return
        # Its own connection without a statement bound: replicas wait their turn on the
        # lock, and a migration may be long.
        migrator = create_async_engine(self.url, poolclass=NullPool)
        try:
            async with migrator.begin() as conn:
                await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
                await conn.run_sync(_upgrade)
        finally:
            await migrator.dispose()

    async def _migrate_sqlite(self) -> None:
        # SQLite changes a table by rebuilding it (Alembic's batch mode), and dropping the old
        # copy with foreign keys on would cascade into the rows that refer to it. So migrations
        # run with the keys off, as SQLite's manual prescribes, and are checked afterwards. The
        # pragma is ignored inside a transaction: it comes first, and a connection that failed
        # half-way is discarded rather than pooled with the keys off.
        async with self.engine.connect() as conn:
            try:
                await conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
                await conn.run_sync(_upgrade)
                broken = (await conn.exec_driver_sql("PRAGMA foreign_key_check")).all()
                if broken:
                    raise RuntimeError(f"migrations left rows with missing references: {broken}")
                await conn.commit()
                await conn.exec_driver_sql("PRAGMA foreign_keys=ON")
            except BaseException:
                await conn.invalidate()
                raise

    async def drop_schema(self) -> None:
        async with self.engine.begin() as conn:
            await conn.run_sync(metadata.drop_all)
            await conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
            if self.is_sqlite:  # the search tables of migration 0004 (not in the metadata)
                for table in ("concepts_fts", "concepts_trgm", "theses_fts"):
                    await conn.execute(text(f"DROP TABLE IF EXISTS {table}"))

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    def connect(self) -> AsyncConnection:
        """A connection for reads (autocommit); use ``begin()`` for writes."""
        return self.read_engine.connect()

    @asynccontextmanager
    async def begin(self, *, in_turn: bool = True) -> AsyncIterator[AsyncConnection]:
        """A write transaction (on SQLite, once this process's writer turn comes). A
        transaction that waits on another service between its statements (the outbox relay
        applying an entry to Neo4j, publishing to RabbitMQ) passes ``in_turn=False``: holding
        the turn meanwhile would stop every other write. SQLite then takes its write lock at
        the first write, as it would without the turn."""
        if not in_turn:
            async with self.engine.begin() as conn:
                yield conn
            return
        async with self._turn(), self.engine.begin() as conn:
            yield conn

    @asynccontextmanager
    async def begin_locked(self) -> AsyncIterator[AsyncConnection]:
        """A write transaction in which what is read stays true until it commits.

        On SQLite it takes the database's write lock at once (``BEGIN IMMEDIATE``; by default
        SQLite would read first and could fail to upgrade later). On PostgreSQL it is an
        ordinary transaction: lock the rows you read (``FOR UPDATE`` / ``FOR KEY SHARE``).
        """
        async with self._turn(), self.engine.begin() as conn:
            if self.is_sqlite:
                await conn.exec_driver_sql("BEGIN IMMEDIATE")
            yield conn

    @asynccontextmanager
    async def _turn(self) -> AsyncIterator[None]:
        """This process's turn to write to SQLite (nothing to wait for on PostgreSQL). A write
        made inside another that holds the turn goes ahead. A store call whose time runs out
        while it waits here is refused as busy, which says nothing about the store's health
        (``timeouts.waiting_turn``)."""
        writer = self._writer
        if writer is None or _writing.get():
            yield
            return
        with waiting_turn():
            await writer.acquire()
        token = _writing.set(True)
        try:
            yield
        finally:
            _writing.reset(token)
            writer.release()

    async def aclose(self) -> None:
        await self.engine.dispose()


class SqlStore:
    """What every store on the SQL database shares: the database it borrows, and its health."""

    name = "sql"
    # Set by the composition root when domain events are on: each write then records its
    # event in the outbox, in the write's transaction, and calls ``on_event`` once committed.
    events = False
    on_event: Callable[[], None] | None = None

    def __init__(self, db: SqlDatabase) -> None:
        self.db = db

    def _evented(self) -> None:
        if self.events and self.on_event is not None:
            self.on_event()

    async def ping(self) -> None:
        await self.db.ping()

    async def aclose(self) -> None:
        return None  # the database is closed by its owner, not by each store


_LOCK_KEY = 0x5048494C4F53  # "PHILOS": serialises migrations across replicas


def alembic_config(connection: Any) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    config.attributes["connection"] = connection
    return config


def _upgrade(connection: Any) -> None:
    from alembic import command

    command.upgrade(alembic_config(connection), "head")


def _reject_closed(dbapi_connection: Any, record: Any, proxy: Any) -> None:
    """Keep the pool alive across a database restart without a round trip per checkout.

    SQLAlchemy's ``pool_pre_ping`` sends ``BEGIN; ; ROLLBACK`` every time a connection leaves
    the pool: three statements around every read. A restarted PostgreSQL closes its sockets,
    and asyncpg marks a connection closed as soon as the event loop sees that, so asking the
    driver is enough; the pool then replaces the connection (``DisconnectionError``). A
    connection that breaks while in use fails that statement, SQLAlchemy invalidates the pool,
    and the store guard retries reads.
    """
    driver = getattr(dbapi_connection, "driver_connection", None)
    if driver is not None and driver.is_closed():
        raise DisconnectionError("the server closed this pooled connection")


def _ensure_parent_dir(url: str) -> None:
    _, _, path = url.partition(":///")
    if path and path != ":memory:" and not path.startswith("file:"):
        Path(path).parent.mkdir(parents=True, exist_ok=True)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    # WAL lets readers go on while one writer commits; the busy timeout waits out the writer.
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=15000")
    # Off by default in SQLite, and per connection: without it the keys are decoration.
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()
    # The search's scoring (datasources/sql/search.py), in Python: SQLite has no pg_trgm.
    dbapi_conn.create_function("philos_similarity", 3, _similarity, deterministic=True)
    dbapi_conn.create_function("philos_search_key", 1, _search_key, deterministic=True)
    dbapi_conn.create_function("philos_text_score", -1, _text_score, deterministic=True)


def _similarity(search: str | None, name: str | None, aliases: str | None) -> float:
    return names_similarity(search or "", name or "", aliases)


def _text_score(search: str | None, weights: str | None, *fields: str | None) -> float:
    """``philos_text_score(search, 'w1,w2,...', field1, field2, ...)``."""
    parsed = [float(w) for w in (weights or "").split(",") if w]
    if len(parsed) != len(fields):
        raise ValueError(f"{len(parsed)} weights for {len(fields)} fields")
    return text_score(search or "", parsed, fields)


def _search_key(value: str | None) -> str | None:
    return None if value is None else " ".join(words(value))


class SqlJsonReader(SqlStore):
    """Runs statements that build a whole JSON answer (see ``philos/compile``); PostgreSQL
    only. Called through the same guard as the other SQL stores, so a statement PostgreSQL
    refuses (a value out of range, a statement too large) does not count against the store's
    circuit breaker (``datasources/failures.py``)."""

    async def read_json(self, sql: str, params: tuple[Any, ...]) -> str:
        async with self.db.connect() as conn:
            value = (await conn.exec_driver_sql(sql, params)).scalar_one()
        return str(value)
