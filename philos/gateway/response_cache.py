"""A response cache for queries, shared by replicas when the cache port is Redis.

Key: the document's tokens (so spacing, commas and comments do not matter), the operation
name, the variables and the caller's role. Each entry is stamped with the data
versions of every store, read *before* the query ran (in the same round trip as the entry);
every write to a store bumps that store's version, so an entry computed before a write never
answers after it. A mutation is therefore visible to the very next query. Mutations, results
with errors, and operations that can reach a field marked per caller (``me``: see
``types/hints.py``; reached directly, through fragments, inline fragments or aliases, at any
depth) are not cached, so one caller's own data is never answered to another.

An entry is the stamp, a newline, and the ``data`` JSON exactly as it is sent, so an answer
from the cache is spliced into the response body without decoding it. The view notes each
cached answer on the request (``ANSWER_NOTE``), so ``gateway/answers.py`` can answer the same
raw request again without running GraphQL at all.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, cast

import orjson
from graphql import (
    DocumentNode,
    ExecutionResult,
    GraphQLSchema,
    OperationType,
    Source,
    TokenKind,
)
from graphql.language import Lexer
from prometheus_client import Counter
from strawberry.extensions import SchemaExtension

from philos.gateway.documents import chosen_operation, selected_fields
from philos.metrics import REGISTRY
from philos.types.hints import PER_CALLER, metadata

RESPONSES = Counter(
    "philos_response_cache",
    "Query responses by result: hit, miss (computed and stored), skip (not cacheable).",
    ["result"],
    registry=REGISTRY,
)
RESPONSE_HITS = RESPONSES.labels("hit")
# The key prefix names the entry format, so replicas of different releases never read each
# other's entries.
KEY_PREFIX = "rc2:"
ANSWER_NOTE = "philos.cached_answer"


@dataclass(frozen=True, slots=True)
class CachedAnswer:
    """A query's answer as the response cache holds it: its entry key and ``data`` bytes."""

    key: str
    data: bytes
    operation_name: str | None


def encode_entry(stamp: bytes, data: bytes) -> bytes:
    return stamp + b"\n" + data


def fresh_data(entry: bytes | None, stamp: bytes) -> bytes | None:
    """The ``data`` bytes of ``entry`` if it was computed at the data versions ``stamp``."""
    if entry is None:
        return None
    entry_stamp, newline, data = entry.partition(b"\n")
    return data if newline and entry_stamp == stamp else None


def _note(context: Any, answer: CachedAnswer) -> None:
    state = getattr(getattr(context, "request", None), "scope", {}).get("state")
    if isinstance(state, dict):
        state[ANSWER_NOTE] = answer


def _cacheable(schema: GraphQLSchema, document: DocumentNode, operation_name: str | None) -> bool:
    """A query none of whose reachable fields is marked per caller (``types/hints.py``)."""
    chosen = chosen_operation(document, operation_name)
    if chosen is None or chosen.operation is not OperationType.QUERY:
        return False
    return not any(
        metadata(definition).get(PER_CALLER)
        for selected in selected_fields(schema, document, chosen)
        for definition in selected.definitions
    )


@lru_cache(maxsize=1024)
def _normalised(query: str) -> bytes:
    """A digest of the document's tokens: spacing, commas and comments do not count. (Two
    texts with the same tokens are the same document.) Lexing costs a fraction of parsing
    the text and printing the document back."""
    digest = hashlib.sha256()
    lexer = Lexer(Source(query))
    token = lexer.advance()
    while token.kind is not TokenKind.EOF:
        value = (token.value or "").encode("utf-8", "surrogatepass")
        digest.update(b"%s:%d:%s" % (token.kind.value.encode(), len(value), value))
        token = lexer.advance()
    return digest.digest()


def response_key(query: str, operation_name: str | None, variables: Any, role: str) -> str:
    digest = hashlib.sha256(_normalised(query))
    try:
        encoded = orjson.dumps(variables or {}, option=orjson.OPT_SORT_KEYS)
    except orjson.JSONEncodeError:  # e.g. an integer past 64 bits; coercion will reject it
        encoded = json.dumps(variables, sort_keys=True, default=repr).encode()
    for part in ((operation_name or "").encode(), encoded, role.encode()):
        digest.update(b"\0")
        digest.update(part)
    return f"{KEY_PREFIX}{digest.hexdigest()}"


def scoped_key(key: str, namespace: str) -> str:
    """``key`` for one schema among several sharing a cache: each federated subgraph answers
    the same document (``{ _service { sdl } }``) its own way."""
    return f"{KEY_PREFIX}{namespace}:{key.removeprefix(KEY_PREFIX)}" if namespace else key


async def share_answer(
    context: Any, key: str, data: bytes, operation_name: str | None, ttl: float
) -> None:
    """Hold ``data``, an answer computed without the pipeline (``gateway/trivial.py``), under
    ``key`` as ``ResponseCache`` would, so a byte-for-byte repeat is answered before routing."""
    stores = context.stores
    stamp, found = await stores.versions.stamp_with([key])
    if fresh_data(found.get(key), stamp) is None:
        RESPONSES.labels("miss").inc()
        await stores.cache.set_many({key: encode_entry(stamp, data)}, ttl)
    else:
        RESPONSE_HITS.inc()
    _note(context, CachedAnswer(key, data, operation_name))


class ResponseCache(SchemaExtension):
    def __init__(self, ttl: float, namespace: str = "") -> None:
        super().__init__()
        self.ttl = ttl
        self.namespace = namespace

    async def on_execute(self) -> AsyncIterator[None]:
        ctx = self.execution_context
        context = ctx.context
        document = ctx.graphql_document
        if (
            self.ttl <= 0
            or ctx.result is not None  # already answered (e.g. rejected by the cost limit)
            or document is None
            or not _cacheable(ctx.schema._schema, document, ctx.operation_name)
        ):
            RESPONSES.labels("skip").inc()
            yield
            return
        stores = context.stores
        key = scoped_key(
            response_key(
                ctx.query or "", ctx.operation_name, ctx.variables, context.principal.role
            ),
            self.namespace,
        )
        stamp, found = await stores.versions.stamp_with([key])
        data = fresh_data(found.get(key), stamp)
        if data is not None:
            RESPONSE_HITS.inc()
            ctx.result = ExecutionResult(data=cast(Any, orjson.Fragment(data)))
            _note(context, CachedAnswer(key, data, ctx.operation_name))
            yield
            return
        yield
        result = ctx.result
        if isinstance(result, ExecutionResult) and not result.errors and result.data is not None:
            RESPONSES.labels("miss").inc()
            data = orjson.dumps(result.data)
            await stores.cache.set_many({key: encode_entry(stamp, data)}, self.ttl)
            _note(context, CachedAnswer(key, data, ctx.operation_name))
        else:
            RESPONSES.labels("skip").inc()
