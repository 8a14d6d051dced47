"""The schema extension that answers compilable queries with one SQL statement.

It runs after the limits and the response cache (a cached answer is served as before) and only
when the stores offer a JSON reader (``Stores.json_reader``: everything in one PostgreSQL
database). A query it cannot compile, or a statement that fails, runs through the resolvers
instead, so every error is still reported by the usual path with its field path.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import orjson
from graphql import ExecutionResult
from prometheus_client import Counter
from strawberry.extensions import SchemaExtension

from philos.compile.sql import compile_operation
from philos.metrics import REGISTRY

logger = logging.getLogger("philos.compile")

COMPILED = Counter(
    "philos_compiled_queries",
    "Queries by how they ran: sql (one compiled statement), resolvers (not compilable), "
    "fallback (the statement failed and the resolvers answered).",
    ["result"],
    registry=REGISTRY,
)


class CompiledQueries(SchemaExtension):
    async def on_execute(self) -> AsyncIterator[None]:
        ctx = self.execution_context
        reader = ctx.context.stores.json_reader
        if reader is None or ctx.result is not None or ctx.graphql_document is None:
            yield
            return
        schema: Any = ctx.schema
        statement = compile_operation(
            schema._schema, ctx.graphql_document, ctx.operation_name, ctx.variables
        )
        if statement is None:
            COMPILED.labels("resolvers").inc()
            yield
            return
        try:
            text = await reader.read_json(statement.sql, statement.params)
        except Exception as exc:  # the resolvers run instead and report what is wrong
            logger.warning("compiled query failed, running resolvers: %r", exc)
            COMPILED.labels("fallback").inc()
        else:
            COMPILED.labels("sql").inc()
            ctx.result = ExecutionResult(data=orjson.loads(text))
        yield
