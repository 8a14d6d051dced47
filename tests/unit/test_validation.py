from __future__ import annotations

import pytest

from philos.domain import ValidationError
from philos.types.paging import UserInputError, decode_cursor, encode_cursor
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
    assert decode_cursor(None) == 0
    assert decode_cursor(encode_cursor(41)) == 42
    for forged in ("", "abc", encode_cursor(-5), "b2Zmc2V0Ong="):
        with pytest.raises(UserInputError):
            decode_cursor(forged)
