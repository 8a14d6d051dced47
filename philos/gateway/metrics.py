"""Prometheus metrics and the schema extension that records GraphQL operations.

Operation names come from clients, so they are bounded: a name must look like a GraphQL name
and only the first ``MAX_OPERATION_NAMES`` distinct ones get their own label value; the rest
share ``other``. Anonymous operations are ``anonymous``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

from graphql import GraphQLError
from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics
from strawberry.extensions import SchemaExtension

disable_created_metrics()  # type: ignore[no-untyped-call] # the *_created series only add noise to every scrape
REGISTRY = CollectorRegistry(auto_describe=True)

GRAPHQL_REQUESTS = Counter(
    "philos_graphql_requests",
    "GraphQL operations by operation name and outcome (ok, error).",
    ["operation", "outcome"],
    registry=REGISTRY,
)
GRAPHQL_DURATION = Histogram(
    "philos_graphql_request_duration_seconds",
    "Time to parse, validate and execute a GraphQL operation.",
    ["operation"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
    registry=REGISTRY,
)
HTTP_REQUESTS = Counter(
    "philos_http_requests",
    "HTTP requests by route and status code.",
    ["route", "status"],
    registry=REGISTRY,
)

MAX_OPERATION_NAMES = 200
_NAME_RE = re.compile(r"^[_A-Za-z][_0-9A-Za-z]{0,63}$")
_seen_names: set[str] = set()


def operation_label(name: str | None) -> str:
    if not name:
        return "anonymous"
    if not _NAME_RE.match(name):
        return "other"
    if name in _seen_names:
        return name
    if len(_seen_names) >= MAX_OPERATION_NAMES:
        return "other"
    _seen_names.add(name)
    return name


class OperationMetrics(SchemaExtension):
    """Counts every operation once, with its outcome, and times it."""

    def on_operation(self) -> Iterator[None]:
        started = time.perf_counter()
        yield
        ctx = self.execution_context
        label = operation_label(ctx.operation_name)
        result = ctx.result
        errors: list[GraphQLError] | None = getattr(result, "errors", None) if result else None
        if ctx.pre_execution_errors:
            errors = ctx.pre_execution_errors
        outcome = "error" if errors else "ok"
        GRAPHQL_REQUESTS.labels(label, outcome).inc()
        GRAPHQL_DURATION.labels(label).observe(time.perf_counter() - started)
