"""Helpers shared by the SQL stores."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import ColumnElement, String, cast, func, or_
from sqlalchemy.sql.elements import ColumnClause

from philos.domain import PageResult

__all__ = [
    "PageResult",
    "aware",
    "contains_text",
    "join_tags",
    "like_pattern",
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
