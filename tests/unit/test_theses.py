"""Thesis input checks (``philos.resolvers.theses``): arguments, sources, related concepts."""

from __future__ import annotations

import uuid

import strawberry
from hypothesis import given
from hypothesis import strategies as st

from philos import domain
from philos.resolvers.theses import _argument, _related, _sources
from philos.types.inputs import ArgumentInput, SourceInput
from philos.validation import MAX_RELATED, MAX_SOURCES, Checker


@given(st.text(max_size=30), st.floats(-1, 2), st.sampled_from(domain.Polarity))
def test_an_argument_is_checked_and_given_a_fresh_id(
    text: str, strength: float, polarity: domain.Polarity
) -> None:
    ck = Checker()
    argument = _argument(
        ck, "arguments[0].", ArgumentInput(polarity=polarity, text=text, strength=strength)
    )
    fields = {p.field for p in ck.problems}
    assert ("arguments[0].text" in fields) == (not 10 <= len(text.strip()) <= 1000)
    assert ("arguments[0].strength" in fields) == (not 0 <= strength <= 1)
    assert argument.text == text.strip()
    assert argument.polarity is polarity
    assert domain.Polarity(argument.polarity) is polarity
    assert uuid.UUID(argument.id).version == 4


sources = st.builds(
    SourceInput,
    author=st.text("ab ", max_size=5),
    work=st.text("cd ", max_size=5),
    year=st.none() | st.integers(-4000, 3000),
    url=st.none() | st.sampled_from(["https://plato.stanford.edu/x", "ftp://x", " http://a.b "]),
)


@given(st.lists(sources, max_size=MAX_SOURCES + 2))
def test_sources_keep_their_order_and_are_bounded(given_sources: list[SourceInput]) -> None:
    ck = Checker()
    out = _sources(ck, given_sources)
    assert [(s.year) for s in out] == [s.year for s in given_sources]
    assert [s.url for s in out] == [s.url.strip() if s.url else None for s in given_sources]
    assert any(p.field == "sources" for p in ck.problems) == (len(given_sources) > MAX_SOURCES)


@given(st.lists(st.uuids().map(str) | st.sampled_from(["nope", "1"]), max_size=MAX_RELATED + 2))
def test_related_ids_are_checked_and_deduplicated(ids: list[str]) -> None:
    ck = Checker()
    out = _related(ck, [strawberry.ID(i) for i in ids])
    assert out == tuple(dict.fromkeys(ids))
    bad = {p.field for p in ck.problems if p.field.startswith("relatedConceptIds[")}
    assert bad == {f"relatedConceptIds[{n}]" for n, i in enumerate(ids) if i in ("nope", "1")}
    assert any(p.field == "relatedConceptIds" for p in ck.problems) == (len(ids) > MAX_RELATED)
