"""A response cache for queries, shared by replicas when the cache port is Redis.

Key: the normalised document (printed from its AST, so spacing and comments do not matter),
the operation name, the variables and the caller's role. Each entry is stamped with the data
versions of every store, read *before* the query ran; every write to a store bumps that store's
version, so an entry computed before a write never answers after it. A mutation is therefore
visible to the very next query. Operations that read ``me`` (per user), mutations, and results
with errors are not cached.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from functools import lru_cache
from typing import Any

import orjson
from graphql import (
    ExecutionResult,
    FieldNode,
    OperationDefinitionNode,
    OperationType,
    parse,
    print_ast,
)
from prometheus_client import Counter
from strawberry.extensions import SchemaExtension

from philos.gateway.metrics import REGISTRY

RESPONSES = Counter(
    "philos_response_cache",
    "Query responses by result: hit, miss (computed and stored), skip (not cacheable).",
    ["result"],
    registry=REGISTRY,
)


def _cacheable(document: Any, operation_name: str | None) -> bool:
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    chosen = next(
        (
            o
            for o in operations
            if operation_name is None or (o.name is not None and o.name.value == operation_name)
        ),
        None,
    )
    if chosen is None or chosen.operation is not OperationType.QUERY:
        return False
    return not any(
        isinstance(sel, FieldNode) and sel.name.value == "me"
        for sel in chosen.selection_set.selections
    )


@lru_cache(maxsize=1024)
def _normalised(query: str) -> bytes:
    # Printing the AST is the costly part of the key, and a query text always prints the same,
    # so it is done once per distinct text.
    return hashlib.sha256(print_ast(parse(query, no_location=True)).encode()).digest()


def response_key(query: str, operation_name: str | None, variables: Any, role: str) -> str:
    digest = hashlib.sha256(_normalised(query))
    try:
        encoded = orjson.dumps(variables or {}, option=orjson.OPT_SORT_KEYS)
    except orjson.JSONEncodeError:  # e.g. an integer past 64 bits; coercion will reject it
        encoded = json.dumps(variables, sort_keys=True, default=repr).encode()
    for part in ((operation_name or "").encode(), encoded, role.encode()):
        digest.update(b"\0")
        digest.update(part)
    return f"rc:{digest.hexdigest()}"


class ResponseCache(SchemaExtension):
    def __init__(self, ttl: float) -> None:
        super().__init__()
        self.ttl = ttl

    async def on_execute(self) -> AsyncIterator[None]:
        ctx = self.execution_context
        context = ctx.context
        document = ctx.graphql_document
        if (
            self.ttl <= 0
            or ctx.result is not None  # already answered (e.g. rejected by the cost limit)
            or document is None
            or not _cacheable(document, ctx.operation_name)
        ):
            RESPONSES.labels("skip").inc()
            yield
            return
        stores = context.stores
        key = response_key(
            ctx.query or "", ctx.operation_name, ctx.variables, context.principal.role
        )
        versions = await stores.versions.current()
        found = (await stores.cache.get_many([key])).get(key)
        if found is not None:
            entry = orjson.loads(found)
            if entry["v"] == versions:
                RESPONSES.labels("hit").inc()
                ctx.result = ExecutionResult(data=entry["d"])
                yield
                return
        yield
        result = ctx.result
        if isinstance(result, ExecutionResult) and not result.errors and result.data is not None:
            RESPONSES.labels("miss").inc()
            entry_bytes = orjson.dumps({"v": versions, "d": result.data})
            await stores.cache.set_many({key: entry_bytes}, self.ttl)
        else:
            RESPONSES.labels("skip").inc()
