"""The SQL side of a backup: which table holds each kind, reading every table in one snapshot,
and writing rows back in one transaction."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, Table, delete, func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from philos.datasources.sql import SqlDatabase, alembic_config
from philos.datasources.sql.common import aware
from philos.datasources.sql.tables import (
    ai_calls_t,
    concepts_t,
    metadata,
    outbox_t,
    refresh_tokens_t,
    relation_suggestions_t,
    relations_t,
    theses_t,
    users_t,
)

TABLES: dict[str, Table] = {
    "concepts": concepts_t,
    "users": users_t,
    "refresh_tokens": refresh_tokens_t,
    "relations": relations_t,
    "theses": theses_t,
    "relation_suggestions": relation_suggestions_t,
    "ai_calls": ai_calls_t,
    "outbox": outbox_t,
}
KIND_OF = {table.name: kind for kind, table in TABLES.items()}


def revisions() -> tuple[str, list[str]]:
    """The newest migration this Philos knows (the Alembic head), and all it knows."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config(None))
    return str(script.get_current_head()), [r.revision for r in script.walk_revisions()]


async def current_revision(conn: AsyncConnection) -> str | None:
    row = (await conn.execute(text("SELECT version_num FROM alembic_version"))).first()
    return None if row is None else str(row[0])


@asynccontextmanager
async def snapshot(db: SqlDatabase) -> AsyncIterator[AsyncConnection]:
    """A read-only transaction in which every table is read as of one moment: REPEATABLE READ
    on PostgreSQL, one deferred transaction on SQLite (WAL: writers go on meanwhile)."""
    async with db.engine.connect() as conn:
        if db.is_sqlite:
            await conn.exec_driver_sql("BEGIN")
        else:
            await conn.execution_options(isolation_level="REPEATABLE READ")
            await conn.begin()
            await conn.exec_driver_sql("SET TRANSACTION READ ONLY")
        try:
            yield conn
        finally:
            await conn.rollback()


def _encode(value: Any) -> Any:
    # SQLite hands timestamps back naive; every one stored is UTC.
    return aware(value).isoformat() if isinstance(value, datetime) else value


async def read_table(conn: AsyncConnection, table: Table) -> list[dict[str, Any]]:
    """Every row, as JSON-ready dicts (timestamps as ISO 8601), in primary-key order."""
    stmt = select(table).order_by(*table.primary_key.columns)
    return [
        {key: _encode(value) for key, value in row._mapping.items()}
        for row in await conn.execute(stmt)
    ]


def decode(table: Table, record: dict[str, Any]) -> dict[str, Any]:
    """A record read from an archive as the table's column values."""
    unknown = set(record) - set(table.columns.keys())
    if unknown:
        raise ValueError(f"{table.name} has no column {', '.join(sorted(unknown))}")
    values = dict(record)
    for column in table.columns:
        value = values.get(column.name)
        if isinstance(column.type, DateTime) and isinstance(value, str):
            values[column.name] = datetime.fromisoformat(value)
    return values


async def counts(db: SqlDatabase) -> dict[str, int]:
    async with db.connect() as conn:
        return {
            kind: int((await conn.execute(select(func.count()).select_from(t))).scalar_one())
            for kind, t in TABLES.items()
        }


async def wipe(db: SqlDatabase) -> None:
    """Delete every row of every table, dependants first, in one transaction."""
    async with db.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            await conn.execute(delete(table))


async def insert_batch(conn: AsyncConnection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """One multi-row insert (the unit a failing restore is interrupted at in the drills)."""
    await conn.execute(insert(table), list(rows))


async def write_all(
    db: SqlDatabase, records: dict[str, list[dict[str, Any]]], kinds: set[str], batch: int
) -> None:
    """Insert the records of ``kinds`` in one transaction, referenced tables first; on
    PostgreSQL the outbox's id sequence then continues after the restored ids."""
    async with db.begin_locked() as conn:
        for table in metadata.sorted_tables:
            kind = KIND_OF.get(table.name)
            if kind not in kinds or not records.get(kind):
                continue
            rows = [decode(table, r) for r in records[kind]]
            for start in range(0, len(rows), batch):
                await insert_batch(conn, table, rows[start : start + batch])
        if not db.is_sqlite and records.get("outbox"):
            await conn.execute(
                text(
                    "SELECT setval(pg_get_serial_sequence('outbox', 'id'), "
                    "(SELECT max(id) FROM outbox))"
                )
            )
