"""Lists a request sends are bounded: each list argument and list input field takes at most the
number of items its declaration states (``types/hints.py``; the schema's description says it).

A list of a thousand tags used to reach the store as a thousand conditions, where SQLite
refused it ("Expression tree is too large") and the failure counted against the store's
breaker. The limits are checked before anything runs, on the values as sent — written in the
document or passed as variables, at any depth of input objects — and a request over one gets
``BAD_USER_INPUT`` naming the argument, its limit and what was sent. A list with no stated
limit is held to ``DEFAULT_MAX_ITEMS``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLSchema,
    ValueNode,
    value_from_ast_untyped,
)
from strawberry.extensions import SchemaExtension

from philos.gateway.documents import PerDocument, chosen_operation, selected_fields
from philos.gateway.text_input import bad_input
from philos.types.hints import MAX_ITEMS, metadata

DEFAULT_MAX_ITEMS = 100


def _over(value: Any, kind: GraphQLInputType, limit: int | None, path: str) -> str | None:
    """The first list in ``value`` longer than its limit, described; None if all fit."""
    if isinstance(kind, GraphQLNonNull):
        kind = kind.of_type
    if isinstance(kind, GraphQLList):
        if not isinstance(value, list):
            return _over(value, kind.of_type, None, path)  # a single value is a list of one
        bound = DEFAULT_MAX_ITEMS if limit is None else limit
        if len(value) > bound:
            return f"`{path}` takes at most {bound} items; {len(value)} were sent"
        for index, item in enumerate(value):
            found = _over(item, kind.of_type, None, f"{path}[{index}]")
            if found:
                return found
        return None
    if isinstance(kind, GraphQLInputObjectType) and isinstance(value, Mapping):
        for name, field in kind.fields.items():
            if name in value:
                found = _over(
                    value[name], field.type, metadata(field).get(MAX_ITEMS), f"{path}.{name}"
                )
                if found:
                    return found
    return None


def _may_hold_a_list(kind: GraphQLInputType, seen: frozenset[str] = frozenset()) -> bool:
    """Whether a value of ``kind`` can contain a list at any depth of input objects."""
    if isinstance(kind, GraphQLNonNull):
        kind = kind.of_type
    if isinstance(kind, GraphQLList):
        return True
    if isinstance(kind, GraphQLInputObjectType) and kind.name not in seen:
        inner = seen | {kind.name}
        return any(_may_hold_a_list(f.type, inner) for f in kind.fields.values())
    return False


@dataclass(frozen=True, slots=True)
class _Site:
    """An argument written in the document whose declared type can hold a list."""

    value: ValueNode
    kind: GraphQLInputType
    limit: int | None
    path: str


def _sites(schema: GraphQLSchema, document: Any, operation_name: str | None) -> tuple[_Site, ...]:
    operation = chosen_operation(document, operation_name)
    if operation is None:
        return ()
    found: list[_Site] = []
    for selected in selected_fields(schema, document, operation):
        arguments = selected.node.arguments or ()
        for definition in selected.definitions if arguments else ():
            for argument in arguments:
                declared = definition.args.get(argument.name.value)
                if declared is None or not _may_hold_a_list(declared.type):
                    continue
                path = f"{selected.node.name.value}.{argument.name.value}"
                found.append(
                    _Site(argument.value, declared.type, metadata(declared).get(MAX_ITEMS), path)
                )
    return tuple(found)


#: Where a document's lists can be, worked out once per document (the values are per request).
SITES: PerDocument[tuple[_Site, ...]] = PerDocument()


def list_problem(
    schema: GraphQLSchema,
    document: Any,
    operation_name: str | None,
    variables: Mapping[str, Any] | None,
) -> str | None:
    """Why the operation's lists are too long, or None."""
    sites = SITES.get(
        document, (schema, operation_name), lambda: _sites(schema, document, operation_name)
    )
    if not sites:
        return None
    values = dict(variables or {})
    for site in sites:
        found = _over(value_from_ast_untyped(site.value, values), site.kind, site.limit, site.path)
        if found:
            return found
    return None


class ListLimits(SchemaExtension):
    def on_execute(self) -> Iterator[None]:
        ctx = self.execution_context
        if ctx.result is None and ctx.graphql_document is not None:
            problem = list_problem(
                ctx.schema._schema, ctx.graphql_document, ctx.operation_name, ctx.variables
            )
            if problem is not None:
                ctx.result = bad_input(f"A list in the request is too long: {problem}.")
        yield
