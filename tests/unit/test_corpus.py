"""The sample corpus: large enough, internally consistent, valid under the API's own rules,
and loaded idempotently."""

from __future__ import annotations

from collections import Counter

import pytest

from philos import domain
from philos.datasources.stores import Stores
from philos.seed.loader import read_corpus, seed
from philos.validation import SLUG_RE, Checker, max_year

CORPUS = read_corpus()


def test_corpus_is_large_enough() -> None:
    assert len(CORPUS.concepts) >= 80
    assert len(CORPUS.relations) >= 150
    assert len(CORPUS.theses) >= 120
    for required in (
        "forms",
        "eudaimonia",
        "categorical-imperative",
        "dasein",
        "bad-faith",
        "tabula-rasa",
        "dialectic",
        "wu-wei",
        "anatta",
        "utility",
    ):
        assert required in {c.slug for c in CORPUS.concepts}, required


def test_corpus_spans_traditions_and_eras() -> None:
    traditions = Counter(c.tradition for c in CORPUS.concepts)
    assert len(traditions) >= 12
    years = [c.era_from for c in CORPUS.concepts if c.era_from is not None]
    assert min(years) < -300 and max(years) > 1900


def test_every_concept_passes_the_api_rules() -> None:
    for c in CORPUS.concepts:
        ck = Checker()
        ck.slug("slug", c.slug)
        ck.text("name", c.name, max_len=120, required=True)
        ck.text("summary", c.summary, max_len=500, required=True)
        ck.year("eraFrom", c.era_from)
        ck.year("eraTo", c.era_to)
        ck.tags("tags", list(c.tags))
        ck.url("sepUrl", c.sep_url)
        if c.era_from is not None and c.era_to is not None and c.era_to < c.era_from:
            ck.add("eraTo", "before eraFrom")
        ck.done()


def test_every_thesis_and_relation_passes_the_api_rules() -> None:
    concept_ids = {c.id for c in CORPUS.concepts}
    for r in CORPUS.relations:
        assert r.source_id != r.target_id
        assert 0 <= r.weight <= 1
    for t in CORPUS.theses:
        assert t.concept_id in concept_ids
        assert 10 <= len(t.statement) <= 1000, t.statement
        assert t.arguments and t.sources, t.statement
        for a in t.arguments:
            assert 10 <= len(a.text) <= 1000 and 0 <= a.strength <= 1
        for s in t.sources:
            assert s.author.strip() and s.work.strip()
            assert s.year is None or -3000 <= s.year <= max_year()
        assert all(SLUG_RE.match(tag) for tag in t.tags)


def test_every_concept_has_a_thesis_and_a_relation() -> None:
    with_theses = {t.concept_id for t in CORPUS.theses}
    related = {r.source_id for r in CORPUS.relations} | {r.target_id for r in CORPUS.relations}
    for c in CORPUS.concepts:
        assert c.id in with_theses, c.slug
        assert c.id in related, c.slug


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_seeding_twice_adds_nothing_the_second_time(stores: Stores) -> None:
    first = await seed(stores, CORPUS)
    assert first == {
        "concepts": len(CORPUS.concepts),
        "relations": len(CORPUS.relations),
        "theses": len(CORPUS.theses),
    }
    assert await seed(stores, CORPUS) == {"concepts": 0, "relations": 0, "theses": 0}
    page = await stores.concepts.list(
        domain.ConceptFilter(), domain.ConceptOrder.NAME_ASC, domain.Page(limit=1)
    )
    assert page.total == len(CORPUS.concepts)


def test_every_concept_has_a_body_of_two_to_four_paragraphs() -> None:
    from philos.seed.loader import packaged_bodies

    bodies = packaged_bodies()
    assert set(bodies) == {c.slug for c in CORPUS.concepts}, "a body without its concept"
    for concept in CORPUS.concepts:
        paragraphs = [p for p in concept.body.split("\n\n") if p.strip()]
        assert 2 <= len(paragraphs) <= 4, concept.slug
        assert 150 <= len(concept.body.split()) <= 500, concept.slug
        assert len(concept.body) <= 20_000, concept.slug  # the API's own limit for a body
        assert not any(line.lstrip().startswith(("#", "<")) for line in concept.body.splitlines())
