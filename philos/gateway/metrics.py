"""Prometheus metrics and the schema extension that records GraphQL operations.

Operation names come from clients, so they are bounded: a name must look like a GraphQL name
and only the first ``MAX_OPERATION_NAMES`` distinct ones get their own label value; the rest
share ``other``. Anonymous operations are ``anonymous``.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator

import structlog
from graphql import GraphQLError
from prometheus_client import Counter, Histogram
from strawberry.extensions import SchemaExtension

from philos.gateway import logs
from philos.metrics import REGISTRY

access_log = structlog.stdlib.get_logger("philos.access")

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
_NAME_RE = re.compile(r"^[_A-Za-z][_0-9A-Za-z]{0,63}\Z")
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
        elapsed = time.perf_counter() - started
        GRAPHQL_REQUESTS.labels(label, outcome).inc()
        GRAPHQL_DURATION.labels(label).observe(elapsed)
        log_operation(ctx.operation_name, _operation_type(ctx), outcome, elapsed, len(errors or ()))


_access_logger = logging.getLogger("philos.access")


def log_operation(
    name: str | None, operation_type: str | None, outcome: str, elapsed: float, errors: int
) -> None:
    """The ``graphql.operation`` access log line (skipped when its level is filtered out)."""
    if logs.is_configured() and not _access_logger.isEnabledFor(logging.INFO):
        return
    access_log.info(
        "graphql.operation",
        operation=name or "anonymous",
        operation_type=operation_type,
        outcome=outcome,
        duration_ms=round(elapsed * 1000, 2),
        errors=errors,
    )


def _operation_type(ctx: object) -> str | None:
    try:
        return str(ctx.operation_type.value)  # type: ignore[attr-defined]
    except Exception:  # not parsed (a syntax error): no type to report
        return None
