"""Query argument rules (``philos.types.arguments``), shared by resolvers and the compiler."""

from __future__ import annotations

import uuid

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
from philos.types.paging import MAX_PAGE, UserInputError, encode_cursor

years = st.none() | st.integers(-3000, 3000)


@given(st.integers(-5, MAX_PAGE + 5), st.none() | st.integers(0, 10**6), years, years)
def test_concept_page(
    first: int, after: int | None, era_from: int | None, era_to: int | None
) -> None:
    flt = domain.ConceptFilter(era_from=era_from, era_to=era_to)
    cursor = None if after is None else encode_cursor(after)
    backwards = era_from is not None and era_to is not None and era_to < era_from
    if not 1 <= first <= MAX_PAGE or backwards:
        with pytest.raises(UserInputError):
            concept_page(flt, first, cursor)
        return
    assert concept_page(flt, first, cursor) == domain.Page(
        offset=0 if after is None else after + 1, limit=first
    )


@given(st.integers(-5, MAX_PAGE + 5), st.none() | st.integers(0, 10**6))
def test_thesis_page_and_theses_of_first(first: int, after: int | None) -> None:
    cursor = None if after is None else encode_cursor(after)
    if 1 <= first <= MAX_PAGE:
        assert thesis_page(first, cursor) == domain.Page(
            offset=0 if after is None else after + 1, limit=first
        )
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
