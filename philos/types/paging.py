"""Argument checks for queries, and the error they raise.

A query argument out of range is the client's mistake, not a missing record: it becomes a
GraphQL error with ``extensions.code = BAD_USER_INPUT`` that error masking lets through.
"""

from __future__ import annotations

import base64
import binascii

from philos.errors import (
    UserInputError as UserInputError,
)

MAX_PAGE = 100


def check_range(name: str, value: int, low: int, high: int) -> int:
    if not low <= value <= high:
        raise UserInputError(f"`{name}` must be between {low} and {high} (got {value}).")
    return value


_PREFIX = "offset:"


def encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"{_PREFIX}{offset}".encode()).decode()


def decode_cursor(cursor: str | None) -> int:
    """The offset just after ``cursor``; 0 for no cursor."""
    if cursor is None:
        return 0
    try:
        raw = base64.urlsafe_b64decode(cursor.encode()).decode()
        if not raw.startswith(_PREFIX):
            raise ValueError(raw)
        offset = int(raw[len(_PREFIX) :])
        if offset < 0:
            raise ValueError(raw)
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise UserInputError(
            "`after` is not a cursor this API issued; pass an `endCursor` from a previous page."
        ) from exc
    return offset + 1
