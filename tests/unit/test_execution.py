"""Plain leaf fields read directly (``philos.schema.execution``) give exactly graphql-core's
answer: the same data and the same errors at the same paths, whatever the values are, valid
for their type or not."""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, cast

import strawberry
from hypothesis import given, settings
from hypothesis import strategies as st
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from philos.datasources.loaders import NOT_LOADED
from philos.schema import execution
from philos.schema.execution import PlainFieldsExecution
from philos.types.hints import in_hand, per_level


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
ITEMS = st.lists(st.one_of(ITEM, ITEM, ITEM, st.none()), min_size=0, max_size=4)
SELECTION = (
    "name note count ratio colour maybeColour tags colours at computed __typename again: name"
)
# Only plain fields: such a list is built a row per item in one pass (a field selected twice,
# through a fragment too, is one field).
PLAIN = "name note count ratio colour maybeColour tags colours at __typename again: name"
DOCUMENT = (
    # Nullable lists at the root: an error in one nulls that field, not the whole answer.
    f"{{ items: maybeItems {{ {SELECTION} }} later {{ {SELECTION} }} "
    f"rows: maybeItems {{ {PLAIN} }} maybeRows: later {{ {PLAIN} ...more }} "
    "some: later { name @include(if: true) } }"
    " fragment more on Item { name count }"
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

        @strawberry.field
        def maybe_items(self) -> list[Item] | None:  # a null item nulls this field only
            return list(items)

    schema = strawberry.Schema(query=Query, execution_context_class=context_class)
    schema.items = items  # type: ignore[attr-defined]
    return schema


PLAIN_KEYS = [
    "name", "note", "count", "ratio", "colour", "maybeColour", "tags", "colours", "at",
    "__typename", "again",
]  # fmt: skip
FAST = _schema(PlainFieldsExecution)
STOCK = _schema(StrawberryGraphQLCoreExecutionContext)


def _answer(schema: strawberry.Schema, values: list[dict[str, Any]]) -> Any:
    # None: an item missing: an error in ``maybeItems`` (its items are non-null), a null in
    # ``later``
    schema.items[:] = [None if v is None else Item(**v) for v in values]  # type: ignore[attr-defined]
    result = asyncio.run(schema.execute(DOCUMENT))
    errors = sorted((e.message, tuple(e.path or ())) for e in result.errors or [])
    return result.data, errors


@settings(max_examples=300, deadline=None)
@given(ITEMS)
def test_plain_fields_answer_as_graphql_core_does(values: list[dict[str, Any]]) -> None:
    assert _answer(FAST, values) == _answer(STOCK, values)


@contextmanager
def one_pass_lists() -> Iterator[list[str]]:
    """The aliases of the lists built in one pass while the block runs."""
    built: list[str] = []
    original = PlainFieldsExecution._plain_rows

    def spy(self: PlainFieldsExecution, item_type: Any, details: Any, items: Any) -> Any:
        rows = original(self, item_type, details, items)
        if rows is not execution._SLOW and rows is not execution._LEVELS:
            built.append(details[0].node.alias.value if details[0].node.alias else "")
        return rows

    PlainFieldsExecution._plain_rows = spy  # type: ignore[method-assign,assignment]
    try:
        yield built
    finally:
        PlainFieldsExecution._plain_rows = original  # type: ignore[method-assign]


def test_lists_of_plain_items_are_built_in_one_pass() -> None:
    """The one-pass build is taken (else the differential test above would not reach it)."""
    with one_pass_lists() as built:
        data, errors = _answer(FAST, [VALID, VALID])
    assert errors == []
    assert sorted(built) == ["maybeRows", "rows"]  # `items`, `later` select a resolver field
    assert data["rows"][1] == {k: data["items"][1][k] for k in PLAIN_KEYS}
    assert data["maybeRows"][1]["again"] == VALID["name"]


def test_the_shortcut_is_taken_for_plain_fields_only() -> None:
    _answer(FAST, [dict.fromkeys(FIELDS, None) | {"name": "a", "count": 1, "tags": []}])
    item: Any = FAST._schema.type_map["Item"]
    planned = {name for name, f in item.fields.items() if execution._plan(f) is not None}
    assert planned == {
        "name", "note", "count", "ratio", "colour", "maybeColour", "tags", "colours", "at"
    }  # fmt: skip
    assert execution._plan(item.fields["computed"]) is None  # a resolver of its own


# An object field marked "in hand" (``types/hints.py``): its value comes from what the request
# holds (here ``HELD``, by the item's key), and the resolver answers the same value then, or
# an awaitable of what a store would answer (``LATER``) when it is not in hand.
@strawberry.type
class Partner:
    name: str
    colour: Colour | None


HELD: dict[str, Any] = {}
LATER: dict[str, Any] = {}
KEYS = ["p0", "p1", "p2", "p3"]


def _held(item: Any, context: Any) -> Any:
    return HELD.get(item.key, NOT_LOADED)


def _partner(item: Any) -> Any:
    value = _held(item, None)
    if value is not NOT_LOADED:
        return value

    async def later() -> Any:
        return LATER.get(item.key)

    return later()


@strawberry.type
class Linked:
    key: str

    @strawberry.field(metadata=in_hand(_held))  # type: ignore[untyped-decorator]
    def partner(self) -> Partner | None:
        return cast("Partner | None", _partner(self))

    @strawberry.field(metadata=in_hand(_held))  # type: ignore[untyped-decorator]
    def sure_partner(self) -> Partner:
        return cast(Partner, _partner(self))

    @strawberry.field  # the same resolver, unmarked: always the normal path
    def plain_partner(self) -> Partner | None:
        return cast("Partner | None", _partner(self))


def _linked_schema(context_class: type[Any]) -> strawberry.Schema:
    @strawberry.type
    class Query:
        @strawberry.field
        def linked(self) -> list[Linked] | None:
            return [Linked(key=k) for k in LINKED]

        @strawberry.field
        def more(self) -> list[Linked | None] | None:
            return [None if k == "p3" else Linked(key=k) for k in LINKED]

    return strawberry.Schema(query=Query, execution_context_class=context_class)


LINKED: list[str] = []
LINKED_DOCUMENT = (
    "{ a: linked { key partner { name colour __typename } } "
    "b: linked { sure: surePartner { name } again: partner { colour } } "
    "c: more { partner { name } plainPartner { name } } "
    "d: linked { partner { ...p } } "
    "e: linked { partner @include(if: true) { name } } }"
    " fragment p on Partner { name colour }"
)
LINKED_FAST = _linked_schema(PlainFieldsExecution)
LINKED_STOCK = _linked_schema(StrawberryGraphQLCoreExecutionContext)
_PARTNER_NAME = st.one_of(st.text(max_size=3), st.none(), st.integers(0, 3))
PARTNERS = st.one_of(
    st.none(),
    st.builds(
        Partner,
        name=_PARTNER_NAME,
        colour=st.one_of(st.none(), st.sampled_from([*Colour, *Shade, "RED"])),
    ),
)


def _linked_answer(schema: strawberry.Schema) -> Any:
    result = asyncio.run(schema.execute(LINKED_DOCUMENT))
    errors = sorted((e.message, tuple(e.path or ())) for e in result.errors or [])
    return result.data, errors


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from(KEYS), max_size=4),
    st.dictionaries(st.sampled_from(KEYS), PARTNERS),
    st.dictionaries(st.sampled_from(KEYS), PARTNERS),
)
def test_in_hand_object_fields_answer_as_graphql_core_does(
    keys: list[str], held: dict[str, Any], later: dict[str, Any]
) -> None:
    LINKED[:] = keys
    HELD.clear()
    HELD.update(held)
    LATER.clear()
    LATER.update(later)
    assert _linked_answer(LINKED_FAST) == _linked_answer(LINKED_STOCK)


def test_lists_selecting_in_hand_fields_are_built_in_one_pass() -> None:
    """With every partner in hand and valid, `a`, `b` and `d` are built in one pass (else the
    differential test above would not reach the shortcut); `c` selects an unmarked resolver
    field and `e` a directive."""
    LINKED[:] = ["p0", "p1"]
    HELD.clear()
    HELD.update({k: Partner(name=k, colour=Colour.BLUE) for k in KEYS})
    with one_pass_lists() as built:
        data, errors = _linked_answer(LINKED_FAST)
    assert errors == []
    assert sorted(built) == ["a", "b", "d"]
    assert data["a"][1] == {
        "key": "p1",
        "partner": {"name": "p1", "colour": "BLUE", "__typename": "Partner"},
    }
    HELD.pop("p1")  # one not in hand: the list takes the normal path, and answers the same
    LATER["p1"] = Partner(name="stored", colour=None)
    with one_pass_lists() as built:
        data, errors = _linked_answer(LINKED_FAST)
    assert built == [] and errors == []
    assert data["a"][1]["partner"]["name"] == "stored"


# A list field marked "per level" (``types/hints.py``): ``_children_of`` answers a whole level
# of parents in one call, and the resolver answers what it answers for ``[self]``. The values
# are drawn right and wrong: a parent with no children (null), null children, keys that are
# no string, a parent whose call fails, and arguments the call refuses.
CHILDREN: dict[str, Any] = {}
ROOTS: list[Any] = []
CALLS: list[int] = []  # the number of parents of each call
BOOM = "boom"  # a parent for which the call fails, as a store call would


async def _children_of(info: Any, parents: Any, first: int = 2) -> list[Any]:
    CALLS.append(len(parents))
    if first < 0:
        raise ValueError("first must be 0 or more")
    out: list[Any] = []
    for parent in parents:
        found = CHILDREN.get(parent.key)
        if found == BOOM:
            raise RuntimeError("the store failed")
        out.append(None if found is None else [None if k is None else Node(key=k) for k in found])
    return [None if kids is None else kids[:first] for kids in out]


@strawberry.type
class Node:
    key: str

    @strawberry.field(metadata=per_level(_children_of))  # type: ignore[untyped-decorator]
    async def children(self, info: strawberry.Info, first: int = 2) -> list[Node | None] | None:
        return cast("list[Node | None] | None", (await _children_of(info, [self], first))[0])

    @strawberry.field(metadata=per_level(_children_of))  # type: ignore[untyped-decorator]
    async def sure_children(self, info: strawberry.Info, first: int = 2) -> list[Node]:
        return cast("list[Node]", (await _children_of(info, [self], first))[0])


def _tree_schema(context_class: type[Any]) -> strawberry.Schema:
    @strawberry.type
    class Query:
        @strawberry.field
        def roots(self) -> list[Node | None] | None:
            return [None if k is None else Node(key=k) for k in ROOTS]

    return strawberry.Schema(query=Query, execution_context_class=context_class)


TREE_DOCUMENT = """query Tree($n: Int!) {
  a: roots { key children { key children(first: $n) { key __typename } } }
  b: roots { key sure: sureChildren(first: 1) { key } again: children { key } }
  c: roots { ...f }
  d: roots { key children(first: $n) @include(if: true) { key } }
}
fragment f on Node { children { key sureChildren { key } } }"""
TREE_FAST = _tree_schema(PlainFieldsExecution)
TREE_STOCK = _tree_schema(StrawberryGraphQLCoreExecutionContext)
NODE_KEYS = ["n0", "n1", "n2", "n3"]
_KEY = st.one_of(st.sampled_from(NODE_KEYS), st.none(), st.integers(0, 3))  # null, or no string
_KIDS = st.one_of(st.none(), st.just(BOOM), st.lists(_KEY, max_size=3))


def _tree_answer(schema: strawberry.Schema, n: int) -> Any:
    result = asyncio.run(schema.execute(TREE_DOCUMENT, variable_values={"n": n}))
    errors = sorted((e.message, tuple(e.path or ())) for e in result.errors or [])
    return result.data, errors


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.one_of(st.sampled_from(NODE_KEYS), st.none()), max_size=4),
    st.dictionaries(st.sampled_from(NODE_KEYS), _KIDS),
    st.integers(-1, 3),
)
def test_per_level_fields_answer_as_graphql_core_does(
    roots: list[Any], children: dict[str, Any], n: int
) -> None:
    ROOTS[:] = roots
    CHILDREN.clear()
    CHILDREN.update(children)
    assert _tree_answer(TREE_FAST, n) == _tree_answer(TREE_STOCK, n)


def test_per_level_fields_take_one_call_per_level() -> None:
    """With valid values, `a`, `b` and `c` make one call for each list level, whatever the
    number of parents (else the differential test above would not reach the batched path);
    `d` selects a directive and so takes the normal path, a call per parent."""
    ROOTS[:] = NODE_KEYS
    CHILDREN.clear()
    CHILDREN.update(dict.fromkeys(NODE_KEYS, NODE_KEYS[:3]))
    CALLS.clear()
    data, errors = _tree_answer(TREE_FAST, 2)
    assert errors == []
    assert data["a"][1]["children"][1] == {
        "key": "n1",
        "children": [{"key": "n0", "__typename": "Node"}, {"key": "n1", "__typename": "Node"}],
    }
    # a: 4 roots, then their 4 × 2 children; b: 4 and 4; c: 4, then 8; d: 4 calls of one.
    assert sorted(CALLS) == sorted([4, 8, 4, 4, 4, 8, 1, 1, 1, 1])
    CALLS.clear()
    _tree_answer(TREE_STOCK, 2)
    assert len(CALLS) == 4 + 8 + 4 + 4 + 4 + 8 + 4  # graphql-core: one call per parent
