"""SQL fragments for the query compiler: how each field's value is written in PostgreSQL so
that it prints exactly as the resolvers' answer does, and the stores' orders."""

# Fragments are fixed text around generated aliases; values are never interpolated.
# ruff: noqa: S608

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from philos.domain import ConceptOrder

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


def cursor(offset: str) -> str:
    """``encode_cursor``: URL-safe base64 of ``offset:N``."""
    encoded = f"encode(convert_to('offset:' || ({offset})::text, 'UTF8'), 'base64')"
    return f"translate({encoded}, '+/', '-_')"


def json_list(element: str, order: str, source: str) -> str:
    return f"(SELECT coalesce(json_agg({element} ORDER BY {order}), '[]'::json) FROM {source})"  # nosec B608


def json_object(parts: Sequence[tuple[str, str]]) -> str:
    if not parts or len(parts) > MAX_KEYS:
        raise Unsupported
    return "json_build_object(" + ", ".join(f"'{key}', {expr}" for key, expr in parts) + ")"


def typename(name: str) -> str:
    return f"'{name}'::text"


CONCEPT_COLUMNS = {
    "id": "id",
    "slug": "slug",
    "name": "name",
    "summary": "summary",
    "body": "body",
    "tradition": "tradition",
    "eraFrom": "era_from",
    "eraTo": "era_to",
    "wikidataId": "wikidata_id",
    "sepUrl": "sep_url",
    "version": "version",
}
RELATION_COLUMNS = {
    "id": "id",
    "type": "type",
    "note": "note",
    "sourceId": "source_id",
    "targetId": "target_id",
}
THESIS_COLUMNS = {
    "id": "id",
    "conceptId": "concept_id",
    "statement": "statement",
    "stance": "stance",
    "status": "status",
    "version": "version",
}
USER_COLUMNS = {"id": "id", "displayName": "display_name", "role": "role"}
TIMESTAMPS = {"createdAt": "created_at", "updatedAt": "updated_at"}

# The SQL stores' orders (datasources/sql), with ``{q}`` for the table's alias.
CONCEPT_ORDER = {
    ConceptOrder.NAME_ASC: "lower({q}.name) ASC, {q}.id ASC",
    ConceptOrder.NAME_DESC: "lower({q}.name) DESC, {q}.id DESC",
    ConceptOrder.ERA_ASC: "{q}.era_from IS NULL ASC, {q}.era_from ASC, lower({q}.name) ASC, "
    "{q}.id ASC",
    ConceptOrder.ERA_DESC: "{q}.era_from IS NULL ASC, {q}.era_from DESC, lower({q}.name) ASC, "
    "{q}.id ASC",
    ConceptOrder.CREATED_AT_ASC: "{q}.created_at ASC, {q}.id ASC",
    ConceptOrder.CREATED_AT_DESC: "{q}.created_at DESC, {q}.id DESC",
    ConceptOrder.UPDATED_AT_DESC: "{q}.updated_at DESC, {q}.id DESC",
}
NEWEST_FIRST = "{q}.created_at DESC, {q}.id DESC"
RELATION_ORDER = "{q}.type, {q}.weight DESC, {q}.id"


def enum_value(enum_or_str: Any) -> str:
    return str(getattr(enum_or_str, "value", enum_or_str))
