"""Schemathesis in GraphQL mode against the running app, signed in as an EDITOR.

The schema is read from the server by introspection (``from_url``); every root field is one
test, run with valid (positive) and invalid (negative) documents from schemathesis' own
strategies. Each answer goes through schemathesis' ``not_a_server_error`` and ``no_leaks``, the
rules of ``leaks.py``. Generation is derandomized and the example count small, so the run is
bounded and the same every time.

Schemathesis' pytest loaders do not fit here: ``from_url`` at import time needs a server during
collection, and the lazy ``schemathesis.pytest.from_fixture`` fails on pytest 9.2 (it sets
``request.node._nodeid``, which pytest no longer has). Hence a plain parametrised test that
asks the loaded schema for each operation's strategy.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.graphql.schemas import GraphQLSchema

from tests.fuzz.leaks import check_answer
from tests.fuzz.server import FuzzServer
from tests.fuzz.strategies import SCHEMA, examples

GraphQLCase = schemathesis.Case[Any]
MAX_EXAMPLES = examples(12)
MODES = [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]
# One test per root field, named from the SDL; the cases come from the running app's schema.
OPERATIONS = [
    f"{root.name}.{name}"
    for root in (SCHEMA.query_type, SCHEMA.mutation_type)
    if root is not None
    for name in root.fields
]


@pytest.fixture(scope="module")
def graphql_schema(fuzz_server: FuzzServer) -> GraphQLSchema:
    return schemathesis.graphql.from_url(fuzz_server.graphql_url)


@pytest.fixture(scope="module")
def session() -> Iterator[requests.Session]:
    with requests.Session() as opened:
        yield opened


def no_leaks(
    ctx: schemathesis.CheckContext, response: schemathesis.Response, case: GraphQLCase
) -> None:
    """The rules of ``leaks.check_answer``: JSON, no masked error, nothing internal."""
    body = response.request.body
    sent = json.loads(body) if isinstance(body, bytes | str) and body else {}
    check_answer(
        status=response.status_code,
        content_type=(response.headers.get("content-type") or [""])[0],
        body=response.content,
        query=sent.get("query", ""),
        variables=sent.get("variables"),
    )


@pytest.mark.parametrize("mode", MODES, ids=lambda m: m.value)
@pytest.mark.parametrize("label", OPERATIONS)
def test_operation(
    graphql_schema: GraphQLSchema,
    fuzz_server: FuzzServer,
    session: requests.Session,
    label: str,
    mode: GenerationMode,
) -> None:
    operation = graphql_schema.find_operation_by_label(label)
    assert operation is not None, f"the running app has no {label}"
    headers = fuzz_server.headers("editor")

    @settings(
        max_examples=MAX_EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: GraphQLCase) -> None:
        response = case.call(session=session, headers=headers)
        case.validate_response(response, checks=[not_a_server_error, no_leaks])

    run()
