"""``relations(filter, first, after)``: every relation once, by id, for any filter, paged."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from tests.api.client import Api
from tests.security.documents import drawn

ALL = """{ concepts(first: 100) { nodes { relations(direction: OUTGOING) {
    id type source { id } target { id } } } } }"""
PAGE = """query($f: RelationFilter, $n: Int!, $a: String) { relations(filter: $f, first: $n, after: $a) {
    totalCount pageInfo { hasNextPage hasPreviousPage endCursor }
    edges { cursor node { id type source { id } target { id } } } } }"""


async def every_relation(api: Api) -> list[dict[str, Any]]:
    data = await api.data(ALL)
    found = {r["id"]: r for n in data["concepts"]["nodes"] for r in n["relations"]}
    return sorted(found.values(), key=lambda r: r["id"])


def matches(relation: dict[str, Any], flt: dict[str, Any]) -> bool:
    return (
        flt.get("type") in (None, relation["type"])
        and flt.get("sourceId") in (None, relation["source"]["id"])
        and flt.get("targetId") in (None, relation["target"]["id"])
    )


async def test_relations_page_through_every_match_once(api: Api) -> None:
    relations = await every_relation(api)
    assert relations
    ids = sorted({r["source"]["id"] for r in relations} | {r["target"]["id"] for r in relations})
    types = sorted({r["type"] for r in relations})
    filters = st.fixed_dictionaries(
        {},
        optional={
            "type": st.sampled_from(types),
            "sourceId": st.sampled_from(ids),
            "targetId": st.sampled_from(ids),
        },
    )
    for flt, size in drawn(st.tuples(filters, st.integers(1, 4)), 25):
        expected = [r for r in relations if matches(r, flt)]
        seen: list[dict[str, Any]] = []
        after = None
        while True:
            page = (await api.data(PAGE, {"f": flt, "n": size, "a": after}))["relations"]
            assert page["totalCount"] == len(expected), flt
            assert page["pageInfo"]["hasPreviousPage"] == (after is not None and bool(seen))
            seen += [e["node"] for e in page["edges"]]
            if not page["pageInfo"]["hasNextPage"]:
                break
            after = page["pageInfo"]["endCursor"]
        assert seen == expected, flt


async def test_relation_list_refuses_other_cursors_and_ranges(api: Api) -> None:
    concepts = await api.data("{ concepts(first: 1) { pageInfo { endCursor } } }")
    errors = await api.errors(PAGE, {"n": 2, "a": concepts["concepts"]["pageInfo"]["endCursor"]})
    assert any("issued for orderBy NAME_ASC, not `relations`" in e for e in errors)
    errors = await api.errors(PAGE, {"n": 0})
    assert any("`first` must be between 1 and 100" in e for e in errors)
    nothing = await api.data(PAGE, {"f": {"sourceId": "not-an-id"}, "n": 5})
    assert nothing["relations"]["totalCount"] == 0 and nothing["relations"]["edges"] == []
