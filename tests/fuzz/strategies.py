"""Hypothesis strategies from the schema: hypothesis-graphql's queries and mutations (arguments
written inline), and operations whose arguments travel as variables, with values that mostly
fit the declared types and sometimes do not."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import graphql
from hypothesis import strategies as st
from hypothesis_graphql import Mode, mutations, nodes, queries

from tests.api.accounts import PASSWORD
from tests.corpus import SMALL_CORPUS


def examples(count: int) -> int:
    """``count`` scaled by ``PHILOS_FUZZ_SCALE`` (default 1): set it to dig deeper locally."""
    return max(1, round(count * float(os.environ.get("PHILOS_FUZZ_SCALE", "1"))))


SDL = (Path(__file__).parents[2] / "schema.graphql").read_text("utf-8")
SCHEMA = graphql.build_schema(SDL)

# Ids of records that exist, so generated requests reach past "not found" now and then.
KNOWN_IDS = sorted(
    {c.id for c in SMALL_CORPUS.concepts}
    | {r.id for r in SMALL_CORPUS.relations}
    | {t.id for t in SMALL_CORPUS.theses}
    | {a.id for t in SMALL_CORPUS.theses for a in t.arguments}
)
KNOWN_SLUGS = sorted(c.slug for c in SMALL_CORPUS.concepts)

INT32 = 2**31 - 1
# JSON has no integer limit; 2**53 is JavaScript's, 2**63 and 2**64 are where serialisers
# (orjson, database drivers) give up.
JSON_INT = 2**80
EDGE_INTS = [0, 1, -1, 2, 3, 5, 6, 7, 10, 11, 99, 100, 101, 1000, INT32, -INT32 - 1]
EDGE_INTS += [INT32 + 1, -INT32 - 2, 2**53, 2**63, -(2**63) - 1, 2**64, JSON_INT, -JSON_INT]
EDGE_FLOATS = [0.0, -0.0, 0.5, 1.0, -1.0, 1.0000001, -0.0000001, 1e308, -1e308, 5e-324]
EDGE_STRINGS = [
    "",
    " ",
    "a",
    "x" * 81,
    "x" * 121,
    "x" * 501,
    "y" * 1001,
    "\x00",
    "\u200b",
    "🙂" * 3,
    "%",
    "_",
    "\\",
    "'",
    '"',
    "' OR 1=1 --",
    "Robert'); DROP TABLE concepts;--",
    "<script>alert(1)</script>",
    "../../etc/passwd",
    "null",
    "-1",
    "1e999",
    "NaN",
    "bm9wZQ==",
    "YXJyYXljb25uZWN0aW9uOjA=",
    "YXJyYXljb25uZWN0aW9uOi0x",
    "YXJyYXljb25uZWN0aW9uOjk5OTk5OTk5OTk5OTk5OTk5OTk5",
    "ethics",
    "mailto:x@y",
    "http://",
    "https://plato.stanford.edu/entries/kant-moral/",
    "Q42",
    "editor@philos.test",
    "correct horse battery staple",
]

texts = st.one_of(st.sampled_from(EDGE_STRINGS), st.text(max_size=40))
ids = st.one_of(st.sampled_from(KNOWN_IDS), st.uuids().map(str), texts)

slug_like = st.from_regex(r"[a-z0-9]{1,12}(-[a-z0-9]{1,12}){0,3}", fullmatch=True)
words = st.text(st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]), min_size=1)

# Values that pass the input rules, by field or argument name, so generated mutations get
# past validation into the stores now and then.
PLAUSIBLE: dict[str, st.SearchStrategy[Any]] = {
    "slug": st.one_of(slug_like, st.sampled_from(KNOWN_SLUGS)),
    "name": words.filter(lambda s: len(s.strip()) >= 1).map(lambda s: s[:120]),
    "displayName": words.map(lambda s: s[:60]),
    "summary": words.map(lambda s: s[:500]),
    "body": st.text(max_size=200),
    "statement": st.text(min_size=10, max_size=200),
    "text": st.text(min_size=10, max_size=200),
    "tradition": st.sampled_from(["Greek", "Chinese", "German idealism", "Buddhist"]),
    "tags": st.lists(slug_like, max_size=4),
    "aliases": st.lists(words.map(lambda s: s[:40]), max_size=3),
    "wikidataId": st.from_regex(r"Q[1-9][0-9]{0,8}", fullmatch=True),
    "sepUrl": st.sampled_from(["https://plato.stanford.edu/entries/kant-moral/", "ftp://x"]),
    "url": st.sampled_from(["https://example.org/book", "javascript:alert(1)", "notaurl"]),
    "eraFrom": st.integers(-3000, 2100),
    "eraTo": st.integers(-3000, 2100),
    "year": st.integers(-3000, 2100),
    "weight": st.floats(0, 1),
    "strength": st.floats(0, 1),
    "version": st.integers(0, 4),
    "first": st.integers(1, 100),
    "depth": st.integers(1, 3),
    "maxDepth": st.integers(1, 6),
    "count": st.integers(1, 5),
    "limit": st.integers(1, 10),
    "email": st.one_of(st.emails(), st.just("editor@philos.test")),
    "password": st.one_of(st.text(min_size=8, max_size=40), st.just(PASSWORD)),
    "author": words.map(lambda s: s[:80]),
    "work": words.map(lambda s: s[:80]),
    "idempotencyKey": st.uuids().map(str),
}

# hypothesis-graphql generates `ID` like any string; mix in ids that exist.
CUSTOM_SCALARS = {"ID": ids.map(nodes.String)}


def inline_operations(kind: str, mode: Mode) -> st.SearchStrategy[str]:
    """Queries or mutations over every root field, arguments inline."""
    build = queries if kind == "query" else mutations
    return build(SCHEMA, custom_scalars=CUSTOM_SCALARS, mode=mode)


json_values: st.SearchStrategy[Any] = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-JSON_INT, JSON_INT)
    | st.floats(allow_nan=False, allow_infinity=False)
    | texts,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
    max_leaves=6,
)


def scalar_values(name: str) -> st.SearchStrategy[Any]:
    if name == "Int":
        return st.one_of(
            st.sampled_from(EDGE_INTS),
            st.integers(-INT32 - 1, INT32),
            st.integers(-JSON_INT, JSON_INT),
        )
    if name == "Float":
        return st.one_of(
            st.sampled_from(EDGE_FLOATS), st.floats(allow_nan=False, allow_infinity=False)
        )
    if name == "Boolean":
        return st.booleans()
    if name == "ID":
        return ids
    if name == "String":
        return texts
    return json_values


def values_for(
    type_: graphql.GraphQLInputType, name: str = "", *, plausible: bool = False
) -> st.SearchStrategy[Any]:
    """JSON values for a variable of ``type_``. ``plausible``: values that pass the input rules
    where the argument or field ``name`` has known rules (so mutations reach the stores);
    otherwise values of the declared shape, and sometimes any JSON at all."""
    if plausible:
        return _fitting(type_, name, plausible=True)
    return st.one_of(_fitting(type_, name, plausible=False), json_values)


def _fitting(
    type_: graphql.GraphQLInputType, name: str, *, plausible: bool
) -> st.SearchStrategy[Any]:
    inner = type_.of_type if isinstance(type_, graphql.GraphQLNonNull) else type_
    if plausible and name in PLAUSIBLE:
        fitting = PLAUSIBLE[name]
    elif name in PLAUSIBLE:
        fitting = st.one_of(PLAUSIBLE[name], _non_null(inner, plausible=False))
    else:
        fitting = _non_null(inner, plausible=plausible)
    if isinstance(type_, graphql.GraphQLNonNull) or plausible:
        return fitting
    return st.one_of(st.none(), fitting)


def _non_null(type_: graphql.GraphQLInputType, *, plausible: bool) -> st.SearchStrategy[Any]:
    if isinstance(type_, graphql.GraphQLList):
        item = _fitting(type_.of_type, "", plausible=plausible)
        if plausible:
            return st.lists(item, max_size=3)
        # A single value is coerced to a one-item list.
        return st.one_of(st.lists(item, max_size=4), item)
    if isinstance(type_, graphql.GraphQLEnumType):
        values = st.sampled_from(sorted(type_.values))
        return values if plausible else st.one_of(values, texts)
    if isinstance(type_, graphql.GraphQLInputObjectType):
        fields = {
            key: _fitting(f.type, key, plausible=plausible) for key, f in type_.fields.items()
        }
        required = {
            k: v for k, v in fields.items() if graphql.is_required_input_field(type_.fields[k])
        }
        optional = {k: v for k, v in fields.items() if k not in required}
        fitting = st.fixed_dictionaries(required, optional=optional)
        if plausible:
            return fitting
        # Now and then an unknown field or a missing required one.
        broken = fitting.flatmap(
            lambda d: st.one_of(
                st.just({**d, "unknownField": 1}),
                st.just(dict(list(d.items())[1:])),
            )
        )
        return st.one_of(fitting, broken)
    assert isinstance(type_, graphql.GraphQLScalarType), type_
    return scalar_values(type_.name)


def _selection(type_: graphql.GraphQLOutputType) -> str:
    named = graphql.get_named_type(type_)
    if isinstance(named, graphql.GraphQLUnionType | graphql.GraphQLInterfaceType):
        return " { __typename ... on Problem { message } }"
    if isinstance(named, graphql.GraphQLObjectType):
        scalars = [
            name
            for name, f in named.fields.items()
            if graphql.is_leaf_type(graphql.get_named_type(f.type)) and not f.args
        ]
        return " { __typename " + " ".join(scalars) + " }"
    return ""


@st.composite
def variable_operations(draw: st.DrawFn, kind: str) -> tuple[str, dict[str, Any]]:
    """One root field with every argument passed as a variable; returns (document, variables).
    Half the operations use plausible values throughout; optional variables are sometimes left
    out, so their defaults apply."""
    root = SCHEMA.query_type if kind == "query" else SCHEMA.mutation_type
    assert root is not None
    name = draw(st.sampled_from(sorted(root.fields)))
    field = root.fields[name]
    plausible = draw(st.booleans())
    declarations, arguments, variables = [], [], {}
    for arg_name, arg in field.args.items():
        declarations.append(f"${arg_name}: {arg.type}")
        arguments.append(f"{arg_name}: ${arg_name}")
        if graphql.is_required_argument(arg) or draw(st.booleans()):
            variables[arg_name] = draw(values_for(arg.type, arg_name, plausible=plausible))
    header = f"{kind} Fuzz({', '.join(declarations)})" if declarations else f"{kind} Fuzz"
    call = f"{name}({', '.join(arguments)})" if arguments else name
    return f"{header} {{ {call}{_selection(field.type)} }}", variables
