"""Answers from the response cache without running GraphQL.

A query whose answer the response cache holds still costs, on the normal path, routing, the
request-id and body-limit middleware, the Strawberry view (body parsing, context, extension
pipeline), the response-cache key (normalised document, variables, role) and the encoding of the
response. Most repeated queries are byte-for-byte repeats of an earlier request, so this
module remembers, per *raw* request, which response-cache entry answered it:

- the raw key is a digest of the method, ``Content-Type``, ``Accept``, query string and body
  bytes, together with the caller's role (from the ``Authorization`` token, verified as the
  normal path does); every input the normal path's answer depends on is part of it;
- the view records a raw key after the normal path answered it from, or into, the response
  cache, and only when the body it sent is exactly the entry's ``data`` spliced into
  ``{"data": …}`` (so batches, errors or anything else never qualify);
- ``CachedAnswers``, the outermost middleware, looks the raw key up; on a hit it reads the
  current data versions and the entry in one cache call, and answers only if the entry is still
  current. Anything else (unknown request, stale or evicted entry, a token that does not verify,
  a streamed or oversized body, duplicated headers) goes down the normal path unchanged.

A hit does everything the normal path does around a cached answer: the request id, the body
limit, the per-IP and per-user rate limits (429 with ``Retry-After``), the negotiated media
type, the Prometheus counters and histogram and the ``graphql.operation`` log line. The index
is bounded (least recently used out, ``INDEX_SIZE`` entries of a few hundred bytes each) and
per process; the entries themselves live in the cache, shared by replicas.
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from prometheus_client import Counter, Histogram

from philos.datasources.resilience import request_deadline
from philos.gateway.metrics import (
    GRAPHQL_DURATION,
    GRAPHQL_REQUESTS,
    log_operation,
    operation_label,
)
from philos.gateway.middleware import bind_request
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
    from philos.gateway.callers import Callers
    from philos.gateway.state import AppState

INDEX_SIZE = 4096
RAW_KEY = "philos.raw_request_key"
# Headers the answer, the caller or the limits depend on. A request that repeats one of them
# is left to the normal path, which reads them its own way.
_WATCHED = frozenset(
    {
        b"accept",
        b"authorization",
        b"content-length",
        b"content-type",
        b"x-request-id",
    }
)
_DATA_OPEN = b'{"data":'
_DATA_CLOSE = b"}"

RawKey = tuple[bytes, str]


@dataclass(frozen=True, slots=True)
class IndexedAnswer:
    """What a hit needs: the entry to read, how the normal path framed it, what to count."""

    cache_key: str
    operation_name: str | None
    status: int
    headers: tuple[tuple[bytes, bytes], ...]  # as sent, content-length's value left empty
    requests_ok: Counter
    duration: Histogram

    def response_headers(self, body_length: int, request_id: str) -> list[tuple[bytes, bytes]]:
        length = str(body_length).encode()
        headers = [(name, length if name == b"content-length" else v) for name, v in self.headers]
        headers.append((b"x-request-id", request_id.encode()))
        return headers


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

    def record(self, key: RawKey, note: CachedAnswer | None, response: Response) -> None:
        """Remember ``key`` if ``response`` is exactly the cached answer ``note`` framed."""
        if (
            self.max_entries <= 0
            or note is None
            or response.status_code != 200
            or response.background is not None
        ):
            return
        body = getattr(response, "body", None)
        if not isinstance(body, bytes) or len(body) != len(note.data) + len(_DATA_OPEN) + 1:
            return
        if body != _DATA_OPEN + note.data + _DATA_CLOSE:
            return
        headers = tuple(
            (name, b"" if name == b"content-length" else value)
            for name, value in response.raw_headers
        )
        if sum(name == b"content-length" for name, _ in headers) != 1:
            return
        label = operation_label(note.operation_name)
        self._answers[key] = IndexedAnswer(
            cache_key=note.key,
            operation_name=note.operation_name,
            status=response.status_code,
            headers=headers,
            requests_ok=GRAPHQL_REQUESTS.labels(label, "ok"),
            duration=GRAPHQL_DURATION.labels(label),
        )
        self._answers.move_to_end(key)
        while len(self._answers) > self.max_entries:
            self._answers.popitem(last=False)


def raw_digest(
    method: bytes, content_type: bytes, accept: bytes, query_string: bytes, body: bytes
) -> bytes:
    """A digest of every part of a request the answer may depend on (the caller aside)."""
    parts = (method, content_type, accept, query_string)
    prefix = b"".join(len(p).to_bytes(4, "big") + p for p in parts)
    return hashlib.blake2b(prefix + body, digest_size=32).digest()


def _replaying(messages: Sequence[Message], receive: Receive) -> Receive:
    """``receive`` that first hands out the messages already read."""
    pending = list(messages)

    async def replay() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replay


class CachedAnswers:
    """ASGI middleware: answer ``/graphql`` requests the ``AnswerIndex`` knows from the cache."""

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
        messages: list[Message] = []
        body = b""
        if method == "POST":
            declared = watched.get(b"content-length", b"")
            if declared.isdigit() and int(declared) > self.max_bytes:
                await self.app(scope, receive, send)
                return
            chunks: list[bytes] = []
            size = 0
            while True:
                message = await receive()
                messages.append(message)
                if message["type"] != "http.request":
                    break
                chunk = message.get("body", b"")
                chunks.append(chunk)
                size += len(chunk)
                if size > self.max_bytes or not message.get("more_body", False):
                    break
            if message["type"] != "http.request" or message.get("more_body", False):
                await self.app(scope, _replaying(messages, receive), send)
                return
            body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        downstream = _replaying(messages, receive) if messages else receive
        if not await self._answer(scope, watched, body, send):
            await self.app(scope, downstream, send)

    async def _answer(
        self, scope: Scope, watched: dict[bytes, bytes], body: bytes, send: Send
    ) -> bool:
        """Answer from the cache and return True, or return False for the normal path."""
        authorization = watched.get(b"authorization")
        principal = self.callers.principal_or_none(
            None if authorization is None else authorization.decode("latin-1")
        )
        if principal is None:  # the normal path answers 401
            return False
        key: RawKey = (
            raw_digest(
                scope["method"].encode(),
                watched.get(b"content-type", b""),
                watched.get(b"accept", b""),
                scope.get("query_string", b""),
                body,
            ),
            principal.role.value,
        )
        scope.setdefault("state", {})[RAW_KEY] = key
        answer = self.index.get(key)
        if answer is None:
            return False
        started = time.perf_counter()
        request_id = bind_request(scope, principal)
        request_deadline.set(time.monotonic() + self.timeout)
        stores = self.state.stores
        assert stores is not None  # checked by the caller
        stamp, found = await stores.versions.stamp_with([answer.cache_key])
        data = fresh_data(found.get(answer.cache_key), stamp)
        if data is None:
            return False
        client = scope.get("client")
        ip = client[0] if client else "unknown"
        limited = await self.callers.over_limit(stores.cache, ip, principal)
        if limited is not None:
            await _send(limited, request_id, send)
            return True
        body_out = _DATA_OPEN + data + _DATA_CLOSE
        self.index.hits += 1
        elapsed = time.perf_counter() - started
        RESPONSE_HITS.inc()
        answer.requests_ok.inc()
        answer.duration.observe(elapsed)
        log_operation(answer.operation_name, "query", "ok", elapsed, 0)
        await send(
            {
                "type": "http.response.start",
                "status": answer.status,
                "headers": answer.response_headers(len(body_out), request_id),
            }
        )
        await send({"type": "http.response.body", "body": body_out})
        return True


async def _send(response: Response, request_id: str, send: Send) -> None:
    headers = [*response.raw_headers, (b"x-request-id", request_id.encode())]
    await send({"type": "http.response.start", "status": response.status_code, "headers": headers})
    await send({"type": "http.response.body", "body": response.body})


def record_answer(index: AnswerIndex, scope: Scope, response: Response) -> None:
    """After the normal path: index the raw request if the cache answered it."""
    state: dict[str, Any] = scope.get("state") or {}
    key = state.get(RAW_KEY)
    if key is not None:
        index.record(key, state.get(ANSWER_NOTE), response)
