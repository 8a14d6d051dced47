"""Argument checks for queries, and the error they raise.

A query argument out of range is the client's mistake, not a missing record: it becomes a
GraphQL error with ``extensions.code = BAD_USER_INPUT`` that error masking lets through.
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Any

import orjson

from philos.domain import ConceptOrder, Keyset
from philos.errors import (
    UserInputError as UserInputError,
)
from philos.validation import is_id

MAX_PAGE = 100


def check_range(name: str, value: int, low: int, high: int) -> int:
    if not low <= value <= high:
        raise UserInputError(f"`{name}` must be between {low} and {high} (got {value}).")
    return value


# A cursor is URL-safe base64 of "<version> <order> <id> <key values...>", space-separated:
# the order's sort key of the row it stands for, so the next page starts just after that row
# (``WHERE key > cursor``) whatever was added or removed before it. The name, which may hold
# spaces, is always the last value. The query compiler (``philos/compile``) writes the same
# text in SQL.
VERSION = "1"
THESES = "theses"  # the order of `theses` (newest first); concept orders go by their name
RELATIONS = "relations"  # the order of `relations` (by id)
# A list with a `search` sorts on the store's ranking key (how well a row matches, then the
# list's order): its cursors carry that key's values as JSON, tagged "search:<order>".
SEARCH = "search"
NO_ERA = "-"

# The columns each order's cursor carries, in key order, the id apart (they are the SQL keys'
# columns, ``datasources/sql/keyset.py``).
CONCEPT_CURSOR: dict[ConceptOrder, tuple[str, ...]] = {
    ConceptOrder.NAME_ASC: ("name",),
    ConceptOrder.NAME_DESC: ("name",),
    # Without a search there is nothing to rank: RELEVANCE is the name order.
    ConceptOrder.RELEVANCE: ("name",),
    ConceptOrder.ERA_ASC: ("era_from", "name"),
    ConceptOrder.ERA_DESC: ("era_from", "name"),
    ConceptOrder.CREATED_AT_ASC: ("created_at",),
    ConceptOrder.CREATED_AT_DESC: ("created_at",),
    ConceptOrder.UPDATED_AT_DESC: ("updated_at",),
}
THESIS_CURSOR: tuple[str, ...] = ("created_at",)

_NOT_A_CURSOR = "`after` is not a cursor this API issued; pass an `endCursor` from a previous page."


def _text(column: str, value: Any) -> str:
    if column == "era_from":
        return NO_ERA if value is None else str(int(value))
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def _value(column: str, text: str) -> Any:
    if column == "era_from":
        return None if text == NO_ERA else int(text)
    if column in ("created_at", "updated_at"):
        at = datetime.fromisoformat(text)
        if at.tzinfo is None:
            raise ValueError(text)
        return at
    return text


def encode_cursor(tag: str, columns: tuple[str, ...], row: Any) -> str:
    """The cursor of ``row`` (a record with the columns and an ``id``) in the order ``tag``."""
    fields = [VERSION, tag, str(row.id), *(_text(c, getattr(row, c)) for c in columns)]
    return base64.urlsafe_b64encode(" ".join(fields).encode()).decode()


def concept_cursor(order: ConceptOrder, concept: Any) -> str:
    return encode_cursor(order.value, CONCEPT_CURSOR[order], concept)


def relation_cursor(relation: Any) -> str:
    return encode_cursor(RELATIONS, (), relation)


def thesis_cursor(thesis: Any) -> str:
    return encode_cursor(THESES, THESIS_CURSOR, thesis)


def _list_named(tag: str) -> str:
    if tag in (THESES, RELATIONS):
        return f"`{tag}`"
    if tag.startswith(f"{SEARCH}:"):
        return "a list with a `search`"
    return f"orderBy {tag}"


def _issued(tag: str) -> bool:
    """Whether ``tag`` names a list this API issues cursors for."""
    base = tag.removeprefix(f"{SEARCH}:")
    return base in (THESES, RELATIONS) or base in ConceptOrder.__members__


def _key_json(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"at": value.isoformat()}
    return value


def _key_value(value: Any) -> Any:
    if isinstance(value, dict) and value.keys() == {"at"} and isinstance(value["at"], str):
        at = datetime.fromisoformat(value["at"])
        if at.tzinfo is None:
            raise ValueError(value)
        return at
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise ValueError(value)


def search_cursor(tag: str, row: Any, key: tuple[Any, ...]) -> str:
    """The cursor of ``row`` in a searched list in the order ``tag``: its ranking ``key``
    (``PageResult.keys``)."""
    values = orjson.dumps([_key_json(v) for v in key]).decode()
    fields = [VERSION, f"{SEARCH}:{tag}", str(row.id), values]
    return base64.urlsafe_b64encode(" ".join(fields).encode()).decode()


def decode_search_cursor(cursor: str | None, tag: str) -> Keyset | None:
    """The row ``cursor`` stands for in a searched list in the order ``tag``."""
    keyset = decode_cursor(cursor, f"{SEARCH}:{tag}", ("key",))
    if keyset is None:
        return None
    try:
        values = orjson.loads(str(keyset.values[0]))
        if not isinstance(values, list):
            raise ValueError(values)
        return Keyset(values=tuple(_key_value(v) for v in values), id=keyset.id)
    except ValueError as exc:  # orjson.JSONDecodeError is one
        raise UserInputError(_NOT_A_CURSOR) from exc


def decode_cursor(cursor: str | None, tag: str, columns: tuple[str, ...]) -> Keyset | None:
    """The row ``cursor`` stands for in the order ``tag``; None (the start) for no cursor."""
    if cursor is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor.encode()).decode()
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise UserInputError(_NOT_A_CURSOR) from exc
    if raw.startswith("offset:"):
        raise UserInputError(
            "`after`: offset cursors are no longer accepted; start again without `after`."
        )
    fields = raw.split(" ", 2 + len(columns))
    if len(fields) >= 2 and fields[0] == VERSION and fields[1] != tag:
        issued = fields[1]
        if _issued(issued):
            issued_for, asked = _list_named(issued), _list_named(tag)
            raise UserInputError(
                f"`after`: this cursor was issued for {issued_for}, not {asked}; pass an "
                "`endCursor` of the same order, or start again without `after`."
            )
    try:
        if len(fields) != 3 + len(columns) or fields[0] != VERSION or fields[1] != tag:
            raise ValueError(raw)
        if not is_id(fields[2]):
            raise ValueError(raw)
        values = tuple(_value(c, text) for c, text in zip(columns, fields[3:], strict=True))
    except ValueError as exc:
        raise UserInputError(_NOT_A_CURSOR) from exc
    return Keyset(values=values, id=fields[2])
