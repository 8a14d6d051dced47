"""Plain leaf fields read directly (``philos.schema.execution``) give exactly graphql-core's
answer: the same data and the same errors at the same paths, whatever the values are, valid
for their type or not."""

from __future__ import annotations

import asyncio
import enum
from datetime import UTC, datetime
from typing import Any

import strawberry
from hypothesis import given, settings
from hypothesis import strategies as st
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from philos.schema import execution
from philos.schema.execution import PlainFieldsExecution


@strawberry.enum
class Colour(enum.Enum):
    RED = "RED"
    GREEN = "GREEN"
    BLUE = "sky-blue"  # a GraphQL name that is not the value


class Shade(enum.Enum):  # not in the schema: a member of another enum with a value of Colour's
    RED = "RED"


@strawberry.type
class Item:
    name: str
    note: str | None
    count: int
    ratio: float | None
    colour: Colour
    maybe_colour: Colour | None
    tags: list[str]
    colours: list[Colour] | None
    at: datetime | None

    @strawberry.field
    def computed(self) -> str:
        return self.name.upper()


# The values a store might hand back, right and wrong for each field's declared type.
_ANY = st.one_of(
    st.none(),
    st.text(max_size=5),
    st.integers(min_value=-(2**40), max_value=2**40),
    st.floats(allow_nan=True),
    st.booleans(),
    st.sampled_from([*Colour, *Shade, "sky-blue", "BLUE"]),
    st.datetimes(timezones=st.just(UTC)),
    st.dictionaries(st.text(max_size=2), st.text(max_size=2), max_size=2),
    st.lists(st.one_of(st.none(), st.text(max_size=3), st.sampled_from(list(Colour))), max_size=3),
)
FIELDS = ["name", "note", "count", "ratio", "colour", "maybe_colour", "tags", "colours", "at"]
VALID: dict[str, Any] = {
    "name": "a",
    "note": None,
    "count": 1,
    "ratio": 0.5,
    "colour": Colour.BLUE,  # its GraphQL name is not its value
    "maybe_colour": None,
    "tags": ["x"],
    "colours": [Colour.GREEN, Colour.BLUE],
    "at": datetime(2026, 1, 1, tzinfo=UTC),
}
# Items valid but for a few fields: an error in a non-null field ends its item's other fields,
# so each odd value needs items where it is the only one (or one of few).
ITEM = st.builds(
    lambda odd: {**VALID, **odd},
    st.dictionaries(st.sampled_from(FIELDS), _ANY, max_size=2),
)
ITEMS = st.lists(ITEM, min_size=0, max_size=4)
SELECTION = (
    "name note count ratio colour maybeColour tags colours at computed __typename again: name"
)


def _schema(context_class: type[Any]) -> strawberry.Schema:
    items: list[Any] = []

    @strawberry.type
    class Query:
        @strawberry.field
        def items(self) -> list[Item]:
            return list(items)

        @strawberry.field
        async def later(self) -> list[Item | None]:
            return list(items)

    schema = strawberry.Schema(query=Query, execution_context_class=context_class)
    schema.items = items  # type: ignore[attr-defined]
    return schema


FAST = _schema(PlainFieldsExecution)
STOCK = _schema(StrawberryGraphQLCoreExecutionContext)


def _answer(schema: strawberry.Schema, values: list[dict[str, Any]]) -> Any:
    schema.items[:] = [Item(**v) for v in values]  # type: ignore[attr-defined]
    result = asyncio.run(schema.execute(f"{{ items {{ {SELECTION} }} later {{ {SELECTION} }} }}"))
    errors = sorted((e.message, tuple(e.path or ())) for e in result.errors or [])
    return result.data, errors


@settings(max_examples=300, deadline=None)
@given(ITEMS)
def test_plain_fields_answer_as_graphql_core_does(values: list[dict[str, Any]]) -> None:
    assert _answer(FAST, values) == _answer(STOCK, values)


def test_the_shortcut_is_taken_for_plain_fields_only() -> None:
    _answer(FAST, [dict.fromkeys(FIELDS, None) | {"name": "a", "count": 1, "tags": []}])
    item: Any = FAST._schema.type_map["Item"]
    planned = {name for name, f in item.fields.items() if execution._plan(f) is not None}
    assert planned == {
        "name", "note", "count", "ratio", "colour", "maybeColour", "tags", "colours", "at"
    }  # fmt: skip
    assert execution._plan(item.fields["computed"]) is None  # a resolver of its own
