"""Hostile values in every argument of every field, enumerated from the schema.

For each argument (and, inside input objects, each input field) of each field the schema has —
root queries, mutations and the arguments of nested fields, reached through a path the schema
itself offers — hypothesis writes values of two kinds:

- **refused**: text that is not storable (a lone surrogate, NUL) and lists past their stated
  limit. The request must fail before anything runs, with an error the caller can read, and
  the database must be exactly as before;
- **odd**: very long text, quotes and injection attempts, out-of-range numbers, wrong enum
  names, empty objects. These may be accepted or refused, as the rules say.

Either way: never a 5xx, never ``INTERNAL_SERVER_ERROR`` or ``STORE_UNAVAILABLE``, a normal
query right after still answers, and no store's circuit breaker has opened.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import graphql
import httpx
import pytest
from hypothesis import strategies as st
from sqlalchemy import select

from philos.bootstrap import create_app
from philos.datasources.resilience import BREAKER_STATE
from philos.datasources.sql.tables import metadata as tables
from philos.datasources.stores import Stores
from philos.domain import Role
from philos.gateway.input_limits import DEFAULT_MAX_ITEMS
from philos.seed.loader import seed
from philos.types.hints import MAX_ITEMS
from tests.api.accounts import TOKENS, make_user
from tests.corpus import SMALL_CORPUS
from tests.fuzz.strategies import SCHEMA
from tests.security.documents import drawn
from tests.settings import PRODUCTION_BACKENDS, settings_for
from tests.sql_access import sql_db

CONCEPT_ID = sorted(c.id for c in SMALL_CORPUS.concepts)[0]
ALLOWED_FAILURES = {"INTERNAL_SERVER_ERROR", "STORE_UNAVAILABLE"}
NORMAL = "{ concepts(first: 2) { totalCount nodes { slug } } }"
VARIANTS = 4  # values drawn for each position and kind

surrogates = st.text(st.characters(categories=["Cs"]), min_size=1, max_size=3)
plain = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=20)
unstorable_text = st.one_of(
    st.tuples(plain, surrogates, plain).map("".join),
    st.tuples(plain, st.just("\x00"), plain).map("".join),
)
odd_text = st.one_of(
    st.sampled_from(
        ["", " ", "' OR 1=1 --", '"); DROP TABLE concepts; --', "%", "_", "\\", "\u202e"]
    ),
    st.integers(10_000, 200_000).map(lambda n: "x" * n),
    st.text(max_size=50).filter(lambda s: "\x00" not in s),
)


def _plausible(kind: graphql.GraphQLInputType) -> Any:
    """A value that fits ``kind``, for the arguments a probe does not aim at."""
    if isinstance(kind, graphql.GraphQLNonNull):
        kind = kind.of_type
    if isinstance(kind, graphql.GraphQLList):
        return [_plausible(kind.of_type)]
    if isinstance(kind, graphql.GraphQLEnumType):
        return next(iter(kind.values))
    if isinstance(kind, graphql.GraphQLInputObjectType):
        return {
            name: _plausible(field.type)
            for name, field in kind.fields.items()
            if isinstance(field.type, graphql.GraphQLNonNull) and field.default_value is None
        }
    return {
        "ID": CONCEPT_ID,
        "String": "plausible text value",
        "Int": 1,
        "Float": 0.5,
        "Boolean": True,
    }.get(kind.name, "x")


def _hostile(kind: graphql.GraphQLInputType, limit: int, refused: bool) -> st.SearchStrategy[Any]:
    """Values for one input position of type ``kind``."""
    if isinstance(kind, graphql.GraphQLNonNull):
        kind = kind.of_type
    if isinstance(kind, graphql.GraphQLList):
        item = _plausible(kind.of_type)
        too_long = st.integers(limit + 1, limit + 1000).map(lambda n: [item] * n)
        inner = _hostile(kind.of_type, DEFAULT_MAX_ITEMS, refused).map(lambda v: [item, v])
        return st.one_of(too_long, inner) if refused else inner
    if isinstance(kind, graphql.GraphQLInputObjectType):
        return st.just({}) if not refused else unstorable_text  # nested fields: see _positions
    if isinstance(kind, graphql.GraphQLEnumType):
        return unstorable_text if refused else st.sampled_from(["NOPE", "", "null", "name_asc"])
    if kind.name in ("String", "ID"):
        return unstorable_text if refused else odd_text
    if refused:
        return unstorable_text  # text where a number or flag belongs, unstorable too
    return st.sampled_from([2**31, -(2**31) - 1, 2**63, 1e308, -1e308, "1", True, None])


def _code_limit(type_name: str, field_name: str) -> int:
    """The limit the code declares for an input field or argument (``Type.field``)."""
    return CODE_LIMITS.get(f"{type_name}.{field_name}", DEFAULT_MAX_ITEMS)


def _code_limits() -> dict[str, int]:
    from philos.schema.root import build_schema
    from philos.types.hints import metadata

    schema: Any = build_schema()._schema
    found: dict[str, int] = {}
    for name, named in schema.type_map.items():
        for field_name, field in getattr(named, "fields", {}).items():
            limit = metadata(field).get(MAX_ITEMS)
            if limit is not None:
                found[f"{name}.{field_name}"] = limit
            for arg_name, arg in getattr(field, "args", {}).items():
                limit = metadata(arg).get(MAX_ITEMS)
                if limit is not None:
                    found[f"{name}.{field_name}({arg_name})"] = limit
    return found


CODE_LIMITS = _code_limits()


@dataclass(frozen=True)
class Target:
    """One argument of one field (or one input field inside it), and the query path that
    reaches the field's type."""

    operation: str  # "query" or "mutation"
    path: tuple[str, ...]  # fields from the root to the owner type
    owner: str
    field: str
    argument: str
    inside: tuple[str, ...] = ()  # input fields from the argument down to the position

    @property
    def coordinate(self) -> str:
        return f"{self.owner}.{self.field}({self.argument})" + "".join(f".{n}" for n in self.inside)


def _positions(kind: graphql.GraphQLInputType) -> list[tuple[str, ...]]:
    """The argument itself, and every input field inside it (through lists), as paths."""
    found: list[tuple[str, ...]] = [()]
    named = graphql.get_named_type(kind)
    if isinstance(named, graphql.GraphQLInputObjectType):
        for name, field in named.fields.items():
            found += [(name, *rest) for rest in _positions(field.type)]
    return found


def _place(kind: graphql.GraphQLInputType, inside: tuple[str, ...], value: Any) -> Any:
    """A plausible value of ``kind`` with ``value`` at the input-field path ``inside``."""
    if not inside:
        return value
    nullable = graphql.get_nullable_type(kind)
    if isinstance(nullable, graphql.GraphQLList):
        return [_place(nullable.of_type, inside, value)]
    assert isinstance(nullable, graphql.GraphQLInputObjectType)
    base = _plausible(nullable)
    field = nullable.fields[inside[0]]
    return {**base, inside[0]: _place(field.type, inside[1:], value)}


def _kind_at(kind: graphql.GraphQLInputType, inside: tuple[str, ...]) -> Any:
    for name in inside:
        named = graphql.get_named_type(kind)
        assert isinstance(named, graphql.GraphQLInputObjectType)
        kind = named.fields[name].type
    return kind


def _routes(schema: graphql.GraphQLSchema) -> dict[str, tuple[str, ...]]:
    """For every object type reachable from Query without arguments it must be given, the
    shortest path of field names to it."""
    assert schema.query_type is not None
    routes: dict[str, tuple[str, ...]] = {schema.query_type.name: ()}
    queue = [schema.query_type]
    while queue:
        current = queue.pop(0)
        for name, field in current.fields.items():
            if any(isinstance(a.type, graphql.GraphQLNonNull) for a in field.args.values()):
                continue
            target = graphql.get_named_type(field.type)
            if isinstance(target, graphql.GraphQLObjectType) and target.name not in routes:
                routes[target.name] = (*routes[current.name], name)
                queue.append(target)
    return routes


def _targets() -> list[Target]:
    routes = _routes(SCHEMA)
    found: list[Target] = []
    assert SCHEMA.mutation_type is not None
    for name, field in SCHEMA.mutation_type.fields.items():
        found += [Target("mutation", (), "Mutation", name, a) for a in field.args]
    for type_name, path in routes.items():
        owner = SCHEMA.get_type(type_name)
        assert isinstance(owner, graphql.GraphQLObjectType)
        for name, field in owner.fields.items():
            found += [Target("query", path, type_name, name, a) for a in field.args]
    return [
        Target(t.operation, t.path, t.owner, t.field, t.argument, inside)
        for t in found
        for inside in _positions(_argument(t).type)
    ]


def _argument(target: Target) -> graphql.GraphQLArgument:
    owner = SCHEMA.get_type(target.owner)
    assert isinstance(owner, graphql.GraphQLObjectType)
    argument: graphql.GraphQLArgument = owner.fields[target.field].args[target.argument]
    return argument


TARGETS = _targets()


def _document(target: Target) -> tuple[str, dict[str, Any]]:
    """The operation that reaches ``target``, every argument a variable; plausible values."""
    root = SCHEMA.mutation_type if target.operation == "mutation" else SCHEMA.query_type
    assert root is not None
    owner = SCHEMA.get_type(target.owner)
    assert isinstance(owner, graphql.GraphQLObjectType)
    field = owner.fields[target.field]
    declarations, arguments, values = [], [], {}
    for name, arg in field.args.items():
        declarations.append(f"${name}: {arg.type}")
        arguments.append(f"{name}: ${name}")
        values[name] = _plausible(arg.type)
    selection = ""
    if not isinstance(
        graphql.get_named_type(field.type), graphql.GraphQLScalarType | graphql.GraphQLEnumType
    ):
        selection = " { __typename }"
    inner = f"{target.field}({', '.join(arguments)}){selection}"
    for step in reversed(target.path):
        inner = f"{step} {{ {inner} }}"
    return f"{target.operation} Probe({', '.join(declarations)}) {{ {inner} }}", values


def _cases(refused: bool) -> list[tuple[Target, Any]]:
    cases: list[tuple[Target, Any]] = []
    for target in TARGETS:
        outer = _argument(target).type
        kind = _kind_at(outer, target.inside)
        if target.inside:
            owner = graphql.get_named_type(_kind_at(outer, target.inside[:-1])).name
            limit = _code_limit(owner, target.inside[-1])
        else:
            limit = CODE_LIMITS.get(target.coordinate, DEFAULT_MAX_ITEMS)
        values = drawn(_hostile(kind, limit, refused), VARIANTS)
        cases += [(target, _place(outer, target.inside, v)) for v in values]
    return cases


@pytest.fixture
async def client(stores: Stores, sql_url: str, tmp_path: Any) -> AsyncIterator[httpx.AsyncClient]:
    """The app without request rate limits (the probes send thousands), as an EDITOR."""
    await seed(stores, SMALL_CORPUS)
    editor = await make_user(stores, "editor", Role.EDITOR)
    settings = settings_for(sql_url, tmp_path, PHILOS_RATE_LIMIT_IP=0, PHILOS_RATE_LIMIT_USER=0)
    app = create_app(settings, stores)
    headers = {"authorization": f"Bearer {TOKENS.issue_access(editor)}"}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://philos.test", headers=headers
    ) as http:
        yield http


async def _send(http: httpx.AsyncClient, target: Target, value: Any) -> dict[str, Any]:
    query, variables = _document(target)
    variables[target.argument] = value
    # ASCII JSON: a lone surrogate travels as the escape ``\ud800``, as a client's would.
    payload = json.dumps({"query": query, "variables": variables}).encode()
    response = await http.post(
        "/graphql", content=payload, headers={"content-type": "application/json"}
    )
    where = f"{target.coordinate} = {str(value)[:120]!r}"
    assert response.status_code < 500, (where, response.status_code, response.text[:500])
    body: dict[str, Any] = response.json()
    codes = {(e.get("extensions") or {}).get("code") for e in body.get("errors") or ()}
    assert not codes & ALLOWED_FAILURES, (where, body)
    normal = await http.post("/graphql", json={"query": NORMAL})
    assert normal.status_code == 200 and "errors" not in normal.json(), (where, normal.text)
    return body


async def _snapshot(stores: Stores) -> dict[str, list[tuple[Any, ...]]]:
    async with sql_db(stores).connect() as conn:
        return {
            table.name: sorted(
                (tuple(str(v) for v in row) for row in await conn.execute(select(table))),
            )
            for table in tables.sorted_tables
        }


# The guards' names for the stores an app uses (other tests' made-up stores share the gauge).
APP_STORES = {"sql", "neo4j", "mongo", "redis", "memory"}


def _breakers_closed() -> list[str]:
    return [
        sample.labels["store"]
        for metric in BREAKER_STATE.collect()
        for sample in metric.samples
        if sample.value != 0.0 and sample.labels["store"] in APP_STORES
    ]


def test_every_argument_of_the_schema_is_probed() -> None:
    coordinates = {t.coordinate for t in TARGETS}
    expected = {
        f"{t.name}.{f}({a})"
        for t in SCHEMA.type_map.values()
        if isinstance(t, graphql.GraphQLObjectType) and not t.name.startswith("__")
        for f, definition in t.fields.items()
        for a in definition.args
    }
    missing = expected - coordinates
    # Arguments of types reached only through a mutation's payload are probed where the type
    # is also readable; anything left must be on a type no query reaches.
    routes = _routes(SCHEMA)
    assert {m.split(".")[0] for m in missing} <= set(SCHEMA.type_map) - set(routes), missing
    assert len(coordinates) >= 40


@pytest.mark.parametrize("backend", PRODUCTION_BACKENDS, indirect=True, scope="session")
async def test_refused_values_change_nothing(client: httpx.AsyncClient, stores: Stores) -> None:
    before = await _snapshot(stores)
    for target, value in _cases(refused=True):
        body = await _send(client, target, value)
        assert body.get("data") is None and body.get("errors"), (target.coordinate, body)
    assert await _snapshot(stores) == before
    assert _breakers_closed() == []


@pytest.mark.parametrize("backend", PRODUCTION_BACKENDS, indirect=True, scope="session")
async def test_odd_values_never_fail_the_server(client: httpx.AsyncClient) -> None:
    for target, value in _cases(refused=False):
        await _send(client, target, value)
    assert _breakers_closed() == []


def test_every_list_argument_states_its_limit() -> None:
    """Each list argument and list input field declares its maximum, and its description
    says it, so clients learn the limit from the schema."""
    from philos.schema.root import build_schema
    from philos.types.hints import items_note, metadata

    schema: Any = build_schema()._schema
    positions: list[tuple[str, Any]] = []
    for name, named in schema.type_map.items():
        if name.startswith("__"):
            continue
        if isinstance(named, graphql.GraphQLInputObjectType):
            positions += [(f"{name}.{f}", d) for f, d in named.fields.items()]
        for field_name, field in getattr(named, "fields", {}).items():
            args = getattr(field, "args", {})
            positions += [(f"{name}.{field_name}({a})", d) for a, d in args.items()]
    lists = [
        (where, d)
        for where, d in positions
        if isinstance(graphql.get_nullable_type(d.type), graphql.GraphQLList)
    ]
    assert len(lists) >= 10
    for where, definition in lists:
        limit = metadata(definition).get(MAX_ITEMS)
        assert isinstance(limit, int) and limit > 0, f"{where} has no stated limit"
        assert items_note(limit) in (definition.description or ""), where
