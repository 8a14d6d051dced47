"""ASGI middleware: request ids, the request body limit, security headers and the last-resort
error, CORS, the checks on what a request may send (content coding, body deadline), and the
scope of a request's deadline and store-call budget.

All are plain ASGI (not Starlette's BaseHTTPMiddleware) so streaming bodies are checked as
they arrive and nothing is buffered twice.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import random
import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import orjson
import structlog
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from philos.datasources.resilience import request_calls, request_deadline
from philos.domain import ANONYMOUS, Principal
from philos.errors import (
    BodyTimeout as BodyTimeout,
)
from philos.errors import (
    BodyTooLarge as BodyTooLarge,
)

logger = logging.getLogger("philos.errors")
Headers = tuple[tuple[bytes, bytes], ...]

_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._:-]{1,128}\Z")
# Set in the scope's state by a layer above that has read the whole body within the body
# deadline (``answers.CachedAnswers``) and replays it: ``RequestGuard`` has nothing to time.
BODY_IN_HAND = "philos.body_in_hand"

# The ASGI scope extension of a server that bounds each request's body itself (``philos serve``'s
# protocol, ``gateway/serving.py``): one timer per request in the server instead of one per
# reader here. Its value is the request's ``BodyDeadline``; readers of the body check ``late``
# after each message instead of timing their reads.
BODY_DEADLINE = "philos.body_deadline"


class BodyDeadline:
    """A request body's deadline, kept by the server: ``late`` once the body missed it (the
    server then wakes the reader, which answers 408)."""

    __slots__ = ("late",)

    def __init__(self) -> None:
        self.late = False


def body_deadline(scope: Scope) -> BodyDeadline | None:
    """The server's deadline for this request's body, if the server keeps one."""
    extensions = scope.get("extensions")
    return None if extensions is None else extensions.get(BODY_DEADLINE)


def request_id_for(incoming: bytes) -> str:
    """The client's ``X-Request-ID`` if it is sane, else a new one: 128 random bits in hex.

    A request id names a request in the logs; it guards nothing, so it comes from the
    process's pseudo-random generator (seeded from the OS, and again in a forked child)
    rather than from the OS's random source, a system call per request."""
    text = incoming.decode("latin-1")
    if _REQUEST_ID_RE.match(text):
        return text
    return f"{random.getrandbits(128):032x}"


class DeadlineScope:
    """End a request's store-call deadline (and its budget of store calls) with the request.

    Uvicorn runs each request in a task of its own, so the deadline the GraphQL view sets
    dies with it. An in-process caller (an ASGI test client, an embedding) runs the app in
    its own task instead; without this, an expired deadline would stay in its context and
    fail its later store calls — the outbox relay's included — with "deadline passed".
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        token = request_deadline.set(None)
        budget = request_calls.set(None)
        try:
            await self.app(scope, receive, send)
        finally:
            request_calls.reset(budget)
            request_deadline.reset(token)


class RequestId:
    """Honour a sane incoming ``X-Request-ID`` or make one; echo it on the response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = bind_request(scope)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_id)


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


# --- Response headers, the last-resort error, CORS, and what a request may send -------------

# Every response: no MIME sniffing, no referrer to other sites. JSON answers get a CSP that
# allows nothing (an API response rendered as a page runs nothing and cannot be framed); an HTML
# page that needs more (GraphiQL) sets its own, which is left as it is.
SECURITY_HEADERS: Headers = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
)
DEFAULT_CSP = b"default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"


def json_error(
    status: int,
    message: str,
    code: str,
    request_id: str,
    extra: Headers = (),
) -> tuple[list[tuple[bytes, bytes]], bytes]:
    """Headers and body of a GraphQL-shaped error answered below the view."""
    body = orjson.dumps({"errors": [{"message": message, "extensions": {"code": code}}]})
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"x-request-id", request_id.encode()),
        *extra,
    ]
    return headers, body


def scope_request_id(scope: Scope) -> str:
    """The request's id, made (and kept in the scope for ``RequestId``) if nothing set it yet."""
    state = scope.setdefault("state", {})
    request_id: str | None = state.get("request_id")
    if not request_id:
        incoming = next((v for n, v in scope["headers"] if n == b"x-request-id"), b"")
        request_id = request_id_for(incoming)
        state["request_id"] = request_id
    return request_id


def bind_request(scope: Scope, principal: Principal = ANONYMOUS) -> str:
    """The request's id; from here on every log line of the request carries it, and the
    caller's user id when there is one."""
    request_id = scope_request_id(scope)
    structlog.contextvars.clear_contextvars()
    if principal.user_id:
        structlog.contextvars.bind_contextvars(request_id=request_id, user_id=principal.user_id)
    else:
        structlog.contextvars.bind_contextvars(request_id=request_id)
    return request_id


class SecurityHeaders:
    """Outermost: security headers on every response, and the last-resort handler: anything
    raised below that no one answered becomes a JSON 500 with the request id (logged with its
    traceback), never the server's plain-text 500."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = scope_request_id(scope)
        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = list(message.get("headers", []))
                names = {name.lower() for name, _ in headers}
                headers.extend(h for h in SECURITY_HEADERS if h[0] not in names)
                if b"content-security-policy" not in names:
                    headers.append((b"content-security-policy", DEFAULT_CSP))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception:
            logger.exception("unhandled error (request %s)", request_id)
            if started:
                raise  # the server closes the connection: nothing else can be said now
            headers, body = json_error(
                500,
                f"Unexpected error. Quote request id {request_id} when reporting it.",
                "INTERNAL_SERVER_ERROR",
                request_id,
            )
            await send_with_headers(
                {"type": "http.response.start", "status": 500, "headers": headers}
            )
            await send({"type": "http.response.body", "body": body})


class Cors:
    """Starlette's ``CORSMiddleware`` for the origins of ``PHILOS_CORS_ORIGINS`` only: a request
    from any other origin (or none) passes by it and gets no CORS header at all. Every answer
    says ``Vary: Origin``, so a shared cache never hands one origin's answer to another.

    Credentials (cookies, HTTP auth) are never allowed: Philos authenticates with a bearer
    token the browser app sends itself in ``Authorization``, which the preflight allows."""

    def __init__(self, app: ASGIApp, origins: Sequence[str]) -> None:
        self.app = app
        self.origins = frozenset(origins)
        self.cors = CORSMiddleware(
            app,
            allow_origins=list(origins),
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type", "X-Request-ID"],
            allow_credentials=False,
            expose_headers=["X-Request-ID", "Retry-After"],
            max_age=600,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        origin = dict(scope["headers"]).get(b"origin", b"").decode("latin-1")
        if origin in self.origins:
            await self.cors(scope, receive, send)
            return

        async def send_with_vary(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (b"vary", b"Origin")]
            await send(message)

        await self.app(scope, receive, send_with_vary)


class RequestGuard:
    """What a request may send, checked before anything below reads its body (the
    raw-request index above reads one only when there is no coding to check, and within the
    same deadline):

    - ``Content-Encoding``: only ``identity``; anything else (gzip, br, …) is 415 with
      ``Accept-Encoding: identity`` (RFC 7694), since no layer here decodes it.
    - The body must arrive within ``body_timeout`` seconds of the request's headers: a client
      that sends it slower gets 408 and the connection is closed. (Timed here, or by the
      server when it says it keeps the deadline: ``BODY_DEADLINE``.) A body the app did not read
      to its end (a GET with a body, an unknown path) closes the connection after the answer,
      so it cannot be trickled in either.
    """

    def __init__(self, app: ASGIApp, body_timeout: float) -> None:
        self.app = app
        self.body_timeout = body_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        if b"content-encoding" in headers and not all(
            _identity(value) for name, value in scope["headers"] if name == b"content-encoding"
        ):
            await self._reject(
                scope,
                send,
                415,
                "Send the request body without a Content-Encoding (identity only).",
                "UNSUPPORTED_CONTENT_ENCODING",
                ((b"accept-encoding", b"identity"),),
            )
            return
        has_body = headers.get(b"content-length", b"0") not in (b"0", b"") or (
            b"transfer-encoding" in headers
        )
        done = not has_body or bool(scope.get("state", {}).get(BODY_IN_HAND))
        kept = body_deadline(scope)  # the server times the body: nothing to time here
        deadline = asyncio.get_running_loop().time() + self.body_timeout
        started = False

        async def bounded_receive() -> Message:
            nonlocal done
            if done:
                return await receive()  # the body is in; what is left is a disconnect
            if kept is not None:
                message = await receive()
                if kept.late and message.get("more_body", False):
                    raise BodyTimeout
            else:
                try:
                    async with asyncio.timeout_at(deadline):
                        message = await receive()
                except TimeoutError:
                    raise BodyTimeout from None
            if message["type"] != "http.request" or not message.get("more_body", False):
                done = True
            return message

        async def closing_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                if not done:
                    message["headers"] = [*message.get("headers", []), (b"connection", b"close")]
            await send(message)

        try:
            await self.app(scope, bounded_receive, closing_send)
        except BodyTimeout:
            if started:
                raise
            await self._reject(
                scope,
                send,
                408,
                f"The request body did not arrive within {self.body_timeout:g} seconds.",
                "REQUEST_TIMEOUT",
                ((b"connection", b"close"),),
            )

    @staticmethod
    async def _reject(
        scope: Scope,
        send: Send,
        status: int,
        message: str,
        code: str,
        extra: Headers,
    ) -> None:
        headers, body = json_error(status, message, code, scope_request_id(scope), extra)
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def _identity(value: bytes) -> bool:
    codings = [c.strip().lower() for c in value.split(b",")]
    return all(c in (b"identity", b"") for c in codings)


_INLINE_SCRIPT_RE = re.compile(rb"<script>(.*?)</script>", re.S)


@lru_cache(maxsize=4)
def page_csp(html: bytes, *sources: str) -> str:
    """The CSP of an HTML page that loads scripts and styles from ``sources`` and runs its own
    inline scripts (allowed by hash, so no other inline script can run). Styles may be inline
    (editors such as GraphiQL's set them from script); nothing may frame the page."""
    hashes = [
        "'sha256-" + base64.b64encode(hashlib.sha256(script).digest()).decode() + "'"
        for script in _INLINE_SCRIPT_RE.findall(html)
    ]
    scripts = " ".join(["'self'", *sources, *hashes])
    others = " ".join(["'self'", *sources])
    return (
        "default-src 'none'; "
        f"script-src {scripts}; "
        f"style-src {others} 'unsafe-inline'; "
        f"font-src {others} data:; "
        "img-src 'self' data:; "
        "connect-src 'self'; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    )
