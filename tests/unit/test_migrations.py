"""The migrations build exactly the schema the code declares, on SQLite and PostgreSQL, and
running them again changes nothing."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.exc import SAWarning

from philos.config import normalise_sql_url
from philos.datasources.sql import SqlDatabase
from philos.datasources.sql.tables import metadata


def _diff(connection: Any) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    with warnings.catch_warnings():
        # SQLAlchemy cannot reflect SQLite's expression indexes; the test below checks
        # that the migration made it.
        warnings.filterwarnings("ignore", "Skipped unsupported reflection", SAWarning)
        warnings.filterwarnings("ignore", "autogenerate skipping metadata-specified expression")
        return list(compare_metadata(context, metadata))


def _concept_indexes(connection: Any) -> set[str]:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Skipped unsupported reflection", SAWarning)
        indexes = inspect(connection).get_indexes("concepts")
    if connection.dialect.name == "sqlite":  # expression indexes are not reflected there
        rows = connection.execute(
            text("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'concepts'")
        )
        return {row[0] for row in rows}
    return {str(i["name"]) for i in indexes}


def _tables(connection: Any) -> set[str]:
    return set(inspect(connection).get_table_names())


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
async def test_migrations_match_the_models(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if kind == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'm.db'}"
    else:
        url = await _own_database(request.getfixturevalue("postgres_url"), "philos_migrations")
    db = SqlDatabase(url)
    try:
        await db.drop_schema()
        await db.create_schema()
        await db.create_schema()  # idempotent: already at head
        async with db.engine.connect() as conn:
            assert await conn.run_sync(_diff) == []
            tables = await conn.run_sync(_tables)
            version = (await conn.execute(text("SELECT version_num FROM alembic_version"))).all()
        assert {t.name for t in metadata.sorted_tables} | {"alembic_version"} == tables
        async with db.engine.connect() as conn:
            indexes = await conn.run_sync(_concept_indexes)
        assert "ix_concepts_name_order" in indexes
        assert version == [("0003",)]
    finally:
        await db.aclose()


async def _own_database(url: str, name: str) -> str:
    """A database of this test's own beside the session's, created if missing."""
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    base, _, _ = normalise_sql_url(url).rpartition("/")
    return f"{base}/{name}"
