"""Query argument rules (``philos.types.arguments``), shared by resolvers and the compiler."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from philos import domain
from philos.types.arguments import (
    concept_key,
    concept_page,
    theses_of_first,
    thesis_key,
    thesis_page,
)
from philos.types.paging import (
    CONCEPT_CURSOR,
    MAX_PAGE,
    UserInputError,
    concept_cursor,
    thesis_cursor,
)

years = st.none() | st.integers(-3000, 3000)


_ROW = SimpleNamespace(
    id=str(uuid.UUID(int=7)),
    name="Forms",
    era_from=-380,
    created_at=datetime(2026, 1, 2, tzinfo=UTC),
    updated_at=datetime(2026, 1, 3, tzinfo=UTC),
)


@given(
    st.integers(-5, MAX_PAGE + 5), st.sampled_from(domain.ConceptOrder), st.booleans(), years, years
)
def test_concept_page(
    first: int,
    order: domain.ConceptOrder,
    after: bool,
    era_from: int | None,
    era_to: int | None,
) -> None:
    flt = domain.ConceptFilter(era_from=era_from, era_to=era_to)
    cursor = concept_cursor(order, _ROW) if after else None
    backwards = era_from is not None and era_to is not None and era_to < era_from
    if not 1 <= first <= MAX_PAGE or backwards:
        with pytest.raises(UserInputError):
            concept_page(flt, order, first, cursor)
        return
    key = domain.Keyset(tuple(getattr(_ROW, c) for c in CONCEPT_CURSOR[order]), _ROW.id)
    assert concept_page(flt, order, first, cursor) == domain.Page(
        limit=first, after=key if after else None
    )


@given(st.integers(-5, MAX_PAGE + 5), st.booleans())
def test_thesis_page_and_theses_of_first(first: int, after: bool) -> None:
    cursor = thesis_cursor(_ROW) if after else None
    if 1 <= first <= MAX_PAGE:
        key = domain.Keyset((_ROW.created_at,), _ROW.id)
        assert thesis_page(first, cursor) == domain.Page(limit=first, after=key if after else None)
        assert theses_of_first(first) == first
    else:
        with pytest.raises(UserInputError):
            thesis_page(first, cursor)
        with pytest.raises(UserInputError):
            theses_of_first(first)


ids = st.uuids().map(str) | st.text(max_size=10)
optional = st.none() | st.text(max_size=10)


@given(st.none() | ids, optional, optional)
def test_concept_key_takes_exactly_one_way_in(
    id: str | None, slug: str | None, name: str | None
) -> None:
    given_count = sum(v is not None for v in (id, slug, name))
    if given_count != 1:
        with pytest.raises(UserInputError, match="exactly one of"):
            concept_key(id, slug, name)
        return
    key = concept_key(id, slug, name)
    if id is not None:
        assert key == (("id", id) if _is_lower_uuid(id) else None)
    elif slug is not None:
        assert key == ("slug", slug.lower())
    else:
        assert key == ("name", (name or "").strip().lower())


@given(ids)
def test_thesis_key(id: str) -> None:
    assert thesis_key(id) == (id if _is_lower_uuid(id) else None)


def _is_lower_uuid(value: str) -> bool:
    try:
        return str(uuid.UUID(value)) == value
    except ValueError:
        return False
