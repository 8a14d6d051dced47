"""The answer rules themselves: each catches what it is for, and an echo of the request is not a
leak."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.fuzz.leaks import check_answer

JSON = "application/json"
LOCATED = {"locations": [{"line": 1, "column": 3}]}


def answer(
    body: Any, *, status: int = 200, content_type: str = JSON, query: str = "{ me { id } }"
) -> None:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    check_answer(status=status, content_type=content_type, body=raw, query=query)


def error(message: str, **extra: Any) -> dict[str, Any]:
    return {"data": None, "errors": [{"message": message, **LOCATED, **extra}]}


def test_a_clean_answer_passes() -> None:
    answer({"data": {"me": None}})
    answer(error("`first` must be between 1 and 100 (got 0).", extensions={"code": "X"}))
    answer(error("Unknown operation named 'x'.", locations=[]))


@pytest.mark.parametrize(
    ("body", "status", "content_type"),
    [
        ({"data": None}, 500, JSON),
        (b"Internal Server Error", 400, "text/plain"),
        (b"{not json", 200, JSON),
        ([], 200, JSON),
        ({}, 200, JSON),
    ],
    ids=["5xx", "not-json-media-type", "unparsable", "not-an-object", "empty-object"],
)
def test_broken_answers_fail(body: Any, status: int, content_type: str) -> None:
    with pytest.raises(AssertionError):
        answer(body, status=status, content_type=content_type)


@pytest.mark.parametrize(
    "bad",
    [
        error("Unexpected error. Quote request id 1 when reporting it."),
        error("x", extensions={"code": "INTERNAL_SERVER_ERROR"}),
        error("The sql store is unavailable", extensions={"code": "STORE_UNAVAILABLE"}),
        error('Traceback (most recent call last):\n  File "x.py", line 1, in f'),
        {"data": {"me": {"id": 'File "/srv/app/resolvers.py", line 3, in resolve'}}},
        error("(sqlalchemy.exc.IntegrityError) UNIQUE constraint failed: concepts.slug"),
        error("Failed at philos.datasources.sql.concepts"),
        error("'NoneType' object has no attribute 'id'"),
        error("KeyError: 'slug'"),
        error("bad query: SELECT id FROM concepts WHERE slug = ?"),
        {"data": None, "errors": [{"message": "Integer exceeds 64-bit range"}]},
    ],
    ids=[
        "masked-message",
        "masked-code",
        "store-unavailable",
        "traceback",
        "stack-frame-in-data",
        "driver-error",
        "module-path",
        "python-internals",
        "exception-class",
        "sql",
        "unplaced-and-uncoded",
    ],
)
def test_leaks_fail(bad: dict[str, Any]) -> None:
    with pytest.raises(AssertionError):
        answer(bad)


def test_an_echo_of_the_request_is_not_a_leak() -> None:
    answer(
        error("Cannot query field 'KeyError' on type 'Query'."),
        query="{ KeyError }",
    )
    check_answer(
        status=200,
        content_type=JSON,
        body=json.dumps(error("Variable '$s' got 'SELECT 1'", extensions={"code": "X"})).encode(),
        query="query ($s: String) { concepts(after: $s) { totalCount } }",
        variables={"s": "SELECT 1"},
    )


def test_our_own_names_are_not_leaks() -> None:
    answer(error("Field 'fields' of type '[FieldError!]!' must have a selection of subfields."))
    answer(error("An account with editor@philos.test exists.", extensions={"code": "X"}))
