"""What every answer to a generated request must satisfy, whatever the request was.

- no 5xx; the body is a JSON object (``data`` and/or ``errors``);
- no error the server did not expect: a masked error (``INTERNAL_SERVER_ERROR``) means a
  resolver raised something unplanned, which is a bug even though the client sees no details;
- nothing of the implementation in what the client reads: no traceback, no Python module paths,
  no SQL, no exception class names, and no error that is neither tied to the document
  (``locations``/``path``) nor coded (``extensions.code``): that shape is an exception's own
  text passed through, e.g. a serialiser's "Integer exceeds 64-bit range".

Servers echo parts of a bad request in their messages ("Cannot query field 'x'"), so text that
the request itself contains is not counted as a leak.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from tests.fuzz.strategies import SCHEMA

JSON_MEDIA_TYPES = ("application/json", "application/graphql-response+json")

# Codes that must never reach a client of a healthy server on valid or invalid input.
FORBIDDEN_CODES = {"INTERNAL_SERVER_ERROR", "STORE_UNAVAILABLE"}

# In any string of the body, data included.
TRACE_PATTERNS = [
    re.compile(r"Traceback"),
    re.compile(r'File "'),
    re.compile(r"line \d+, in \w+"),
    re.compile(r"<\w+(\.\w+)* object at 0x[0-9a-f]+>"),
    re.compile(r"<class '"),
]

# In error messages and extensions.
INTERNAL_PATTERNS = [
    # Python packages and modules of the stack (not inside an e-mail address or a URL)
    re.compile(
        r"(?<![\w@./-])(philos|sqlalchemy|sqlmodel|asyncpg|aiosqlite|sqlite3|strawberry|graphql|"
        r"pydantic|pydantic_core|starlette|uvicorn|neo4j|pymongo|motor|beanie|redis|argon2|jwt|"
        r"orjson|anthropic|purgatory|httpx|builtins)\.[a-z_]"
    ),
    re.compile(r"\w\.py\b"),
    re.compile(r"\b(SQLAlchemy|sqlalchemy|asyncpg|aiosqlite|sqlite3|psycopg)\b"),
    # SQL
    re.compile(r"\bSELECT\s"),
    re.compile(r"\bINSERT\s+INTO\b"),
    re.compile(r"\bDELETE\s+FROM\b"),
    re.compile(r"\bUPDATE\s+\w+\s+SET\b"),
    re.compile(r"\b(UNIQUE|NOT NULL|FOREIGN KEY) constraint\b", re.IGNORECASE),
    re.compile(r"\[SQL:"),
    re.compile(r"\bsqlite_\w+"),
    # Exception class names and Python internals
    re.compile(r"\b[A-Z]\w*(Error|Exception|Warning)\b"),
    re.compile(r"\b(StopIteration|StopAsyncIteration|KeyboardInterrupt|SystemExit)\b"),
    re.compile(r"\bNoneType\b"),
    re.compile(r"\b__\w+__\b"),
    re.compile(r"\[Errno \d+\]"),
]


# Names of our own GraphQL types may appear in messages ("... of type '[FieldError!]!' ...").
SCHEMA_NAMES = frozenset(SCHEMA.type_map)

# Errors about the request as a whole: neither tied to the document nor coded. Anything else
# of that shape is an exception's text that reached the client unmasked.
UNPLACED_ALLOWED = [
    re.compile(r"^Must provide (an )?operation"),
    re.compile(r"^Unknown operation named "),
    re.compile(r"^Send the (request body|access token) "),
    re.compile(r"^Mutations must be sent with POST"),
    re.compile(r"^Too many requests"),
]


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _strings(value: Any) -> Iterator[str]:
    """Every string in a JSON value, keys included, unescaped."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _leaks(value: Any, patterns: list[re.Pattern[str]], request_text: str) -> list[str]:
    found = []
    for text in _strings(value):
        for pattern in patterns:
            for match in pattern.finditer(text):
                word = match.group(0)
                if word not in request_text and word not in SCHEMA_NAMES:
                    found.append(word)
    return found


def check_answer(
    *,
    status: int,
    content_type: str,
    body: bytes,
    query: str,
    variables: Any = None,
) -> dict[str, Any]:
    """Assert the rules above for one answer; returns the parsed body."""
    request_text = "\n".join([query, *_strings(variables)])
    text = body.decode("utf-8", errors="replace")
    context = f"status {status}\nquery: {query}\nvariables: {_dump(variables)}\nanswer: {text}"

    assert status < 500, f"server error\n{context}"
    media = content_type.split(";")[0].strip().lower()
    assert media in JSON_MEDIA_TYPES, f"answer is not JSON ({content_type!r})\n{context}"
    try:
        parsed = json.loads(body)
    except ValueError as exc:
        raise AssertionError(f"answer does not parse as JSON\n{context}") from exc
    assert isinstance(parsed, dict), f"answer is not a JSON object\n{context}"
    assert "data" in parsed or "errors" in parsed, f"answer has neither data nor errors\n{context}"

    trace = _leaks(parsed, TRACE_PATTERNS, request_text)
    assert not trace, f"answer shows a traceback ({trace})\n{context}"

    errors = parsed.get("errors") or []
    assert isinstance(errors, list), f"errors is not a list\n{context}"
    for error in errors:
        assert isinstance(error, dict), f"an error is not an object\n{context}"
        message = error.get("message")
        assert isinstance(message, str) and message, f"an error has no message\n{context}"
        extensions = error.get("extensions") or {}
        code = extensions.get("code") if isinstance(extensions, dict) else None
        assert code not in FORBIDDEN_CODES, f"unexpected server-side failure ({code})\n{context}"
        assert not message.startswith("Unexpected error"), f"masked error\n{context}"
        placed = error.get("locations") or error.get("path") or code
        assert placed or any(p.search(message) for p in UNPLACED_ALLOWED), (
            f"error tied to nothing in the document and without a code: an exception's own "
            f"text, not a message written for clients\n{context}"
        )
        internal = _leaks([message, extensions], INTERNAL_PATTERNS, request_text)
        assert not internal, f"error names internals ({internal})\n{context}"
    return parsed
