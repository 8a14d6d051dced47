"""Slow clients against a real ``philos serve`` (uvicorn over TCP): a request whose headers or
body trickle in is cut off within the bound (``PHILOS_HEADER_TIMEOUT``,
``PHILOS_BODY_TIMEOUT``), and the server keeps answering others. Also the bodies the in-process
transport cannot stand for, sent as raw bytes over a socket, and repeated answers as they leave
the server."""

from __future__ import annotations

import itertools
import json
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from hypothesis import strategies as st

from tests.e2e.serve import Served, start_server, stop_server
from tests.security.documents import drawn

HEADER_TIMEOUT = 1.0
BODY_TIMEOUT = 1.5
SLACK = 1.5  # scheduling on a busy two-core machine
QUERY = json.dumps({"query": "{ concepts(first: 1) { totalCount } }"}).encode()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    from tests.services.plugin import backend_enabled

    if not backend_enabled("sqlite"):
        pytest.skip("backend sqlite not selected by PHILOS_TEST_BACKENDS")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PHILOS_HEADER_TIMEOUT", str(HEADER_TIMEOUT))
        patch.setenv("PHILOS_BODY_TIMEOUT", str(BODY_TIMEOUT))
        patch.setenv("PHILOS_RATE_LIMIT_IP", "0")
        served = start_server(tmp_path_factory.mktemp("slow"))
    yield served
    stop_server(served)


def connect(server: str) -> socket.socket:
    port = int(server.rsplit(":", 1)[1])
    return socket.create_connection(("127.0.0.1", port), timeout=10)


def read_until_closed(sock: socket.socket, limit: float) -> tuple[bytes, float]:
    """Everything the server sends until it closes, and how long that took."""
    started = time.monotonic()
    sock.settimeout(limit)
    data = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            pytest.fail(f"still open after {limit} s; got {data!r}")
        except ConnectionResetError:
            break
        if not chunk:
            break
        data += chunk
    return data, time.monotonic() - started


def head(length: int, extra: str = "") -> bytes:
    return (
        f"POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {length}\r\n{extra}\r\n"
    ).encode()


def still_answers(server: str) -> None:
    response = httpx.post(
        f"{server}/graphql", content=QUERY, headers={"content-type": "application/json"}, timeout=10
    )
    assert response.status_code == 200
    assert response.json()["data"]["concepts"]["totalCount"] > 0


def test_a_body_sent_slowly_is_cut_off(server: Served) -> None:
    with connect(server) as sock:
        sock.sendall(head(len(QUERY)) + QUERY[:5])
        started = time.monotonic()
        for byte in QUERY[5:12]:  # a byte every 0.3 s: never idle, always late
            time.sleep(0.3)
            try:
                sock.sendall(bytes([byte]))
            except (BrokenPipeError, ConnectionResetError):
                break
        data, _ = read_until_closed(sock, BODY_TIMEOUT + SLACK)
        elapsed = time.monotonic() - started
    assert data.startswith(b"HTTP/1.1 408"), data
    assert b"x-request-id:" in data.lower() and b"REQUEST_TIMEOUT" in data
    assert elapsed < BODY_TIMEOUT + SLACK
    still_answers(server)


def test_a_body_that_stops_arriving_is_cut_off(server: Served) -> None:
    with connect(server) as sock:
        sock.sendall(head(1000) + b'{"query":')
        data, elapsed = read_until_closed(sock, BODY_TIMEOUT + SLACK)
    assert data.startswith(b"HTTP/1.1 408"), data
    assert BODY_TIMEOUT - 0.2 < elapsed < BODY_TIMEOUT + SLACK
    still_answers(server)


def test_headers_sent_slowly_are_cut_off(server: Served) -> None:
    with connect(server) as sock:
        started = time.monotonic()
        sock.sendall(b"POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        for line in (b"X-A: 1\r\n", b"X-B: 2\r\n", b"X-C: 3\r\n", b"X-D: 4\r\n"):
            time.sleep(0.3)
            try:
                sock.sendall(line)
            except (BrokenPipeError, ConnectionResetError):
                break
        data, _ = read_until_closed(sock, HEADER_TIMEOUT + SLACK)
        elapsed = time.monotonic() - started
    assert data.startswith(b"HTTP/1.1 408"), data
    assert elapsed < HEADER_TIMEOUT + SLACK
    still_answers(server)


def test_a_connection_that_sends_nothing_is_closed(server: Served) -> None:
    with connect(server) as sock:
        data, elapsed = read_until_closed(sock, HEADER_TIMEOUT + SLACK)
    assert data == b""
    assert elapsed < HEADER_TIMEOUT + SLACK


def test_an_unread_body_cannot_be_trickled_in(server: Served) -> None:
    """A GET with a body the app never reads: answered, then the connection is closed."""
    with connect(server) as sock:
        sock.sendall(
            b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\n\r\n" + b"x" * 10
        )
        data, _ = read_until_closed(sock, HEADER_TIMEOUT + SLACK)
    assert data.startswith(b"HTTP/1.1 200"), data
    assert b"connection: close" in data.lower()


def test_a_fast_client_is_not_cut_off(server: Served) -> None:
    with connect(server) as sock:
        sock.sendall(head(len(QUERY)) + QUERY[:10])
        time.sleep(BODY_TIMEOUT / 3)
        sock.sendall(QUERY[10:])
        sock.settimeout(10)
        data = b""
        while b"totalCount" not in data:
            chunk = sock.recv(65536)
            assert chunk, data
            data += chunk
    assert data.startswith(b"HTTP/1.1 200")


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 100_000,
        b'{"query":"\xff"}',
        b"null",
        b"42",
        b'"q"',
        b"true",
        b"\x00\x01\x02",
        b"9" * 5000,
    ],
)
def test_hostile_bodies_over_tcp_are_400_json(server: Served, body: bytes) -> None:
    response = httpx.post(
        f"{server}/graphql", content=body, headers={"content-type": "application/json"}, timeout=10
    )
    assert response.status_code == 400, response.text
    assert response.headers["x-request-id"]
    assert response.json()["errors"][0]["message"]
    still_answers(server)


@pytest.mark.parametrize("coding", ["gzip", "br", "x-foo", "deflate, gzip"])
def test_content_codings_over_tcp_are_415(server: Served, coding: str) -> None:
    import gzip

    response = httpx.post(
        f"{server}/graphql",
        content=gzip.compress(QUERY),
        headers={"content-type": "application/json", "content-encoding": coding},
        timeout=10,
    )
    assert response.status_code == 415, response.text
    assert response.headers["x-request-id"] and response.json()["errors"]
    still_answers(server)


def test_repeats_over_tcp_keep_their_headers_and_name_no_server(server: Served) -> None:
    """A request sent again and again (the first answer computed, the later ones repeats the
    response cache and its raw-request index can answer) has the same status, headers and
    bytes over TCP; no answer names the server software."""
    answers = [
        httpx.post(
            f"{server}/graphql",
            content=QUERY,
            headers={"content-type": "application/json", "origin": "https://elsewhere.example"},
            timeout=10,
        )
        for _ in range(4)
    ]
    seen = {
        (
            a.status_code,
            tuple((k, v) for k, v in a.headers.multi_items() if k not in ("date", "x-request-id")),
            a.content,
        )
        for a in answers
    }
    assert len(seen) == 1, seen
    assert answers[0].status_code == 200 and b'"errors"' not in answers[0].content
    assert "server" not in answers[0].headers
    assert answers[0].headers["x-content-type-options"] == "nosniff"


def read_answer(sock: socket.socket, limit: float) -> bytes:
    """One HTTP answer (head and ``content-length`` bytes of body) from a kept-alive socket."""
    sock.settimeout(limit)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, data
        data += chunk
    head_part, _, body = data.partition(b"\r\n\r\n")
    length = int(
        next(
            line.split(b":", 1)[1]
            for line in head_part.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )
    )
    while len(body) < length:
        chunk = sock.recv(65536)
        assert chunk, data
        body += chunk
    return head_part + b"\r\n\r\n" + body


@dataclass(frozen=True)
class Sending:
    """A request sent in pieces: where the body is cut, whether the first piece goes with the
    headers, the pause before each later piece, and whether the client stops before the end."""

    cuts: tuple[int, ...]
    with_headers: bool
    pause: float
    stalls: bool

    def pieces(self) -> list[bytes]:
        bounds = [0, *sorted(set(self.cuts)), len(QUERY)]
        return [QUERY[a:b] for a, b in itertools.pairwise(bounds) if b > a]


sendings = st.builds(
    Sending,
    cuts=st.lists(st.integers(1, len(QUERY) - 1), max_size=3).map(tuple),
    with_headers=st.booleans(),
    pause=st.sampled_from([0.0, 0.02, 0.2]),
    stalls=st.booleans(),
)


def test_bodies_sent_in_pieces_are_answered_or_cut_off_at_their_deadline(
    server: Served,
) -> None:
    """Generated ways to send a body: in pieces, with or without the first one in the headers'
    segment, with pauses well inside the deadline, finished or stopped short. A finished body is
    answered 200; one stopped short gets 408 (with a request id) once its deadline passes,
    counted from the headers. Each is followed on the same connection by a request sent whole
    after a pause longer than the deadline: a deadline kept for an earlier request cuts off no
    later one."""
    for case in drawn(sendings, 8):
        pieces = case.pieces()
        if case.stalls:
            pieces = pieces[:-1] or [QUERY[:1]]
        with connect(server) as sock:
            first, *rest = pieces
            sock.sendall(head(len(QUERY)) + (first if case.with_headers else b""))
            started = time.monotonic()
            for piece in rest if case.with_headers else pieces:
                time.sleep(case.pause)
                sock.sendall(piece)
            if case.stalls:
                data, _ = read_until_closed(sock, BODY_TIMEOUT + SLACK)
                waited = time.monotonic() - started
                assert data.startswith(b"HTTP/1.1 408"), (case, data)
                assert b"x-request-id:" in data.lower() and b"REQUEST_TIMEOUT" in data, case
                assert waited > BODY_TIMEOUT - 0.2, (case, waited)
                continue
            answer = read_answer(sock, 10)
            assert answer.startswith(b"HTTP/1.1 200"), (case, answer)
            time.sleep(BODY_TIMEOUT + 0.3)
            sock.sendall(head(len(QUERY)) + QUERY)
            again = read_answer(sock, 10)
            assert again.startswith(b"HTTP/1.1 200"), (case, again)
