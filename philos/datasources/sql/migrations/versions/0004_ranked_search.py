"""What the ranked search (``datasources/sql/search.py``) reads.

PostgreSQL: the ``unaccent`` and ``pg_trgm`` extensions (``CREATE EXTENSION IF NOT EXISTS``;
a role that may not create them gets a warning, an ``philos_unaccent`` that leaves accents
alone, and no typo matching), IMMUTABLE SQL functions over the columns (so they can be
indexed), a GIN index on each weighted ``tsvector`` and GIN trigram indexes on the unaccented
concept names and thesis statements.

SQLite: FTS5 tables kept in sync by triggers: ``concepts_fts`` (external content over the
concepts, ``unicode61 remove_diacritics 2``), ``concepts_trgm`` (the names and aliases,
``trigram``) and ``theses_fts`` (statement and argument texts, its own copy). They follow the
rows by rowid: a later revision that rebuilds ``concepts`` or ``theses`` (batch mode), or a
``VACUUM``, must rebuild them too (``INSERT INTO concepts_fts(concepts_fts)
VALUES('rebuild')``; see ``rebuild_sqlite``).

Revision ID: 0004
Revises: 0003
"""

# The statements are built from fixed fragments and names; nothing a client sends.
# ruff: noqa: S608

from __future__ import annotations

import logging

import sqlalchemy as sa
from alembic import op
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

revision = "0004"
down_revision: str | None = "0003"
branch_labels = None
depends_on = None

logger = logging.getLogger("philos.migrations")

FTS_TABLES = ("concepts_fts", "concepts_trgm", "theses_fts")
_ARGUMENT_TEXT = (
    "(SELECT coalesce(group_concat(json_extract(value, '$.text'), ' '), '') "
    "FROM json_each({row}.arguments))"
)

SQLITE_TABLES = [
    "CREATE VIRTUAL TABLE IF NOT EXISTS concepts_fts USING fts5(name, aliases, summary, body, "
    "content='concepts', content_rowid='rowid', tokenize='unicode61 remove_diacritics 2')",
    "CREATE VIRTUAL TABLE IF NOT EXISTS concepts_trgm USING fts5(name, aliases, "
    "content='concepts', content_rowid='rowid', tokenize='trigram')",
    "CREATE VIRTUAL TABLE IF NOT EXISTS theses_fts USING fts5(statement, arguments, "
    "tokenize='unicode61 remove_diacritics 2')",
]


def _concept_rows(op_: str, row: str) -> str:
    delete = op_ == "delete"
    head = "concepts_fts, rowid, " if delete else "rowid, "
    tail = "'delete', " if delete else ""
    trgm_head = "concepts_trgm, rowid, " if delete else "rowid, "
    return (
        f"INSERT INTO concepts_fts({head}name, aliases, summary, body) "  # nosec B608
        f"VALUES ({tail}{row}.rowid, {row}.name, {row}.aliases, {row}.summary, {row}.body); "
        f"INSERT INTO concepts_trgm({trgm_head}name, aliases) "
        f"VALUES ({tail}{row}.rowid, {row}.name, {row}.aliases);"
    )


def _thesis_insert(row: str) -> str:
    return (
        "INSERT INTO theses_fts(rowid, statement, arguments) "  # nosec B608
        f"VALUES ({row}.rowid, {row}.statement, {_ARGUMENT_TEXT.format(row=row)});"
    )


SQLITE_TRIGGERS = [
    "CREATE TRIGGER concepts_search_ai AFTER INSERT ON concepts BEGIN "
    f"{_concept_rows('insert', 'new')} END",
    "CREATE TRIGGER concepts_search_ad AFTER DELETE ON concepts BEGIN "
    f"{_concept_rows('delete', 'old')} END",
    "CREATE TRIGGER concepts_search_au AFTER UPDATE ON concepts BEGIN "
    f"{_concept_rows('delete', 'old')} {_concept_rows('insert', 'new')} END",
    f"CREATE TRIGGER theses_search_ai AFTER INSERT ON theses BEGIN {_thesis_insert('new')} END",
    "CREATE TRIGGER theses_search_ad AFTER DELETE ON theses BEGIN "
    "DELETE FROM theses_fts WHERE rowid = old.rowid; END",
    "CREATE TRIGGER theses_search_au AFTER UPDATE ON theses BEGIN "  # nosec B608
    f"DELETE FROM theses_fts WHERE rowid = old.rowid; {_thesis_insert('new')} END",
]
TRIGGER_NAMES = [s.split()[2] for s in SQLITE_TRIGGERS]


def rebuild_sqlite() -> list[str]:
    """Statements that refill the SQLite search tables from the rows."""
    return [
        "INSERT INTO concepts_fts(concepts_fts) VALUES('rebuild')",
        "INSERT INTO concepts_trgm(concepts_trgm) VALUES('rebuild')",
        "DELETE FROM theses_fts",
        "INSERT INTO theses_fts(rowid, statement, arguments) SELECT rowid, statement, "  # nosec B608
        f"{_ARGUMENT_TEXT.format(row='theses')} FROM theses",
    ]


def _pg_functions(s: str, unaccent: str | None) -> list[str]:
    """The SQL functions, in schema ``s``; ``unaccent`` is the extension's schema, if any."""
    fn = "LANGUAGE sql IMMUTABLE PARALLEL SAFE"
    body = f"{unaccent}.unaccent('{unaccent}.unaccent'::regdictionary, $1)" if unaccent else "$1"

    def tsv(value: str, weight: str) -> str:
        return (
            f"setweight(to_tsvector('simple'::regconfig, "
            f"{s}.philos_unaccent(coalesce({value}, ''))), '{weight}')"
        )

    arguments = "(SELECT string_agg(a->>'text', ' ') FROM json_array_elements($2::json) a)"
    return [
        f"CREATE OR REPLACE FUNCTION {s}.philos_unaccent(text) RETURNS text {fn} STRICT "
        f"AS $$ SELECT {body} $$",
        f"CREATE OR REPLACE FUNCTION {s}.philos_search_key(text) RETURNS text {fn} STRICT AS $$ "
        f"SELECT btrim(regexp_replace(lower({s}.philos_unaccent($1)), '[^[:alnum:]]+', ' ', 'g'))"
        " $$",
        f"CREATE OR REPLACE FUNCTION {s}.philos_concept_tsv(text, text, text, text) "
        f"RETURNS tsvector {fn} AS $$ SELECT {tsv('$1', 'A')} || {tsv('$2', 'B')} || "
        f"{tsv('$3', 'C')} || {tsv('$4', 'D')} $$",
        f"CREATE OR REPLACE FUNCTION {s}.philos_concept_names(text, text) RETURNS text {fn} "
        f"AS $$ SELECT lower({s}.philos_unaccent(coalesce($1, '') || ' ' || coalesce($2, ''))) $$",
        f"CREATE OR REPLACE FUNCTION {s}.philos_concept_keys(text, text) RETURNS text[] {fn} "  # nosec B608
        f"AS $$ SELECT array_prepend({s}.philos_search_key($1), ARRAY(SELECT "
        f"{s}.philos_search_key(a) FROM json_array_elements_text($2::json) a)) $$",
        f"CREATE OR REPLACE FUNCTION {s}.philos_thesis_tsv(text, text) RETURNS tsvector {fn} "
        f"AS $$ SELECT {tsv('$1', 'A')} || {tsv(arguments, 'B')} $$",
    ]


PG_INDEXES = [
    "CREATE INDEX IF NOT EXISTS ix_concepts_search ON concepts USING gin "
    "(philos_concept_tsv(name, CAST(aliases AS TEXT), summary, body))",
    "CREATE INDEX IF NOT EXISTS ix_theses_search ON theses USING gin "
    "(philos_thesis_tsv(statement, CAST(arguments AS TEXT)))",
]
PG_TRIGRAM_INDEXES = [
    "CREATE INDEX IF NOT EXISTS ix_concepts_names_trgm ON concepts USING gin "
    "(philos_concept_names(name, CAST(aliases AS TEXT)) gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS ix_theses_statement_trgm ON theses USING gin "
    "(lower(philos_unaccent(statement)) gin_trgm_ops)",
]
PG_INDEX_NAMES = [
    "ix_concepts_search",
    "ix_theses_search",
    "ix_concepts_names_trgm",
    "ix_theses_statement_trgm",
]
PG_FUNCTIONS = [
    "philos_thesis_tsv(text, text)",
    "philos_concept_keys(text, text)",
    "philos_concept_names(text, text)",
    "philos_concept_tsv(text, text, text, text)",
    "philos_search_key(text)",
    "philos_unaccent(text)",
]


def _extension_schema(bind: Connection, name: str) -> str | None:
    found = bind.execute(
        sa.text("SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = :n"),
        {"n": name},
    ).scalar_one_or_none()
    return str(found) if found is not None else None


def _create_extension(bind: Connection, name: str) -> str | None:
    """The extension's schema, creating the extension if it is missing and we may."""
    if (schema := _extension_schema(bind, name)) is not None:
        return schema
    try:
        with bind.begin_nested():
            bind.exec_driver_sql(f"CREATE EXTENSION IF NOT EXISTS {name}")
    except DBAPIError as exc:
        logger.warning(
            "search: the PostgreSQL extension %s could not be created (%s); ask a superuser "
            "to run CREATE EXTENSION %s and migrate again. Until then search %s.",
            name,
            exc.orig,
            name,
            "does not fold accents" if name == "unaccent" else "does not match typos",
        )
        return None
    return _extension_schema(bind, name)


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for statement in [*SQLITE_TABLES, *SQLITE_TRIGGERS, *rebuild_sqlite()]:
            op.execute(statement)
        return
    schema = bind.exec_driver_sql("SELECT current_schema()").scalar_one()
    unaccent = _create_extension(bind, "unaccent")
    trigrams = _create_extension(bind, "pg_trgm")
    for statement in _pg_functions(schema, unaccent):
        op.execute(statement)
    for statement in PG_INDEXES + (PG_TRIGRAM_INDEXES if trigrams else []):
        op.execute(statement)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for name in TRIGGER_NAMES:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        for table in FTS_TABLES:
            op.execute(f"DROP TABLE IF EXISTS {table}")
        return
    for index in PG_INDEX_NAMES:
        op.execute(f"DROP INDEX IF EXISTS {index}")
    for function in PG_FUNCTIONS:
        op.execute(f"DROP FUNCTION IF EXISTS {function}")
