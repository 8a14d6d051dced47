"""The HTTP protocol ``philos serve`` runs: uvicorn's httptools protocol with bounds on the
time a client may take to send a request's headers and its body (slowloris).

uvicorn bounds only the idle time between requests (``timeout_keep_alive``): once a byte of a
request has arrived, or on a new connection before any byte, it waits for the headers forever,
and the app is not called until they are complete, so no ASGI middleware can help. This
protocol arms a timer when a connection opens, and when a read of the socket ends with a request
begun and its headers not all in; it disarms it when the headers are complete. If it fires
first, the client gets 408 (when it had started a request) and the connection is closed. A
request whose headers came in one read (nearly every one) arms no timer.

The body has ``PHILOS_BODY_TIMEOUT`` from the end of the headers. A body that came with its
headers (nearly every request) needs no timer at all: the timer is armed only when a read of
the socket ends with the headers in and the body not. If it fires, the request's
``BodyDeadline`` (in the scope's extensions, ``middleware.BODY_DEADLINE``) turns ``late`` and
the app's waiting read is woken; the app answers the 408 (``RequestGuard``), with the headers
every answer gets. An app served by another server times the body itself.

What a request's response cycle writes within one step of the event loop leaves the process
in one write (``_OneWrite``): uvicorn writes an answer's status line and headers, then its body,
each straight to the socket, two system calls and two TCP segments for every answer; one is
enough, and on a repeated query answered from the cache that alone is a fifth more answers a
second. Order is kept: the protocol's own writes (a 400, a refused upgrade, a 408) first send
what the cycles left, and so does closing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Awaitable, Callable
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from philos.config import get_settings
from philos.gateway.middleware import BODY_DEADLINE, BodyDeadline

_TIMEOUT_BODY = b'{"errors":[{"message":"The request headers did not arrive in time.","extensions":{"code":"REQUEST_TIMEOUT"}}]}'  # noqa: E501
_TIMEOUT_RESPONSE = (
    b"HTTP/1.1 408 Request Timeout\r\n"
    b"content-type: application/json\r\n"
    b"connection: close\r\n"
    b"content-length: " + str(len(_TIMEOUT_BODY)).encode() + b"\r\n\r\n" + _TIMEOUT_BODY
)

_AT_ONCE = 64 * 1024


class _OneWrite:
    """The transport as a request's response cycle sees it: what the cycle writes within one
    step of the event loop leaves in one write, so an answer's head and body (written one
    after the other) are one system call and one TCP segment instead of two. Past
    ``_AT_ONCE`` bytes it writes at once, so a long stream meets the transport's flow control
    as before."""

    __slots__ = ("_loop", "_pending", "_size", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []
        self._size = 0

    def write(self, data: bytes) -> None:
        if not self._pending:
            self._loop.call_soon(self.flush)
        self._pending.append(data)
        self._size += len(data)
        if self._size >= _AT_ONCE:
            self.flush()

    def flush(self) -> None:
        if self._pending:
            pending = self._pending
            self._pending = []
            self._size = 0
            if not self._transport.is_closing():
                self._transport.write(pending[0] if len(pending) == 1 else b"".join(pending))

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def write_eof(self) -> None:
        self.flush()
        self._transport.write_eof()

    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class HeaderTimeoutProtocol(HttpToolsProtocol):
    """``HttpToolsProtocol`` whose requests must send their headers within
    ``PHILOS_HEADER_TIMEOUT`` seconds."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        settings = get_settings()
        self.header_timeout = settings.header_timeout
        self.body_timeout = settings.body_timeout
        self._header_timer: asyncio.TimerHandle | None = None
        self._request_begun = False
        self._body_timer: asyncio.TimerHandle | None = None
        # The deadline of the request whose headers are in and whose body is not, if any.
        self._awaited: BodyDeadline | None = None

    def _arm(self) -> None:
        if self._header_timer is None:
            self._header_timer = self.loop.call_later(self.header_timeout, self._headers_late)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_late(self) -> None:
        self._header_timer = None
        self._one_write.flush()
        if self.transport.is_closing():
            return
        if self._request_begun:
            self.transport.write(_TIMEOUT_RESPONSE)
        self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._one_write = _OneWrite(transport, self.loop)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        self._body_done()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        # What the protocol itself may write while parsing (a 400, an upgrade's refusal)
        # follows what the cycles wrote before.
        self._one_write.flush()
        super().data_received(data)
        # Timers only for what this read left unfinished: a request whose headers are not all
        # in, a body not all in. A request that came whole in one read arms neither.
        if self._request_begun:
            self._arm()
        if self._awaited is not None and self._body_timer is None:
            self._body_timer = self.loop.call_later(self.body_timeout, self._body_late)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._request_begun = True

    def on_headers_complete(self) -> None:
        self._disarm()
        self._request_begun = False
        deadline = BodyDeadline()
        extensions: dict[str, Any] = self.scope.setdefault("extensions", {})
        extensions[BODY_DEADLINE] = deadline
        super().on_headers_complete()
        if self.cycle is not None and self.cycle.scope is self.scope:  # not an upgrade
            self._awaited = deadline
            self.cycle.transport = self._one_write  # type: ignore[assignment]

    def on_message_complete(self) -> None:
        self._body_done()
        super().on_message_complete()

    def _body_done(self) -> None:
        self._awaited = None
        if self._body_timer is not None:
            self._body_timer.cancel()
            self._body_timer = None

    def _body_late(self) -> None:
        self._body_timer = None
        deadline, self._awaited = self._awaited, None
        if deadline is None:
            return
        deadline.late = True
        if self.cycle is not None and not self.cycle.response_complete:
            self.cycle.message_event.set()  # wake the app's read: it answers the 408


# --- shutdown --------------------------------------------------------------------------------

logger = logging.getLogger("philos")
_SHUTDOWN_HOOKS: list[Callable[[], Awaitable[None]]] = []
SHUTDOWN_HOOK_SECONDS = 10.0


def on_shutdown(hook: Callable[[], Awaitable[None]]) -> None:
    """Run ``hook`` when ``philos serve`` is asked to stop, before connections are closed
    (uvicorn closes WebSockets with 1012 at once; this lets them end cleanly first)."""
    _SHUTDOWN_HOOKS.append(hook)


class DrainingServer(uvicorn.Server):
    """uvicorn's server, running the app's shutdown hooks before its own shutdown."""

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for hook in list(_SHUTDOWN_HOOKS):
            try:
                await asyncio.wait_for(hook(), SHUTDOWN_HOOK_SECONDS)
            except Exception:  # one failing hook must not keep the process up
                logger.exception("shutdown hook failed")
        with contextlib.suppress(Exception):
            _SHUTDOWN_HOOKS.clear()
        await super().shutdown(sockets)
