"""The HTTP protocol ``philos serve`` runs: uvicorn's httptools protocol with bounds on the
time a client may take to send a request's headers and its body (slowloris).

uvicorn bounds only the idle time between requests (``timeout_keep_alive``): once a byte of a
request has arrived, or on a new connection before any byte, it waits for the headers forever,
and the app is not called until they are complete, so no ASGI middleware can help. This
protocol arms a timer when a connection opens and when a request begins, and disarms it when
the headers are complete; if it fires first, the client gets 408 (when it had started a
request) and the connection is closed.

The body has ``PHILOS_BODY_TIMEOUT`` from the end of the headers. A body that came with its
headers (nearly every request) needs no timer at all: the timer is armed only when a read of
the socket ends with the headers in and the body not. If it fires, the request's
``BodyDeadline`` (in the scope's extensions, ``middleware.BODY_DEADLINE``) turns ``late`` and
the app's waiting read is woken; the app answers the 408 (``RequestGuard``), with the headers
every answer gets. An app served by another server times the body itself.
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
        if self.transport.is_closing():
            return
        if self._request_begun:
            self.transport.write(_TIMEOUT_RESPONSE)
        self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        self._body_done()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self._awaited is not None and self._body_timer is None:
            self._body_timer = self.loop.call_later(self.body_timeout, self._body_late)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._request_begun = True
        self._arm()

    def on_headers_complete(self) -> None:
        self._disarm()
        self._request_begun = False
        deadline = BodyDeadline()
        extensions: dict[str, Any] = self.scope.setdefault("extensions", {})
        extensions[BODY_DEADLINE] = deadline
        super().on_headers_complete()
        if self.cycle is not None and self.cycle.scope is self.scope:  # not an upgrade
            self._awaited = deadline

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
