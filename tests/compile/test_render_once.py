"""A query shape compiled again renders nothing through SQLAlchemy.

The compiler takes its ORDER BY texts from the SQL stores' own clauses, rendered by
SQLAlchemy's compiler, which costs far more than the rest of a compile. That rendering belongs
to the shape (order, direction, alias), not to the request: a request that only differs in its
variables (another page size, another cursor, another order already seen) must render none of
it again. The shapes and variables are drawn from the schema's own enum of orders, both
directions of paging and every nested list the compiler covers.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest
from graphql import GraphQLSchema, parse, validate
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.sql import elements, visitors

from philos.compile.sql import compile_operation
from philos.domain import ConceptOrder
from philos.schema.root import build_schema
from philos.types.paging import concept_cursor, thesis_cursor

CONCEPTS = """
query ($first: Int!, $after: String, $order: ConceptOrder%s) {
  concepts(first: $first, after: $after, orderBy: $order) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { name %s } }
  }
}
"""
NESTED = {  # what a concept lists, with the variables that takes
    "theses": (", $k: Int!", "theses(first: $k) { statement stance arguments { text } }"),
    "relations": ("", "relations(direction: OUTGOING) { type weight target { name } }"),
    "none": ("", ""),
}
THESES = """
query ($first: Int!, $after: String) {
  theses(first: $first, after: $after) {
    pageInfo { hasPreviousPage endCursor }
    nodes { statement concept { name } }
  }
}
"""

_SCHEMA: list[GraphQLSchema] = []


def schema() -> GraphQLSchema:
    if not _SCHEMA:
        _SCHEMA.append(build_schema()._schema)
    return _SCHEMA[0]


@contextmanager
def sqlalchemy_rendering() -> Iterator[list[str]]:
    """Every SQLAlchemy compile or clause traversal while the block runs, by name."""
    calls: list[str] = []
    compile_ = elements.CompilerElement.compile
    traverse = visitors.ReplacingExternalTraversal.traverse

    def counted_compile(self: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(f"compile {self!r}")
        return compile_(self, *args, **kwargs)

    def counted_traverse(self: Any, obj: Any) -> Any:
        calls.append(f"traverse {obj!r}")
        return traverse(self, obj)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(elements.CompilerElement, "compile", counted_compile)
        patch.setattr(visitors.ReplacingExternalTraversal, "traverse", counted_traverse)
        yield calls


def _rows() -> st.SearchStrategy[SimpleNamespace]:
    moments = st.datetimes(
        min_value=datetime(1990, 1, 1), max_value=datetime(2090, 1, 1), timezones=st.just(UTC)
    )
    return st.builds(
        SimpleNamespace,
        id=st.uuids().map(str),
        name=st.text("abcdefghij ", min_size=1, max_size=12),
        era_from=st.none() | st.integers(-600, 2000),
        created_at=moments,
        updated_at=moments,
    )


@st.composite
def concept_requests(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    order = draw(st.sampled_from(list(ConceptOrder)))
    after = draw(st.none() | _rows().map(lambda row: concept_cursor(order, row)))
    declared, nested = NESTED[draw(st.sampled_from(sorted(NESTED)))]
    variables = {"first": draw(st.integers(1, 50)), "after": after, "order": order.value}
    if declared:
        variables["k"] = draw(st.integers(1, 10))
    return CONCEPTS % (declared, nested), variables


@st.composite
def thesis_requests(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    after = draw(st.none() | _rows().map(thesis_cursor))
    return THESES, {"first": draw(st.integers(1, 50)), "after": after}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(request=concept_requests() | thesis_requests(), again=st.data())
def test_a_shape_compiled_again_renders_nothing(
    request: tuple[str, dict[str, Any]], again: st.DataObject
) -> None:
    text, variables = request
    assert validate(schema(), parse(text)) == []
    first = compile_operation(schema(), parse(text), None, variables)
    assert first is not None, "the shape compiles"
    # The same shape with other variables: a new page size and, where it pages, a new cursor.
    other = dict(variables, first=again.draw(st.integers(1, 50), label="first again"))
    with sqlalchemy_rendering() as calls:
        statement = compile_operation(schema(), parse(text), None, other)
    assert statement is not None
    assert calls == [], f"rendered again for a shape already compiled: {calls[:3]}"
    assert first.sql.count("ORDER BY") == statement.sql.count("ORDER BY")


def test_the_check_sees_rendering() -> None:
    """The counter is not blind: SQLAlchemy rendering inside the block is seen."""
    from philos.datasources.sql.tables import concepts_t

    with sqlalchemy_rendering() as calls:
        str(concepts_t.c.name.desc().compile())
    assert calls
