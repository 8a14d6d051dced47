"""Production errors name nothing of the schema the client did not send itself.

Generated from the schema: for every type, field, argument, input field and enum value, a
near-miss (one character changed) is sent where that kind of name goes, in production mode;
no schema name the client did not write may appear anywhere in the answer's messages, and no
"Did you mean" either. (Development keeps its suggestions: checked once below.)
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
)

from philos.bootstrap import create_app
from philos.datasources.stores import Stores
from philos.gateway.graphql import make_schema
from philos.gateway.schema_names import schema_names, words_in
from philos.seed.loader import seed
from tests.corpus import SMALL_CORPUS
from tests.settings import settings_for

WORD = re.compile(r"[_A-Za-z]\w*")
QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")
# Words of graphql-core's sentences that are also field names here.
ENGLISH = frozenset({"type", "field"})
Case = tuple[str, str, dict[str, Any]]  # (what is misspelt, document, variables)


def near_miss(name: str, taken: frozenset[str]) -> str:
    """``name`` with one character changed, not itself a name of the schema."""
    for index in (len(name) // 2, 0, len(name) - 1):
        for letter in "qxzjk":
            candidate = name[:index] + letter + name[index + 1 :]
            if candidate != name and candidate not in taken and WORD.fullmatch(candidate):
                return candidate
    return name + "q"


def cases(schema: GraphQLSchema) -> Iterator[Case]:
    taken = schema_names(schema)
    query = schema.query_type
    for type_name, type_ in sorted(schema.type_map.items()):
        if type_name.startswith("__") or type_name not in taken:
            continue
        miss = near_miss(type_name, taken)
        yield type_name, f"query($v: {miss}) {{ __typename }}", {}
        yield type_name, f"{{ ... on {miss} {{ __typename }} }}", {}
        yield type_name, f"{{ ...F }} fragment F on {miss} {{ __typename }}", {}
        if isinstance(type_, GraphQLObjectType | GraphQLInterfaceType):
            spread = "" if type_ is query else f"{{ ...F }} fragment F on {type_name} "
            for field_name, field in sorted(type_.fields.items()):
                miss = near_miss(field_name, taken)
                yield field_name, f"{spread or 'query '}{{ {miss} }}", {}
                for arg in sorted(field.args):
                    miss = near_miss(arg, taken)
                    yield arg, f"{spread or 'query '}{{ {field_name}({miss}: null) }}", {}
        elif isinstance(type_, GraphQLInputObjectType):
            for input_field in sorted(type_.fields):
                miss = near_miss(input_field, taken)
                yield input_field, f"query($v: {type_name} = {{{miss}: null}}) {{ __typename }}", {}
                yield input_field, f"query($v: {type_name}) {{ __typename }}", {"v": {miss: 1}}
        elif isinstance(type_, GraphQLEnumType):
            for value in sorted(type_.values):
                miss = near_miss(value, taken)
                yield value, f"query($v: {type_name} = {miss}) {{ __typename }}", {}
                yield value, f"query($v: {type_name}) {{ __typename }}", {"v": miss}


PRODUCTION_SCHEMA = make_schema(settings_for("sqlite://", Path("."), PHILOS_ENV="production"))
GRAPHQL_SCHEMA: GraphQLSchema = PRODUCTION_SCHEMA._schema
SECRET = schema_names(GRAPHQL_SCHEMA)
CASES = list(cases(GRAPHQL_SCHEMA))


def test_every_kind_of_name_is_covered() -> None:
    misspelt = {name for name, _, _ in CASES}
    assert misspelt == SECRET - {d.name for d in GRAPHQL_SCHEMA.directives}
    assert len(CASES) > 300


@pytest.fixture
async def production(
    stores: Stores, sql_url: str, tmp_path: Path
) -> AsyncIterator[httpx.AsyncClient]:
    await seed(stores, SMALL_CORPUS)
    app = create_app(
        settings_for(sql_url, tmp_path, PHILOS_ENV="production", PHILOS_RATE_LIMIT_IP=0), stores
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://philos.test") as client:
        yield client


def leaked(answer: dict[str, Any], document: str, variables: dict[str, Any]) -> set[str]:
    """Schema names in the messages that the client did not send. Every word counts, but for
    English words of graphql-core's sentences outside quotes ("Unknown type 'X'.")."""
    sent = set(words_in([document, variables]))
    words: set[str] = set()
    for error in answer.get("errors", []):
        message = error["message"]
        quoted = QUOTED.findall(message)
        words.update(w for segment in quoted for w in WORD.findall(segment))
        words.update(w for w in WORD.findall(QUOTED.sub(" ", message)) if w not in ENGLISH)
    return {w for w in words if w in SECRET and w not in sent}


async def test_near_misses_name_nothing_of_the_schema(production: httpx.AsyncClient) -> None:
    failures: list[str] = []
    for name, document, variables in CASES:
        response = await production.post(
            "/graphql", json={"query": document, "variables": variables}
        )
        assert response.status_code == 200, response.text
        answer = response.json()
        assert answer.get("errors"), (document, answer)
        names = leaked(answer, document, variables)
        if "Did you mean" in json.dumps(answer) or names:
            messages = [e["message"] for e in answer["errors"]]
            failures.append(f"{name}: {document} {variables} -> {names} in {messages}")
    assert failures == [], "\n".join(failures[:20])
    # and a normal query still answers
    response = await production.post("/graphql", json={"query": "{ concepts { totalCount } }"})
    assert response.json()["data"]["concepts"]["totalCount"] > 0


async def test_development_still_suggests(stores: Stores, sql_url: str, tmp_path: Path) -> None:
    app = create_app(settings_for(sql_url, tmp_path), stores)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://philos.test") as client:
        response = await client.post(
            "/graphql", json={"query": "query($f: ConceptFiltr) { __typename }"}
        )
    assert "Did you mean 'ConceptFilter'" in response.text
