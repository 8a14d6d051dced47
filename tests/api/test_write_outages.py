"""A write caught in flight when PostgreSQL goes away is answered as an outage, and loses nothing.

Every content mutation of the schema is run with PostgreSQL's connections terminated (as a
shutdown terminates them) right before the n-th SQL statement or commit the mutation sends,
for generated n: a hold on the concepts a Neo4j or MongoDB write names, the write itself, its
domain event, the commit. Each answer is either the mutation's success, which is then readable,
or ``STORE_UNAVAILABLE``, never an unexpected error. An outage answered means nothing was done:
once PostgreSQL answers again, the same mutation succeeds. (A write that a store outside SQL
took stays done when PostgreSQL fails after it: only its domain event is lost.)
"""

from __future__ import annotations

import contextvars
import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import asyncpg
import pytest
from hypothesis import strategies as st
from sqlalchemy import event
from sqlalchemy.util import await_

from philos.schema.root import ContentMutation
from tests.api.client import Api
from tests.security.documents import drawn
from tests.sql_access import sql_db
from tests.stores import clear_cache, close_breakers

PROBLEM = "__typename ... on Problem { message }"
CONCEPT = f"""mutation($input: CreateConceptInput!) {{ createConcept(input: $input) {{ {PROBLEM}
    ... on ConceptSuccess {{ concept {{ id version }} }} }} }}"""
THESIS = f"{PROBLEM} ... on ThesisSuccess {{ thesis {{ id version arguments {{ id }} }} }}"
DOCUMENTS = {
    "createConcept": CONCEPT,
    "updateConcept": f"""mutation($input: UpdateConceptInput!) {{ updateConcept(input: $input)
        {{ {PROBLEM} ... on ConceptSuccess {{ concept {{ id }} }} }} }}""",
    "deleteConcept": f"mutation($id: ID!) {{ deleteConcept(id: $id) {{ {PROBLEM} }} }}",
    "relateConcepts": f"""mutation($input: RelateConceptsInput!) {{ relateConcepts(input: $input)
        {{ {PROBLEM} ... on RelationSuccess {{ relation {{ id }} }} }} }}""",
    "removeRelation": f"mutation($id: ID!) {{ removeRelation(id: $id) {{ {PROBLEM} }} }}",
    "createThesis": f"""mutation($input: CreateThesisInput!) {{ createThesis(input: $input)
        {{ {THESIS} }} }}""",
    "updateThesis": f"""mutation($input: UpdateThesisInput!) {{ updateThesis(input: $input)
        {{ {THESIS} }} }}""",
    "deleteThesis": f"mutation($id: ID!) {{ deleteThesis(id: $id) {{ {PROBLEM} }} }}",
    "addArgument": f"""mutation($input: AddArgumentInput!) {{ addArgument(input: $input)
        {{ {THESIS} }} }}""",
    "removeArgument": f"""mutation($t: ID!, $a: ID!) {{ removeArgument(thesisId: $t,
        argumentId: $a) {{ {THESIS} }} }}""",
}
READ = """query($a: ID!, $b: ID!, $t: ID!) {
    a: concept(id: $a) { name relations { id } theses { id statement arguments { id } } }
    b: concept(id: $b) { id } thesis(id: $t) { id } }"""
_names = itertools.count()


@dataclass
class World:
    """Two fresh concepts, a relation between them, a thesis on the first with one argument."""

    a: str
    b: str
    relation: str
    thesis: str
    argument: str


async def made(api: Api) -> World:
    n = next(_names)
    ids = []
    for side in "ab":
        data = await api.data(
            CONCEPT,
            {"input": {"slug": f"held-{n}-{side}", "name": f"Held {n} {side}", "summary": "S."}},
        )
        ids.append(data["createConcept"]["concept"]["id"])
    a, b = ids
    relation = await api.data(
        DOCUMENTS["relateConcepts"],
        {"input": {"sourceId": a, "targetId": b, "type": "INFLUENCED_BY"}},
    )
    thesis = await api.data(
        DOCUMENTS["createThesis"],
        {
            "input": {
                "conceptId": a,
                "statement": f"Thesis number {n} stands.",
                "stance": "AFFIRMS",
                "arguments": [{"polarity": "PRO", "text": "Because it does."}],
            }
        },
    )
    stored = thesis["createThesis"]["thesis"]
    return World(
        a,
        b,
        relation["relateConcepts"]["relation"]["id"],
        stored["id"],
        stored["arguments"][0]["id"],
    )


def variables(name: str, world: World, n: int) -> dict[str, Any]:
    """The variables of mutation ``name`` on ``world``; ``n`` keeps new slugs and texts new."""
    table: dict[str, dict[str, Any]] = {
        "createConcept": {"input": {"slug": f"new-{n}", "name": f"New {n}", "summary": "S."}},
        "updateConcept": {"input": {"id": world.a, "version": 1, "name": f"Renamed {n}"}},
        "deleteConcept": {"id": world.b},
        "relateConcepts": {"input": {"sourceId": world.b, "targetId": world.a, "type": "REFINES"}},
        "removeRelation": {"id": world.relation},
        "createThesis": {
            "input": {"conceptId": world.b, "statement": f"Another thesis {n}.", "stance": "DENIES"}
        },
        "updateThesis": {"input": {"id": world.thesis, "statement": f"Restated thesis {n}."}},
        "deleteThesis": {"id": world.thesis},
        "addArgument": {
            "input": {"thesisId": world.thesis, "polarity": "CON", "text": f"Objection {n}."}
        },
        "removeArgument": {"t": world.thesis, "a": world.argument},
    }
    return table[name]


def took_effect(name: str, world: World, n: int, seen: dict[str, Any]) -> bool:
    """Whether the stores show what a successful ``name`` on ``world`` did."""
    a, thesis = seen["a"], seen["thesis"]
    theses = {t["id"]: t for t in a["theses"] or []}
    effects: dict[str, bool] = {
        "createConcept": True,  # checked by its own read in the test
        "updateConcept": a["name"] == f"Renamed {n}",
        "deleteConcept": seen["b"] is None,
        "relateConcepts": len(a["relations"]) == 2,
        "removeRelation": world.relation not in {r["id"] for r in a["relations"]},
        "createThesis": True,  # likewise
        "updateThesis": theses.get(world.thesis, {}).get("statement") == f"Restated thesis {n}.",
        "deleteThesis": thesis is None,
        "addArgument": len(theses.get(world.thesis, {}).get("arguments", [])) == 2,
        "removeArgument": theses.get(world.thesis, {}).get("arguments") == [],
    }
    return effects[name]


# Set while the mutation under test runs: its statements are counted, the app's others not.
_armed: contextvars.ContextVar[bool] = contextvars.ContextVar("armed", default=False)


@contextmanager
def terminating(api: Api, admin: asyncpg.Connection, at: int) -> Iterator[list[int]]:
    """Terminate every other connection to the database right before the ``at``-th statement
    or commit sent from this context (not the app's background work); yields the count sent."""
    engine = sql_db(api.stores).engine.sync_engine
    sent = [0]

    def before(*_: Any) -> None:
        if not _armed.get():
            return
        sent[0] += 1
        if sent[0] == at:
            await_(
                admin.execute(
                    "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                    "AND backend_type = 'client backend'"
                )
            )

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "commit", before)
    token = _armed.set(True)
    try:
        yield sent
    finally:
        _armed.reset(token)
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "commit", before)


def outcome(name: str, body: dict[str, Any]) -> str:
    codes = {(e.get("extensions") or {}).get("code") for e in body.get("errors") or []}
    if codes:
        assert codes == {"STORE_UNAVAILABLE"}, body
        return "unavailable"
    typename = body["data"][name]["__typename"]
    assert typename.endswith("Success"), body
    return "ok"


cases = st.tuples(st.sampled_from(sorted(DOCUMENTS)), st.integers(min_value=1, max_value=9))


def test_every_content_mutation_has_a_case() -> None:
    fields = ContentMutation.__strawberry_definition__.fields  # type: ignore[attr-defined]
    names = {f.graphql_name or _camel(f.python_name) for f in fields}
    assert names == set(DOCUMENTS)


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


@pytest.mark.parametrize("backend", ["postgres", "production"], indirect=True)
async def test_a_write_cut_off_by_postgres_is_an_outage_or_done(
    api: Api, postgres_url: str
) -> None:
    admin = await asyncpg.connect(postgres_url)
    seen: dict[str, set[str]] = {}
    failures: list[str] = []
    try:
        for name, at in drawn(cases, 40):
            try:
                seen.setdefault(name, set()).add(await one_case(api, admin, name, at))
            except AssertionError as exc:  # every failing case is reported, not the first only
                failures.append(f"{name} cut at statement {at}: {exc}")
            close_breakers(api.stores)
    finally:
        await admin.close()
    assert not failures, "\n".join(failures)
    # The cases reached the writes: some were cut off, and were answered as outages.
    assert any("unavailable" in results for results in seen.values()), seen


async def one_case(api: Api, admin: asyncpg.Connection, name: str, at: int) -> str:
    """Run ``name`` cut off at its ``at``-th statement; what it answered: ``ok`` (or
    ``untouched``: it sent fewer statements) or ``unavailable``."""
    world = await made(api)
    n = next(_names)
    with terminating(api, admin, at) as sent:
        body = await api.post(DOCUMENTS[name], variables(name, world, n))
    result = outcome(name, body)
    cut = sent[0] >= at
    assert cut or result == "ok", (sent[0], body)
    close_breakers(api.stores)
    await clear_cache(api.stores)
    if result == "unavailable":  # nothing was done; PostgreSQL answers again: now it is
        body = await api.post(DOCUMENTS[name], variables(name, world, n))
        assert outcome(name, body) == "ok", ("retried", body)
    state = await api.data(READ, {"a": world.a, "b": world.b, "t": world.thesis})
    assert took_effect(name, world, n, state), (result, body, state)
    if name.startswith("create"):
        data = body["data"][name]
        created = (data.get("concept") or data.get("thesis") or {})["id"]
        kind = "concept" if name == "createConcept" else "thesis"
        again = await api.data(f"query($id: ID!) {{ {kind}(id: $id) {{ id }} }}", {"id": created})
        assert again[kind] == {"id": created}, (result, body)
    return result if cut else "untouched"
