"""The subgraphs split the monolith's schema: every root field and every entity field is
answered by exactly one subgraph, and ``_entities`` refuses malformed representations with an
error, not a crash."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from graphql import GraphQLObjectType

from philos.gateway.query_limits import cost_hints
from philos.gateway.response_cache import KEY_PREFIX, response_key, scoped_key
from philos.schema.federation import (
    ENTITY_HOMES,
    ENTITY_KEY,
    SUBGRAPHS,
    UnknownSubgraph,
    build_subgraph_schema,
    subgraph_sdl_of,
)
from philos.schema.root import build_schema

ROOT = Path(__file__).resolve().parents[2]


def _fields(schema: object, type_name: str) -> set[str]:
    found = schema._schema.get_type(type_name)  # type: ignore[attr-defined]
    if not isinstance(found, GraphQLObjectType):
        return set()
    return set(found.fields) - {"_entities", "_service"}


def test_each_field_has_exactly_one_subgraph() -> None:
    monolith = build_schema()
    subgraphs = {name: build_subgraph_schema(name) for name in SUBGRAPHS}
    for type_name in ("Query", "Mutation", *ENTITY_HOMES):
        expected = _fields(monolith, type_name) - {ENTITY_KEY}
        served: list[str] = []
        for schema in subgraphs.values():
            served += sorted(_fields(schema, type_name) - {ENTITY_KEY})
        assert sorted(served) == sorted(expected), type_name


def test_the_sdl_declares_entities_and_value_types() -> None:
    sdl = subgraph_sdl_of("graph")
    assert sdl.startswith('extend schema @link(url: "https://specs.apollo.dev/federation/v2.9"')
    assert 'type Concept @key(fields: "id") {' in sdl
    assert "type PageInfo @shareable {" in sdl
    assert "_entities" not in sdl and "_Service" not in sdl


def test_the_gateway_applies_the_schemas_cost_model() -> None:
    """deploy/federation/cost-hints.json is the monolith's cost model (`make supergraph`)."""
    committed = json.loads((ROOT / "deploy" / "federation" / "cost-hints.json").read_text())
    assert committed == cost_hints(build_schema()._schema)
    assert committed["fields"]["Concept.neighbours"]["perDepth"] > 1


def test_subgraphs_sharing_a_cache_keep_their_answers_apart() -> None:
    key = response_key("{ _service { sdl } }", None, {}, "READER")
    keys = {scoped_key(key, name) for name in SUBGRAPHS}
    assert len(keys) == len(SUBGRAPHS) and key not in keys
    assert scoped_key(key, "") == key  # the monolith's keys are unchanged
    assert all(k.startswith(KEY_PREFIX) for k in keys)


def test_an_unknown_subgraph_is_refused() -> None:
    with pytest.raises(UnknownSubgraph, match="one of users, concepts"):
        build_subgraph_schema("billing")


@pytest.mark.parametrize(
    "representation",
    [{"id": "x"}, {"__typename": "Payment", "id": "x"}, {"__typename": "Thesis", "id": "x"}, 7],
)
async def test_malformed_representations_are_errors(representation: object) -> None:
    schema = build_subgraph_schema("graph")
    result = await schema.execute(
        "query($r: [_Any!]!) { _entities(representations: $r) { __typename } }",
        variable_values={"r": [representation]},
    )
    assert result.errors, result
    message = result.errors[0].message
    assert "representation" in message or "resolves no entity" in message, message
