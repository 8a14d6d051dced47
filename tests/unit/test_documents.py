"""Walking an operation as it runs (``philos.gateway.documents``): the same fields however the
document spells them — in place, aliased, in inline or named fragments."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    GraphQLInterfaceType,
    GraphQLObjectType,
    OperationType,
    get_named_type,
    is_required_argument,
    parse,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from philos.gateway.documents import (
    PerDocument,
    chosen_operation,
    fragments_of,
    selected_fields,
)
from philos.gateway.input_limits import SITES, list_problem
from philos.schema.root import build_schema
from philos.types.hints import MAX_ITEMS, metadata

SCHEMA: Any = build_schema()._schema
TAG_LIMIT: int = metadata(SCHEMA.type_map["ConceptFilter"].fields["tags"])[MAX_ITEMS]
names = st.text("abcdefgh", min_size=1, max_size=3)


# --- chosen_operation ---------------------------------------------------------------------


@given(st.lists(st.none() | names, min_size=0, max_size=5), st.none() | names)
def test_the_named_operation_or_else_the_first(ops: list[str | None], wanted: str | None) -> None:
    text = " ".join(f"query {n or ''} {{ __typename }}" for n in ops) or "fragment F on Query { x }"
    document = parse(text)
    chosen = chosen_operation(document, wanted)
    if wanted is None:
        expected = 0 if ops else None
    else:
        expected = next((i for i, n in enumerate(ops) if n == wanted), None)
    if expected is None:
        assert chosen is None
    else:
        assert chosen is document.definitions[expected]


def test_fragments_are_found_by_name() -> None:
    document = parse(
        "query { __typename } fragment A on Query { __typename } fragment B on Concept { id }"
    )
    assert sorted(fragments_of(document)) == ["A", "B"]
    assert fragments_of(document)["B"].type_condition.name.value == "Concept"


# --- selected_fields over generated documents ---------------------------------------------


@dataclass
class Written:
    """A document being written, and the (parent type, field) selections it makes."""

    fragments: list[str] = field(default_factory=list)
    expected: Counter[tuple[str, str]] = field(default_factory=Counter)


def _choices(parent: GraphQLObjectType, depth: int) -> list[str]:
    """The fields of ``parent`` a generated selection may use: no required arguments, and
    an object type (not a union or interface) when it has fields of its own."""
    usable = []
    for name, definition in parent.fields.items():
        if any(is_required_argument(a) for a in definition.args.values()):
            continue
        inner = get_named_type(definition.type)
        if hasattr(inner, "fields") and not (isinstance(inner, GraphQLObjectType) and depth > 0):
            continue
        usable.append(name)
    return usable


@st.composite
def selection(draw: st.DrawFn, parent: GraphQLObjectType, depth: int, out: Written) -> str:
    fields = draw(st.lists(st.sampled_from(_choices(parent, depth)), min_size=1, max_size=4))
    parts = []
    for name in fields:
        out.expected[(parent.name, name)] += 1
        inner = get_named_type(parent.fields[name].type)
        body = ""
        if isinstance(inner, GraphQLObjectType):
            body = " { " + draw(selection(inner, depth - 1, out)) + " }"
        written = f"{name}{body}"
        how = draw(st.sampled_from(["plain", "alias", "inline", "typed", "fragment"]))
        if how == "alias":
            written = f"a{len(out.expected)}x: {written}"
        elif how == "inline":
            written = f"... {{ {written} }}"
        elif how == "typed":
            written = f"... on {parent.name} {{ {written} }}"
        elif how == "fragment":
            fragment = f"F{len(out.fragments)}"
            out.fragments.append(f"fragment {fragment} on {parent.name} {{ {written} }}")
            written = f"...{fragment}"
        parts.append(written)
    return " ".join(parts)


@st.composite
def documents(draw: st.DrawFn) -> tuple[str, Counter[tuple[str, str]]]:
    out = Written()
    root = draw(selection(SCHEMA.query_type, 3, out))
    order = draw(st.permutations(out.fragments))
    return " ".join([f"query {{ {root} }}", *order]), out.expected


@settings(max_examples=60)
@given(documents())
def test_every_selection_is_reached_once_however_it_is_written(
    generated: tuple[str, Counter[tuple[str, str]]],
) -> None:
    text, expected = generated
    document = parse(text)
    operation = chosen_operation(document, None)
    assert operation is not None
    found = list(selected_fields(SCHEMA, document, operation))
    assert Counter((f.parent.name, f.node.name.value) for f in found) == expected
    for f in found:
        assert isinstance(f.parent, GraphQLObjectType)
        assert f.definitions == (f.parent.fields[f.node.name.value],)


def test_a_field_on_an_interface_brings_every_implementation() -> None:
    document = parse('mutation { deleteConcept(id: "x") { ... on Problem { message } } }')
    operation = chosen_operation(document, None)
    assert operation is not None and operation.operation is OperationType.MUTATION
    (_, message) = list(selected_fields(SCHEMA, document, operation))
    problem = SCHEMA.get_type("Problem")
    assert isinstance(problem, GraphQLInterfaceType)
    implementations = SCHEMA.get_implementations(problem).objects
    assert message.parent is problem
    assert message.definitions == (
        problem.fields["message"],
        *(t.fields["message"] for t in implementations),
    )
    assert len(implementations) > 3


def test_a_fragment_spreading_itself_is_walked_once() -> None:
    document = parse(
        "query { concepts { nodes { ...A } } } "
        "fragment A on Concept { id relations { source { ...A } } ...A }"
    )
    operation = chosen_operation(document, None)
    assert operation is not None
    walked = Counter(f.node.name.value for f in selected_fields(SCHEMA, document, operation))
    assert walked == Counter(concepts=1, nodes=1, id=1, relations=1, source=1)


def test_an_unknown_fragment_or_field_is_passed_over() -> None:
    document = parse("query { ...Missing concepts { nodes { nosuch { id } } } }")
    operation = chosen_operation(document, None)
    assert operation is not None
    found = {f.node.name.value: f.definitions for f in selected_fields(SCHEMA, document, operation)}
    assert list(found) == ["concepts", "nodes", "nosuch"]
    assert found["nosuch"] == ()


def test_skip_and_include_are_walked_as_if_they_ran() -> None:
    document = parse("query { concepts { nodes { id @skip(if: true) name @include(if: false) } } }")
    operation = chosen_operation(document, None)
    assert operation is not None
    assert {f.node.name.value for f in selected_fields(SCHEMA, document, operation)} == {
        "concepts",
        "nodes",
        "id",
        "name",
    }


# --- PerDocument: facts kept per document object --------------------------------------------


@given(st.lists(st.sampled_from("abcde"), min_size=1, max_size=40), st.integers(1, 4))
def test_facts_are_kept_per_document_object_least_recently_used_first_out(
    asked: list[str], maxsize: int
) -> None:
    memo: PerDocument[str] = PerDocument(maxsize)
    documents = {name: parse("{ __typename }") for name in "abcde"}  # equal, distinct objects
    made: list[str] = []
    held: list[str] = []  # the model: most recently used last

    def maker(name: str) -> Callable[[], str]:
        def make() -> str:
            made.append(name)
            return name

        return make

    for name in asked:
        expected_new = name not in held
        before = len(made)
        got = memo.get(documents[name], "key", maker(name))
        assert got == name
        assert (len(made) == before + 1) == expected_new
        if name in held:
            held.remove(name)
        held.append(name)
        del held[:-maxsize]
    # Another key is another fact about the same document.
    assert memo.get(documents[asked[-1]], "other", lambda: "other") == "other"


@settings(max_examples=80, deadline=None)
@given(sizes=st.lists(st.integers(0, 3 * TAG_LIMIT), min_size=1, max_size=6), inline=st.booleans())
def test_list_limits_judge_each_request_s_values_not_the_first_one_s(
    sizes: list[int], inline: bool
) -> None:
    """One document object, many requests: the sites are kept, the values are read anew."""
    shared = parse("query ($t: [String!]) { concepts(filter: {tags: $t}) { totalCount } }")
    for n in sizes:
        tags = ["t"] * n
        if inline:  # written in the document: one document per size
            document = parse(
                f"{{ concepts(filter: {{tags: {json.dumps(tags)}}}) {{ totalCount }} }}"
            )
            variables: dict[str, Any] = {}
        else:
            document, variables = shared, {"t": tags}
        kept = list_problem(SCHEMA, document, None, variables)
        SITES._entries.clear()
        assert kept == list_problem(SCHEMA, document, None, variables)
        assert (kept is None) == (n <= TAG_LIMIT), kept
