"""Subscriptions on the embedded default: one ``philos serve`` process, no RabbitMQ (the
in-process bus), with small limits so each rule can be met.

Covers: WebSocket and SSE delivery in one process; relations and theses (a DRAFT thesis is
not pushed to a reader); the token in ``connection_init`` (bad: 4403; expiring: the socket is
closed with 4403 when it does); the per-connection and per-user limits; the slow consumer;
the depth limit; JSON for a query whose ``Accept`` merely lists ``text/event-stream``; and
SIGTERM, which ends subscriptions and closes sockets with 1001.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import time
from collections.abc import Iterator
from typing import Any

import httpx
import jwt
import pytest
from websockets.exceptions import ConnectionClosed

from philos.domain import Role, new_id
from tests.events.clients import (
    CONCEPT_CHANGED,
    Socket,
    create_concept,
    event_stream,
    graphql,
    rename,
    token_for,
    websocket,
)
from tests.events.replicas import SECRET, Replica

pytestmark = pytest.mark.timeout(180)

MAX_SUBSCRIPTIONS = 3
MAX_PER_USER = 2
QUEUE_SIZE = 2

THESIS_CHANGED = """subscription($c: ID!) { thesisChanged(conceptId: $c) {
  kind version thesis { statement status } } }"""
RELATION_CHANGED = """subscription($c: ID!) { relationChanged(conceptId: $c) {
  kind conceptIds relation { type } } }"""
CREATE_THESIS = """mutation($input: CreateThesisInput!) { createThesis(input: $input) {
  __typename } }"""
RELATE = """mutation($input: RelateConceptsInput!) { relateConcepts(input: $input) {
  __typename } }"""


def _limits() -> dict[str, str]:
    return {
        "PHILOS_WS_MAX_SUBSCRIPTIONS": str(MAX_SUBSCRIPTIONS),
        "PHILOS_WS_MAX_PER_USER": str(MAX_PER_USER),
        "PHILOS_WS_QUEUE_SIZE": str(QUEUE_SIZE),
        "PHILOS_MAX_DEPTH": "6",
    }


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Replica]:
    replica = Replica("embedded", tmp_path_factory.mktemp("embedded"), **_limits())
    replica.start()
    replica.wait_ready()
    try:
        yield replica
    finally:
        replica.stop()


async def test_changes_reach_websocket_and_sse_subscribers_in_one_process(server: Replica) -> None:
    token = token_for(SECRET)
    async with httpx.AsyncClient(timeout=10) as client:
        concept = await create_concept(client, server.url, token, "Embedded")
        other = await create_concept(client, server.url, token, "Other")
        async with (
            websocket(server.url) as ws,
            event_stream(client, server.url, CONCEPT_CHANGED, {"id": concept}) as sse,
        ):
            await ws.init({"Authorization": f"Bearer {token}"})
            concepts = await ws.subscribe(CONCEPT_CHANGED, {"id": concept})
            relations = await ws.subscribe(RELATION_CHANGED, {"c": other})
            await asyncio.sleep(0.5)  # the subscriptions are listening
            version = await rename(client, server.url, token, concept, 1, "Embedded two")
            change = (await ws.next_data(op=concepts))["conceptChanged"]
            if change["kind"] == "CREATED":  # subscribed before the creation was published
                change = (await ws.next_data(op=concepts))["conceptChanged"]
            assert change == {
                "kind": "UPDATED",
                "id": concept,
                "version": version,
                "concept": {"name": "Embedded two", "version": version},
            }
            first = (await sse.next_data())["conceptChanged"]
            if first["kind"] == "CREATED":
                first = (await sse.next_data())["conceptChanged"]
            assert first == change
            assert b"\r" not in sse.raw
            related = await graphql(
                client,
                server.url,
                token,
                RELATE,
                {"input": {"sourceId": concept, "targetId": other, "type": "INFLUENCED_BY"}},
            )
            assert related["relateConcepts"]["__typename"] == "RelationSuccess"
            change = (await ws.next_data(op=relations))["relationChanged"]
            assert change == {
                "kind": "CREATED",
                "conceptIds": [concept, other],
                "relation": {"type": "INFLUENCED_BY"},
            }


async def test_a_draft_thesis_is_pushed_to_editors_not_readers(server: Replica) -> None:
    editor = token_for(SECRET, Role.EDITOR)
    reader = token_for(SECRET, Role.READER)
    async with httpx.AsyncClient(timeout=10) as client:
        concept = await create_concept(client, server.url, editor, "Drafted")
        async with websocket(server.url) as as_editor, websocket(server.url) as as_reader:
            await as_editor.init({"Authorization": f"Bearer {editor}"})
            await as_reader.init({"Authorization": f"Bearer {reader}"})
            await as_editor.subscribe(THESIS_CHANGED, {"c": concept})
            await as_reader.subscribe(THESIS_CHANGED, {"c": concept})
            await asyncio.sleep(0.5)
            for status in ("DRAFT", "PUBLISHED"):
                body = {
                    "conceptId": concept,
                    "statement": f"A {status.lower()} statement about it.",
                    "stance": "AFFIRMS",
                    "status": status,
                }
                result = await graphql(client, server.url, editor, CREATE_THESIS, {"input": body})
                assert result["createThesis"]["__typename"] == "ThesisSuccess", result
            seen = [(await as_editor.next_data())["thesisChanged"] for _ in range(2)]
            assert [c["thesis"]["status"] for c in seen] == ["DRAFT", "PUBLISHED"]
            first = (await as_reader.next_data())["thesisChanged"]
            assert first["thesis"]["status"] == "PUBLISHED"  # the draft was left out
            assert first["kind"] == "CREATED" and first["version"] == 1


async def _closed_with(ws: object, wait: float = 10.0) -> int:
    from tests.events.clients import Socket

    assert isinstance(ws, Socket)
    try:
        async with asyncio.timeout(wait):
            while True:
                await ws.ws.recv()
    except ConnectionClosed as exc:
        assert exc.rcvd is not None
        return exc.rcvd.code
    raise AssertionError("still open")


@pytest.mark.parametrize("token", ["not-a-token", "Bearer eyJhbGciOiJIUzI1NiJ9.e30.x"])
async def test_a_bad_token_is_refused_with_4403(server: Replica, token: str) -> None:
    async with websocket(server.url) as ws:
        await ws.ws.send(
            json.dumps({"type": "connection_init", "payload": {"Authorization": token}})
        )
        assert await _closed_with(ws) == 4403


def _token_expiring_in(seconds: float) -> str:
    now = int(time.time())
    claims = {
        "iss": "philos",
        "aud": "philos-api",
        "sub": new_id(),
        "iat": now,
        "nbf": now,
        "exp": now + int(seconds),
        "jti": new_id(),
        "role": "READER",
    }
    return jwt.encode(claims, SECRET, algorithm="HS256")


async def test_the_socket_closes_when_its_token_expires(server: Replica) -> None:
    from philos.tokens import AUDIENCE, ISSUER

    assert (ISSUER, AUDIENCE) == ("philos", "philos-api")
    token = _token_expiring_in(3)
    async with websocket(server.url) as ws:
        assert (await ws.init({"Authorization": f"Bearer {token}"}))["type"] == "connection_ack"
        await ws.subscribe(CONCEPT_CHANGED)
        assert await _closed_with(ws, wait=15) == 4403
    async with httpx.AsyncClient(timeout=10) as client:
        # Over SSE the stream ends with an error saying why.
        token = _token_expiring_in(3)
        async with client.stream(
            "POST",
            f"{server.url}/graphql",
            json={"query": CONCEPT_CHANGED},
            headers={"accept": "text/event-stream", "authorization": f"Bearer {token}"},
        ) as response:
            body = b""
            async with asyncio.timeout(15):
                async for chunk in response.aiter_bytes():
                    body += chunk
            assert b"expired" in body and b"event: complete" in body


async def test_subscriptions_per_connection_and_connections_per_user_are_limited(
    server: Replica,
) -> None:
    token = token_for(SECRET, Role.READER)
    async with contextlib.AsyncExitStack() as stack:
        first = await stack.enter_async_context(websocket(server.url))
        await first.init({"Authorization": f"Bearer {token}"})
        ops = [await first.subscribe(CONCEPT_CHANGED) for _ in range(MAX_SUBSCRIPTIONS + 1)]
        refused = await first.message_for(ops[-1])
        assert refused["type"] == "error" and "limit" in str(refused["payload"]).lower()
        for _ in range(MAX_PER_USER - 1):
            more = await stack.enter_async_context(websocket(server.url))
            assert (await more.init({"Authorization": f"Bearer {token}"}))["type"] == (
                "connection_ack"
            )
        one_too_many = await stack.enter_async_context(websocket(server.url))
        await one_too_many.ws.send(
            json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}})
        )
        assert await _closed_with(one_too_many) == 4403


BURSTS = 10


async def _closing(ws: Socket, op: str, quiet: float) -> dict[str, Any] | None:
    """The message that ends ``op`` (an error, or ``complete``), or None once ``quiet``
    seconds pass without one (every event so far was delivered)."""
    try:
        async with asyncio.timeout(quiet):
            while True:
                message = await ws.message_for(op)
                if message["type"] != "next" or "errors" in message["payload"]:
                    return message
    except TimeoutError:
        return None


async def test_a_slow_consumer_is_closed(server: Replica) -> None:
    token = token_for(SECRET)
    async with httpx.AsyncClient(timeout=30) as client, websocket(server.url) as ws:
        await ws.init()
        op = await ws.subscribe(CONCEPT_CHANGED)
        await asyncio.sleep(0.5)
        closing: dict[str, Any] | None = None
        # A burst far larger than the subscription's queue, faster than it is sent on. The
        # server often still gets its turn between commits often enough to keep up with one
        # burst: then every event of it arrives, nothing more comes, and the next is sent.
        for burst in range(BURSTS):
            await asyncio.gather(
                *(
                    create_concept(client, server.url, token, f"Burst {burst}-{n}")
                    for n in range(40)
                )
            )
            closing = await _closing(ws, op, quiet=3)
            if closing is not None:
                break
        assert closing is not None, f"the subscriber kept up with {BURSTS} bursts"
        assert "not read fast enough" in str(closing), closing


async def test_the_depth_limit_holds_for_subscriptions(server: Replica) -> None:
    deep = (
        "subscription { conceptChanged { concept { relations { target { relations "
        "{ target { relations { target { relations { target { name } } } } } } } } } } }"
    )
    async with websocket(server.url) as ws:
        await ws.init()
        op = await ws.subscribe(deep)
        message = await ws.message_for(op)
        assert message["type"] == "error" and "depth" in str(message).lower(), message


async def test_a_query_listing_event_stream_in_accept_gets_json(server: Replica) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.post(
            f"{server.url}/graphql",
            json={"query": "{ concepts(first: 1) { totalCount } }"},
            headers={"accept": "text/event-stream, application/json"},
        )
    assert response.headers["content-type"].startswith("application/json")
    assert "totalCount" in response.json()["data"]["concepts"]


async def test_sigterm_closes_sockets_with_1001(tmp_path_factory: pytest.TempPathFactory) -> None:
    replica = Replica("draining", tmp_path_factory.mktemp("draining"))
    replica.start()
    replica.wait_ready()
    try:
        async with websocket(replica.url) as ws:
            await ws.init()
            op = await ws.subscribe(CONCEPT_CHANGED)
            await asyncio.sleep(0.3)
            stopping = asyncio.get_running_loop().run_in_executor(None, replica.terminate)
            assert (await ws.message_for(op))["type"] == "complete"
            assert await _closed_with(ws) == 1001
            # uvicorn raises the signal again once it has shut down: killed by SIGTERM, cleanly.
            assert await stopping in (0, -signal.SIGTERM)
    finally:
        replica.stop()
