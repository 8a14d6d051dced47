"""Text a request sends must be storable: PostgreSQL text cannot hold the NUL character
(U+0000), and a statement carrying one fails inside the driver. Such a request is the
client's mistake, so it is refused before anything runs, with a clear error, instead of
reaching a store (where the failure would also count against the store's circuit breaker).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from graphql import DocumentNode, GraphQLError, StringValueNode, visit
from graphql.language import Visitor
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionResult

NUL = "\x00"
MESSAGE = "Text in a request must not contain the NUL character (U+0000); remove it and try again."


class _FindNul(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.found = False

    def enter_string_value(self, node: StringValueNode, *_args: Any) -> None:
        if NUL in node.value:
            self.found = True


def _document_has_nul(query: str, document: DocumentNode) -> bool:
    # A GraphQL document cannot hold a raw NUL, only the escape ``\u0000`` (or ``\u{0}``), so
    # only documents with a unicode escape need a look at their strings.
    if "\\u" not in query:
        return False
    finder = _FindNul()
    visit(document, finder)
    return finder.found


def has_nul(value: Any) -> bool:
    """Whether a decoded JSON value holds NUL in any string, key or value."""
    if isinstance(value, str):
        return NUL in value
    if isinstance(value, dict):
        return any(has_nul(k) or has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(has_nul(v) for v in value)
    return False


class RejectNulText(SchemaExtension):
    def on_execute(self) -> Iterator[None]:
        ctx = self.execution_context
        document = ctx.graphql_document
        if ctx.result is None and (
            has_nul(ctx.variables)
            or (document is not None and _document_has_nul(ctx.query or "", document))
        ):
            ctx.result = ExecutionResult(
                data=None,
                errors=[GraphQLError(MESSAGE, extensions={"code": "BAD_USER_INPUT"})],
            )
        yield
