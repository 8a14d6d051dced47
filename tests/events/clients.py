"""Subscription clients for the event tests: ``graphql-transport-ws`` over a real WebSocket,
and SSE over HTTP, each reading frames exactly as a browser library would."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect

from philos.domain import Role, User, new_id
from philos.tokens import Tokens

PROTOCOL = "graphql-transport-ws"


def token_for(secret: str, role: Role = Role.ADMIN) -> str:
    user = User(
        id=new_id(),
        email=f"{new_id()[:8]}@philos.test",
        display_name="T",
        password_hash="",
        role=role,
    )
    return Tokens(secret.encode()).issue_access(user)


class Socket:
    """One ``graphql-transport-ws`` connection."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self._next_id = 0
        self._held: dict[str, list[dict[str, Any]]] = {}

    async def init(self, payload: dict[str, Any] | None = None) -> dict[str, Any]:
        await self.ws.send(json.dumps({"type": "connection_init", "payload": payload or {}}))
        return await self.receive()

    async def subscribe(self, query: str, variables: dict[str, Any] | None = None) -> str:
        self._next_id += 1
        op = str(self._next_id)
        payload = {"query": query, "variables": variables or {}}
        await self.ws.send(json.dumps({"id": op, "type": "subscribe", "payload": payload}))
        return op

    async def receive(self, wait: float = 10.0) -> dict[str, Any]:
        while True:
            frame = await asyncio.wait_for(self.ws.recv(), wait)
            assert isinstance(frame, str), f"a binary frame: {frame!r}"
            message: dict[str, Any] = json.loads(frame)
            if message.get("type") == "ping":
                await self.ws.send(json.dumps({"type": "pong"}))
                continue
            return message

    async def message_for(self, op: str, wait: float = 10.0) -> dict[str, Any]:
        """The next message of operation ``op`` (others' are held for their turn)."""
        held = self._held.get(op)
        if held:
            return held.pop(0)
        while True:
            message = await self.receive(wait)
            if message.get("id") in (None, op):
                return message
            self._held.setdefault(message["id"], []).append(message)

    async def next_data(self, wait: float = 10.0, op: str = "1") -> dict[str, Any]:
        message = await self.message_for(op, wait)
        assert message["type"] == "next", message
        assert "errors" not in message["payload"], message
        data: dict[str, Any] = message["payload"]["data"]
        return data


@asynccontextmanager
async def websocket(base: str) -> AsyncIterator[Socket]:
    url = base.replace("http://", "ws://") + "/graphql"
    async with connect(url, subprotocols=[PROTOCOL]) as ws:  # type: ignore[list-item]
        yield Socket(ws)


class EventStream:
    """An SSE response, read event by event; keeps the raw bytes to check the framing."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self.raw = b""
        self._buffer = b""
        self._chunks = response.aiter_bytes()

    async def next_event(self, wait: float = 10.0) -> tuple[str, str]:
        while b"\n\n" not in self._buffer:
            chunk = await asyncio.wait_for(self._chunks.__anext__(), wait)
            self.raw += chunk
            self._buffer += chunk
        block, self._buffer = self._buffer.split(b"\n\n", 1)
        fields = dict(line.split(": ", 1) for line in block.decode().split("\n") if ": " in line)
        if block.startswith(b":"):  # a comment (heartbeat)
            return await self.next_event(wait)
        return fields.get("event", ""), fields.get("data", "")

    async def next_data(self, wait: float = 10.0) -> dict[str, Any]:
        event, data = await self.next_event(wait)
        assert event == "next", (event, data)
        body = json.loads(data)
        assert "errors" not in body, body
        result: dict[str, Any] = body["data"]
        return result


@asynccontextmanager
async def event_stream(
    client: httpx.AsyncClient, base: str, query: str, variables: dict[str, Any] | None = None
) -> AsyncIterator[EventStream]:
    async with client.stream(
        "POST",
        f"{base}/graphql",
        json={"query": query, "variables": variables or {}},
        headers={"accept": "text/event-stream"},
        timeout=httpx.Timeout(30.0),
    ) as response:
        assert response.status_code == 200, await response.aread()
        assert response.headers["content-type"].startswith("text/event-stream")
        yield EventStream(response)


CREATE = """mutation($input: CreateConceptInput!) { createConcept(input: $input) {
  __typename ... on ConceptSuccess { concept { id version } } } }"""
UPDATE = """mutation($input: UpdateConceptInput!) { updateConcept(input: $input) {
  __typename ... on ConceptSuccess { concept { id version } } } }"""
CONCEPT_CHANGED = """subscription($id: ID) { conceptChanged(id: $id) {
  kind id version concept { name version } } }"""


async def create_concept(client: httpx.AsyncClient, base: str, token: str, name: str) -> str:
    slug = f"{name.lower().replace(' ', '-')}-{new_id()[:6]}"
    body = await graphql(
        client, base, token, CREATE, {"input": {"name": name, "slug": slug, "summary": "A test."}}
    )
    result = body["createConcept"]
    assert result["__typename"] == "ConceptSuccess", result
    concept_id: str = result["concept"]["id"]
    return concept_id


async def rename(
    client: httpx.AsyncClient, base: str, token: str, concept_id: str, version: int, name: str
) -> int:
    body = await graphql(
        client,
        base,
        token,
        UPDATE,
        {"input": {"id": concept_id, "version": version, "name": name}},
    )
    result = body["updateConcept"]
    assert result["__typename"] == "ConceptSuccess", result
    new_version: int = result["concept"]["version"]
    return new_version


async def graphql(
    client: httpx.AsyncClient,
    base: str,
    token: str | None,
    query: str,
    variables: dict[str, Any] | None = None,
) -> dict[str, Any]:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    response = await client.post(
        f"{base}/graphql", json={"query": query, "variables": variables or {}}, headers=headers
    )
    body = response.json()
    assert response.status_code == 200 and "errors" not in body, body
    data: dict[str, Any] = body["data"]
    return data
