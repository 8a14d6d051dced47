"""The query cost (``philos.gateway.query_limits``) computed from the schema's own store-cost
hints, on documents written against the real schema."""

from __future__ import annotations

from typing import Any

import pytest
from graphql import parse
from hypothesis import given, settings
from hypothesis import strategies as st
from strawberry.types import ExecutionResult

from philos.gateway.query_limits import (
    CALL_COST,
    MAX_INT,
    MAX_STEPS,
    CostLimit,
    operation_cost,
    validation_rules,
)
from philos.schema.root import build_schema
from philos.types.hints import STORE_COST, StoreCost, metadata
from philos.types.objects import NEIGHBOURS_PER_STEP, RELATIONS_PER_CONCEPT

SCHEMA: Any = build_schema()._schema
HUGE = 10**15
CONCEPT_ID = "00000000-0000-0000-0000-000000000000"


def cost(query: str, variables: dict[str, Any] | None = None, ceiling: int = HUGE) -> int:
    return operation_cost(parse(query), None, variables, SCHEMA, ceiling)


def page(first: int) -> str:
    return f"{{ concepts(first: {first}) {{ edges {{ node {{ id }} }} }} }}"


# --- the hints the cost reads -------------------------------------------------------------


def _hint(type_name: str, field: str) -> StoreCost:
    found = metadata(SCHEMA.get_type(type_name).fields[field]).get(STORE_COST)
    assert isinstance(found, StoreCost)
    return found


def test_the_schema_declares_the_store_costs_the_cost_reads() -> None:
    assert _hint("Query", "relationSuggestions") == StoreCost(calls=1, items=50)
    assert _hint("Query", "graph") == StoreCost(calls=3, per_depth=2)
    assert _hint("Concept", "neighbours") == StoreCost(
        items=NEIGHBOURS_PER_STEP, per_depth=NEIGHBOURS_PER_STEP
    )
    assert _hint("Concept", "relations") == StoreCost(items=RELATIONS_PER_CONCEPT)
    assert STORE_COST not in metadata(SCHEMA.get_type("Concept").fields["name"])


# --- what a document costs ----------------------------------------------------------------


def test_a_field_without_hints_costs_one_plus_what_it_selects() -> None:
    assert cost("{ __typename }") == 1
    assert cost(f'{{ concept(id: "{CONCEPT_ID}") {{ id name summary }} }}') == 1 + 3


def test_a_store_call_per_parent_costs_call_cost() -> None:
    query = f'{{ relationSuggestions(conceptId: "{CONCEPT_ID}") {{ id }} }}'
    assert cost(query) == 1 + CALL_COST * 1 + 50 * 1


def test_an_unpaged_list_multiplies_by_its_assumed_length() -> None:
    one = cost(f'{{ concept(id: "{CONCEPT_ID}") {{ relations {{ id }} }} }}')
    two = cost(f'{{ concept(id: "{CONCEPT_ID}") {{ relations {{ id weight }} }} }}')
    assert two - one == RELATIONS_PER_CONCEPT


@given(st.integers(1, 10_000))
def test_a_page_costs_its_first_times_what_it_selects(first: int) -> None:
    # concepts: 1 + first * edges; edges (items 1): 1 + node; node: 1 + id
    assert cost(page(first)) == 1 + first * 3


@given(st.integers(1, MAX_INT - 1))
def test_cost_grows_with_first(first: int) -> None:
    assert cost(page(first)) < cost(page(first + 1))


@given(st.integers(1, 10_000))
def test_a_variable_costs_what_the_same_literal_costs(first: int) -> None:
    query = "query($n: Int!) { concepts(first: $n) { edges { node { id } } } }"
    assert cost(query, {"n": first}) == cost(page(first))


def test_a_missing_first_costs_its_default() -> None:
    assert cost("{ concepts { edges { node { id } } } }") == cost(page(20))


@given(st.one_of(st.integers(max_value=0), st.integers(min_value=MAX_INT + 1), st.text()))
def test_an_insane_first_multiplies_nothing(value: object) -> None:
    """Not a sane Int: costed as one item (coercion or the range check refuses it later)."""
    query = "query($n: Int) { concepts(first: $n) { edges { node { id } } } }"
    assert cost(query, {"n": value}) == cost(page(1))


def neighbours(depth: int) -> str:
    return f'{{ concept(id: "{CONCEPT_ID}") {{ neighbours(depth: {depth}) {{ distance }} }} }}'


@given(st.integers(1, 20))
def test_a_walk_widens_with_each_step_up_to_the_cap(depth: int) -> None:
    width = NEIGHBOURS_PER_STEP * NEIGHBOURS_PER_STEP ** (min(depth, MAX_STEPS) - 1)
    assert cost(neighbours(depth)) == 1 + (1 + width * 1)


@given(st.integers(1, 19))
def test_cost_never_falls_with_depth(depth: int) -> None:
    assert cost(neighbours(depth)) <= cost(neighbours(depth + 1))
    graph = '{{ graph(rootId: "{}", depth: {}) {{ truncated }} }}'
    assert cost(graph.format(CONCEPT_ID, depth)) <= cost(graph.format(CONCEPT_ID, depth + 1))


@given(st.integers(1, MAX_STEPS))
def test_a_walks_store_calls_double_per_step(depth: int) -> None:
    query = f'{{ graph(rootId: "{CONCEPT_ID}", depth: {depth}) {{ truncated }} }}'
    assert cost(query) == 1 + CALL_COST * 3 * 2 ** (depth - 1) + 1


@given(st.integers(1, 500), st.integers(1, 500))
def test_nested_pages_multiply(outer: int, inner: int) -> None:
    query = f"{{ concepts(first: {outer}) {{ nodes {{ theses(first: {inner}) {{ id }} }} }} }}"
    nested = cost(query)
    assert nested >= outer * inner
    assert cost(query.replace(f"first: {outer}", f"first: {outer + 1}")) > nested


@given(st.integers(1, 8))
def test_aliases_add_up(copies: int) -> None:
    one = "concepts(first: 7) { nodes { id name } }"
    query = "{ " + " ".join(f"a{i}: {one}" for i in range(copies)) + " }"
    assert cost(query) == copies * cost("{ " + one + " }")


def test_fragments_cost_what_the_fields_written_in_place_cost() -> None:
    inline = "{ concepts(first: 9) { nodes { id relations { id weight } } } }"
    named = (
        "{ concepts(first: 9) { nodes { ...C } } } "
        "fragment C on Concept { id relations { ...R } } fragment R on Relation { id weight }"
    )
    typed = (
        "{ concepts(first: 9) { nodes { ... on Concept { id relations { id ... { weight } } } } } }"
    )
    assert cost(named) == cost(inline) == cost(typed)


def test_the_named_operation_is_the_one_costed() -> None:
    document = parse(f"query Small {{ __typename }} query Big {page(50)}")
    assert operation_cost(document, "Small", None, SCHEMA, HUGE) == 1
    assert operation_cost(document, "Big", None, SCHEMA, HUGE) == cost(page(50))
    assert operation_cost(document, None, None, SCHEMA, HUGE) == 1  # the first one
    assert operation_cost(document, "Missing", None, SCHEMA, HUGE) == 0


@given(st.integers(1, MAX_INT), st.integers(1, 10**6))
def test_cost_saturates_just_past_the_ceiling(first: int, ceiling: int) -> None:
    exact = cost(page(first))
    assert cost(page(first), ceiling=ceiling) == min(exact, ceiling + 1)


def test_rules_are_built_once_per_limit() -> None:
    assert validation_rules(10, 15) is validation_rules(10, 15)
    assert validation_rules(10, 15) != validation_rules(11, 15)


# --- the limit, in the schema -------------------------------------------------------------


def _run(query: str, max_cost: int) -> ExecutionResult:
    schema = build_schema(extensions=[lambda: CostLimit(max_cost)])
    return schema.execute_sync(query)


@settings(max_examples=25)
@given(st.integers(1, 1000))
def test_an_operation_over_the_limit_is_refused_before_it_runs(first: int) -> None:
    limit = cost(page(first)) - 1
    result = _run(page(first), limit)
    assert result.data is None
    assert result.errors is not None
    (error,) = result.errors
    assert error.extensions == {"code": "COST_LIMIT_EXCEEDED", "limit": limit}
    assert f"over the limit of {limit}" in error.message


@pytest.mark.parametrize("limit", [1, 2, 100])
def test_an_operation_within_the_limit_runs(limit: int) -> None:
    result = _run("{ __typename }", limit)
    assert result.errors is None
    assert result.data == {"__typename": "Query"}
