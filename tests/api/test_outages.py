"""Real outages on the production wiring: stop Neo4j or the MongoDB-wire server mid-test.

Queries keep answering (the affected fields are null, each with an error carrying its path),
/ready stays ready while PostgreSQL is up, and concept changes made during the outage reach the
stopped store through the outbox once it is back.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from typing import Any

import pytest
from pymongo import monitoring

from philos.domain import Role
from tests.api.accounts import make_user
from tests.api.client import Api
from tests.services.plugin import ServiceControl
from tests.stores import unwrap

pytestmark = pytest.mark.parametrize("backend", ["production"], indirect=True)

FORMS = """{ concept(slug: "forms") { name summary relations { type } neighbours { distance }
    theses { statement } thesisCount } }"""
_fresh = iter(range(1_000_000))


def fresh(query: str) -> str:
    """The same query under a new alias: a response-cache miss, so the stores are asked."""
    return query.replace("{ concept(", f"{{ n{next(_fresh)}: __typename concept(", 1)


async def recovered(api: Api, query: str, within: float = 60) -> dict[str, Any]:
    """Poll until the query answers without errors (breakers close after their reset time)."""
    deadline = time.monotonic() + within
    while True:
        body = await api.post(query)
        if "errors" not in body or time.monotonic() > deadline:
            return body
        await asyncio.sleep(0.5)


class Heartbeats(monitoring.ServerHeartbeatListener):
    """The latest heartbeats of every MongoDB client in this process (registered below)."""

    def __init__(self) -> None:
        self.seen: deque[str] = deque(maxlen=12)

    def _note(self, what: str, event: Any) -> None:
        self.seen.append(f"{time.strftime('%H:%M:%S')} {what} {event.connection_id}")

    def started(self, event: monitoring.ServerHeartbeatStartedEvent) -> None:
        self._note("started", event)

    def succeeded(self, event: monitoring.ServerHeartbeatSucceededEvent) -> None:
        self._note("succeeded", event)

    def failed(self, event: monitoring.ServerHeartbeatFailedEvent) -> None:
        self._note(f"failed ({event.reply!r})", event)


HEARTBEATS = Heartbeats()
monitoring.register(HEARTBEATS)


def mongo_monitors(api: Api) -> str:
    """How the MongoDB client's monitors stand, for a failure message: each server's monitor
    task (running, done or cancelled), whether the topology's lock is held, and the latest
    heartbeats."""
    store = unwrap(api.stores.theses)
    topology = getattr(store.client, "_topology", None)  # type: ignore[attr-defined]
    states = []
    for address, server in (getattr(topology, "_servers", None) or {}).items():
        task = server._monitor._executor._task
        states.append(f"{address}: monitor {_task_state(task)}")
    lock = getattr(topology, "_lock", None)
    held = "held" if lock is not None and lock.locked() else "free"
    return f"{states}; topology lock {held}; heartbeats: {list(HEARTBEATS.seen)}"


def _task_state(task: asyncio.Task[Any] | None) -> str:
    if task is None:
        return "none"
    if task.cancelled():
        return "cancelled"
    return "done" if task.done() else "running"


def paths(body: dict[str, Any]) -> dict[tuple[Any, ...], str]:
    return {tuple(e["path"]): e["extensions"]["code"] for e in body.get("errors", [])}


async def test_graph_outage(api: Api, service_control: ServiceControl) -> None:
    healthy = await api.data(FORMS)
    with service_control.outage("neo4j"):
        # A response cached before the outage still answers: no write has happened since.
        assert await api.data(FORMS) == healthy
        body = await api.post(fresh(FORMS))
        concept = body["data"]["concept"]
        assert concept["name"] == "Theory of Forms"
        assert concept["theses"] == healthy["concept"]["theses"]
        assert concept["relations"] is None and concept["neighbours"] is None
        assert paths(body) == {
            ("concept", "relations"): "STORE_UNAVAILABLE",
            ("concept", "neighbours"): "STORE_UNAVAILABLE",
        }
        assert all("neo4j store is unavailable" in e["message"] for e in body["errors"])
        ready = await api.client.get("/ready")
        assert ready.status_code == 200
        assert ready.json()["status"] == "degraded"
        assert ready.json()["stores"]["graph"] == "unavailable"
    back = await recovered(api, FORMS)
    assert back == {"data": healthy}
    later = await recovered(api, fresh(FORMS))
    assert later["data"]["concept"] == healthy["concept"]
    assert (await api.client.get("/ready")).json()["status"] == "ready"


async def test_thesis_outage(api: Api, service_control: ServiceControl) -> None:
    healthy = await api.data(FORMS)
    with service_control.outage("mongo"):
        body = await api.post(fresh(FORMS))
        concept = body["data"]["concept"]
        assert concept["relations"] == healthy["concept"]["relations"]
        assert concept["theses"] is None and concept["thesisCount"] is None
        assert set(paths(body)) == {("concept", "theses"), ("concept", "thesisCount")}
        listing = await api.post("{ theses(first: 7) { totalCount } }")
        assert listing["data"] == {"theses": None}
        assert paths(listing) == {("theses",): "STORE_UNAVAILABLE"}
        assert (await api.client.get("/ready")).status_code == 200
    later = await recovered(api, fresh(FORMS))
    assert later["data"]["concept"] == healthy["concept"], (later, mongo_monitors(api))
    assert "monitor running" in mongo_monitors(api)  # the client watches the server again


async def node(api: Api, concept_id: str) -> dict[str, Any] | None:
    graph = unwrap(api.stores.graph)
    records, _, _ = await graph.driver.execute_query(  # type: ignore[attr-defined]
        "MATCH (c:Concept {id: $id}) RETURN c.slug AS slug, c.name AS name, "
        "COUNT { (c)--() } AS degree",
        id=concept_id,
        database_=graph.database,  # type: ignore[attr-defined]
    )
    return dict(records[0]) if records else None


CREATE = """mutation { createConcept(input: {slug: "logos", name: "Logos", summary: "Reason."}) {
    ... on ConceptSuccess { concept { id } } } }"""


async def test_concept_changes_reach_the_graph(api: Api) -> None:
    created = (await api.data(CREATE))["createConcept"]["concept"]["id"]
    assert await node(api, created) == {"slug": "logos", "name": "Logos", "degree": 0}
    await api.data(
        'mutation($id: ID!) { updateConcept(input: {id: $id, version: 1, slug: "logos-2", '
        'name: "Logos II"}) { __typename } }',
        {"id": created},
    )
    assert await node(api, created) == {"slug": "logos-2", "name": "Logos II", "degree": 0}
    assert api.stores.relay is not None and await api.stores.relay.pending() == 0


async def test_delete_during_a_graph_outage_is_relayed_later(
    api: Api, service_control: ServiceControl
) -> None:
    forms = await api.concept_id("forms")
    assert api.stores.relay is not None and await api.stores.relay.pending() == 0
    before = await node(api, forms)
    assert before == {"slug": "forms", "name": "Theory of Forms", "degree": 2}
    # An ADMIN: what an EDITOR's delete would remove from the graph cannot be checked now.
    admin = await make_user(api.stores, "admin", Role.ADMIN)
    with service_control.outage("neo4j"):
        deleted = await api.as_user(admin).data(
            "mutation($id: ID!) { deleteConcept(id: $id) { __typename } }", {"id": forms}
        )
        assert deleted["deleteConcept"]["__typename"] == "DeleteSuccess"
        assert api.stores.relay is not None and await api.stores.relay.pending() == 1
        # The thesis store was up: the concept's theses went at once; only the graph waits.
        assert (await api.data("{ theses { totalCount } }"))["theses"]["totalCount"] == 1
    deadline = time.monotonic() + 30
    while await api.stores.relay.pending() and time.monotonic() < deadline:
        await asyncio.sleep(0.5)
        # Entries wait out their back-off; draining before that is a no-op, not an error.
        await api.stores.relay.drain()
    assert await api.stores.relay.pending() == 0
    assert await node(api, forms) is None
    neo = await recovered(api, '{ concept(slug: "neoplatonism") { relations { type } } }')
    assert neo == {"data": {"concept": {"relations": []}}}


async def test_philos_worker_relays_on_its_own(
    api: Api, backend_settings: dict[str, object], sql_url: str
) -> None:
    import os
    import signal
    import sys

    from philos.domain import Concept
    from tests.settings import JWT_SECRET

    # A change written straight to the store: no in-process relay runs for it.
    concept = Concept(
        id="00000000-0000-4000-8000-00000000beef", slug="nous", name="Nous", summary="Mind."
    )
    await api.stores.concepts.create(concept)
    assert api.stores.relay is not None and await api.stores.relay.pending() == 1
    env = {
        **os.environ,
        **{k: str(v) for k, v in backend_settings.items()},
        "DATABASE_URL": sql_url,
        "JWT_SECRET": JWT_SECRET,
    }
    worker = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "philos",
        "worker",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        # Polling the effect of another process: there is nothing here to wait on instead.
        while await api.stores.relay.pending() and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.3)
        assert await api.stores.relay.pending() == 0
        assert await node(api, concept.id) == {"slug": "nous", "name": "Nous", "degree": 0}
    finally:
        worker.send_signal(signal.SIGTERM)
        out, _ = await asyncio.wait_for(worker.communicate(), 30)
    assert worker.returncode == 0, out.decode()[-2000:]
    assert b"relaying concept changes" in out
