"""Domain events across replicas through a real RabbitMQ.

Two ``philos serve`` replicas share one PostgreSQL database and one RabbitMQ (both started by
the test harness). A change made through replica A reaches a subscriber on replica B, over
WebSocket and over SSE. With RabbitMQ stopped, changes made meanwhile wait in A's outbox;
once it is back every one of them reaches B's subscriber, in order, once — a copy published
again is dropped.
"""

from __future__ import annotations

import contextlib
import functools
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import aio_pika
import asyncpg
import httpx
import pytest

from philos.domain import utcnow
from philos.domain.events import DomainEvent
from tests.events.clients import (
    CONCEPT_CHANGED,
    create_concept,
    event_stream,
    rename,
    token_for,
    websocket,
)
from tests.events.replicas import SECRET, Replica
from tests.services.plugin import ServiceControl

pytestmark = pytest.mark.timeout(240)


@pytest.fixture(scope="module")
async def database(postgres_url: str) -> AsyncIterator[str]:
    name = f"philos_events_{uuid.uuid4().hex[:10]}"
    url = postgres_url.replace("postgresql+asyncpg://", "postgresql://", 1)
    admin = await asyncpg.connect(url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture(scope="module")
def replicas(
    database: str, rabbitmq_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Replica, Replica]]:
    base = tmp_path_factory.mktemp("event-replicas")
    a = Replica("replica-a", base, DATABASE_URL=database, RABBITMQ_URL=rabbitmq_url)
    b = Replica("replica-b", base, DATABASE_URL=database, RABBITMQ_URL=rabbitmq_url)
    a.start()
    a.wait_ready()  # migrates the new database first
    b.start()
    b.wait_ready()
    try:
        yield a, b
    finally:
        a.stop()
        b.stop()


@contextlib.contextmanager
def explained(*replicas: Replica) -> Iterator[None]:
    try:
        yield
    except BaseException:
        for replica in replicas:
            print(replica.diagnostics())
        raise


async def test_a_change_on_one_replica_reaches_subscribers_on_another(
    replicas: tuple[Replica, Replica],
) -> None:
    a, b = replicas
    token = token_for(SECRET)
    with explained(a, b):
        async with httpx.AsyncClient(timeout=10) as client:
            concept = await create_concept(client, a.url, token, "Fan out")
            async with (
                websocket(b.url) as ws,
                event_stream(client, b.url, CONCEPT_CHANGED, {"id": concept}) as sse,
            ):
                assert (await ws.init({"Authorization": f"Bearer {token}"}))["type"] == (
                    "connection_ack"
                )
                one = await ws.subscribe(CONCEPT_CHANGED, {"id": concept})
                every = await ws.subscribe(CONCEPT_CHANGED)  # every concept
                version = await _settled(client, a, b, token, concept)
                version = await rename(client, a.url, token, concept, version, "Fanned out")
                # Each subscription saw the settling renames too: read up to the last.
                for op in (one, every):
                    change = await _until(functools.partial(ws.next_data, op=op), version)
                    assert change["kind"] == "UPDATED"
                    assert change["concept"] == {"name": "Fanned out", "version": version}
                change = await _until(sse.next_data, version)
                assert change == {
                    "kind": "UPDATED",
                    "id": concept,
                    "version": version,
                    "concept": {"name": "Fanned out", "version": version},
                }
                assert b"\r" not in sse.raw  # framed with LF only


async def _until(
    next_data: Callable[[], Awaitable[dict[str, Any]]], version: int
) -> dict[str, Any]:
    """The change to ``version``, after the (older, in order) ones before it."""
    last = 0
    while True:
        change: dict[str, Any] = (await next_data())["conceptChanged"]
        assert change["version"] > last, f"out of order: {change['version']} after {last}"
        last = change["version"]
        if last >= version:
            assert last == version
            return change


async def _settled(
    client: httpx.AsyncClient, a: Replica, b: Replica, token: str, concept: str
) -> int:
    """Subscriptions are open once a change made now reaches B: rename until one does."""
    version = 1
    async with websocket(b.url) as ws:
        await ws.init()
        await ws.subscribe(CONCEPT_CHANGED, {"id": concept})
        for attempt in range(20):
            version = await rename(client, a.url, token, concept, version, f"Settling {attempt}")
            with contextlib.suppress(TimeoutError):
                while (await ws.next_data(wait=1.0))["conceptChanged"]["version"] < version:
                    pass  # an earlier attempt's change, arriving late
                return version
    raise AssertionError("no change reached replica B")


async def test_nothing_is_lost_while_rabbitmq_is_down(
    replicas: tuple[Replica, Replica], service_control: ServiceControl, rabbitmq_url: str
) -> None:
    a, b = replicas
    token = token_for(SECRET)
    with explained(a, b):
        async with httpx.AsyncClient(timeout=10) as client:
            concept = await create_concept(client, a.url, token, "Outage")
            version = await _settled(client, a, b, token, concept)
            async with websocket(b.url) as ws:
                await ws.init()
                await ws.subscribe(CONCEPT_CHANGED, {"id": concept})
                written = []
                with service_control.outage("rabbitmq"):
                    for n in range(5):
                        version = await rename(client, a.url, token, concept, version, f"Down {n}")
                        written.append(version)
                seen: list[int] = []
                while len(seen) < len(written):
                    seen.append((await ws.next_data(wait=60))["conceptChanged"]["version"])
                assert seen == written  # every change, once, in order

                # A copy of the last event published again (another id, same version), then
                # a new change: the copy is dropped, the change arrives.
                await _publish(rabbitmq_url, concept, written[-1])
                version = await rename(client, a.url, token, concept, version, "Back")
                assert (await ws.next_data(wait=30))["conceptChanged"]["version"] == version


async def _publish(url: str, concept: str, version: int) -> None:
    event = DomainEvent(
        id=f"copy-{uuid.uuid4().hex}",
        kind="concept.updated",
        record_id=concept,
        version=version,
        concept_ids=(concept,),
        occurred_at=utcnow().isoformat(),
    )
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange("philos.events")
        await exchange.publish(
            aio_pika.Message(event.to_json(), message_id=event.id), routing_key=event.kind
        )
