"""Every query, through HTTP, on every SQL backend."""

from __future__ import annotations

import pytest

from tests.api.client import Api

CONCEPT_FIELDS = "id slug name summary tradition eraFrom eraTo tags aliases version createdAt"


async def test_concept_by_id_and_by_slug(api: Api) -> None:
    forms = await api.concept_id("forms")
    data = await api.data(
        f"query($id:ID!){{byId: concept(id:$id){{ {CONCEPT_FIELDS} }} "
        f'bySlug: concept(slug:"forms"){{ id }} }}',
        {"id": forms},
    )
    assert data["byId"]["slug"] == "forms"
    assert data["byId"]["name"] == "Theory of Forms"
    assert data["byId"]["tags"] == ["metaphysics", "epistemology"]
    assert data["byId"]["aliases"] == ["Platonic Ideas"]
    assert data["byId"]["eraFrom"] == -387
    assert data["byId"]["version"] == 1
    assert data["bySlug"]["id"] == forms


@pytest.mark.parametrize(
    "args", ['id:"8b1e3b55-63b5-4d43-a1d7-8a2b7a3f0c11"', 'slug:"no-such"', 'id:"not-a-uuid"']
)
async def test_missing_concept_is_null(api: Api, args: str) -> None:
    data = await api.data(f"{{ concept({args}) {{ id }} }}")
    assert data["concept"] is None


@pytest.mark.parametrize(
    "args", ["", 'id:"x", slug:"forms"', 'slug:"forms", name:"Forms"', 'id:"x", name:"Forms"']
)
async def test_concept_needs_exactly_one_key(api: Api, args: str) -> None:
    call = f"({args})" if args else ""
    errors = await api.errors(f"{{ concept{call} {{ id }} }}")
    assert errors == ["Pass exactly one of `id`, `slug` or `name`."]


async def test_concepts_connection_pages_with_cursors(api: Api) -> None:
    query = """query($after:String){ concepts(first: 4, after: $after) {
        totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
        edges { cursor node { slug } } nodes { slug } } }"""
    first = (await api.data(query))["concepts"]
    assert first["totalCount"] == 6
    assert [e["node"]["slug"] for e in first["edges"]] == [
        "ataraxia",
        "eudaimonia",
        "hylomorphism",
        "neoplatonism",
    ]
    assert [n["slug"] for n in first["nodes"]] == [e["node"]["slug"] for e in first["edges"]]
    assert first["pageInfo"]["hasNextPage"] is True
    assert first["pageInfo"]["hasPreviousPage"] is False
    second = (await api.data(query, {"after": first["pageInfo"]["endCursor"]}))["concepts"]
    assert [e["node"]["slug"] for e in second["edges"]] == ["forms", "wu-wei"]
    assert second["pageInfo"]["hasNextPage"] is False
    assert second["pageInfo"]["hasPreviousPage"] is True
    past = (await api.data(query, {"after": second["pageInfo"]["endCursor"]}))["concepts"]
    assert past["edges"] == [] and past["totalCount"] == 6


@pytest.mark.parametrize(
    ("flt", "expected"),
    [
        ('{search: "FLOURISH"}', ["eudaimonia"]),
        ('{search: "non-action"}', ["wu-wei"]),
        ('{search: "100%"}', []),
        ('{tradition: "aristotelianism"}', ["eudaimonia", "hylomorphism"]),
        ('{tags: ["ethics"]}', ["ataraxia", "eudaimonia", "wu-wei"]),
        ('{tags: ["ethics", "politics"]}', ["wu-wei"]),
        ("{eraFrom: 0}", ["neoplatonism"]),
        ("{eraTo: -380}", ["forms", "wu-wei"]),
        ('{eraFrom: -345, eraTo: -300, tags: ["ethics"]}', ["ataraxia", "eudaimonia"]),
    ],
)
async def test_concepts_filter(api: Api, flt: str, expected: list[str]) -> None:
    data = await api.data(f"{{ concepts(filter: {flt}) {{ totalCount nodes {{ slug }} }} }}")
    assert [n["slug"] for n in data["concepts"]["nodes"]] == expected
    assert data["concepts"]["totalCount"] == len(expected)


@pytest.mark.parametrize(
    ("order", "expected"),
    [
        ("NAME_DESC", ["wu-wei", "forms", "neoplatonism"]),
        ("ERA_ASC", ["wu-wei", "forms", "hylomorphism"]),
        ("ERA_DESC", ["neoplatonism", "ataraxia", "eudaimonia"]),
    ],
)
async def test_concepts_order(api: Api, order: str, expected: list[str]) -> None:
    data = await api.data(f"{{ concepts(orderBy: {order}, first: 3) {{ nodes {{ slug }} }} }}")
    assert [n["slug"] for n in data["concepts"]["nodes"]] == expected


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ("first: 10000", "`first` must be between 1 and 100 (got 10000)."),
        ("first: 0", "`first` must be between 1 and 100 (got 0)."),
        ('after: "garbage"', "`after` is not a cursor this API issued"),
        ("filter: {eraFrom: 100, eraTo: 0}", "`filter.eraTo` must not be before"),
    ],
)
async def test_concepts_bad_arguments(api: Api, args: str, message: str) -> None:
    body = await api.post(f"{{ concepts({args}) {{ totalCount }} }}")
    assert body["data"] is None
    assert body["errors"][0]["message"].startswith(message)
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_bad_enum_is_rejected_before_execution(api: Api) -> None:
    errors = await api.errors("{ concepts(orderBy: SIDEWAYS) { totalCount } }")
    assert "SIDEWAYS" in errors[0] and "ConceptOrder" in errors[0]


async def test_concept_nested_fields(api: Api) -> None:
    data = await api.data(
        """{ concept(slug: "forms") {
            thesisCount
            theses { statement stance arguments { polarity text strength } sources { author work year } concept { slug } }
            denials: theses(stance: DENIES) { statement }
            incoming: relations(direction: INCOMING) { type weight source { slug } target { slug } }
            outgoing: relations(direction: OUTGOING) { type }
            opposes: relations(types: [OPPOSES]) { source { slug } }
            neighbours(depth: 2) { distance concept { slug } }
        } }"""
    )
    forms = data["concept"]
    assert forms["thesisCount"] == 2
    assert {t["stance"] for t in forms["theses"]} == {"AFFIRMS", "DENIES"}
    affirm = next(t for t in forms["theses"] if t["stance"] == "AFFIRMS")
    assert [a["polarity"] for a in affirm["arguments"]] == ["PRO", "CON"]
    assert affirm["sources"] == [{"author": "Plato", "work": "Republic", "year": -375}]
    assert affirm["concept"]["slug"] == "forms"
    assert [t["statement"] for t in forms["denials"]] == [
        "Separate Forms explain nothing that immanent forms do not explain better."
    ]
    assert [(r["type"], r["source"]["slug"]) for r in forms["incoming"]] == [
        ("DERIVES_FROM", "neoplatonism"),
        ("OPPOSES", "hylomorphism"),
    ]
    assert forms["outgoing"] == []
    assert forms["opposes"] == [{"source": {"slug": "hylomorphism"}}]
    assert [(n["distance"], n["concept"]["slug"]) for n in forms["neighbours"]] == [
        (1, "hylomorphism"),
        (1, "neoplatonism"),
        (2, "eudaimonia"),
    ]


async def test_neighbours_follow_direction_and_types(api: Api) -> None:
    data = await api.data(
        """{ concept(slug: "ataraxia") {
            out: neighbours(depth: 3, direction: OUTGOING) { distance concept { slug } }
            typed: neighbours(depth: 3, types: [REFINES]) { concept { slug } }
        } }"""
    )
    # ataraxia REFINES eudaimonia RELATED_TO hylomorphism OPPOSES forms; eudaimonia also
    # points back at ataraxia (a cycle), which must not loop or list the root.
    assert [(n["distance"], n["concept"]["slug"]) for n in data["concept"]["out"]] == [
        (1, "eudaimonia"),
        (2, "hylomorphism"),
        (3, "forms"),
    ]
    assert data["concept"]["typed"] == [{"concept": {"slug": "eudaimonia"}}]


async def test_neighbours_depth_is_bounded(api: Api) -> None:
    errors = await api.errors('{ concept(slug: "forms") { neighbours(depth: 4) { distance } } }')
    assert errors == ["`depth` must be between 1 and 3 (got 4)."]


async def test_thesis_and_theses(api: Api) -> None:
    forms = await api.concept_id("forms")
    listing = await api.data(
        """query($c: ID!){ all: theses { totalCount nodes { id statement } }
           ofForms: theses(filter: {conceptId: $c}) { totalCount }
           denies: theses(filter: {stance: DENIES}) { nodes { statement } }
           found: theses(filter: {search: "FLOURISHING"}) { nodes { concept { slug } } }
           paged: theses(first: 1) { pageInfo { hasNextPage } } }""",
        {"c": forms},
    )
    assert listing["all"]["totalCount"] == 3
    assert listing["ofForms"]["totalCount"] == 2
    assert len(listing["denies"]["nodes"]) == 1
    assert listing["found"]["nodes"] == [{"concept": {"slug": "eudaimonia"}}]
    assert listing["paged"]["pageInfo"]["hasNextPage"] is True
    one = listing["all"]["nodes"][0]
    data = await api.data("query($id:ID!){ thesis(id:$id) { id statement } }", {"id": one["id"]})
    assert data["thesis"] == one
    missing = await api.data('{ thesis(id: "nope") { id } }')
    assert missing["thesis"] is None


async def test_path_between_concepts(api: Api) -> None:
    start, end = await api.concept_id("neoplatonism"), await api.concept_id("ataraxia")
    query = """query($a: ID!, $b: ID!, $d: Int!){ path(fromId: $a, toId: $b, maxDepth: $d) {
        length concepts { slug } relations { type source { slug } target { slug } } } }"""
    data = await api.data(query, {"a": start, "b": end, "d": 6})
    path = data["path"]
    assert path["length"] == 4
    assert [c["slug"] for c in path["concepts"]] == [
        "neoplatonism",
        "forms",
        "hylomorphism",
        "eudaimonia",
        "ataraxia",
    ]
    assert [r["type"] for r in path["relations"]] == [
        "DERIVES_FROM",
        "OPPOSES",
        "RELATED_TO",
        "REFINES",
    ]
    too_short = await api.data(query, {"a": start, "b": end, "d": 3})
    assert too_short["path"] is None
    island = await api.concept_id("wu-wei")
    assert (await api.data(query, {"a": start, "b": island, "d": 6}))["path"] is None
    same = await api.data(query, {"a": start, "b": start, "d": 1})
    assert same["path"]["length"] == 0
    gone = "00000000-0000-4000-8000-000000000000"
    for variables, argument, ident in (
        ({"a": gone, "b": end, "d": 6}, "`fromId`", gone),
        ({"a": start, "b": gone, "d": 6}, "`toId`", gone),
        ({"a": start, "b": "not-an-id", "d": 6}, "`toId`", "not-an-id"),
    ):
        body = await api.post(query, variables)
        (error,) = body["errors"]
        assert argument in error["message"] and repr(ident) in error["message"], error
        assert error["extensions"]["code"] == "BAD_USER_INPUT"
        assert body["data"] == {"path": None}
    errors = await api.errors(query, {"a": start, "b": end, "d": 7})
    assert errors == ["`maxDepth` must be between 1 and 6 (got 7)."]


async def test_graph_for_drawing(api: Api) -> None:
    root = await api.concept_id("forms")
    query = """query($r: ID!, $d: Int!, $t: [RelationType!]){ graph(rootId: $r, depth: $d, types: $t) {
        truncated nodes { slug } edges { type source { slug } target { slug } } } }"""
    one = (await api.data(query, {"r": root, "d": 1}))["graph"]
    assert [n["slug"] for n in one["nodes"]] == ["forms", "hylomorphism", "neoplatonism"]
    assert {e["type"] for e in one["edges"]} == {"DERIVES_FROM", "OPPOSES"}
    assert one["truncated"] is False
    three = (await api.data(query, {"r": root, "d": 3}))["graph"]
    assert len(three["nodes"]) == 5
    assert len(three["edges"]) == 5
    typed = (await api.data(query, {"r": root, "d": 3, "t": ["OPPOSES"]}))["graph"]
    assert [n["slug"] for n in typed["nodes"]] == ["forms", "hylomorphism"]
    missing = await api.data(query, {"r": "9f0c7f9e-1111-4c2b-9a57-2d4c0b6e8f31", "d": 1})
    assert missing["graph"] is None
    errors = await api.errors(query, {"r": root, "d": 4})
    assert errors == ["`depth` must be between 1 and 3 (got 4)."]
