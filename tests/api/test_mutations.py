"""Every mutation, through HTTP: success, and each kind of bad input changing nothing."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.client import Api
from tests.stores import snapshot

MISSING = "0b6c9a1e-7d7e-4f1e-8a0e-5f0f3a9d2c11"
RESULT = (
    "__typename ... on Problem { message } ... on ValidationFailed { fields { field message } }"
)
GONE = "__typename ... on Problem { message } ... on DeleteSuccess { id }"


async def unchanged(api: Api, before: dict[str, list[Any]]) -> None:
    assert await snapshot(api.stores) == before


CREATE = f"""mutation($input: CreateConceptInput!) {{ createConcept(input: $input) {{ {RESULT}
    ... on ConceptSuccess {{ concept {{ id slug name tags aliases version eraFrom eraTo }} }} }} }}"""
UPDATE = f"""mutation($input: UpdateConceptInput!) {{ updateConcept(input: $input) {{ {RESULT}
    ... on Conflict {{ currentVersion }}
    ... on ConceptSuccess {{ concept {{ id slug name summary tradition tags version }} }} }} }}"""


async def test_create_concept(api: Api) -> None:
    data = await api.data(
        CREATE,
        {
            "input": {
                "slug": "dasein",
                "name": "  Dasein ",
                "summary": "Heidegger's term for the being for whom its own being is an issue.",
                "tradition": "Phenomenology",
                "eraFrom": 1927,
                "tags": ["existence", "Existence", "mind"],
                "aliases": ["Being-there"],
            }
        },
    )
    result = data["createConcept"]
    assert result["__typename"] == "ConceptSuccess"
    assert result["concept"]["name"] == "Dasein"
    assert result["concept"]["tags"] == ["existence", "mind"]
    assert result["concept"]["version"] == 1
    found = await api.data('{ concept(slug: "dasein") { id name } }')
    assert found["concept"]["id"] == result["concept"]["id"]


@pytest.mark.parametrize(
    ("changes", "fields"),
    [
        ({"slug": "Bad Slug"}, ["slug"]),
        ({"slug": "x"}, ["slug"]),
        ({"name": "   "}, ["name"]),
        ({"name": "n" * 121}, ["name"]),
        ({"summary": "s" * 501}, ["summary"]),
        ({"eraFrom": -5000}, ["eraFrom"]),
        ({"eraFrom": 1900, "eraTo": 1800}, ["eraTo"]),
        ({"tags": ["Not A Tag!"]}, ["tags[0]"]),
        ({"sepUrl": "javascript:alert(1)"}, ["sepUrl"]),
        ({"wikidataId": "12"}, ["wikidataId"]),
        ({"slug": "UPPER", "name": "", "summary": "x" * 600}, ["slug", "name", "summary"]),
    ],
)
async def test_create_concept_rejects_bad_input(
    api: Api, changes: dict[str, Any], fields: list[str]
) -> None:
    before = await snapshot(api.stores)
    good = {"slug": "new-concept", "name": "New", "summary": "A new concept."}
    data = await api.data(CREATE, {"input": {**good, **changes}})
    result = data["createConcept"]
    assert result["__typename"] == "ValidationFailed"
    assert [f["field"] for f in result["fields"]] == fields
    assert all(f["message"] for f in result["fields"])
    await unchanged(api, before)


async def test_create_concept_with_taken_slug_conflicts(api: Api) -> None:
    before = await snapshot(api.stores)
    data = await api.data(CREATE, {"input": {"slug": "forms", "name": "X", "summary": "Y"}})
    assert data["createConcept"]["__typename"] == "Conflict"
    assert "forms" in data["createConcept"]["message"]
    await unchanged(api, before)


async def test_create_concept_missing_required_field(api: Api) -> None:
    errors = await api.errors(CREATE, {"input": {"slug": "abc", "name": "X"}})
    assert "summary" in errors[0]


async def test_update_concept_bumps_version_and_keeps_absent_fields(api: Api) -> None:
    forms = await api.concept_id("forms")
    data = await api.data(
        UPDATE, {"input": {"id": forms, "version": 1, "name": "Forms", "tradition": None}}
    )
    result = data["updateConcept"]
    assert result["__typename"] == "ConceptSuccess"
    concept = result["concept"]
    assert concept["name"] == "Forms"
    assert concept["tradition"] is None  # null clears
    assert concept["slug"] == "forms"  # absent keeps
    assert concept["tags"] == ["metaphysics", "epistemology"]
    assert concept["version"] == 2


async def test_update_concept_with_stale_version_conflicts(api: Api) -> None:
    forms = await api.concept_id("forms")
    await api.data(UPDATE, {"input": {"id": forms, "version": 1, "name": "First"}})
    before = await snapshot(api.stores)
    data = await api.data(UPDATE, {"input": {"id": forms, "version": 1, "name": "Second"}})
    result = data["updateConcept"]
    assert result["__typename"] == "Conflict"
    assert result["currentVersion"] == 2
    assert "version 2" in result["message"]
    await unchanged(api, before)


async def test_update_concept_bad_input_and_missing(api: Api) -> None:
    forms = await api.concept_id("forms")
    before = await snapshot(api.stores)
    bad = await api.data(UPDATE, {"input": {"id": forms, "version": 1, "summary": "x" * 501}})
    assert bad["updateConcept"]["__typename"] == "ValidationFailed"
    taken = await api.data(UPDATE, {"input": {"id": forms, "version": 1, "slug": "eudaimonia"}})
    assert taken["updateConcept"]["__typename"] == "Conflict"
    missing = await api.data(UPDATE, {"input": {"id": MISSING, "version": 1, "name": "X"}})
    assert missing["updateConcept"]["__typename"] == "NotFound"
    assert MISSING in missing["updateConcept"]["message"]
    await unchanged(api, before)


DELETE = f"mutation($id: ID!) {{ deleteConcept(id: $id) {{ {GONE} }} }}"


async def test_delete_concept_removes_its_relations_and_theses(api: Api) -> None:
    forms = await api.concept_id("forms")
    data = await api.data(DELETE, {"id": forms})
    assert data["deleteConcept"] == {"__typename": "DeleteSuccess", "id": forms}
    after = await api.data(
        """{ concept(slug: "forms") { id } theses { totalCount }
           neo: concept(slug: "neoplatonism") { relations { type } } }"""
    )
    assert after["concept"] is None
    assert after["theses"]["totalCount"] == 1
    assert after["neo"]["relations"] == []
    again = await api.data(DELETE, {"id": forms})
    assert again["deleteConcept"]["__typename"] == "NotFound"


@pytest.mark.parametrize("ident", [MISSING, "not-an-id"])
async def test_delete_concept_wrong_id(api: Api, ident: str) -> None:
    before = await snapshot(api.stores)
    data = await api.data(DELETE, {"id": ident})
    assert data["deleteConcept"]["__typename"] == "NotFound"
    await unchanged(api, before)


RELATE = f"""mutation($input: RelateConceptsInput!) {{ relateConcepts(input: $input) {{ {RESULT}
    ... on RelationSuccess {{ relation {{ id type weight note provenance {{ kind }}
        source {{ slug }} target {{ slug }} }} }} }} }}"""
REMOVE = f"mutation($id: ID!) {{ removeRelation(id: $id) {{ {GONE} }} }}"


async def test_relate_and_remove(api: Api) -> None:
    wu, ata = await api.concept_id("wu-wei"), await api.concept_id("ataraxia")
    data = await api.data(
        RELATE,
        {
            "input": {
                "sourceId": wu,
                "targetId": ata,
                "type": "ANALOGOUS_TO",
                "weight": 0.3,
                "note": "Both name a calm that is not striven for.",
            }
        },
    )
    rel = data["relateConcepts"]["relation"]
    assert rel["source"]["slug"] == "wu-wei" and rel["target"]["slug"] == "ataraxia"
    assert rel["provenance"]["kind"] == "HUMAN"
    assert rel["weight"] == 0.3
    seen = await api.data('{ concept(slug: "wu-wei") { relations { id } } }')
    assert seen["concept"]["relations"] == [{"id": rel["id"]}]
    removed = await api.data(REMOVE, {"id": rel["id"]})
    assert removed["removeRelation"] == {"__typename": "DeleteSuccess", "id": rel["id"]}
    again = await api.data(REMOVE, {"id": rel["id"]})
    assert again["removeRelation"]["__typename"] == "NotFound"


async def test_relate_rejects_self_duplicate_missing_and_bad_weight(api: Api) -> None:
    forms, neo = await api.concept_id("forms"), await api.concept_id("neoplatonism")
    before = await snapshot(api.stores)
    self_rel = await api.data(
        RELATE, {"input": {"sourceId": forms, "targetId": forms, "type": "RELATED_TO"}}
    )
    assert self_rel["relateConcepts"]["__typename"] == "ValidationFailed"
    assert "itself" in self_rel["relateConcepts"]["message"]
    duplicate = await api.data(
        RELATE, {"input": {"sourceId": neo, "targetId": forms, "type": "DERIVES_FROM"}}
    )
    assert duplicate["relateConcepts"]["__typename"] == "Conflict"
    missing = await api.data(
        RELATE, {"input": {"sourceId": neo, "targetId": MISSING, "type": "RELATED_TO"}}
    )
    assert missing["relateConcepts"]["__typename"] == "NotFound"
    weight = await api.data(
        RELATE, {"input": {"sourceId": neo, "targetId": forms, "type": "REFINES", "weight": 2}}
    )
    assert weight["relateConcepts"]["fields"][0]["field"] == "weight"
    errors = await api.errors(
        RELATE, {"input": {"sourceId": neo, "targetId": forms, "type": "LOVES"}}
    )
    assert "LOVES" in errors[0]
    await unchanged(api, before)


THESIS = f"""{RESULT} ... on Conflict {{ currentVersion }}
    ... on ThesisSuccess {{ thesis {{ id statement stance status version tags
        arguments {{ id polarity text strength }} sources {{ author work year url }}
        relatedConceptIds concept {{ slug }} }} }}"""
CREATE_THESIS = (
    f"mutation($input: CreateThesisInput!) {{ createThesis(input: $input) {{ {THESIS} }} }}"
)
UPDATE_THESIS = (
    f"mutation($input: UpdateThesisInput!) {{ updateThesis(input: $input) {{ {THESIS} }} }}"
)
DELETE_THESIS = f"mutation($id: ID!) {{ deleteThesis(id: $id) {{ {GONE} }} }}"
ADD_ARG = f"mutation($input: AddArgumentInput!) {{ addArgument(input: $input) {{ {THESIS} }} }}"
REMOVE_ARG = f"""mutation($t: ID!, $a: ID!) {{ removeArgument(thesisId: $t, argumentId: $a) {{
    {THESIS} }} }}"""


async def _new_thesis(api: Api) -> dict[str, Any]:
    wu, ata = await api.concept_id("wu-wei"), await api.concept_id("ataraxia")
    data = await api.data(
        CREATE_THESIS,
        {
            "input": {
                "conceptId": wu,
                "statement": "The sage governs best by not interfering.",
                "stance": "AFFIRMS",
                "arguments": [
                    {"polarity": "PRO", "text": "Coercion provokes resistance.", "strength": 0.6}
                ],
                "sources": [{"author": "Laozi", "work": "Daodejing", "year": -400}],
                "relatedConceptIds": [ata],
                "tags": ["politics"],
                "status": "DRAFT",
            }
        },
    )
    result: dict[str, Any] = data["createThesis"]
    assert result["__typename"] == "ThesisSuccess", result
    return result["thesis"]  # type: ignore[no-any-return]


async def test_thesis_lifecycle(api: Api) -> None:
    thesis = await _new_thesis(api)
    assert thesis["concept"]["slug"] == "wu-wei"
    assert thesis["status"] == "DRAFT"
    assert thesis["sources"] == [
        {"author": "Laozi", "work": "Daodejing", "year": -400, "url": None}
    ]
    updated = await api.data(
        UPDATE_THESIS,
        {"input": {"id": thesis["id"], "version": 1, "status": "PUBLISHED", "stance": "QUALIFIES"}},
    )
    assert updated["updateThesis"]["thesis"]["status"] == "PUBLISHED"
    assert updated["updateThesis"]["thesis"]["stance"] == "QUALIFIES"
    assert updated["updateThesis"]["thesis"]["statement"] == thesis["statement"]
    assert updated["updateThesis"]["thesis"]["version"] == 2
    added = await api.data(
        ADD_ARG,
        {
            "input": {
                "thesisId": thesis["id"],
                "polarity": "CON",
                "text": "Some order needs active enforcement.",
                "strength": 0.5,
            }
        },
    )
    args = added["addArgument"]["thesis"]["arguments"]
    assert [a["polarity"] for a in args] == ["PRO", "CON"]
    removed = await api.data(REMOVE_ARG, {"t": thesis["id"], "a": args[0]["id"]})
    assert [a["polarity"] for a in removed["removeArgument"]["thesis"]["arguments"]] == ["CON"]
    count = await api.data('{ concept(slug: "wu-wei") { thesisCount } }')
    assert count["concept"]["thesisCount"] == 1
    deleted = await api.data(DELETE_THESIS, {"id": thesis["id"]})
    assert deleted["deleteThesis"] == {"__typename": "DeleteSuccess", "id": thesis["id"]}
    gone = await api.data("query($id: ID!){ thesis(id: $id) { id } }", {"id": thesis["id"]})
    assert gone["thesis"] is None


async def test_create_thesis_rejects_bad_input(api: Api) -> None:
    wu = await api.concept_id("wu-wei")
    before = await snapshot(api.stores)
    bad = await api.data(
        CREATE_THESIS,
        {
            "input": {
                "conceptId": wu,
                "statement": "short",
                "stance": "AFFIRMS",
                "arguments": [{"polarity": "PRO", "text": "x" * 1001, "strength": 1.5}],
                "sources": [{"author": "", "work": "W", "year": 3000, "url": "ftp://x"}],
            }
        },
    )
    fields = [f["field"] for f in bad["createThesis"]["fields"]]
    assert fields == [
        "statement",
        "arguments[0].text",
        "arguments[0].strength",
        "sources[0].author",
        "sources[0].year",
        "sources[0].url",
    ]
    missing = await api.data(
        CREATE_THESIS,
        {"input": {"conceptId": MISSING, "statement": "A long enough claim.", "stance": "DENIES"}},
    )
    assert missing["createThesis"]["__typename"] == "NotFound"
    errors = await api.errors(
        CREATE_THESIS,
        {"input": {"conceptId": wu, "statement": "A long enough claim.", "stance": "MAYBE"}},
    )
    assert "MAYBE" in errors[0]
    await unchanged(api, before)


async def test_thesis_update_conflicts_and_missing(api: Api) -> None:
    thesis = await _new_thesis(api)
    await api.data(UPDATE_THESIS, {"input": {"id": thesis["id"], "tags": ["ethics"]}})
    before = await snapshot(api.stores)
    stale = await api.data(
        UPDATE_THESIS, {"input": {"id": thesis["id"], "version": 1, "statement": "Changed claim."}}
    )
    assert stale["updateThesis"]["__typename"] == "Conflict"
    assert stale["updateThesis"]["currentVersion"] == 2
    cleared = await api.data(UPDATE_THESIS, {"input": {"id": thesis["id"], "stance": None}})
    assert cleared["updateThesis"]["fields"] == [
        {"field": "stance", "message": "cannot be cleared."}
    ]
    missing = await api.data(
        UPDATE_THESIS, {"input": {"id": MISSING, "statement": "Whatever it is."}}
    )
    assert missing["updateThesis"]["__typename"] == "NotFound"
    for ident in (MISSING, "nope"):
        gone = await api.data(DELETE_THESIS, {"id": ident})
        assert gone["deleteThesis"]["__typename"] == "NotFound"
    arg = await api.data(
        ADD_ARG, {"input": {"thesisId": MISSING, "polarity": "PRO", "text": "Ten chars or more."}}
    )
    assert arg["addArgument"]["__typename"] == "NotFound"
    short = await api.data(
        ADD_ARG, {"input": {"thesisId": thesis["id"], "polarity": "PRO", "text": "short"}}
    )
    assert short["addArgument"]["fields"][0]["field"] == "text"
    no_arg = await api.data(REMOVE_ARG, {"t": thesis["id"], "a": MISSING})
    assert no_arg["removeArgument"]["__typename"] == "NotFound"
    assert "argument" in no_arg["removeArgument"]["message"]
    await unchanged(api, before)
