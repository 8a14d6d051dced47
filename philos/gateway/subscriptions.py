"""Subscriptions on ``/graphql``: the WebSocket (``graphql-transport-ws``) connection rules and
the SSE framing.

- The access token comes in ``connection_init`` (``{"Authorization": "Bearer …"}``); a bad or
  expired one closes the socket with 4403 before anything runs. Without one the connection
  is anonymous (a reader). The socket is closed with 4403 when its token expires.
- A connection holds at most ``PHILOS_WS_MAX_SUBSCRIPTIONS`` operations (the next one gets an
  error); a user at most ``PHILOS_WS_MAX_PER_USER`` connections (4403 past it).
- At shutdown every subscription ends after the events it already holds, then each socket is
  closed with 1001 (going away): clients reconnect to another replica.
- SSE events are framed with LF only: some SSE readers refuse CRLF-framed events.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import Mapping
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState
from strawberry.asgi import ASGIWebSocketAdapter
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.http.streaming import HTTPStreamTransport, SSETransport
from strawberry.subscriptions import GRAPHQL_SSE_PROTOCOL

from philos.domain import AuthError, Principal
from philos.tokens import Tokens

CLOSE_FORBIDDEN = 4403
CLOSE_GOING_AWAY = 1001


class LfSSETransport(SSETransport):
    """Strawberry's SSE transport, framed with ``\\n`` instead of ``\\r\\n``."""

    def encode_event(self, event: str, data: str | None = None) -> str:
        return super().encode_event(event, data).replace("\r\n", "\n")

    def encode_comment(self, comment: str) -> str:
        return f": {comment}\n\n"


STREAM_TRANSPORTS: Mapping[str, type[HTTPStreamTransport]] = {GRAPHQL_SSE_PROTOCOL: LfSSETransport}


class TextWebSocketAdapter(ASGIWebSocketAdapter):
    """Sends every message as a text frame: ``graphql-transport-ws`` is a text protocol (our
    JSON encoder answers bytes, which Strawberry would send as binary frames)."""

    async def send_json(self, message: Mapping[str, object]) -> None:
        encoded = self.view.encode_json(message)
        text = encoded.decode() if isinstance(encoded, bytes) else encoded
        try:
            await self.ws.send_text(text)
        except WebSocketDisconnect as exc:
            raise WebSocketDisconnected from exc


class Rejected(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


def bearer(params: Mapping[str, Any]) -> str | None:
    """The token in a ``connection_init`` payload, if any."""
    for key in ("Authorization", "authorization", "authToken", "token"):
        value = params.get(key)
        if isinstance(value, str) and value.strip():
            scheme, _, token = value.strip().partition(" ")
            return token.strip() if scheme.lower() == "bearer" and token else value.strip()
    return None


class Sockets:
    """The open WebSocket connections: who holds them, until when, and their closing."""

    def __init__(self, tokens: Tokens, max_per_user: int) -> None:
        self.tokens = tokens
        self.max_per_user = max_per_user
        self._open: dict[int, WebSocket] = {}  # by id of the connection's ASGI scope
        self._users: dict[int, str] = {}
        self._per_user: Counter[str] = Counter()
        self._expiry: dict[int, asyncio.Task[None]] = {}

    def admit(self, socket: WebSocket, params: Mapping[str, Any]) -> tuple[Principal, float | None]:
        """The principal of a connection's ``connection_init``; ``Rejected`` if refused."""
        key = id(socket.scope)
        self._open[key] = socket
        token = bearer(params)
        if token is None:
            return Principal(), None
        try:
            principal, expires = self.tokens.principal_until(token)
        except AuthError as exc:
            raise Rejected(CLOSE_FORBIDDEN, exc.message) from exc
        if expires <= time.time():
            raise Rejected(CLOSE_FORBIDDEN, "The access token has expired.")
        user = principal.user_id or ""
        if self._per_user[user] >= self.max_per_user:
            raise Rejected(CLOSE_FORBIDDEN, "Too many open connections for this user.")
        self._per_user[user] += 1
        self._users[key] = user
        self._expiry[key] = asyncio.create_task(self._close_at(socket, expires))
        return principal, expires

    async def _close_at(self, socket: WebSocket, expires: float) -> None:
        await asyncio.sleep(max(0.0, expires - time.time()))
        await close(socket, CLOSE_FORBIDDEN, "The access token has expired.")

    def closed(self, scope: Any) -> None:
        key = id(scope)
        self._open.pop(key, None)
        user = self._users.pop(key, None)
        if user is not None:
            self._per_user[user] -= 1
            if self._per_user[user] <= 0:
                del self._per_user[user]
        task = self._expiry.pop(key, None)
        if task is not None:
            task.cancel()

    @property
    def count(self) -> int:
        return len(self._open)

    async def close_all(self, reason: str = "The server is shutting down.") -> None:
        for socket in list(self._open.values()):
            await close(socket, CLOSE_GOING_AWAY, reason)


async def close(socket: WebSocket, code: int, reason: str) -> None:
    if socket.application_state is WebSocketState.CONNECTED:
        with contextlib.suppress(Exception):
            await socket.close(code=code, reason=reason)
