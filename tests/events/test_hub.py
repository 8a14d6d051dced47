"""The pieces of the event path on their own: the event format, the hub's de-duplication and
bounded queues, the in-process bus, the SSE framing and the token in ``connection_init``; and
RabbitMQ's dead-letter queue (a real broker)."""

from __future__ import annotations

import asyncio
import json
import uuid

import aio_pika
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from philos.datasources.bus import MAX_DELIVERIES, LocalBus
from philos.datasources.events import EventHub, SlowConsumer
from philos.datasources.rabbitmq import DEAD_QUEUE, RabbitBus
from philos.domain import Principal, Role
from philos.domain.events import DomainEvent
from philos.gateway.subscriptions import LfSSETransport, bearer
from philos.resolvers.subscriptions import may_see_drafts
from philos.schema.subscriptions import ChangeKind


def event(n: int, record: str = "r", version: int | None = None, kind: str = "concept.updated"):  # type: ignore[no-untyped-def]
    return DomainEvent(id=f"e{n}", kind=kind, record_id=record, version=version)


@given(st.one_of(st.binary(max_size=200), st.text(max_size=200).map(str.encode)))
def test_a_body_is_an_event_or_a_value_error(body: bytes) -> None:
    try:
        parsed = DomainEvent.from_json(body)
    except ValueError:
        return
    assert parsed.entity in ("concept", "relation", "thesis", "user")


@given(
    st.sampled_from(["concept.created", "thesis.deleted", "relation.created", "user.updated"]),
    st.uuids().map(str),
    st.none() | st.integers(1, 10**9),
    st.lists(st.uuids().map(str), max_size=3),
)
def test_an_event_survives_the_wire(
    kind: str, record: str, version: int | None, concepts: list[str]
) -> None:
    original = DomainEvent(
        id="m1", kind=kind, record_id=record, version=version, concept_ids=tuple(concepts)
    )
    assert DomainEvent.from_json(original.to_json()) == original


@settings(max_examples=50, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 30), st.sampled_from(["a", "b", "c"]), st.integers(1, 8)),
        max_size=60,
    )
)
def test_the_hub_passes_each_event_once_and_never_an_older_version(
    deliveries: list[tuple[int, str, int]],
) -> None:
    """Any mix of redeliveries (same id) and reordered changes: each id is passed on at most
    once, and per record the versions passed on only grow."""

    async def run() -> list[DomainEvent]:
        hub = EventHub(LocalBus(), queue_size=1000)
        listener = hub.listener(lambda e: True)
        for n, record, version in deliveries:
            await hub.receive(
                DomainEvent(
                    id=f"{record}{n}", kind="concept.updated", record_id=record, version=version
                )
            )
        out = []
        while not listener.queue.empty():
            item = listener.queue.get_nowait()
            assert item is not None
            out.append(item)
        return out

    passed = asyncio.run(run())
    ids = [e.id for e in passed]
    assert len(ids) == len(set(ids))
    for record in "abc":
        versions = [e.version for e in passed if e.record_id == record]
        assert versions == sorted(set(versions))  # type: ignore[type-var]


async def test_a_subscriber_that_falls_behind_is_closed() -> None:
    hub = EventHub(LocalBus(), queue_size=3)
    stream = hub.events(lambda e: True)
    first = asyncio.ensure_future(stream.__anext__())
    await asyncio.sleep(0)
    for n in range(10):
        await hub.receive(event(n, record=f"r{n}", version=1))
    assert (await first).id in {"e0", "e1"}  # the oldest may make room for the close
    with pytest.raises(SlowConsumer):
        while True:
            await stream.__anext__()
    assert hub.open == 0


async def test_the_local_bus_retries_a_failing_handler_then_drops_the_event() -> None:
    bus = LocalBus()
    calls = []

    async def failing(e: DomainEvent) -> None:
        calls.append(e.id)
        raise RuntimeError("handler down")

    await bus.listen(failing)
    await bus.publish(event(1))
    assert calls == ["e1"] * MAX_DELIVERIES and bus.dead_letters == 1


def test_sse_events_are_framed_with_lf() -> None:
    transport = LfSSETransport()
    framed = transport.encode_next({"data": {"x": 1}}, json.dumps)
    assert framed == 'event: next\ndata: {"data": {"x": 1}}\n\n'
    assert transport.encode_complete() == "event: complete\ndata: \n\n"
    assert "\r" not in transport.heartbeat_message(json.dumps)


@pytest.mark.parametrize(
    ("params", "token"),
    [
        ({"Authorization": "Bearer abc"}, "abc"),
        ({"authorization": "bearer  abc "}, "abc"),
        ({"authToken": "abc"}, "abc"),
        ({"Authorization": ""}, None),
        ({"Authorization": 42}, None),
        ({}, None),
    ],
)
def test_the_token_in_connection_init(params: dict[str, object], token: str | None) -> None:
    assert bearer(params) == token


def test_drafts_are_for_editors() -> None:
    assert not may_see_drafts(Principal())
    assert not may_see_drafts(Principal(user_id="u", role=Role.READER))
    assert may_see_drafts(Principal(user_id="u", role=Role.EDITOR))
    assert {k.value for k in ChangeKind} == {"created", "updated", "deleted"}


@pytest.mark.timeout(120)
async def test_rabbitmq_dead_letters_poison_and_repeatedly_failing_events(
    rabbitmq_url: str,
) -> None:
    """A body that is no event goes to the dead-letter queue at once; an event whose handler
    keeps failing goes there after the queue's delivery limit; the others are handled."""
    handled: list[str] = []
    failing = f"fail-{uuid.uuid4().hex}"

    async def handler(e: DomainEvent) -> None:
        if e.record_id == failing:
            raise RuntimeError("cannot handle this one")
        handled.append(e.record_id)

    bus = RabbitBus(rabbitmq_url, replica=f"test-{uuid.uuid4().hex[:8]}")
    try:
        await bus.listen(handler)
        async with asyncio.timeout(20):
            while "probe" not in handled:  # until the replica's queue is bound
                probe = DomainEvent(id=uuid.uuid4().hex, kind="concept.created", record_id="probe")
                await bus.publish(probe)
                await asyncio.sleep(0.2)
        before = await _dead_letters(rabbitmq_url)
        connection = await aio_pika.connect(rabbitmq_url)
        async with connection:
            channel = await connection.channel()
            exchange = await channel.get_exchange("philos.events")
            await exchange.publish(aio_pika.Message(b"not json"), routing_key="concept.updated")
        await bus.publish(DomainEvent(id="f1", kind="concept.updated", record_id=failing))
        await bus.publish(DomainEvent(id="ok1", kind="concept.updated", record_id="fine"))
        async with asyncio.timeout(60):
            while await _dead_letters(rabbitmq_url) < before + 2 or "fine" not in handled:  # noqa: ASYNC110
                await asyncio.sleep(0.2)
        assert failing not in handled
    finally:
        await bus.aclose()


async def _dead_letters(url: str) -> int:
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel()
        queue = await channel.declare_queue(DEAD_QUEUE, passive=True)
        return int(queue.declaration_result.message_count or 0)
