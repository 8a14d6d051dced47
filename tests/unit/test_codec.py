"""Cache codecs (``philos.datasources.codec``): every domain record survives a round trip."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from philos.datasources.codec import dump, load_concept, load_thesis
from philos.domain import (
    Argument,
    Concept,
    Polarity,
    Provenance,
    ProvenanceKind,
    Source,
    Stance,
    Thesis,
    ThesisStatus,
)

# What the stores can hold: no lone surrogates (not encodable as UTF-8), 64-bit integers.
text = st.text(st.characters(codec="utf-8"), max_size=40)
optional_text = st.none() | text
ints = st.integers(-(2**63), 2**63 - 1)
optional_int = st.none() | ints
times = st.datetimes(timezones=st.just(UTC)) | st.datetimes()
strings = st.lists(text, max_size=5).map(tuple)
units = st.floats(0.0, 1.0)

provenances = st.builds(Provenance, st.sampled_from(ProvenanceKind), optional_text, optional_text)

concepts = st.builds(
    Concept,
    id=text,
    slug=text,
    name=text,
    summary=text,
    body=text,
    tradition=optional_text,
    era_from=optional_int,
    era_to=optional_int,
    tags=strings,
    aliases=strings,
    wikidata_id=optional_text,
    sep_url=optional_text,
    author_id=optional_text,
    created_at=times,
    updated_at=times,
    version=ints,
)

theses = st.builds(
    Thesis,
    id=text,
    concept_id=text,
    statement=text,
    stance=st.sampled_from(Stance),
    arguments=st.lists(
        st.builds(Argument, text, st.sampled_from(Polarity), text, units), max_size=4
    ).map(tuple),
    sources=st.lists(st.builds(Source, text, text, optional_int, optional_text), max_size=4).map(
        tuple
    ),
    related_concept_ids=strings,
    tags=strings,
    provenance=provenances,
    status=st.sampled_from(ThesisStatus),
    synthesis_of=strings,
    author_id=optional_text,
    created_at=times,
    updated_at=times,
    version=ints,
)


@given(concepts)
def test_a_concept_survives_a_round_trip(concept: Concept) -> None:
    loaded = load_concept(dump(concept))
    assert loaded == concept
    assert isinstance(loaded.tags, tuple)
    assert isinstance(loaded.aliases, tuple)
    assert loaded.created_at.tzinfo == concept.created_at.tzinfo


@given(theses)
def test_a_thesis_survives_a_round_trip(thesis: Thesis) -> None:
    loaded = load_thesis(dump(thesis))
    assert loaded == thesis
    assert type(loaded.stance) is Stance
    assert type(loaded.status) is ThesisStatus
    assert type(loaded.provenance.kind) is ProvenanceKind
    assert all(type(a.polarity) is Polarity for a in loaded.arguments)


@given(concepts)
def test_a_dump_is_plain_json_a_person_can_read(concept: Concept) -> None:
    raw = dump(concept)
    decoded = orjson.loads(raw)
    assert decoded["id"] == concept.id
    assert decoded["created_at"] == concept.created_at.isoformat()
    assert raw == dump(load_concept(raw))  # stable: the same record, the same bytes


@given(theses)
def test_an_entry_written_before_syntheses_still_loads(thesis: Thesis) -> None:
    """Cached values written before ``synthesis_of`` existed read as no synthesis."""
    old = orjson.loads(dump(thesis))
    del old["synthesis_of"]
    loaded = load_thesis(orjson.dumps(old))
    assert loaded.synthesis_of == ()
    assert loaded == replace(thesis, synthesis_of=())


@given(concepts)
def test_a_concept_is_not_loaded_as_a_thesis(concept: Concept) -> None:
    with pytest.raises((KeyError, TypeError, ValueError)):
        load_thesis(dump(concept))
