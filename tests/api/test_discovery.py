"""Finding concepts without knowing their id: lookups by slug and name, facets, random draws.

Over the packaged corpus, with cases generated from it: facets must agree with the counts the
filtered ``concepts`` connection gives, whatever the filter.
"""

from __future__ import annotations

import itertools
from typing import Any

from hypothesis import strategies as st

from philos.seed.loader import read_corpus
from tests.api.client import Api
from tests.security.documents import drawn

CORPUS = read_corpus()
TRADITIONS = sorted({c.tradition for c in CORPUS.concepts if c.tradition})
TAGS = sorted({t for c in CORPUS.concepts for t in c.tags})

FACETS = """query($f: ConceptFilter, $b: Int!) { concepts(filter: $f, first: 1) { totalCount
    facets { traditions { name conceptCount } tags { name conceptCount }
             eras(bucketYears: $b) { startYear endYear conceptCount } } } }"""
COUNT = "query($f: ConceptFilter) { concepts(filter: $f, first: 1) { totalCount } }"


def recased(text: str) -> st.SearchStrategy[str]:
    return st.lists(st.booleans(), min_size=len(text), max_size=len(text)).map(
        lambda upper: "".join(
            ch.upper() if u else ch.lower() for ch, u in zip(text, upper, strict=True)
        )
    )


async def test_slug_and_name_lookups_ignore_case(corpus_api: Api) -> None:
    by_slug = "query($s: String!) { concept(slug: $s) { id } }"
    by_name = "query($n: String!) { concept(name: $n) { id slug } }"
    cases = drawn(
        st.sampled_from(CORPUS.concepts).flatmap(
            lambda c: st.tuples(st.just(c), recased(c.slug), recased(c.name))
        ),
        40,
    )
    for concept, slug, name in cases:
        assert (await corpus_api.data(by_slug, {"s": slug}))["concept"] == {"id": concept.id}, slug
        found = (await corpus_api.data(by_name, {"n": f"  {name} "}))["concept"]
        same_name = [c for c in CORPUS.concepts if c.name.lower() == concept.name.lower()]
        assert found is not None and found["slug"] in {c.slug for c in same_name}, name
    assert (await corpus_api.data(by_name, {"n": "No such concept at all"}))["concept"] is None
    errors = await corpus_api.errors('{ concept(slug: "logos", name: "Logos") { id } }')
    assert any("exactly one of `id`, `slug` or `name`" in e for e in errors)


def ordered_eras(flt: dict[str, Any]) -> bool:
    return bool(flt.get("eraFrom", -9999) <= flt.get("eraTo", 9999))


filters: st.SearchStrategy[dict[str, Any]] = st.fixed_dictionaries(
    {},
    optional={
        "tradition": st.sampled_from(TRADITIONS).flatmap(recased),
        "tags": st.lists(st.sampled_from(TAGS), max_size=2, unique=True),
        "eraFrom": st.integers(-800, 2000),
        "eraTo": st.integers(-800, 2000),
        "search": st.sampled_from(["the", "mind", "ethic", "being", "zzz"]),
    },
).filter(ordered_eras)


async def count(api: Api, flt: dict[str, Any]) -> int:
    total: int = (await api.data(COUNT, {"f": flt}))["concepts"]["totalCount"]
    return total


async def test_facets_agree_with_filtered_counts(corpus_api: Api) -> None:
    cases = drawn(st.tuples(filters, st.sampled_from([10, 50, 100, 250, 1000])), 12)
    for flt, bucket in cases:
        data = (await corpus_api.data(FACETS, {"f": flt, "b": bucket}))["concepts"]
        facets, total = data["facets"], data["totalCount"]
        assert sum(f["conceptCount"] for f in facets["traditions"]) <= total
        counts = [f["conceptCount"] for f in facets["traditions"]]
        assert counts == sorted(counts, reverse=True)
        for facet in facets["traditions"][:3]:
            narrowed = {**flt, "tradition": facet["name"]}
            assert await count(corpus_api, narrowed) == facet["conceptCount"], (flt, facet)
        for facet in facets["tags"][:3]:
            narrowed = {**flt, "tags": sorted({*flt.get("tags", []), facet["name"]})}
            assert await count(corpus_api, narrowed) == facet["conceptCount"], (flt, facet)
        buckets = facets["eras"]
        for before, after in itertools.pairwise(buckets):
            assert after["startYear"] == before["endYear"] + 1
        for bucket_row in buckets[:: max(1, len(buckets) // 3)]:
            narrowed = {**flt, "eraFrom": bucket_row["startYear"], "eraTo": bucket_row["endYear"]}
            if "eraFrom" in flt:
                narrowed["eraFrom"] = max(flt["eraFrom"], bucket_row["startYear"])
            if "eraTo" in flt:
                narrowed["eraTo"] = min(flt["eraTo"], bucket_row["endYear"])
            if narrowed["eraFrom"] <= narrowed["eraTo"]:
                assert await count(corpus_api, narrowed) == bucket_row["conceptCount"], (
                    flt,
                    bucket_row,
                )


async def test_top_level_facets_cover_the_whole_corpus(corpus_api: Api) -> None:
    data = await corpus_api.data(
        "{ traditions { name conceptCount } tags { name conceptCount } "
        "eras(bucketYears: 500) { startYear conceptCount } "
        "concepts(first: 1) { facets { traditions { name conceptCount } } } }"
    )
    assert data["traditions"] == data["concepts"]["facets"]["traditions"]
    expected = {t: sum(c.tradition == t for c in CORPUS.concepts) for t in TRADITIONS}
    assert {f["name"]: f["conceptCount"] for f in data["traditions"]} == expected
    tags = {t: sum(t in c.tags for c in CORPUS.concepts) for t in TAGS}
    assert {f["name"]: f["conceptCount"] for f in data["tags"]} == tags
    assert sum(b["conceptCount"] for b in data["eras"]) >= sum(
        c.era_from is not None for c in CORPUS.concepts
    )
    errors = await corpus_api.errors("{ eras(bucketYears: 5) { startYear } }")
    assert any("`bucketYears` must be between 10 and 1000" in e for e in errors)


async def test_random_concept_matches_its_filter(corpus_api: Api) -> None:
    query = "query($f: ConceptFilter) { randomConcept(filter: $f) { slug tradition tags } }"
    for flt in drawn(filters, 12):
        found = (await corpus_api.data(query, {"f": flt}))["randomConcept"]
        if await count(corpus_api, flt) == 0:
            assert found is None
            continue
        assert found is not None
        narrowed = await corpus_api.data(
            "query($f: ConceptFilter) { concepts(filter: $f, first: 100) { nodes { slug } } }",
            {"f": flt},
        )
        if len(narrowed["concepts"]["nodes"]) < 100:
            assert found["slug"] in {n["slug"] for n in narrowed["concepts"]["nodes"]}
