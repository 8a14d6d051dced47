"""Generated queries and mutations against the running app, anonymous and as an EDITOR.

hypothesis-graphql writes documents from the schema (schema.graphql), arguments inline: valid
ones (``Mode.POSITIVE``) and ones with exactly one violation (``Mode.NEGATIVE``); queries go by
POST or GET. ``test_variables`` passes every argument of one root field as a variable, with
values that pass the input rules, fit the declared type, or are any JSON at all; it also runs
as an ADMIN. Clients ask for ``application/json`` or ``application/graphql-response+json``.
Every answer must pass ``leaks.check_answer``. Runs are bounded and derandomized, so CI sends
the same requests each time.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import Mode

from tests.fuzz.leaks import check_answer
from tests.fuzz.server import FuzzServer
from tests.fuzz.strategies import examples, inline_operations, variable_operations

PRINCIPALS = ["anonymous", "editor"]
# Seeded records have no author, so only an ADMIN's updates and deletes get past the role check.
VARIABLE_PRINCIPALS = [*PRINCIPALS, "admin"]
KINDS = ["query", "mutation"]

# These counts keep the whole fuzz directory well under a minute (PHILOS_FUZZ_SCALE raises them).
INLINE_EXAMPLES = examples(80)
VARIABLE_EXAMPLES = examples(120)
FUZZ = settings(
    max_examples=INLINE_EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.fixture(scope="module")
def http(fuzz_server: FuzzServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=fuzz_server.url, timeout=30) as client:
        yield client


# Plain JSON clients get 200 for every GraphQL answer; graphql-response+json clients get 400 for
# requests that fail before execution. Both must stay clean.
ACCEPT = st.sampled_from(["application/json", "application/graphql-response+json"])


def send(
    http: httpx.Client,
    headers: dict[str, str],
    query: str,
    variables: dict[str, Any] | None = None,
    method: str = "POST",
) -> None:
    if method == "GET":
        params = {"query": query}
        response = http.get("/graphql", params=params, headers=headers)
    else:
        body = {"query": query, "variables": variables or {}}
        response = http.post("/graphql", json=body, headers=headers)
    check_answer(
        status=response.status_code,
        content_type=response.headers.get("content-type", ""),
        body=response.content,
        query=query,
        variables=variables,
    )


@pytest.mark.parametrize("principal", PRINCIPALS)
@pytest.mark.parametrize("mode", [Mode.POSITIVE, Mode.NEGATIVE], ids=["valid", "invalid"])
@pytest.mark.parametrize("kind", KINDS)
def test_inline_arguments(
    http: httpx.Client, fuzz_server: FuzzServer, kind: str, mode: Mode, principal: str
) -> None:
    methods = st.sampled_from(["POST", "GET"]) if kind == "query" else st.just("POST")

    @FUZZ
    @given(query=inline_operations(kind, mode), method=methods, accept=ACCEPT)
    def run(query: str, method: str, accept: str) -> None:
        headers = {**fuzz_server.headers(principal), "accept": accept}
        send(http, headers, query, method=method)

    run()


@pytest.mark.parametrize("principal", VARIABLE_PRINCIPALS)
@pytest.mark.parametrize("kind", KINDS)
def test_variables(http: httpx.Client, fuzz_server: FuzzServer, kind: str, principal: str) -> None:
    @settings(FUZZ, max_examples=VARIABLE_EXAMPLES)
    @given(operation=variable_operations(kind), accept=ACCEPT)
    def run(operation: tuple[str, dict[str, Any]], accept: str) -> None:
        query, variables = operation
        headers = {**fuzz_server.headers(principal), "accept": accept}
        send(http, headers, query, variables)

    run()
