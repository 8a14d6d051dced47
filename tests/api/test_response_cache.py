"""The response cache: identical queries are answered without touching a database, and any
write makes the very next query see it."""

from __future__ import annotations

from tests.api.client import Api
from tests.stores import counting

QUERY = """query Listing { concepts(first: 3) { nodes { slug name thesisCount
    relations { type } } } }"""


async def test_repeat_query_is_served_without_statements(api: Api) -> None:
    first = await api.data(QUERY)
    with counting(api.stores) as statements:
        again = await api.data(
            "query Listing {\n  concepts(first: 3) { nodes { slug name "
            "thesisCount relations { type } } } }  # same, spaced differently"
        )
    assert again == first
    assert statements == []


async def test_a_write_is_visible_to_the_next_query(api: Api) -> None:
    one = '{ concept(slug: "ataraxia") { name version } }'
    assert (await api.data(one))["concept"] == {"name": "Ataraxia", "version": 1}
    assert (await api.data(one))["concept"] == {"name": "Ataraxia", "version": 1}  # cached
    ata = await api.concept_id("ataraxia")
    renamed = await api.data(
        'mutation($id: ID!) { updateConcept(input: {id: $id, version: 1, name: "Tranquillity"}) '
        "{ __typename } }",
        {"id": ata},
    )
    assert renamed["updateConcept"]["__typename"] == "ConceptSuccess"
    assert (await api.data(one))["concept"] == {"name": "Tranquillity", "version": 2}


async def test_writes_to_other_stores_invalidate_too(api: Api) -> None:
    before = await api.data(QUERY)
    ata = await api.concept_id("ataraxia")
    wu = await api.concept_id("wu-wei")
    await api.data(
        'mutation($c: ID!) { createThesis(input: {conceptId: $c, statement: "Calm is the goal.", '
        "stance: AFFIRMS}) { __typename } }",
        {"c": ata},
    )
    await api.data(
        "mutation($a: ID!, $b: ID!) { relateConcepts(input: {sourceId: $a, targetId: $b, "
        "type: ANALOGOUS_TO}) { __typename } }",
        {"a": ata, "b": wu},
    )
    after = await api.data(QUERY)
    old = {n["slug"]: n for n in before["concepts"]["nodes"]}["ataraxia"]
    new = {n["slug"]: n for n in after["concepts"]["nodes"]}["ataraxia"]
    assert new["thesisCount"] == old["thesisCount"] + 1
    assert len(new["relations"]) == len(old["relations"]) + 1


async def test_me_and_errors_are_never_cached(api: Api) -> None:
    me = "{ me { email } concepts(first: 1) { totalCount } }"
    assert (await api.data(me))["me"]["email"] == "editor@philos.test"
    assert (await api.anonymous.data(me))["me"] is None
    bad = "{ concepts(first: 1000) { totalCount } }"
    assert await api.errors(bad) == await api.errors(bad)
    with counting(api.stores) as statements:
        await api.post("{ concepts(first: 2) { totalCount } theses(first: 0) { totalCount } }")
        await api.post("{ concepts(first: 2) { totalCount } theses(first: 0) { totalCount } }")
    assert len(statements) == 2  # partial results with errors are recomputed each time
