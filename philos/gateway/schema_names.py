"""Production errors say nothing of the schema the client did not write itself.

With introspection off, graphql-core's messages would still hand the schema out piece by
piece: "Did you mean 'ConceptFilter', 'ConceptOrder'?" for a misspelt type, argument, enum
value or input field, and the names of parent types and required fields ("Cannot query field
'nme' on type 'Concept'", "Field 'ConceptFilter.tag' … was not provided"). Strawberry's
``disable_field_suggestions`` covers one of these cases. This extension covers them all at the
end of every operation, whatever rule or stage produced the message:

- every "Did you mean …?" sentence is removed;
- every quoted or dotted name in a message that is a name of this schema (type, field,
  argument, input field, enum value, directive) and appears nowhere in what the client sent
  (document, operation name, variables) is replaced by ``<hidden>``.

Names every GraphQL schema has (the spec's scalars and directives, ``Query``/``Mutation``, the
introspection types) tell nothing and are left.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from weakref import WeakKeyDictionary

from graphql import (
    GraphQLEnumType,
    GraphQLError,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    specified_directives,
    specified_scalar_types,
)
from strawberry.extensions import SchemaExtension

HIDDEN = "<hidden>"
_SUGGESTION_RE = re.compile(r"\s*Did you mean [^?]*\?")
# A quoted segment, or a dotted Type.field outside quotes.
_NAMED_RE = re.compile(r"'[^']*'|\"[^\"]*\"|\b[_A-Za-z]\w*\.[_A-Za-z]\w*\b")
_WORD_RE = re.compile(r"[_A-Za-z]\w*")

_names_by_schema: WeakKeyDictionary[GraphQLSchema, frozenset[str]] = WeakKeyDictionary()


def schema_names(schema: GraphQLSchema) -> frozenset[str]:
    """The names a client can learn only from this schema."""
    cached = _names_by_schema.get(schema)
    if cached is not None:
        return cached
    public = {*specified_scalar_types, *(d.name for d in specified_directives)}
    for root in (schema.query_type, schema.mutation_type, schema.subscription_type):
        if root is not None:
            public.add(root.name)
    names: set[str] = set()
    for name, type_ in schema.type_map.items():
        if name.startswith("__") or name in public:
            continue
        names.add(name)
        if isinstance(type_, GraphQLObjectType | GraphQLInterfaceType):
            for field_name, field in type_.fields.items():
                names.add(field_name)
                names.update(field.args)
        elif isinstance(type_, GraphQLInputObjectType):
            names.update(type_.fields)
        elif isinstance(type_, GraphQLEnumType):
            names.update(type_.values)
    for directive in schema.directives:
        if directive.name not in public:
            names.add(directive.name)
            names.update(directive.args)
    found = frozenset(names - public)
    _names_by_schema[schema] = found
    return found


def words_in(value: Any) -> Iterator[str]:
    """Every identifier-like word in what the client sent (keys and strings, recursively)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            yield from _WORD_RE.findall(item)
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def hide_names(message: str, secret: frozenset[str], sent: frozenset[str]) -> str:
    message = _SUGGESTION_RE.sub("", message)

    def replace(match: re.Match[str]) -> str:
        segment = match.group(0)
        if any(w in secret and w not in sent for w in _WORD_RE.findall(segment)):
            quote = segment[0] if segment[0] in "'\"" else ""
            return f"{quote}{HIDDEN}{quote}"
        return segment

    return _NAMED_RE.sub(replace, message)


class HideSchemaNames(SchemaExtension):
    """Production only (see the module docstring)."""

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        errors: list[GraphQLError] | None = getattr(result, "errors", None)
        if not errors:
            return
        context = self.execution_context
        secret = schema_names(context.schema._schema)
        sent = frozenset(
            words_in([context.query or "", context.operation_name or "", context.variables or {}])
        )
        result.errors = [_rewritten(e, secret, sent) for e in errors]  # type: ignore[union-attr]


def _rewritten(error: GraphQLError, secret: frozenset[str], sent: frozenset[str]) -> GraphQLError:
    message = hide_names(error.message, secret, sent)
    if message == error.message:
        return error
    return GraphQLError(
        message=message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=error.original_error,
        extensions=error.extensions,
    )
