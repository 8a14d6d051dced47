"""SQL fragments for the query compiler: how each field's value is written in PostgreSQL so
that it prints exactly as the resolvers' answer does."""

# Fragments are fixed text around generated aliases; values are never interpolated.
# ruff: noqa: S608

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

# json_build_object takes at most 100 arguments: 50 keys.
MAX_KEYS = 50


class Unsupported(Exception):
    """The operation needs the resolvers."""


def timestamp(column: str) -> str:
    """``datetime.isoformat()`` of a UTC timestamp: microseconds only when non-zero."""
    utc = f"({column} AT TIME ZONE 'UTC')"
    return (
        f"(to_char({utc}, 'YYYY-MM-DD\"T\"HH24:MI:SS') || CASE WHEN "
        f"extract(microseconds FROM {utc})::bigint % 1000000 = 0 THEN '' "
        f"ELSE to_char({utc}, '.US') END || '+00:00')"
    )


def float_json(column: str) -> str:
    """A float as Python writes it: whole numbers keep their ``.0``."""
    return (
        f"(CASE WHEN {column} = trunc({column}) AND abs({column}) < 1e15 "
        f"THEN (trunc({column})::bigint::text || '.0')::json ELSE to_json({column}) END)"
    )


def tags(column: str) -> str:
    """``|a|b|`` as ``["a","b"]``."""
    return f"to_json(array_remove(string_to_array({column}, '|'), ''))"


def cursor(payload: str) -> str:
    """``types.paging.encode_cursor``: URL-safe base64 of the cursor's text (PostgreSQL breaks
    base64 into lines of 76; the breaks are dropped)."""
    encoded = f"encode(convert_to({payload}, 'UTF8'), 'base64')"
    return f"translate({encoded}, '+/' || chr(10), '-_')"


def contains(q: str, columns: Sequence[Any], pattern: str) -> str:
    """``datasources/sql/common.contains_text`` on the alias ``q``: any of the columns holds the
    (escaped, lower-cased) LIKE pattern bound as ``pattern``."""
    tests = [f"lower(CAST({q}.{c.name} AS VARCHAR)) LIKE {pattern} ESCAPE '\\'" for c in columns]
    return tests[0] if len(tests) == 1 else "(" + " OR ".join(tests) + ")"


def json_list(element: str, order: str, source: str) -> str:
    return f"(SELECT coalesce(json_agg({element} ORDER BY {order}), '[]'::json) FROM {source})"  # nosec B608


def json_object(parts: Sequence[tuple[str, str]]) -> str:
    """The object of these keys; ``{}`` when there are none (what the resolvers answer for an
    entity whose selection only has fragments on other types)."""
    if len(parts) > MAX_KEYS:
        raise Unsupported
    return "json_build_object(" + ", ".join(f"'{key}', {expr}" for key, expr in parts) + ")"


def typename(name: str) -> str:
    return f"'{name}'::text"


def enum_value(enum_or_str: Any) -> str:
    return str(getattr(enum_or_str, "value", enum_or_str))
