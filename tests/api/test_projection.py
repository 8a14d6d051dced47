"""Theses are read with only the attributes their selection reads (``types/projection.py``),
and the answer is the one a full read gives.

The selections are drawn from the schema's own ``Thesis`` fields, each placed directly, in an
inline fragment or in a named fragment, some under an alias. For each, the store is asked for
exactly the attributes those fields read (plain fields their own, resolver fields what their
``reads`` hint says, plus the ones every thesis carries), and the answer is the same as when
the store reads every attribute.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from graphql import GraphQLObjectType, get_named_type, is_leaf_type
from hypothesis import strategies as st

from philos import domain
from philos.bootstrap import create_app
from philos.datasources.sql.theses import SqlThesisStore
from philos.datasources.stores import Stores
from philos.schema.root import build_schema
from philos.seed.loader import seed
from philos.types import objects
from philos.types.hints import READS, metadata
from philos.types.projection import read_attributes
from tests.corpus import SMALL_CORPUS
from tests.security.documents import drawn
from tests.settings import settings_for

SQL_ONLY = pytest.mark.parametrize("backend", ["sqlite", "postgres"], indirect=True)

_THESIS = build_schema()._schema.get_type("Thesis")
assert isinstance(_THESIS, GraphQLObjectType)
THESIS: GraphQLObjectType = _THESIS


def _selection(name: str) -> str:
    """The field with the smallest sub-selection it needs."""
    of = get_named_type(THESIS.fields[name].type)
    if is_leaf_type(of):
        return name
    assert isinstance(of, GraphQLObjectType)
    leaf = next(n for n, f in of.fields.items() if is_leaf_type(get_named_type(f.type)))
    return f"{name} {{ {leaf} }}"


def _reads(name: str) -> frozenset[str]:
    declared = metadata(THESIS.fields[name]).get(READS)
    if declared is not None:
        return frozenset(declared)
    python_name = THESIS.fields[name].extensions["strawberry-definition"].python_name
    assert python_name in domain.THESIS_FIELDS, name
    return frozenset({python_name})


placed = st.tuples(
    st.sampled_from(sorted(THESIS.fields)),
    st.sampled_from(["direct", "inline", "named"]),
    st.booleans(),  # under an alias
)
SELECTIONS = drawn(st.lists(placed, min_size=1, max_size=6), 40)


def _document(picks: list[tuple[str, str, bool]]) -> str:
    direct: list[str] = []
    inline: list[str] = []
    named: list[str] = []
    for n, (name, where, aliased) in enumerate(picks):
        text = f"a{n}: {_selection(name)}" if aliased else _selection(name)
        {"direct": direct, "inline": inline, "named": named}[where].append(text)
    parts = [*direct]
    if inline:
        parts.append("... on Thesis { " + " ".join(inline) + " }")
    if named:
        parts.append("...Picked")
    query = "{ concepts(first: 8) { nodes { slug theses { " + " ".join(parts) + " } } } }"
    if named:
        query += " fragment Picked on Thesis { " + " ".join(named) + " }"
    return query


@pytest.fixture
async def client(stores: Stores, sql_url: str, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    await seed(stores, SMALL_CORPUS)
    # No response cache and no compiler: every request reads theses through the loaders.
    config = settings_for(sql_url, tmp_path, PHILOS_RESPONSE_CACHE_TTL=0, PHILOS_SQL_COMPILE=False)
    app = create_app(config, dataclasses.replace(stores, json_reader=None))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://p") as c:
        yield c


@contextmanager
def asked(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[frozenset[str] | None]]:
    """The ``fields`` each ``by_concepts`` call of the SQL thesis store is given."""
    seen: list[frozenset[str] | None] = []
    real = SqlThesisStore.by_concepts

    async def spy(self: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(args[3] if len(args) > 3 else kwargs.get("fields"))
        return await real(self, *args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(SqlThesisStore, "by_concepts", spy)
        yield seen


async def _answer(client: httpx.AsyncClient, query: str) -> Any:
    response = await client.post("/graphql", json={"query": query})
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, (query, body)
    return body


@SQL_ONLY
async def test_theses_are_read_with_what_their_selection_reads(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    projected = 0
    for picks in SELECTIONS:
        query = _document(picks)
        expected = domain.thesis_fields(frozenset().union(*(_reads(n) for n, _, _ in picks)))
        with asked(monkeypatch) as seen:
            lean = await _answer(client, query)
        assert seen == [expected], (query, seen)
        with monkeypatch.context() as patch:  # every attribute read: the answer to match
            assert getattr(objects, "read_attributes") is read_attributes  # noqa: B009
            patch.setattr(objects, "read_attributes", lambda info, attributes: None)
            with asked(monkeypatch) as seen:
                full = await _answer(client, query)
            assert seen == [None]
        assert lean == full, query
        projected += expected is not None
    assert projected > len(SELECTIONS) // 2, projected
