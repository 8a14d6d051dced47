"""ASGI middleware: request ids, the request body limit, the scope of a request's deadline.

Both are plain ASGI (not Starlette's BaseHTTPMiddleware) so streaming bodies are checked as
they arrive and nothing is buffered twice.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from philos.datasources.resilience import request_deadline

_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def request_id_for(incoming: bytes) -> str:
    """The client's ``X-Request-ID`` if it is sane, else a new one."""
    text = incoming.decode("latin-1")
    return text if _REQUEST_ID_RE.match(text) else uuid.uuid4().hex


class DeadlineScope:
    """End a request's store-call deadline with the request.

    Uvicorn runs each request in a task of its own, so the deadline the GraphQL view sets
    dies with it. An in-process caller (an ASGI test client, an embedding) runs the app in
    its own task instead; without this, an expired deadline would stay in its context and
    fail its later store calls — the outbox relay's included — with "deadline passed".
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        token = request_deadline.set(None)
        try:
            await self.app(scope, receive, send)
        finally:
            request_deadline.reset(token)


class RequestId:
    """Honour a sane incoming ``X-Request-ID`` or make one; echo it on the response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_for(dict(scope["headers"]).get(b"x-request-id", b""))
        scope.setdefault("state", {})["request_id"] = request_id
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_id)


class BodyTooLarge(Exception):
    pass


class BodyLimit:
    """Answer 413 when a body is larger than ``max_bytes``, declared or streamed."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._reject(send)
            return
        seen = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await self._reject(send)

    async def _reject(self, send: Send) -> None:
        body = (
            f'{{"errors":[{{"message":"The request body is larger than {self.max_bytes} '
            f'bytes.","extensions":{{"code":"PAYLOAD_TOO_LARGE"}}}}]}}'
        ).encode()
        headers: list[Any] = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})
