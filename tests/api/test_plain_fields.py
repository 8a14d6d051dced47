"""Over HTTP and on every backend: the schema's executor, which reads plain leaf fields
directly (``philos.schema.execution``), answers byte for byte what graphql-core's own executor
answers, for queries generated from the schema over every root query field."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis_graphql import Mode, queries
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from philos.bootstrap import create_app
from philos.datasources.stores import Stores
from philos.schema import execution, root
from philos.seed.loader import seed
from tests.corpus import SMALL_CORPUS
from tests.fuzz.strategies import SCHEMA, SDL
from tests.security.documents import drawn
from tests.settings import settings_for

# Every root query field but the one that answers at random.
assert SCHEMA.query_type is not None
ROOT_FIELDS = sorted(set(SCHEMA.query_type.fields) - {"randomConcept"})


@pytest.fixture
async def twins(
    stores: Stores, sql_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    await seed(stores, SMALL_CORPUS)
    # No response cache and no compiler: every request runs the executor under test.
    config = settings_for(sql_url, tmp_path, PHILOS_RESPONSE_CACHE_TTL=0, PHILOS_SQL_COMPILE=False)
    stores = dataclasses.replace(stores, json_reader=None)  # the stores' compiler too
    fast = create_app(config, stores)
    monkeypatch.setattr(root, "PlainFieldsExecution", StrawberryGraphQLCoreExecutionContext)
    stock = create_app(config, stores)
    async with (
        httpx.AsyncClient(transport=httpx.ASGITransport(app=fast), base_url="http://a") as a,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=stock), base_url="http://b") as b,
    ):
        yield a, b


async def _post(client: httpx.AsyncClient, query: str) -> Any:
    response = await client.post("/graphql", json={"query": query})
    body = response.json()
    for error in body.get("errors") or []:  # masked errors quote their own request id
        error.get("extensions", {}).pop("requestId", None)
        error["message"] = error["message"].split(" Quote request id")[0]
    return response.status_code, body


async def test_generated_queries_answer_alike(
    twins: tuple[httpx.AsyncClient, httpx.AsyncClient],
) -> None:
    fast, stock = twins
    execution._PLAN.clear()
    for query in drawn(queries(SDL, fields=ROOT_FIELDS, mode=Mode.POSITIVE), 150):
        mine, theirs = await _post(fast, query), await _post(stock, query)
        assert mine == theirs, (
            f"{query}\nplain fields: {mine!r:.800}\ngraphql-core: {theirs!r:.800}"
        )
    assert any(plain is not None for _, plain in execution._PLAN.values())


async def test_a_concept_list_reads_its_leaves_directly(
    twins: tuple[httpx.AsyncClient, httpx.AsyncClient],
) -> None:
    fast, stock = twins
    query = (
        "{ concepts(first: 5) { nodes { id slug name tags aliases eraFrom createdAt "
        "relations { type weight note target { name } } "
        "theses(first: 3) { statement stance status tags arguments { polarity strength } } } } }"
    )
    execution._PLAN.clear()
    mine = await _post(fast, query)
    assert mine == await _post(stock, query)
    assert mine[1]["data"]["concepts"]["nodes"], "the corpus has concepts"
    taken = [plain for _, plain in execution._PLAN.values() if plain is not None]
    assert len(taken) >= 10, "the leaves of this query take the shortcut"
    types: Any = root.build_schema()._schema.type_map
    for type_name, field_name in [
        ("Concept", "name"),
        ("Concept", "tags"),
        ("Thesis", "statement"),
        ("Thesis", "stance"),
        ("Relation", "type"),
    ]:
        assert execution.plain_field(types[type_name].fields[field_name]) is not None
    assert execution.plain_field(types["Concept"].fields["theses"]) is None
