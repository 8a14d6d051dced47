"""Ranked search over the packaged corpus, through HTTP, on every SQL backend.

The cases are drawn with hypothesis (``tests/api/search_cases.py``) from every concept of the
corpus, then asked one after another against one seeded app: exact names rank first, one-letter
typos of names of six or more letters stay in the top three, two words of a name or summary
in any order find the concept, and accents are ignored both ways.
"""

from __future__ import annotations

import importlib
import json
import re
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from hypothesis import strategies as st
from sqlalchemy import event

from philos.datasources.sql.search import _TRIGRAMS
from philos.datasources.stores import Stores
from philos.domain.search import fold
from philos.seed.loader import read_corpus
from tests.api import search_cases
from tests.api.client import Api
from tests.api.search_cases import accented, letters, marked, pair, two_words, typos
from tests.security.documents import drawn
from tests.sql_access import sql_db

CORPUS = read_corpus()
SEARCH_INDEXES = importlib.import_module(
    "philos.datasources.sql.migrations.versions.0004_ranked_search"
).PG_INDEX_NAMES
SEARCH = (
    "query($s:String!,$n:Int!,$o:ConceptOrder){concepts(filter:{search:$s},first:$n,orderBy:$o)"
    "{totalCount edges{node{slug name searchHighlight}}}}"
)


@pytest.fixture
def sql_theses(session_stores: Stores) -> None:  # not `stores`: it would empty them
    if session_stores.theses.name != "sql":
        pytest.skip("ranked thesis search is the SQL thesis store's")


async def _slugs(api: Api, search: str, first: int = 3, order: str | None = None) -> list[str]:
    data = await api.data(SEARCH, {"s": search, "n": first, "o": order})
    return [e["node"]["slug"] for e in data["concepts"]["edges"]]


async def test_every_exact_name_ranks_first(corpus_api: Api) -> None:
    missed = []
    for concept in CORPUS.concepts:
        found = await _slugs(corpus_api, concept.name, 1)
        if found != [concept.slug]:
            missed.append((concept.name, found))
    assert not missed


async def test_one_letter_typos_stay_in_the_top_three(corpus_api: Api) -> None:
    names = [c for c in CORPUS.concepts if len(letters(c.name)) >= 6]
    missed = []
    for concept, typo in typos(names, per_name=2):
        found = await _slugs(corpus_api, typo, 3)
        if concept.slug not in found:
            missed.append((concept.name, typo, found))
    assert not missed


async def test_two_words_in_any_order_find_the_concept(corpus_api: Api) -> None:
    missed = []
    for concept, search in two_words(CORPUS.concepts, per_concept=1):
        found = await _slugs(corpus_api, search, 100)
        if concept.slug not in found:
            missed.append((concept.name, search, found[:5]))
    assert not missed


async def test_accents_are_ignored_both_ways(corpus_api: Api) -> None:
    missed = []
    # Stored with accents, searched without...
    for concept in accented(CORPUS.concepts):
        found = await _slugs(corpus_api, fold(concept.name), 1)
        if found != [concept.slug]:
            missed.append((concept.name, fold(concept.name), found))
    # ... and stored without, searched with.
    for concept, search in marked(CORPUS.concepts, per_name=1):
        found = await _slugs(corpus_api, search, 1)
        if found != [concept.slug]:
            missed.append((concept.name, search, found))
    assert not missed
    assert await _slugs(corpus_api, "Anattā", 1) == ["anatta"]
    assert await _slugs(corpus_api, "Epoche", 1) == ["epoche"]


async def test_known_searches(corpus_api: Api) -> None:
    assert "ship-of-theseus" in {c.slug for c in read_corpus().concepts}
    assert (await _slugs(corpus_api, "Ship Theseus", 3))[0] == "ship-of-theseus"
    assert (await _slugs(corpus_api, "theseus ship", 3))[0] == "ship-of-theseus"
    assert (await _slugs(corpus_api, "Ship of Thesues", 3))[0] == "ship-of-theseus"
    assert (await _slugs(corpus_api, "will general", 3))[0] == "general-will"
    assert "compatibilism" in await _slugs(corpus_api, "free will", 10)
    assert (await _slugs(corpus_api, "Volonte generale", 1)) == ["general-will"]


async def test_highlight_marks_the_matched_field(corpus_api: Api) -> None:
    data = await corpus_api.data(SEARCH, {"s": "veil ignorance", "n": 1, "o": None})
    node = data["concepts"]["edges"][0]["node"]
    assert node["name"] == "Veil of ignorance"
    assert node["searchHighlight"] == "«Veil» of «ignorance»"
    # Outside a searched list the field is null, also for the same concept elsewhere.
    data = await corpus_api.data(
        "{concepts(first:2){edges{node{searchHighlight}}}"
        ' s: concepts(filter:{search:"karma"}, first:1){edges{node{searchHighlight '
        "relations{source{searchHighlight}}}}}}"
    )
    assert [e["node"]["searchHighlight"] for e in data["concepts"]["edges"]] == [None, None]
    hit = data["s"]["edges"][0]["node"]
    assert hit["searchHighlight"] == "«Karma»"
    assert all(r["source"]["searchHighlight"] is None for r in hit["relations"])


async def test_highlight_is_plain_text(corpus_api: Api) -> None:
    created = await corpus_api.data(
        'mutation{createConcept(input:{slug:"markup",name:"<b>Markup</b> test",'
        'summary:"A <script>x</script> summary"}){__typename}}'
    )
    assert created["createConcept"]["__typename"] == "ConceptSuccess"
    data = await corpus_api.data(SEARCH, {"s": "markup", "n": 1, "o": None})
    assert data["concepts"]["edges"][0]["node"]["searchHighlight"] == "<b>«Markup»</b> test"


async def test_other_orders_filter_by_the_match(corpus_api: Api) -> None:
    relevance = await _slugs(corpus_api, "will", 100)
    by_name = await corpus_api.data(SEARCH, {"s": "will", "n": 100, "o": "NAME_ASC"})
    names = [e["node"]["name"] for e in by_name["concepts"]["edges"]]
    assert names == sorted(names, key=lambda n: n.lower())
    assert {e["node"]["slug"] for e in by_name["concepts"]["edges"]} == set(relevance)
    explicit = await _slugs(corpus_api, "will", 100, "RELEVANCE")
    assert explicit == relevance
    # Pages of a ranked list join up.
    page = (
        'query($a:String){concepts(filter:{search:"will"},first:2,after:$a)'
        "{edges{node{slug}} pageInfo{endCursor}}}"
    )
    first = (await corpus_api.data(page))["concepts"]
    second = (await corpus_api.data(page, {"a": first["pageInfo"]["endCursor"]}))["concepts"]
    slugs = [e["node"]["slug"] for e in first["edges"] + second["edges"]]
    assert slugs == relevance[:4]


async def test_relevance_without_search_is_by_name(corpus_api: Api) -> None:
    data = await corpus_api.data("{concepts(first:5,orderBy:RELEVANCE){edges{node{name}}}}")
    default = await corpus_api.data("{concepts(first:5){edges{node{name}}}}")
    assert data == default


async def test_theses_are_searched_by_statement_and_arguments(
    corpus_api: Api, sql_theses: None
) -> None:
    query = (
        "query($s:String!){theses(filter:{search:$s},first:3){totalCount edges{node{statement}}}}"
    )
    missed = []
    for thesis in CORPUS.theses:
        data = await corpus_api.data(query, {"s": thesis.statement})
        found = [e["node"]["statement"] for e in data["theses"]["edges"]]
        if found[:1] != [thesis.statement]:
            missed.append((thesis.statement, found))
        if thesis.arguments:
            words = " ".join(thesis.arguments[0].text.split()[:3])
            data = await corpus_api.data(query.replace("first:3", "first:100"), {"s": words})
            found = [e["node"]["statement"] for e in data["theses"]["edges"]]
            if thesis.statement not in found:
                missed.append((words, found[:3]))
    assert not missed


async def test_without_pg_trgm_full_text_still_ranks(corpus_api: Api, backend: str) -> None:
    """Migration 0004 goes on without ``pg_trgm`` when the role may not create it: search
    then has no typo matching but still ranks full-text matches."""
    if backend != "postgres":
        pytest.skip("PostgreSQL only")
    db = sql_db(corpus_api.stores)
    _TRIGRAMS[db] = False
    try:
        assert await _slugs(corpus_api, "Veil of ignorance", 1) == ["veil-of-ignorance"]
        assert await _slugs(corpus_api, "ignorance veil", 1) == ["veil-of-ignorance"]
    finally:
        del _TRIGRAMS[db]


async def test_facets_and_random_concept_follow_the_search(corpus_api: Api) -> None:
    for search in ("will", "Substanse", "flourish", "anattā"):
        data = await corpus_api.data(
            "query($s:String!){concepts(filter:{search:$s},first:100){totalCount "
            "nodes{slug tradition} facets{traditions{name conceptCount}}} "
            "randomConcept(filter:{search:$s}){slug}}",
            {"s": search},
        )
        listed = data["concepts"]
        counts: dict[str, int] = {}
        for node in listed["nodes"]:
            if node["tradition"]:
                counts[node["tradition"]] = counts.get(node["tradition"], 0) + 1
        facets = {f["name"]: f["conceptCount"] for f in listed["facets"]["traditions"]}
        assert facets.items() <= counts.items(), search
        assert listed["totalCount"] == len(listed["nodes"]) > 0, search
        assert data["randomConcept"]["slug"] in {n["slug"] for n in listed["nodes"]}, search


PAGE = """query($s: String!, $n: Int!, $a: String) {
    concepts(filter: {search: $s}, first: $n, after: $a) {
        totalCount pageInfo { hasNextPage hasPreviousPage endCursor } nodes { slug } } }"""


async def test_searched_lists_page_by_position_without_gaps(corpus_api: Api) -> None:
    for search, size in drawn(
        st.tuples(st.sampled_from(["the", "mind", "being", "ethics", "self"]), st.integers(1, 9)),
        8,
    ):
        whole = await corpus_api.data(PAGE, {"s": search, "n": 100, "a": None})
        expected = [n["slug"] for n in whole["concepts"]["nodes"]]
        # At most about a dozen pages a walk: a common word matches most of the corpus, and
        # a page of one is as much a page as any; what matters is the page boundaries.
        size = max(size, -(-whole["concepts"]["totalCount"] // 12))
        seen: list[str] = []
        after = None
        while True:
            page = (await corpus_api.data(PAGE, {"s": search, "n": size, "a": after}))["concepts"]
            seen += [n["slug"] for n in page["nodes"]]
            assert page["pageInfo"]["hasPreviousPage"] == (after is not None)
            if not page["pageInfo"]["hasNextPage"]:
                break
            after = page["pageInfo"]["endCursor"]
        assert len(seen) == len(set(seen)) == whole["concepts"]["totalCount"], (search, size)
        assert seen[: len(expected)] == expected, (search, size)


async def test_cursors_of_searched_and_plain_lists_do_not_mix(corpus_api: Api) -> None:
    plain = await corpus_api.data("{ concepts(first: 2) { pageInfo { endCursor } } }")
    searched = await corpus_api.data(PAGE, {"s": "the", "n": 2, "a": None})
    errors = await corpus_api.errors(
        PAGE, {"s": "the", "n": 2, "a": plain["concepts"]["pageInfo"]["endCursor"]}
    )
    assert any("issued for orderBy NAME_ASC, not a list with a `search`" in e for e in errors)
    errors = await corpus_api.errors(
        "query($a: String) { concepts(first: 2, after: $a) { totalCount } }",
        {"a": searched["concepts"]["pageInfo"]["endCursor"]},
    )
    assert any("issued for a list with a `search`, not orderBy NAME_ASC" in e for e in errors)


# The words a search may be made of: names, typos of them, words of summaries and thesis
# statements, and letters at random (which match nothing, or a little).
_NAMES = [c for c in CORPUS.concepts if len(letters(c.name)) >= 6]
SEARCHES = st.one_of(
    st.sampled_from([c.name for c in CORPUS.concepts]),
    st.sampled_from(_NAMES).flatmap(lambda c: search_cases.typo(c.name)),
    st.sampled_from(CORPUS.concepts).flatmap(pair),
    st.sampled_from([w for t in CORPUS.theses for w in t.statement.split()]),
    st.text(alphabet="abcdefghijklmnopqrstuvwxyzäéü ", min_size=1, max_size=14).filter(str.strip),
)
SEARCH_ORDERS = st.sampled_from([None, "RELEVANCE", "NAME_ASC", "ERA_DESC", "CREATED_AT_ASC"])
THESES = "query($s:String!,$n:Int!){theses(filter:{search:$s},first:$n){totalCount nodes{id}}}"
_SEARCHED = ("philos_concept_tsv", "philos_thesis_tsv")


def _has_trigram(search: str) -> bool:
    return any(len(w) >= 3 for w in re.split(r"[^\w]+|_", search))


def _scans(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from _scans(child)


async def test_searches_read_their_matches_through_the_search_indexes(
    corpus_api: Api, backend: str, session_stores: Stores
) -> None:
    """On PostgreSQL a search that matches a small part of a table (concepts or theses, the
    list in any order) finds its matches in the search indexes of migration 0004, in the plan
    of its first runs and in the generic plan a prepared statement may settle on, instead of
    computing every row's text (migration 0009)."""
    if backend == "sqlite":
        pytest.skip("SQLite's search reads its FTS5 tables")
    db = sql_db(corpus_api.stores)
    ran: list[tuple[str, Sequence[Any]]] = []

    def record(_c: Any, _k: Any, statement: str, parameters: Any, *_: Any) -> None:
        if any(f in statement for f in _SEARCHED):
            ran.append((statement, tuple(parameters)))

    lists = [(SEARCH, "concepts", len(CORPUS.concepts))]
    if session_stores.theses.name == "sql":
        lists.append((THESES, "theses", len(CORPUS.theses)))
    selective: list[tuple[str, str, Sequence[Any]]] = []  # (search, list, a statement)
    event.listen(db.engine.sync_engine, "before_cursor_execute", record)
    try:
        cases = drawn(st.tuples(SEARCHES, SEARCH_ORDERS, st.integers(1, 60)), 60)
        for search, order, first in cases:
            for query, field, size in lists:
                ran.clear()
                asked = {"s": search, "n": first} | ({"o": order} if field == "concepts" else {})
                data = await corpus_api.data(query, asked)
                assert ran, (search, field)
                # The trigram index serves a substring of three letters or more; a shorter
                # one is looked for in every row, as it should be.
                if data[field]["totalCount"] <= size // 20 and _has_trigram(search):
                    selective += [(search, field, r) for r in ran]
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", record)
    assert len(selective) >= 20  # enough of the drawn searches are selective to judge
    unindexed = []
    async with db.engine.connect() as conn:
        driver = (await conn.get_raw_connection()).driver_connection
        assert driver is not None
        # The statistics autovacuum keeps (the corpus may have been loaded a moment ago).
        await driver.execute("ANALYZE concepts, theses")
        try:
            for mode in ("force_custom_plan", "force_generic_plan"):
                await driver.execute(f"SET plan_cache_mode = {mode}")
                for search, field, (statement, parameters) in selective:
                    found = await driver.fetchval(f"EXPLAIN (FORMAT JSON) {statement}", *parameters)
                    # (decoded already where the connection has a JSON codec)
                    (explained,) = json.loads(found) if isinstance(found, str) else found
                    for node in _scans(explained["Plan"]):
                        if node.get("Relation Name") == field and not (
                            node["Node Type"] == "Bitmap Heap Scan"
                            and {i["Index Name"] for i in _scans(node) if "Index Name" in i}
                            <= set(SEARCH_INDEXES)
                        ):
                            index = [i.get("Index Name") for i in _scans(node)]
                            unindexed.append((mode, search, field, node["Node Type"], index))
        finally:  # the pooled connection goes back as it came
            await driver.execute("RESET plan_cache_mode")
    assert not unindexed
