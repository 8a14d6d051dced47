"""GraphQL enums are the domain's own (``philos.types.enums``): same names, same values."""

from __future__ import annotations

import enum
from typing import Any

import pytest
from graphql import GraphQLEnumType

from philos.schema.root import build_schema
from philos.types import enums

SCHEMA: Any = build_schema()._schema


@pytest.mark.parametrize("name", enums.__all__)
def test_each_graphql_enum_is_its_domain_enum(name: str) -> None:
    domain_enum = getattr(enums, name)
    assert issubclass(domain_enum, enum.StrEnum)
    graphql_enum = SCHEMA.get_type(name)
    assert isinstance(graphql_enum, GraphQLEnumType)
    assert graphql_enum.description
    assert {n: v.value for n, v in graphql_enum.values.items()} == {m.name: m for m in domain_enum}
    assert all(m.name == m.value for m in domain_enum)
