"""Walking an operation as it will run: the chosen operation, with every fragment it spreads.

Decisions about a request (may its answer be shared, how long may its lists be) must hold
however the document is written: fields reached through named fragments, inline fragments,
aliases, nesting or directives count the same as fields written in place. Everything here walks
conservatively: a field under ``@skip``/``@include`` is walked as if it ran, and a field
selected on an interface is looked up on every type that implements it too.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    get_named_type,
)

T = TypeVar("T")


class PerDocument(Generic[T]):
    """Facts about a parsed document, worked out once per document object.

    The parser cache hands every request with the same text the same ``DocumentNode``, so a
    fact that depends only on the document (and on ``key``: the schema, the operation's name,
    the rules) is looked up by the object's identity, without hashing or walking the tree
    again. An entry holds its document, so the identity cannot be reused while it is cached;
    the least recently used entries leave past ``maxsize``.
    """

    def __init__(self, maxsize: int = 512) -> None:
        self.maxsize = maxsize
        self._entries: OrderedDict[tuple[int, Hashable], tuple[DocumentNode, T]] = OrderedDict()

    def get(self, document: DocumentNode, key: Hashable, make: Callable[[], T]) -> T:
        slot = (id(document), key)
        found = self._entries.get(slot)
        if found is not None and found[0] is document:
            self._entries.move_to_end(slot)
            return found[1]
        value = make()
        self._entries[slot] = (document, value)
        if len(self._entries) > self.maxsize:
            self._entries.popitem(last=False)
        return value


def chosen_operation(
    document: DocumentNode, operation_name: str | None
) -> OperationDefinitionNode | None:
    """The operation a request runs: the one named, or the first one."""
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode) and (
            operation_name is None
            or (definition.name is not None and definition.name.value == operation_name)
        ):
            return definition
    return None


def fragments_of(document: DocumentNode) -> dict[str, FragmentDefinitionNode]:
    return {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}


@dataclass(frozen=True, slots=True)
class SelectedField:
    """One field selection with the definitions it may resolve to (several on an interface)."""

    node: FieldNode
    parent: GraphQLNamedType
    definitions: tuple[GraphQLField, ...]


def _definitions(schema: GraphQLSchema, parent: GraphQLNamedType, name: str) -> list[GraphQLField]:
    if not isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
        return []
    found = [parent.fields[name]] if name in parent.fields else []
    if isinstance(parent, GraphQLInterfaceType):
        found += [
            t.fields[name] for t in schema.get_implementations(parent).objects if name in t.fields
        ]
    return found


def selected_fields(
    schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode
) -> Iterator[SelectedField]:
    """Every field selection the operation can reach, each fragment walked once."""
    fragments = fragments_of(document)
    walked: set[str] = set()
    root = schema.get_root_type(operation.operation)
    if root is None:
        return
    pending: list[tuple[SelectionSetNode, GraphQLNamedType]] = [(operation.selection_set, root)]
    while pending:
        selection_set, parent = pending.pop()
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                definitions = tuple(_definitions(schema, parent, selection.name.value))
                yield SelectedField(selection, parent, definitions)
                if selection.selection_set is not None:
                    for inner in {get_named_type(d.type).name for d in definitions}:
                        pending.append((selection.selection_set, _named(schema, inner, parent)))
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                target = _named(schema, condition.name.value, parent) if condition else parent
                pending.append((selection.selection_set, target))
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = fragments.get(name)
                if fragment is None or name in walked:
                    continue
                walked.add(name)
                target = _named(schema, fragment.type_condition.name.value, parent)
                pending.append((fragment.selection_set, target))


def _named(schema: GraphQLSchema, name: str, default: GraphQLNamedType) -> GraphQLNamedType:
    found: Any = schema.get_type(name)
    return found if found is not None else default
