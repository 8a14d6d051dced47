"""Concept input checks (``philos.resolvers.concepts._check_concept_fields``)."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from philos.resolvers.concepts import _check_concept_fields
from philos.validation import MAX_ALIASES, Checker, max_year

years = st.none() | st.integers(-3000, 2000)
short = st.text("abc xyz", min_size=1, max_size=20).filter(lambda s: s.strip())


def check(**fields: Any) -> tuple[dict[str, object], list[str]]:
    base: dict[str, Any] = {
        "name": "Dasein",
        "summary": "Being there.",
        "body": None,
        "tradition": None,
        "era_from": None,
        "era_to": None,
        "aliases": [],
        "wikidata_id": None,
        "sep_url": None,
    }
    ck = Checker()
    out = _check_concept_fields(ck, **{**base, **fields})
    return out, [p.field for p in ck.problems]


@given(years, years)
def test_an_era_may_not_end_before_it_starts(era_from: int | None, era_to: int | None) -> None:
    _, problems = check(era_from=era_from, era_to=era_to)
    backwards = era_from is not None and era_to is not None and era_to < era_from
    assert ("eraTo" in problems) == backwards
    assert max_year() >= 2000


@given(st.lists(short, max_size=MAX_ALIASES + 3))
def test_aliases_are_trimmed_deduplicated_and_bounded(aliases: list[str]) -> None:
    out, problems = check(aliases=aliases)
    assert out["aliases"] == tuple(dict.fromkeys(a.strip() for a in aliases))
    assert ("aliases" in problems) == (len(aliases) > MAX_ALIASES)


@given(st.integers(1, 10**11))
def test_wikidata_ids_look_like_q_numbers(number: int) -> None:
    out, problems = check(wikidata_id=f"Q{number}")
    assert problems == [] and out["wikidata_id"] == f"Q{number}"
    for bad in (f"q{number}", f"Q0{number}", f"P{number}", f"Q{number}x", ""):
        assert check(wikidata_id=bad)[1] == ["wikidataId"]


@given(st.text(" \t", max_size=3))
def test_blank_optional_text_reads_as_none(blank: str) -> None:
    out, problems = check(tradition=blank, body=None)
    assert problems == []
    assert out["tradition"] is None and out["body"] == ""
