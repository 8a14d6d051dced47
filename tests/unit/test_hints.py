"""Schema hints (``philos.types.hints``): what is declared beside a field is read back from
graphql-core's definitions."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from philos.schema.root import build_schema
from philos.types.hints import (
    MAX_ITEMS,
    PER_CALLER,
    STORE_COST,
    StoreCost,
    items_note,
    limited,
    max_items,
    metadata,
    per_caller,
    store_cost,
)

SCHEMA: Any = build_schema()._schema
small = st.integers(0, 10**6)


@given(small, small, small)
def test_store_cost_wraps_its_arguments(calls: int, items: int, per_depth: int) -> None:
    assert store_cost(calls, items, per_depth) == {
        STORE_COST: StoreCost(calls=calls, items=items, per_depth=per_depth)
    }


def test_the_defaults_cost_nothing_extra() -> None:
    assert store_cost()[STORE_COST] == StoreCost(calls=0, items=1, per_depth=1)
    assert per_caller() == {PER_CALLER: True}


@given(st.integers(1, 10**6))
def test_max_items_and_its_note(limit: int) -> None:
    assert max_items(limit) == {MAX_ITEMS: limit}
    assert items_note(limit) == f"At most {limit} items."


@given(st.one_of(st.none(), st.just(""), st.text(min_size=1)), st.integers(1, 1000))
def test_a_limited_description_ends_with_the_note(description: str | None, limit: int) -> None:
    described = limited(description, limit)
    assert described.endswith(items_note(limit))
    if description:
        assert described == f"{description} {items_note(limit)}"
    else:
        assert described == items_note(limit)


def test_hints_are_read_back_from_the_schema() -> None:
    query = SCHEMA.query_type
    assert metadata(query.fields["me"]).get(PER_CALLER) is True
    assert PER_CALLER not in metadata(query.fields["concepts"])
    assert isinstance(metadata(query.fields["graph"]).get(STORE_COST), StoreCost)


def test_a_definition_without_hints_has_empty_metadata() -> None:
    class Bare:
        extensions: dict[str, Any] | None = None

    assert metadata(Bare()) == {}
    assert metadata(object()) == {}
    # A Strawberry-made field that declares nothing.
    assert metadata(SCHEMA.get_type("Concept").fields["name"]) == {}


def test_limited_list_inputs_state_their_limit() -> None:
    """Every input field or argument with a max-items hint says its limit in its description."""
    seen = 0
    for named in SCHEMA.type_map.values():
        fields = getattr(named, "fields", None)
        if not isinstance(fields, dict):
            continue
        for field in fields.values():
            places = [field, *getattr(field, "args", {}).values()]
            for place in places:
                limit = metadata(place).get(MAX_ITEMS)
                if limit is not None:
                    seen += 1
                    assert (place.description or "").endswith(items_note(limit))
    assert seen > 0
