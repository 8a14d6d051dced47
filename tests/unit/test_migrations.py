"""The migrations build exactly the schema the code declares, on SQLite and PostgreSQL, and
running them again changes nothing."""

from __future__ import annotations

import importlib
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
from philos.datasources.sql.concepts import SqlConceptStore
from philos.datasources.sql.graph import SqlGraphStore
from philos.datasources.sql.suggestions import SqlSuggestionStore
from philos.datasources.sql.tables import metadata
from philos.datasources.sql.theses import SqlThesisStore
from philos.domain import Concept, NotFoundError, Relation, RelationType, Stance, Thesis, new_id
from philos.domain.ai import RelationSuggestion

SEARCH = importlib.import_module("philos.datasources.sql.migrations.versions.0004_ranked_search")


def _is_search_object(diff: Any) -> bool:
    """The search's tables and indexes (migration 0004) are not in the models on purpose:
    FTS5 virtual tables and indexes over SQL functions."""
    if not isinstance(diff, tuple) or diff[0] not in {"remove_table", "remove_index"}:
        return False
    name = str(diff[1].name)
    return name in SEARCH.PG_INDEX_NAMES or name.startswith(SEARCH.FTS_TABLES)


def _diff(connection: Any) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    with warnings.catch_warnings():
        # SQLAlchemy cannot reflect SQLite's expression indexes; the test below checks
        # that the migration made it.
        warnings.filterwarnings("ignore", "Skipped unsupported reflection", SAWarning)
        warnings.filterwarnings("ignore", "autogenerate skipping metadata-specified expression")
        return [d for d in compare_metadata(context, metadata) if not _is_search_object(d)]


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
    names = set(inspect(connection).get_table_names())
    return {n for n in names if not n.startswith(SEARCH.FTS_TABLES)}


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
        assert {"ix_concepts_era_asc_key", "ix_concepts_era_desc_key"} <= indexes
        assert version == [("0009",)]
    finally:
        await db.aclose()


def _migrate(connection: Any, revision: str) -> None:
    from alembic import command

    from philos.datasources.sql import alembic_config

    command.upgrade(alembic_config(connection), revision)


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
async def test_concept_references_become_cascading_foreign_keys(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """0003 drops the records that already point at a missing concept, keeps the rest, and
    from then on the database refuses such records and deletes a concept's records with it."""
    if kind == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'fk.db'}"
    else:
        url = await _own_database(request.getfixturevalue("postgres_url"), "philos_fk")
    db = SqlDatabase(url)
    concepts = SqlConceptStore(db, owns_graph=True, owns_theses=True)
    graph, theses, suggestions = SqlGraphStore(db), SqlThesisStore(db), SqlSuggestionStore(db)
    a, b, gone = new_id(), new_id(), new_id()
    try:
        await db.drop_schema()
        async with db.engine.begin() as conn:
            await conn.run_sync(_migrate, "0002")
        for ident, slug in ((a, "a"), (b, "b")):
            await concepts.create(Concept(id=ident, slug=slug, name=slug, summary="s"))
        kept_thesis = await theses.create(
            Thesis(id=new_id(), concept_id=a, statement="x", stance=AFFIRMS)
        )
        kept_relation = await graph.relate(
            Relation(id=new_id(), source_id=a, target_id=b, type=IS_A)
        )
        # Left by races before 0003: they name a concept that is gone.
        await theses.create(Thesis(id=new_id(), concept_id=gone, statement="y", stance=AFFIRMS))
        await graph.relate(Relation(id=new_id(), source_id=gone, target_id=a, type=IS_A))
        await graph.relate(Relation(id=new_id(), source_id=b, target_id=gone, type=IS_A))
        await suggestions.add([_suggestion(a, a, gone), _suggestion(a, a, b)], None)

        await db.create_schema()

        assert set(await theses.get_many([kept_thesis.id])) == {kept_thesis.id}
        assert set(await graph.get_relations([kept_relation.id])) == {kept_relation.id}
        assert await _count(db, "theses") == 1 and await _count(db, "relations") == 1
        assert await _count(db, "relation_suggestions") == 1
        async with db.engine.connect() as conn:
            keys = await conn.run_sync(
                lambda c: {t: inspect(c).get_foreign_keys(t) for t in _REFERENCES}
            )
            if kind == "sqlite":  # the pragma is back on for pooled connections
                assert (await conn.exec_driver_sql("PRAGMA foreign_keys")).scalar() == 1
        for table, columns in _REFERENCES.items():
            found = {(k["constrained_columns"][0], k["referred_table"]) for k in keys[table]}
            assert found == {(col, "concepts") for col in columns}, table
            assert all(k["options"].get("ondelete") == "CASCADE" for k in keys[table]), table

        with pytest.raises(NotFoundError):
            await theses.create(Thesis(id=new_id(), concept_id=gone, statement="z", stance=AFFIRMS))
        with pytest.raises(NotFoundError):
            await graph.relate(Relation(id=new_id(), source_id=a, target_id=gone, type=IS_A))
        with pytest.raises(NotFoundError):
            await suggestions.add([_suggestion(b, b, gone)], None)
        assert await concepts.delete(a) is True
        assert await concepts.delete(a) is False
        for table in _REFERENCES:
            assert await _count(db, table) == 0, table
    finally:
        await db.aclose()


_REFERENCES = {
    "relations": {"source_id", "target_id"},
    "theses": {"concept_id"},
    "relation_suggestions": {"concept_id", "source_id", "target_id"},
}
AFFIRMS, IS_A = Stance.AFFIRMS, RelationType.IS_A


def _suggestion(concept: str, source: str, target: str) -> RelationSuggestion:
    return RelationSuggestion(
        id=new_id(),
        concept_id=concept,
        source_id=source,
        target_id=target,
        type=RelationType.OPPOSES,
        weight=0.5,
        rationale="r",
        model="m",
        prompt_version="v",
    )


async def _count(db: SqlDatabase, table: str) -> int:
    async with db.connect() as conn:
        return int((await conn.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one())


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
