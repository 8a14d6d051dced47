"""Text a store can hold (``philos.gateway.text_input``): no NUL, no lone surrogate."""

from __future__ import annotations

from typing import Any

from graphql import parse
from hypothesis import given
from hypothesis import strategies as st

from philos.gateway.text_input import document_problem, text_problem, variable_problem

storable = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=20)
any_text = st.text(max_size=20)


def storable_reference(value: str) -> bool:
    return "\x00" not in value and not any(0xD800 <= ord(c) <= 0xDFFF for c in value)


@given(any_text)
def test_text_problem_agrees_with_the_rule(value: str) -> None:
    assert (text_problem(value) is None) == storable_reference(value)


@given(storable, storable)
def test_a_nul_anywhere_is_named(before: str, after: str) -> None:
    assert text_problem(f"{before}\x00{after}") == "contains the NUL character (U+0000)"


json_values = st.recursive(
    st.none() | st.integers() | any_text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(any_text, inner, max_size=3),
    max_leaves=10,
)


def strings_in(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in [k, *strings_in(v)]]
    if isinstance(value, list):
        return [s for v in value for s in strings_in(v)]
    return []


@given(json_values)
def test_variables_are_refused_when_any_string_or_key_is(value: Any) -> None:
    problem = variable_problem(value, "variables")
    assert (problem is None) == all(storable_reference(s) for s in strings_in(value))
    if problem is not None:
        assert "variables" in problem


@given(storable)
def test_a_document_of_storable_literals_passes(value: str) -> None:
    escaped = (
        value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    )
    query = f'{{ concept(slug: "{escaped}") {{ id }} }}'
    assert document_problem(query, parse(query)) is None


def test_a_literal_with_an_escaped_nul_is_refused() -> None:
    query = '{ concept(slug: "a\\u0000b") { id } }'
    problem = document_problem(query, parse(query))
    assert problem is not None and "NUL" in problem
