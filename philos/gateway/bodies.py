"""Decoding a GraphQL request's JSON: every way a body or a query-string value can be wrong is
the client's 400, never a crash of the view.

The standard decoder raises more than ``JSONDecodeError`` on hostile input: a ``UnicodeDecodeError``
for bytes that are not UTF-8, a ``ValueError`` for an integer of more than 4300 digits, a
``RecursionError`` for deep nesting. JSON nested deeper than ``MAX_DEPTH`` is refused as well,
since what decodes may still be too deep for what comes after it (variable coercion, the
response-cache key, the encoder), and no GraphQL request needs it.
"""

from __future__ import annotations

import json
from typing import Any

from cross_web import HTTPException

# No input type of the schema nests anywhere near this; every later stage copes with it.
MAX_DEPTH = 64


def decode_json(data: str | bytes) -> Any:
    """``data`` as JSON; ``HTTPException`` 400 saying what is wrong otherwise. Bytes must be
    UTF-8 (RFC 8259 §8.1; a leading byte-order mark is ignored)."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise HTTPException(400, "The request body is not valid UTF-8.") from exc
        where = "request body"
    else:
        where = "query-string value"
    try:
        value = json.loads(data, parse_constant=_no_constant)
    except RecursionError as exc:
        raise HTTPException(400, f"The JSON is nested deeper than {MAX_DEPTH} levels.") from exc
    except ValueError as exc:  # JSONDecodeError, and integers too long to convert
        raise HTTPException(400, f"Unable to parse the {where} as JSON.") from exc
    if too_deep(value):
        raise HTTPException(400, f"The JSON is nested deeper than {MAX_DEPTH} levels.")
    return value


def _no_constant(name: str) -> object:
    raise ValueError(f"{name} is not JSON")  # NaN and ±Infinity: Python accepts them, JSON not


def too_deep(value: object, limit: int = MAX_DEPTH) -> bool:
    """Whether ``value`` nests lists/objects more than ``limit`` levels (iteratively)."""
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def check_body(value: object, batching: bool) -> None:
    """A POST body is one request object, or (batching on) a list of them; 400 otherwise.
    (Strawberry checks ``query``, ``variables`` and ``extensions``, and answers a list when
    batching is off; the rest is checked here, where it would otherwise crash the view.)"""
    if isinstance(value, list):
        if not batching:
            return  # Strawberry's own "Batching is not enabled" 400
        for item in value:
            if not isinstance(item, dict):
                raise HTTPException(400, "Each operation of a batch must be a JSON object.")
            check_request(item)
        return
    if not isinstance(value, dict):
        raise HTTPException(
            400, 'The request body must be a JSON object: {"query": …, "variables": {…}}.'
        )
    check_request(value)


def check_request(request: dict[str, Any]) -> None:
    name = request.get("operationName")
    if name is not None and not isinstance(name, str):
        raise HTTPException(
            400, "The GraphQL operation's `operationName` must be a string or null."
        )
