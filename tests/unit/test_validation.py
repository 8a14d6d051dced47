from __future__ import annotations

import uuid
from types import SimpleNamespace

import pytest

from philos.domain import ConceptOrder, Keyset, ValidationError
from philos.types.paging import CONCEPT_CURSOR, UserInputError, concept_cursor, decode_cursor
from philos.validation import Checker


def test_checker_collects_every_problem_before_failing() -> None:
    ck = Checker()
    ck.slug("slug", "Has Spaces")
    ck.text("name", "   ", max_len=10, required=True)
    ck.year("eraFrom", 99999)
    ck.unit("weight", -0.1)
    ck.url("url", "file:///etc/passwd")
    with pytest.raises(ValidationError) as info:
        ck.done()
    assert [p.field for p in info.value.problems] == ["slug", "name", "eraFrom", "weight", "url"]


@pytest.mark.parametrize("slug", ["ab", "wu-wei", "categorical-imperative", "a1-b2"])
def test_good_slugs(slug: str) -> None:
    ck = Checker()
    ck.slug("slug", slug)
    ck.done()


@pytest.mark.parametrize("slug", ["a", "-ab", "ab-", "a--b", "Ab", "a_b", "é", "x" * 81])
def test_bad_slugs(slug: str) -> None:
    ck = Checker()
    ck.slug("slug", slug)
    assert ck.problems


def test_tags_are_normalised_and_deduplicated() -> None:
    ck = Checker()
    assert ck.tags("tags", ["Ethics", "ethics", " mind "]) == ("ethics", "mind")
    ck.done()


def test_cursor_round_trip_and_rejects_forgeries() -> None:
    """More in test_paging.py."""
    row = SimpleNamespace(id=str(uuid.UUID(int=41)), name="Forms")
    order = ConceptOrder.NAME_ASC
    assert decode_cursor(None, order.value, CONCEPT_CURSOR[order]) is None
    key = decode_cursor(concept_cursor(order, row), order.value, CONCEPT_CURSOR[order])
    assert key == Keyset(("Forms",), row.id)
    for forged in ("", "abc", "b2Zmc2V0Ong=", "b2Zmc2V0OjQx"):
        with pytest.raises(UserInputError):
            decode_cursor(forged, order.value, CONCEPT_CURSOR[order])
