"""``philos serve``'s protocol writes what a response cycle writes in one step of the event
loop as one write (``serving._OneWrite``). Over real TCP, every response sequence it sends is
byte for byte what uvicorn's own httptools protocol sends for it: any status, headers, a
body with a length or chunked, in one piece or many (past the size it writes at once, and with
the event loop turning between pieces), several requests pipelined on one connection, the
last one closing it."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import uvicorn
from hypothesis import strategies as st
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from philos.gateway.serving import _AT_ONCE, HeaderTimeoutProtocol
from tests.security.documents import drawn


@dataclass(frozen=True)
class Answer:
    status: int
    headers: tuple[tuple[bytes, bytes], ...]
    chunks: tuple[bytes, ...]
    with_length: bool
    pauses: tuple[bool, ...]  # after each chunk: let the event loop turn


_CHUNK = st.one_of(
    st.binary(max_size=64),
    st.integers(0, 2 * _AT_ONCE).map(lambda n: bytes(i % 251 for i in range(n))),
)
ANSWERS = st.builds(
    Answer,
    status=st.sampled_from([200, 201, 204, 400, 404, 500]),
    headers=st.lists(
        st.tuples(
            st.sampled_from([b"x-one", b"x-two", b"content-type"]),
            st.binary(min_size=1, max_size=20).map(lambda b: b.hex().encode()),
        ),
        max_size=3,
    ).map(tuple),
    chunks=st.lists(_CHUNK, max_size=4).map(tuple),
    with_length=st.booleans(),
    pauses=st.lists(st.booleans(), min_size=4, max_size=4).map(tuple),
)


class Scripted:
    """An ASGI app that answers request ``/n`` with ``answers[n]``."""

    def __init__(self) -> None:
        self.answers: list[Answer] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        answer = self.answers[int(scope["path"].strip("/"))]
        chunks = answer.chunks if answer.status != 204 else ()
        headers = list(answer.headers)
        if answer.with_length:
            headers.append((b"content-length", str(sum(map(len, chunks))).encode()))
        await send({"type": "http.response.start", "status": answer.status, "headers": headers})
        for i, chunk in enumerate(chunks):
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
            if answer.pauses[i]:
                await asyncio.sleep(0.001)
        await send({"type": "http.response.body", "body": b""})


@dataclass
class Running:
    app: Scripted
    port: int
    server: uvicorn.Server
    thread: threading.Thread


def _serve(protocol: type[HttpToolsProtocol]) -> Running:
    app = Scripted()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        http=protocol,
        loop="uvloop",
        lifespan="on",
        date_header=False,
        server_header=False,
        access_log=False,
        log_level="warning",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.02)
    return Running(app, port, server, thread)


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[Running, Running]]:
    both = (_serve(HttpToolsProtocol), _serve(HeaderTimeoutProtocol))
    yield both
    for running in both:
        running.server.should_exit = True
        running.thread.join(timeout=10)


def _exchange(running: Running, answers: list[Answer]) -> bytes:
    running.app.answers = answers
    requests = b"".join(
        f"GET /{i} HTTP/1.1\r\nHost: 127.0.0.1\r\n".encode()
        + (b"Connection: close\r\n" if i == len(answers) - 1 else b"")
        + b"\r\n"
        for i in range(len(answers))
    )
    with socket.create_connection(("127.0.0.1", running.port), timeout=20) as sock:
        sock.sendall(requests)
        received = bytearray()
        while chunk := sock.recv(1 << 16):
            received += chunk
    return bytes(received)


def test_every_response_sequence_leaves_as_uvicorn_sends_it(
    servers: tuple[Running, Running],
) -> None:
    plain, ours = servers
    for answers in drawn(st.lists(ANSWERS, min_size=1, max_size=3), 40):
        expected = _exchange(plain, answers)
        # The reference holds every answer: its status line and its bytes, in order.
        at = 0
        for answer in answers:
            at = expected.index(f"HTTP/1.1 {answer.status} ".encode(), at)
            if answer.status != 204:
                for chunk in answer.chunks:
                    if chunk:
                        at = expected.index(chunk, at)
        assert _exchange(ours, answers) == expected, answers
