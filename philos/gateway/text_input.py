"""Text a request sends must be storable by every store: valid Unicode that encodes as UTF-8
(no lone surrogate such as ``"\\ud800"``, which JSON and GraphQL escapes can carry but no
encoder accepts) and without the NUL character (U+0000, which PostgreSQL text cannot hold).

Such text fails inside a driver, and the failure used to count against the store's circuit
breaker, so a handful of requests could take a store out for everyone. It is the client's
mistake, so it is refused before anything runs, with a clear ``BAD_USER_INPUT`` error naming
where it was: every string in the variables (keys too) and every string literal in the
document, whatever argument, input field or directive it belongs to.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from graphql import DocumentNode, GraphQLError, StringValueNode, visit
from graphql.language import Visitor
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionResult

NUL = "\x00"


def text_problem(value: str) -> str | None:
    """Why ``value`` cannot be stored, or None when it can."""
    if NUL in value:
        return "contains the NUL character (U+0000)"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "is not valid Unicode (it holds a lone surrogate such as \\ud800)"
    return None


def variable_problem(value: Any, path: str) -> str | None:
    """The first unstorable string in a decoded JSON value, as ``where: why``."""
    if isinstance(value, str):
        problem = text_problem(value)
        return f"{path} {problem}" if problem else None
    if isinstance(value, dict):
        for key, item in value.items():
            key_problem = text_problem(key) if isinstance(key, str) else None
            if key_problem:
                return f"a key in {path} {key_problem}"
            found = variable_problem(item, f"{path}.{key}")
            if found:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = variable_problem(item, f"{path}[{index}]")
            if found:
                return found
    return None


class _FindUnstorable(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.problem: str | None = None

    def enter_string_value(self, node: StringValueNode, *_args: Any) -> Any:
        problem = text_problem(node.value)
        if problem:
            self.problem = f"a string in the query {problem}"
            return Visitor.BREAK
        return None


def document_problem(query: str, document: DocumentNode) -> str | None:
    # A parsed document holds NUL or a surrogate only if its text does (raw, or as a
    # ``\\u`` escape), so plain documents skip the walk.
    if "\\u" not in query and text_problem(query) is None:
        return None
    finder = _FindUnstorable()
    visit(document, finder)
    return finder.problem


def bad_input(message: str) -> ExecutionResult:
    return ExecutionResult(
        data=None, errors=[GraphQLError(message, extensions={"code": "BAD_USER_INPUT"})]
    )


class RejectUnstorableText(SchemaExtension):
    def on_execute(self) -> Iterator[None]:
        ctx = self.execution_context
        document = ctx.graphql_document
        if ctx.result is None:
            problem = variable_problem(ctx.variables or {}, "variables")
            if problem is None and document is not None:
                problem = document_problem(ctx.query or "", document)
            if problem is not None:
                ctx.result = bad_input(
                    f"Text in a request must be valid Unicode without NUL: {problem}. "
                    "Remove it and try again."
                )
        yield
