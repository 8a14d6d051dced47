"""Bugs the fuzzers found, each as its smallest reproducer, kept as regression tests.

- a store call cancelled by graphql-core (a non-null sibling field failed) counted as a store
  failure: five such requests opened the SQL circuit breaker for every client;
- such a call, cancelled while its connection opened, never gave the connection back;
- a query's cost past 2**64 (three nested lists at the largest Int, or a huge ``first`` in a
  variable) went into ``extensions.cost``, which the JSON encoder refused: HTTP 500;
- any variable holding an integer past 2**64 broke the response-cache key, and the encoder's
  own message ("Integer exceeds 64-bit range") reached the client.
"""

from __future__ import annotations

import gc
import time
import warnings
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy.exc import SAWarning
from sqlalchemy.pool import QueuePool

from tests.fuzz.leaks import check_answer
from tests.fuzz.server import FuzzServer
from tests.sql_access import sql_db

# `concepts` is non-null, so its BAD_USER_INPUT nulls the whole `data`, and graphql-core then
# cancels the sibling field's store call while it is running.
CANCELS_A_STORE_CALL = "{ theses { totalCount } concepts(first: 0) { totalCount } }"
INT_MAX = 2**31 - 1


@pytest.fixture
def http(fresh_server: FuzzServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=fresh_server.url, timeout=30) as client:
        yield client


def post(http: httpx.Client, query: str, variables: dict[str, Any] | None = None) -> Any:
    response = http.post("/graphql", json={"query": query, "variables": variables or {}})
    return check_answer(
        status=response.status_code,
        content_type=response.headers.get("content-type", ""),
        body=response.content,
        query=query,
        variables=variables,
    )


def test_cancelled_store_calls_keep_the_circuit_closed(http: httpx.Client) -> None:
    for _ in range(5):
        post(http, CANCELS_A_STORE_CALL)
    body = post(http, '{ concept(slug: "forms") { name } }')
    assert body["data"]["concept"] == {"name": "Theory of Forms"}


def test_cancelled_store_calls_return_their_connections(
    fresh_server: FuzzServer, http: httpx.Client
) -> None:
    assert fresh_server.stores is not None
    pool = sql_db(fresh_server.stores).engine.pool
    assert isinstance(pool, QueuePool)
    gc.disable()  # or the collector may tidy up before we look
    try:
        post(http, CANCELS_A_STORE_CALL)
        deadline = time.monotonic() + 1
        while pool.checkedout() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert pool.checkedout() == 0, "a connection is still checked out"
    finally:
        gc.enable()
        # A leaked connection has failed the test already; its SAWarning would only repeat it.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SAWarning)
            gc.collect()


def test_cost_past_64_bits_is_rejected_cleanly(http: httpx.Client) -> None:
    query = (
        f"{{ concepts(first: {INT_MAX}) {{ nodes {{ theses(first: {INT_MAX}) {{"
        f" concept {{ theses(first: {INT_MAX}) {{ id }} }} }} }} }} }}"
    )
    body = post(http, query)
    assert body["errors"][0]["extensions"]["code"] == "COST_LIMIT_EXCEEDED"


def test_first_past_64_bits_in_a_variable_is_rejected_cleanly(http: httpx.Client) -> None:
    body = post(
        http,
        "query ($n: Int!) { concepts(first: $n) { totalCount } }",
        {"n": 10**23},
    )
    assert "errors" in body


def test_integer_past_64_bits_in_any_variable_is_harmless(http: httpx.Client) -> None:
    body = post(http, "query ($s: String) { concepts(after: $s) { totalCount } }", {"s": 2**64})
    assert body["errors"][0]["message"].startswith("Variable '$s' has invalid value")
