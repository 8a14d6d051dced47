"""Helpers shared by the SQL stores."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Row, String, Table, cast, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnClause

from philos.datasources.sql.tables import concepts_t
from philos.domain import PageResult

T = TypeVar("T")

__all__ = [
    "PageResult",
    "aware",
    "by_id",
    "contains_text",
    "is_missing_reference",
    "join_tags",
    "like_pattern",
    "missing_concept",
    "split_tags",
    "tag_pattern",
]


def aware(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; every timestamp we store is UTC."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def join_tags(tags: tuple[str, ...] | list[str]) -> str:
    return "|" + "|".join(tags) + "|" if tags else ""


def split_tags(value: str) -> tuple[str, ...]:
    return tuple(t for t in value.split("|") if t)


def tag_pattern(tag: str) -> str:
    return f"%|{tag}|%"


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def like_pattern(needle: str) -> str:
    """The LIKE pattern (escape character ``\\``) matching ``needle`` anywhere, lower-cased."""
    return f"%{_like_escape(needle.lower())}%"


def contains_text(
    columns: list[ColumnElement[str] | ColumnClause[str]], needle: str
) -> ColumnElement[bool]:
    """Case-insensitive substring match on any of the columns, with LIKE metacharacters escaped."""
    pattern = like_pattern(needle)
    return or_(*(func.lower(cast(c, String)).like(pattern, escape="\\") for c in columns))


def is_missing_reference(exc: IntegrityError) -> bool:
    """Whether the database refused a row because a record it names (its concept) is gone:
    a foreign-key violation (SQLSTATE 23503 on PostgreSQL), not a duplicate."""
    orig = exc.orig
    sqlstate = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if sqlstate:
        return str(sqlstate) == "23503"
    return "FOREIGN KEY constraint failed" in str(orig)


async def missing_concept(conn: AsyncConnection, ids: Sequence[str]) -> str | None:
    """The first of ``ids`` that names no concept, if any."""
    found = set(
        (await conn.execute(select(concepts_t.c.id).where(concepts_t.c.id.in_(set(ids)))))
        .scalars()
        .all()
    )
    return next((i for i in ids if i not in found), None)


async def by_id(
    conn: AsyncConnection, table: Table, ids: Sequence[str], convert: Callable[[Row[Any]], T]
) -> dict[str, T]:
    """The records of ``table`` with these ids, by id, read on ``conn`` (so a write can read
    back what it wrote inside its own transaction)."""
    rows = await conn.execute(select(table).where(table.c.id.in_(set(ids))))
    return {row.id: convert(row) for row in rows}
