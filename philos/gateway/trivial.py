"""Answers to documents that ask only for ``__typename``, without the operation pipeline.

``{ __typename }`` and its aliased variants (``{ t123: __typename }``) are what health checks,
load balancers and client libraries send to see that a GraphQL server answers, often a new
document each time. Their answer is fixed by the document alone (the root type's name under
each response key), yet the full pipeline — a dozen extensions' hooks, parsing, validation,
the limits, the response cache, execution — costs more than a millisecond of CPU for each new
one. This module answers them from the document directly.

It answers only when the full pipeline would certainly answer the same, with no error: one
query operation (``validation.trivial_aliases``) that the parser accepts within the token
limit, no variables and no request extensions, the operation name absent or the operation's
own, at most ``max_aliases`` aliases, a cost (one per field) and an answer size within their
limits. Everything else — including every request that would fail — takes the full pipeline
and gets its usual answer. The operation is counted and logged like any other (metrics.py),
and its answer is held in the response cache as any query's, so repeats are answered before
routing (``answers.py``). What the view does around execution is unchanged: the caller's
token, the rate limits, the media type and the status code.
``tests/api/test_trivial_documents.py`` sends generated documents through both paths and
compares the responses byte for byte.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import orjson
from graphql import GraphQLError, GraphQLSchema, OperationDefinitionNode, parse
from strawberry.http import GraphQLRequestData
from strawberry.types import ExecutionResult

from philos.config import Settings
from philos.gateway.metrics import GRAPHQL_DURATION, GRAPHQL_REQUESTS, log_operation
from philos.gateway.metrics import operation_label as label_for
from philos.gateway.response_cache import response_key, scoped_key, share_answer
from philos.gateway.validation import TYPENAME, trivial_aliases

# A cheap look at the text first, so other documents are not parsed an extra time: one
# selection set with no arguments, directives, variables, fragments or nested sets.
_MAYBE_TRIVIAL = re.compile(r"[^{}()@$.\"]*\{[^{}()@$.\"]*\}[\s,]*")
CACHED_DOCUMENTS = 512


@dataclass(frozen=True, slots=True)
class Trivial:
    """A trivial document: its operation name, its response keys (in order, each once), its
    aliases and its fields."""

    name: str | None
    keys: tuple[str, ...]
    aliases: int
    fields: int


@lru_cache(maxsize=CACHED_DOCUMENTS)
def typename_answer(query: str, max_tokens: int) -> Trivial | None:
    """What the answer to a trivial document depends on; None for any other document."""
    if TYPENAME not in query or _MAYBE_TRIVIAL.fullmatch(query) is None:
        return None
    try:
        document = parse(query, no_location=True, max_tokens=max_tokens)
    except GraphQLError:
        return None  # the full path reports it
    aliases = trivial_aliases(document)
    if aliases is None:
        return None
    operation = document.definitions[0]
    assert isinstance(operation, OperationDefinitionNode)  # checked by trivial_aliases
    keys: dict[str, None] = {}
    for selection in operation.selection_set.selections:
        keys.setdefault(selection.alias.value if selection.alias else TYPENAME, None)  # type: ignore[attr-defined]
    name = operation.name.value if operation.name else None
    return Trivial(name, tuple(keys), aliases, len(operation.selection_set.selections))


class TypenameAnswers:
    """The fast path of ``PhilosGraphQL.execute_single`` (see the module docstring)."""

    def __init__(self, settings: Settings, schema: GraphQLSchema) -> None:
        self.max_tokens = settings.max_tokens
        self.max_aliases = settings.max_aliases
        self.max_cost = settings.max_cost
        self.max_bytes = settings.max_response_bytes
        self.ttl = settings.response_cache_ttl
        self.namespace = settings.subgraph or ""
        query_type = schema.query_type
        self.root_name = query_type.name if query_type is not None else None

    async def answer(self, request: GraphQLRequestData, context: Any) -> ExecutionResult | None:
        started = time.perf_counter()
        query = request.query
        if (
            not isinstance(query, str)
            or self.root_name is None
            or request.variables
            or request.extensions
        ):
            return None
        found = typename_answer(query, self.max_tokens)
        if found is None:
            return None
        if (
            found.aliases > self.max_aliases
            or found.fields > self.max_cost  # each ``__typename`` costs one
            or (request.operation_name is not None and request.operation_name != found.name)
        ):
            return None
        data: dict[str, Any] = dict.fromkeys(found.keys, self.root_name)
        encoded = orjson.dumps(data)
        if len(encoded) > self.max_bytes:
            return None
        # Named as the pipeline names it: as requested, else the operation's own name.
        name = found.name if request.operation_name is None else request.operation_name
        if self.ttl > 0:  # as the response cache would, so a repeat is answered before routing
            key = response_key(query, name, {}, context.principal.role)
            await share_answer(context, scoped_key(key, self.namespace), encoded, name, self.ttl)
        elapsed = time.perf_counter() - started
        label = label_for(name)
        GRAPHQL_REQUESTS.labels(label, "ok").inc()
        GRAPHQL_DURATION.labels(label).observe(elapsed)
        log_operation(name, "query", "ok", elapsed, 0)
        return ExecutionResult(data=data, errors=None)
