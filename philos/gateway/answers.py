"""Answers from the response cache without running GraphQL.

A query whose answer the response cache holds still costs, on the normal path, the outer
middleware, routing, the Strawberry view (body parsing, context, extension pipeline), the
response-cache key (normalised document, variables, role) and the encoding of the response.
Most repeated queries are byte-for-byte repeats of an earlier request, so this module
remembers, per *raw* request, which response-cache entry answered it and what was sent:

- the raw key is a digest of the method, ``Content-Type``, ``Accept``, ``Origin``, query string
  and body bytes, together with the caller's role (from the ``Authorization`` token, verified
  as the normal path does); every input the answer's bytes and headers depend on is part of it;
- the view notes a cached answer after the normal path answered from, or into, the response
  cache, and only when the body it sends is exactly the entry's ``data`` spliced into
  ``{"data": …}`` (so batches, errors or anything else never qualify); the index takes the
  answer's headers as they leave the app, after every middleware added its own;
- ``CachedAnswers``, the outermost middleware, looks the raw key up; on a hit it reads the
  current data versions and the entry in one cache call, and answers only if the entry is still
  current. Anything else (unknown request, stale or evicted entry, a token that does not verify,
  a body that is encoded, chunked, oversized or late, duplicated headers, a failure of its own)
  goes down the normal path unchanged.

Being outermost, a hit does what the middleware below would have done around a cached answer:
the request id, the body limit and body deadline, the request's store-call deadline, the
per-IP and per-user rate limits (a 429 is sent down the normal path, so it gets every header
an answer there gets), the negotiated media type, the security and CORS headers (recorded with
the answer), the Prometheus counters and histogram and the ``graphql.operation`` log line. The
index is bounded (least recently used out, ``INDEX_SIZE`` entries of a few hundred bytes each)
and per process; the entries themselves live in the cache, shared by replicas.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections import OrderedDict
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from prometheus_client import Counter, Histogram

from philos.datasources.resilience import request_deadline
from philos.errors import BodyTimeout
from philos.gateway.metrics import (
    GRAPHQL_DURATION,
    GRAPHQL_REQUESTS,
    log_operation,
    operation_label,
)
from philos.gateway.middleware import BODY_IN_HAND, bind_request, body_deadline, request_id_for
from philos.gateway.response_cache import (
    ANSWER_NOTE,
    RESPONSE_HITS,
    CachedAnswer,
    fresh_data,
)

if TYPE_CHECKING:
    from starlette.responses import Response
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

    from philos.config import Settings
    from philos.domain import Principal
    from philos.gateway.callers import Callers
    from philos.gateway.state import AppState

logger = logging.getLogger("philos.errors")

INDEX_SIZE = 4096
RAW_KEY = "philos.raw_request_key"
# A cached answer the view sent, for the index to record with the headers it leaves with.
PENDING = "philos.answer_to_index"
# A 429 a hit decided on, for the view to send (so the normal path's headers frame it).
LIMITED = "philos.rate_limited"
# Headers the answer, the caller or the limits depend on. A request that repeats one of them
# is left to the normal path, which reads them its own way.
_WATCHED = frozenset(
    {
        b"accept",
        b"authorization",
        b"content-length",
        b"content-type",
        b"origin",
        b"x-request-id",
    }
)
# Headers that send a request down the normal path, which checks and answers them
# (``RequestGuard``: only identity coding; a chunked body is read there).
_ELSEWHERE = frozenset({b"content-encoding", b"transfer-encoding"})
_DATA_OPEN = b'{"data":'
_DATA_CLOSE = b"}"

RawKey = tuple[bytes, str]
Headers = tuple[tuple[bytes, bytes], ...]


@dataclass(frozen=True, slots=True)
class IndexedAnswer:
    """What a hit needs: the entry to read, the headers of its 200, what to count."""

    cache_key: str
    operation_name: str | None
    headers: Headers  # as sent, content-length's value left empty, x-request-id left out
    requests_ok: Counter
    duration: Histogram

    def response_headers(self, body_length: int, request_id: str) -> list[tuple[bytes, bytes]]:
        length = str(body_length).encode()
        headers = [(name, length if name == b"content-length" else v) for name, v in self.headers]
        headers.append((b"x-request-id", request_id.encode()))
        return headers


def framed(note: CachedAnswer | None, response: Response) -> CachedAnswer | None:
    """``note`` if ``response`` is exactly the cached answer it names, framed as a hit frames
    it; None for anything else (another status, a batch, errors, a background task)."""
    if note is None or response.status_code != 200 or response.background is not None:
        return None
    body = getattr(response, "body", None)
    if not isinstance(body, bytes) or len(body) != len(note.data) + len(_DATA_OPEN) + 1:
        return None
    if body != _DATA_OPEN + note.data + _DATA_CLOSE:
        return None
    return note


def sent_headers(message: Message) -> Headers | None:
    """The headers of an ``http.response.start`` as a hit replays them: the one
    ``content-length`` with its value left empty, the one ``x-request-id`` left out; None when
    they are not one of each, or say anything about the connection."""
    headers: list[tuple[bytes, bytes]] = []
    lengths = ids = 0
    for name, value in message.get("headers", ()):
        lowered = bytes(name).lower()
        if lowered == b"content-length":
            lengths += 1
            headers.append((lowered, b""))
        elif lowered == b"x-request-id":
            ids += 1
        elif lowered == b"connection":
            return None
        else:
            headers.append((bytes(name), bytes(value)))
    return tuple(headers) if lengths == 1 and ids == 1 else None


class AnswerIndex:
    """Raw request → the response-cache entry that answers it; bounded, LRU."""

    def __init__(self, max_entries: int = INDEX_SIZE) -> None:
        self.max_entries = max_entries
        self.hits = 0  # requests answered through the index
        self._answers: OrderedDict[RawKey, IndexedAnswer] = OrderedDict()

    def __len__(self) -> int:
        return len(self._answers)

    def get(self, key: RawKey) -> IndexedAnswer | None:
        answer = self._answers.get(key)
        if answer is not None:
            self._answers.move_to_end(key)
        return answer

    def record(self, key: RawKey, note: CachedAnswer | None, start: Message) -> None:
        """Remember ``key`` as answered by ``note`` with the response that ``start`` began."""
        if self.max_entries <= 0 or note is None or start.get("status") != 200:
            return
        headers = sent_headers(start)
        if headers is None:
            return
        label = operation_label(note.operation_name)
        self._answers[key] = IndexedAnswer(
            cache_key=note.key,
            operation_name=note.operation_name,
            headers=headers,
            requests_ok=GRAPHQL_REQUESTS.labels(label, "ok"),
            duration=GRAPHQL_DURATION.labels(label),
        )
        self._answers.move_to_end(key)
        while len(self._answers) > self.max_entries:
            self._answers.popitem(last=False)


def raw_digest(
    method: bytes,
    content_type: bytes,
    accept: bytes,
    origin: bytes,
    query_string: bytes,
    body: bytes,
) -> bytes:
    """A digest of every part of a request the answer may depend on (the caller aside)."""
    parts = (method, content_type, accept, origin, query_string)
    prefix = b"".join(len(p).to_bytes(4, "big") + p for p in parts)
    return hashlib.blake2b(prefix + body, digest_size=32).digest()


def _replaying(messages: Sequence[Message], receive: Receive, *, late: bool = False) -> Receive:
    """``receive`` that first hands out the messages already read; if the body was ``late``,
    then raises ``BodyTimeout`` (which ``RequestGuard`` answers with 408)."""
    pending = list(messages)

    async def replay() -> Message:
        if pending:
            return pending.pop(0)
        if late:
            raise BodyTimeout
        return await receive()

    return replay


class CachedAnswers:
    """ASGI middleware, outermost: answer ``/graphql`` requests the ``AnswerIndex`` knows from
    the cache, and index the ones the normal path answered from it."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        settings: Settings,
        state: AppState,
        callers: Callers,
        index: AnswerIndex,
    ) -> None:
        self.app = app
        self.state = state
        self.callers = callers
        self.index = index
        self.enabled = settings.response_cache_ttl > 0
        self.max_bytes = settings.max_body_bytes
        self.timeout = settings.request_timeout
        self.body_timeout = settings.body_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            not self.enabled
            or scope["type"] != "http"
            or scope["path"] != "/graphql"
            or scope.get("root_path")
            or self.state.stores is None
        ):
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        if method not in ("GET", "POST"):
            await self.app(scope, receive, send)
            return
        watched: dict[bytes, bytes] = {}
        for name, value in scope["headers"]:
            if name in _WATCHED:
                if name in watched:
                    await self.app(scope, receive, send)
                    return
                watched[name] = value
            elif name in _ELSEWHERE:
                await self.app(scope, receive, send)
                return
        declared = watched.get(b"content-length", b"")
        messages: list[Message] = []
        body = b""
        if method == "GET":
            if declared not in (b"", b"0"):  # a GET with a body: RequestGuard's to answer
                await self.app(scope, receive, send)
                return
        else:
            if not declared.isdigit() or int(declared) > self.max_bytes:
                await self.app(scope, receive, send)
                return
            read, late = await self._body(scope, receive, messages, int(declared))
            if read is None:
                await self.app(scope, _replaying(messages, receive, late=late), send)
                return
            body = read
        downstream = _replaying(messages, receive) if messages else receive
        state = scope.setdefault("state", {})
        if messages:
            state[BODY_IN_HAND] = True
        state["request_id"] = request_id_for(watched.get(b"x-request-id", b""))
        authorization = watched.get(b"authorization")
        principal = self.callers.principal_or_none(
            None if authorization is None else authorization.decode("latin-1")
        )
        if principal is None:  # the normal path answers 401
            await self.app(scope, downstream, send)
            return
        key: RawKey = (
            raw_digest(
                method.encode(),
                watched.get(b"content-type", b""),
                watched.get(b"accept", b""),
                watched.get(b"origin", b""),
                scope.get("query_string", b""),
                body,
            ),
            principal.role.value,
        )
        state[RAW_KEY] = key
        answer = self.index.get(key)
        if answer is not None:
            try:
                hit = await self._answer(scope, answer, principal)
            except Exception:  # a bug of ours: the normal path still answers
                logger.exception("answering a repeated request from the cache failed")
                hit = None
            if hit is not None:
                headers, body_out = hit
                await send({"type": "http.response.start", "status": 200, "headers": headers})
                await send({"type": "http.response.body", "body": body_out})
                return
        await self.app(scope, downstream, self._recording(scope, key, send))

    async def _body(
        self, scope: Scope, receive: Receive, messages: list[Message], declared: int
    ) -> tuple[bytes | None, bool]:
        """The request body (``declared`` bytes, read within the body deadline), or None with
        what was read in ``messages`` when it was not that; and whether it came too late.
        The deadline is the server's when it keeps one, else timed here."""
        chunks: list[bytes] = []
        size = 0
        kept = body_deadline(scope)
        try:
            async with nullcontext() if kept is not None else asyncio.timeout(self.body_timeout):
                while True:
                    message = await receive()
                    messages.append(message)
                    if message["type"] != "http.request":
                        return None, False
                    more = message.get("more_body", False)
                    if more and kept is not None and kept.late:
                        return None, True
                    chunk = message.get("body", b"")
                    chunks.append(chunk)
                    size += len(chunk)
                    if size > declared or not more:
                        break
        except TimeoutError:
            return None, True
        if size != declared:
            return None, False
        return (chunks[0] if len(chunks) == 1 else b"".join(chunks)), False

    async def _answer(
        self, scope: Scope, answer: IndexedAnswer, principal: Principal
    ) -> tuple[list[tuple[bytes, bytes]], bytes] | None:
        """The headers and body of the answer, or None for the normal path (which, when the
        caller is over a limit, sends the 429 noted for it)."""
        started = time.perf_counter()
        request_id = bind_request(scope, principal)
        token = request_deadline.set(time.monotonic() + self.timeout)
        try:
            stores = self.state.stores
            assert stores is not None  # checked by the caller
            stamp, found = await stores.versions.stamp_with([answer.cache_key])
            data = fresh_data(found.get(answer.cache_key), stamp)
            if data is None:
                return None
            client = scope.get("client")
            ip = client[0] if client else "unknown"
            limited = await self.callers.over_limit(stores.cache, ip, principal)
        finally:
            request_deadline.reset(token)
        if limited is not None:
            scope["state"][LIMITED] = limited
            return None
        body_out = _DATA_OPEN + data + _DATA_CLOSE
        self.index.hits += 1
        elapsed = time.perf_counter() - started
        RESPONSE_HITS.inc()
        answer.requests_ok.inc()
        answer.duration.observe(elapsed)
        log_operation(answer.operation_name, "query", "ok", elapsed, 0)
        return answer.response_headers(len(body_out), request_id), body_out

    def _recording(self, scope: Scope, key: RawKey, send: Send) -> Send:
        """``send`` that indexes ``key`` when the view noted a cached answer for it."""
        if self.index.max_entries <= 0:
            return send

        async def recording(message: Message) -> None:
            if message["type"] == "http.response.start":
                note = scope["state"].pop(PENDING, None)
                if note is not None:
                    self.index.record(key, note, message)
            await send(message)

        return recording


def note_answer(scope: Scope, response: Response) -> None:
    """After the normal path: note the answer for the index if the cache answered it."""
    state: dict[str, Any] = scope.get("state") or {}
    if RAW_KEY in state:
        note = framed(state.get(ANSWER_NOTE), response)
        if note is not None:
            state[PENDING] = note
