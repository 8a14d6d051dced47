"""Data integrity under concurrency and across owners (issue 11, items 5-7).

- Writes racing a concept's delete never leave a relation or thesis pointing at a missing
  concept, in any store of any wiring (SQL foreign keys; for Neo4j and MongoDB the concept is
  held while the record is written, see ``philos/datasources/anchored.py``).
- Of concurrent deletes of one record exactly one succeeds; the others answer NotFound.
- Deleting a concept that would take another user's thesis or relation with it is Forbidden
  unless the caller is an ADMIN, and then changes nothing. The cases are generated (who owns the
  concept, who wrote each thesis and relation, the caller's role).
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import strategies as st
from sqlalchemy import select, text

from philos import domain
from philos.datasources.sql.tables import metadata
from philos.datasources.stores import Stores
from tests.api.accounts import make_user
from tests.api.client import Api
from tests.security.documents import drawn
from tests.services.plugin import ServiceControl
from tests.sql_access import sql_db
from tests.stores import sql_breaker_state, unwrap

# Every wiring: SQL alone, and production's separate Neo4j and MongoDB-wire stores.
EVERY_WIRING = pytest.mark.parametrize(
    "backend", ["sqlite", "postgres", "production"], indirect=True
)

TYPES = [t.value for t in domain.RelationType]
CORPUS = ["forms", "neoplatonism", "hylomorphism", "eudaimonia", "ataraxia", "wu-wei"]

CREATE_CONCEPT = """mutation($slug: String!) { createConcept(input: {slug: $slug, name: "Racer",
    summary: "A concept made to be deleted."}) { ... on ConceptSuccess { concept { id } } } }"""
CREATE_THESIS = """mutation($c: ID!, $s: String!) { createThesis(input: {conceptId: $c,
    statement: $s, stance: AFFIRMS}) { __typename ... on ThesisSuccess { thesis { id } } } }"""
RELATE = """mutation($a: ID!, $b: ID!, $t: RelationType!) { relateConcepts(input: {sourceId: $a,
    targetId: $b, type: $t}) { __typename ... on RelationSuccess { relation { id } } } }"""
DELETE_CONCEPT = """mutation($id: ID!) { deleteConcept(id: $id) { __typename
    ... on Forbidden { message } ... on NotFound { message } } }"""
DELETE_THESIS = "mutation($id: ID!) { deleteThesis(id: $id) { __typename } }"
REMOVE_RELATION = "mutation($id: ID!) { removeRelation(id: $id) { __typename } }"


# Every store, read directly -----------------------------------------------------------------


async def settled(stores: Stores) -> None:
    """Wait until the relay has carried every concept change to the other stores."""
    if stores.relay is None:
        return
    deadline = time.monotonic() + 30
    while await stores.relay.pending():
        assert time.monotonic() < deadline, "the outbox did not drain"
        await stores.relay.drain()
        await asyncio.sleep(0.05)


async def contents(stores: Stores) -> dict[str, Any]:
    """Everything every store of the wiring holds (sorted), to compare before and after."""
    out: dict[str, Any] = {}
    async with sql_db(stores).connect() as conn:
        for table in metadata.sorted_tables:
            if table.name in ("outbox", "refresh_tokens"):
                continue
            rows = (await conn.execute(select(table))).all()
            out[f"sql.{table.name}"] = sorted(repr(tuple(r)) for r in rows)
    graph = unwrap(stores.graph)
    if getattr(graph, "name", "") == "neo4j":
        records, _, _ = await graph.driver.execute_query(  # type: ignore[attr-defined]
            "MATCH (a:Concept)-[r]->(b:Concept) RETURN a.id AS a, b.id AS b, r.id AS id, "
            "r.author_id AS author",
            database_=graph.database,  # type: ignore[attr-defined]
        )
        out["neo4j.relations"] = sorted(
            (r["id"], r["a"], r["b"], r["author"] or "") for r in records
        )
        nodes, _, _ = await graph.driver.execute_query(  # type: ignore[attr-defined]
            "MATCH (c:Concept) RETURN c.id AS id",
            database_=graph.database,  # type: ignore[attr-defined]
        )
        out["neo4j.concepts"] = sorted(r["id"] for r in nodes)
    theses = unwrap(stores.theses)
    if getattr(theses, "name", "") == "mongo":
        documents = await theses._docs()  # type: ignore[attr-defined]
        cursor = documents.get_pymongo_collection().find({})
        docs = await cursor.to_list(None)
        out["mongo.theses"] = sorted(
            (d["_id"], d["concept_id"], d.get("author_id") or "") for d in docs
        )
    return out


async def orphans(stores: Stores) -> list[str]:
    """Every record, in any store, that names a concept the concept database does not hold."""
    async with sql_db(stores).connect() as conn:
        found = [
            f"sql {row[0]} {row[1]}"
            for sql in (
                "SELECT 'relation', id FROM relations WHERE source_id NOT IN "
                "(SELECT id FROM concepts) OR target_id NOT IN (SELECT id FROM concepts)",
                "SELECT 'thesis', id FROM theses WHERE concept_id NOT IN (SELECT id FROM concepts)",
                "SELECT 'suggestion', id FROM relation_suggestions WHERE concept_id NOT IN "
                "(SELECT id FROM concepts) OR source_id NOT IN (SELECT id FROM concepts) "
                "OR target_id NOT IN (SELECT id FROM concepts)",
            )
            for row in await conn.execute(text(sql))
        ]
        concepts = set((await conn.execute(text("SELECT id FROM concepts"))).scalars())
    held = await contents(stores)
    found += [
        f"neo4j relation {i}"
        for i, a, b, _ in held.get("neo4j.relations", [])
        if not {a, b} <= concepts
    ]
    found += [f"neo4j concept {c}" for c in held.get("neo4j.concepts", []) if c not in concepts]
    found += [f"mongo thesis {i}" for i, c, _ in held.get("mongo.theses", []) if c not in concepts]
    return found


def typename(body: dict[str, Any], field: str) -> str:
    assert "errors" not in body, body["errors"]
    name: str = body["data"][field]["__typename"]
    return name


# Item 5: writes racing a delete ---------------------------------------------------------------

ROUNDS = 6
WRITES = 8  # theses, and as many relations, per round
DELAYS = [0.0, 0.01, 0.03, 0.06, 0.1, 0.2]  # seconds before the delete is sent
OFFSETS = [-0.1, -0.02, 0.0, 0.02, 0.1, 0.2]


async def later(delay: float, call: Awaitable[dict[str, Any]]) -> dict[str, Any]:
    await asyncio.sleep(delay)
    return await call


@EVERY_WIRING
async def test_writes_racing_a_delete_leave_no_orphans(api: Api) -> None:
    others = [await api.concept_id(slug) for slug in CORPUS[1:]]
    pairs = itertools.cycle(itertools.product(others, TYPES, (False, True)))
    outcomes: dict[str, int] = {}
    for n in range(ROUNDS):
        made = await api.data(CREATE_CONCEPT, {"slug": f"racer-{n}"})
        racer = made["createConcept"]["concept"]["id"]
        writes = [
            api.post(CREATE_THESIS, {"c": racer, "s": f"Claim {n}.{i} about the racer."})
            for i in range(WRITES)
        ]
        for _ in range(WRITES):
            other, kind, incoming = next(pairs)
            a, b = (other, racer) if incoming else (racer, other)
            writes.append(api.post(RELATE, {"a": a, "b": b, "t": kind}))
        # The delete starts at a different point among the writes each round, and a little
        # later each round, so that some writes come before it and some after.
        at = (n * 5) % (len(writes) + 1)
        delete = later(DELAYS[n % len(DELAYS)], api.post(DELETE_CONCEPT, {"id": racer}))
        calls = [*writes[:at], delete, *writes[at:]]
        answers = await asyncio.gather(*calls)
        deleted = answers.pop(at)
        assert typename(deleted, "deleteConcept") == "DeleteSuccess", deleted
        for body in answers:
            field = "createThesis" if "createThesis" in body["data"] else "relateConcepts"
            name = typename(body, field)
            assert name in ("ThesisSuccess", "RelationSuccess", "NotFound"), body
            outcomes[name] = outcomes.get(name, 0) + 1
        # However the race fell out this round, a write after the delete is refused too.
        late = await api.post(RELATE, {"a": racer, "b": others[0], "t": TYPES[0]})
        assert typename(late, "relateConcepts") == "NotFound", late
        await settled(api.stores)
        assert await orphans(api.stores) == [], f"round {n}"
    # Some writes won the race: the orphan checks above saw records the delete had to remove.
    assert outcomes.get("ThesisSuccess", 0) + outcomes.get("RelationSuccess", 0) > 0, outcomes


# Bursts of concurrent writes ------------------------------------------------------------------

SQL_WIRINGS = pytest.mark.parametrize("backend", ["sqlite", "postgres"], indirect=True)
THESIS_OF = """mutation($c: ID!, $s: String!) { createThesis(input: {conceptId: $c, statement: $s,
    stance: AFFIRMS}) { __typename } }"""
CONCEPT_NAMED = """mutation($slug: String!) { createConcept(input: {slug: $slug, name: "Burst",
    summary: "One of a burst."}) { __typename } }"""
BUSY = "The sql store is unavailable right now (busy with other writes); try again shortly."


@SQL_WIRINGS
async def test_a_burst_of_writes_is_applied_or_refused_whole(api: Api) -> None:
    """However many writes arrive at once, each one is either applied or refused as busy
    (SQLite's writers queue for their turn; one whose time runs out in the queue was never
    begun), the store's breaker stays closed, and every write answered a success is there.
    The bursts are drawn: how many writes, and which (new concepts, theses, relations)."""
    ids = [await api.concept_id(slug) for slug in CORPUS]
    # 150 relations no two of which conflict (each pair one way only), more than bursts ask for
    pairs = iter((a, b, kind) for a, b in itertools.combinations(ids, 2) for kind in TYPES)
    made = itertools.count()
    applied = {"ConceptSuccess": 0, "ThesisSuccess": 0, "RelationSuccess": 0}

    def write(kind: int) -> Awaitable[dict[str, Any]]:
        n = next(made)
        if kind == 0:
            return api.post(CONCEPT_NAMED, {"slug": f"burst-{n}"})
        if kind == 1:
            return api.post(THESIS_OF, {"c": ids[n % len(ids)], "s": f"Claim {n} of a burst."})
        a, b, t = next(pairs)
        return api.post(RELATE, {"a": a, "b": b, "t": t})

    before = await counts(api.stores)
    for burst in drawn(st.lists(st.integers(0, 2), min_size=90, max_size=140), 3):
        for body in await asyncio.gather(*(write(kind) for kind in burst)):
            if "errors" in body:
                assert [e["message"] for e in body["errors"]] == [BUSY], body
                continue
            name = next(iter(body["data"].values()))["__typename"]
            assert name in applied, body
            applied[name] += 1
        assert await sql_breaker_state(api.stores) == "closed", burst
    after = await counts(api.stores)
    assert after["concepts"] - before["concepts"] == applied["ConceptSuccess"]
    assert after["theses"] - before["theses"] == applied["ThesisSuccess"]
    assert after["relations"] - before["relations"] == applied["RelationSuccess"]
    assert sum(applied.values()) > 0, applied


async def counts(stores: Stores) -> dict[str, int]:
    async with sql_db(stores).connect() as conn:
        return {
            table: int((await conn.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one())
            for table in ("concepts", "theses", "relations")
        }


# Item 6: concurrent deletes of one record -----------------------------------------------------

DELETERS = 6


@EVERY_WIRING
async def test_concurrent_deletes_of_one_record_succeed_once(api: Api) -> None:
    made = await api.data(CREATE_CONCEPT, {"slug": "doomed"})
    doomed = made["createConcept"]["concept"]["id"]
    forms = await api.concept_id("forms")
    thesis = await api.data(CREATE_THESIS, {"c": forms, "s": "A claim to delete at once."})
    relation = await api.data(RELATE, {"a": forms, "b": doomed, "t": "OPPOSES"})
    cases = [
        (DELETE_THESIS, "deleteThesis", thesis["createThesis"]["thesis"]["id"]),
        (REMOVE_RELATION, "removeRelation", relation["relateConcepts"]["relation"]["id"]),
        (DELETE_CONCEPT, "deleteConcept", doomed),
    ]
    for query, field, ident in cases:
        answers = await asyncio.gather(*(api.post(query, {"id": ident}) for _ in range(DELETERS)))
        names = sorted(typename(body, field) for body in answers)
        assert names == ["DeleteSuccess"] + ["NotFound"] * (DELETERS - 1), (field, names)
    await settled(api.stores)
    assert await orphans(api.stores) == []


# Item 7: ownership through the cascade --------------------------------------------------------

OWNERS = st.sampled_from(["caller", "other", "corpus"])


@dataclass(frozen=True)
class Case:
    role: domain.Role
    concept_owner: str
    thesis_owners: tuple[str, ...]
    relation_owners: tuple[str, ...]

    def expected(self) -> str:
        if self.role == domain.Role.READER:
            return "Forbidden"
        if self.role == domain.Role.ADMIN:
            return "DeleteSuccess"
        owners = (self.concept_owner, *self.thesis_owners, *self.relation_owners)
        return "Forbidden" if "other" in owners else "DeleteSuccess"


def _cases(count: int) -> list[Case]:
    cases = st.builds(
        Case,
        st.sampled_from([domain.Role.EDITOR, domain.Role.EDITOR, domain.Role.ADMIN]),
        OWNERS,
        st.lists(OWNERS, max_size=3).map(tuple),
        st.lists(OWNERS, max_size=2).map(tuple),
    )
    found: list[Case] = drawn(cases, count)
    # The reader, once: refused before anything is looked at.
    return [*dict.fromkeys(found), Case(domain.Role.READER, "corpus", ("other",), ())]


@EVERY_WIRING
async def test_deleting_a_concept_with_other_users_records_needs_an_admin(api: Api) -> None:
    stores = api.stores
    callers = {
        role: await make_user(stores, f"caller-{role.value.lower()}", role) for role in domain.Role
    }
    other = await make_user(stores, "someone-else", domain.Role.EDITOR)
    targets = [await api.concept_id(slug) for slug in CORPUS]
    forbidden = allowed = 0
    for n, case in enumerate(_cases(40)):
        caller = callers[case.role]
        author = {"caller": caller.id, "other": other.id, "corpus": None}
        concept = domain.Concept(
            id=domain.new_id(),
            slug=f"owned-{n}",
            name=f"Owned {n}",
            summary="A concept with records by several people.",
            author_id=author[case.concept_owner],
        )
        await stores.concepts.create(concept)
        await stores.relay_now()
        for i, owner in enumerate(case.thesis_owners):
            await stores.theses.create(
                domain.Thesis(
                    id=domain.new_id(),
                    concept_id=concept.id,
                    statement=f"Claim {i} of case {n}.",
                    stance=domain.Stance.QUALIFIES,
                    author_id=author[owner],
                )
            )
        for i, owner in enumerate(case.relation_owners):
            await stores.graph.relate(
                domain.Relation(
                    id=domain.new_id(),
                    source_id=concept.id if i % 2 else targets[i],
                    target_id=targets[i] if i % 2 else concept.id,
                    type=domain.RelationType.ANALOGOUS_TO,
                    author_id=author[owner],
                )
            )
        await settled(stores)
        before = await contents(stores)
        body = await api.as_user(caller).post(DELETE_CONCEPT, {"id": concept.id})
        got = typename(body, "deleteConcept")
        assert got == case.expected(), (case, body)
        await settled(stores)
        after = await contents(stores)
        if got == "Forbidden":
            forbidden += 1
            assert after == before, case  # nothing changed
            message = body["data"]["deleteConcept"]["message"]
            if case.role == domain.Role.EDITOR and case.concept_owner != "other":
                theses = case.thesis_owners.count("other")
                relations = case.relation_owners.count("other")
                for count, word in ((theses, "thes"), (relations, "relation")):
                    if count:
                        assert f"{count} {word}" in message, (case, message)
                assert "by other users" in message and "ADMIN" in message, message
        else:
            allowed += 1
            gone = (await stores.concepts.get_many([concept.id])).get(concept.id)
            assert gone is None
            assert await orphans(stores) == [], case
            # What went is exactly the concept and its records; the rest is as it was.
            assert len(after["sql.concepts"]) == len(before["sql.concepts"]) - 1
    assert forbidden >= 5 and allowed >= 5, (forbidden, allowed)


@EVERY_WIRING
async def test_another_users_write_racing_the_check_is_never_deleted_with_it(api: Api) -> None:
    """An EDITOR deletes their concept while another EDITOR writes a thesis and a relation of
    it. Either the other's write came first (the delete is Forbidden and it stays) or second
    (it answers NotFound): never both acknowledged and deleted."""
    other = api.as_user(await make_user(api.stores, "rival", domain.Role.EDITOR))
    forms = await api.concept_id("forms")
    seen: set[str] = set()
    for n in range(ROUNDS):
        made = await api.data(CREATE_CONCEPT, {"slug": f"contested-{n}"})
        contested = made["createConcept"]["concept"]["id"]
        # Positive: the delete starts that much later; negative: the writes do.
        offset = OFFSETS[n % len(OFFSETS)]
        first, second = max(0.0, -offset), max(0.0, offset)
        thesis, relation, deleted = await asyncio.gather(
            later(first, other.post(CREATE_THESIS, {"c": contested, "s": f"Rival claim {n}."})),
            later(first, other.post(RELATE, {"a": forms, "b": contested, "t": "OPPOSES"})),
            later(second, api.post(DELETE_CONCEPT, {"id": contested})),
        )
        outcome = typename(deleted, "deleteConcept")
        writes = [typename(thesis, "createThesis"), typename(relation, "relateConcepts")]
        seen.add(outcome)
        await settled(api.stores)
        if outcome == "DeleteSuccess":
            assert writes == ["NotFound", "NotFound"], (n, writes)
        else:
            assert outcome == "Forbidden", deleted
            assert "by other users" in deleted["data"]["deleteConcept"]["message"]
            assert "ThesisSuccess" in writes or "RelationSuccess" in writes, (n, writes)
            assert (await api.stores.concepts.get_many([contested])).get(contested)
            if writes[0] == "ThesisSuccess":
                ident = thesis["data"]["createThesis"]["thesis"]["id"]
                assert await api.stores.theses.get_many([ident])
            if writes[1] == "RelationSuccess":
                ident = relation["data"]["relateConcepts"]["relation"]["id"]
                assert await api.stores.graph.get_relations([ident])
        assert await orphans(api.stores) == [], n
    assert seen == {"DeleteSuccess", "Forbidden"}, seen


# Last: a Neo4j restart slows the next test's seeding (the driver reconnects).
@pytest.mark.parametrize("backend", ["production"], indirect=True)
async def test_an_editor_cannot_delete_while_the_graph_cannot_be_checked(
    api: Api, service_control: ServiceControl
) -> None:
    """What the delete would remove from Neo4j cannot be read during its outage: an EDITOR's
    delete is refused as unavailable and changes nothing (an ADMIN's goes through, relayed
    later: tests/api/test_outages.py)."""
    forms = await api.concept_id("forms")
    await settled(api.stores)
    with service_control.outage("neo4j"):
        body = await api.post(DELETE_CONCEPT, {"id": forms})
        assert body["data"] is None or body["data"]["deleteConcept"] is None, body
        assert [e["extensions"]["code"] for e in body["errors"]] == ["STORE_UNAVAILABLE"]
        assert await api.stores.relay.pending() == 0  # type: ignore[union-attr]
    assert await api.concept_id("forms") == forms
