"""How operations run: graphql-core's executor, with a shortcut for plain leaf fields.

Most of a list's response is plain attributes: ``name``, ``statement``, ``type``, ``tags``.
For each of them graphql-core builds a resolve-info object, looks for arguments, calls the
resolver through the middleware, then asks several questions about the type before it
serialises the value. With the resolvers' own store calls batched (one per list level), that
per-field work was most of a request's CPU on every wiring the SQL compiler does not answer.

A field takes the shortcut when Strawberry marks its resolver as the default one (an attribute
read, no ``info``), it has no arguments, its type is a scalar or enum (or a list of them), and
no extension wraps resolvers (the middleware). The value is read and serialised exactly as
graphql-core would. Anything unusual, such as a null for a non-null field or a value that does
not serialise, goes back to the normal path, so errors are reported as before, with their path.

A list of objects whose selected fields all take the shortcut (``theses { statement }``) is
built in one pass, a dictionary per item, without completing each item as an object; any
item the shortcut cannot answer sends the whole list down the normal path. An object field
marked "in hand" (``types/hints.py``: ``Relation.target``, whose concept the relation list
loaded with it) counts as plain when everything selected under it is: its value is read from
the request's loaders and built the same way, and a value not in hand sends the list down the
normal path too (``relations { type target { name } }`` is one pass).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLScalarType,
    Undefined,
)
from graphql.pyutils import Path, is_iterable
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from philos.datasources.loaders import NOT_LOADED
from philos.types.hints import IN_HAND, metadata

__all__ = ["PlainFieldsExecution"]

_SLOW = object()  # "take the normal path"
_DEFINITION = "strawberry-definition"  # Strawberry's field, kept in graphql-core's


@dataclass(frozen=True, slots=True)
class _InHand:
    """An object field read from what the request holds, and its own row plan."""

    read: Callable[[Any, Any], Any]  # (source, context) -> the value, or NOT_LOADED
    plan: list[tuple[str, Any]]
    nullable: bool


@dataclass(frozen=True, slots=True)
class _Plain:
    resolve: Callable[..., Any]
    serialize: Callable[[Any], Any]
    nullable: bool
    is_list: bool
    list_nullable: bool = True  # for lists: may the list itself be null


def _enum_serializer(enum: GraphQLEnumType) -> Callable[[Any], Any]:
    """``enum.serialize`` with the members of a Python enum looked up in a table. Strawberry's
    enum type compares a member with each value in turn, on every value of every row; the
    table holds what that search answers for each member, and anything else (a value that is
    no member, a name) still goes to ``enum.serialize``."""
    wrapped = getattr(enum, "wrapped_cls", None)
    if wrapped is None:
        return enum.serialize
    table: dict[Any, str] = {}
    for member in wrapped:
        # A member that does not serialise is left out: it takes the normal path, which
        # reports it.
        with contextlib.suppress(Exception):
            table[member] = enum.serialize(member)

    def serialize(value: Any) -> Any:
        if type(value) is wrapped:
            return table[value]  # a KeyError sends the field to the normal path
        return enum.serialize(value)

    return serialize


def _leaf(of: GraphQLOutputType) -> tuple[Callable[[Any], Any] | None, bool]:
    """(serialize, nullable) of a scalar or enum type, else (None, …)."""
    nullable = not isinstance(of, GraphQLNonNull)
    inner = of.of_type if isinstance(of, GraphQLNonNull) else of
    if isinstance(inner, GraphQLEnumType):
        return _enum_serializer(inner), nullable
    if isinstance(inner, GraphQLScalarType):
        return inner.serialize, nullable
    return None, nullable


def plain_field(field: GraphQLField) -> _Plain | None:
    """How to read ``field`` directly, or None when it needs the normal path."""
    resolve = field.resolve
    if resolve is None or not getattr(resolve, "_is_default", False) or field.args:
        return None
    serialize, nullable = _leaf(field.type)
    if serialize is not None:
        return _Plain(resolve, serialize, nullable, is_list=False)
    outer = field.type.of_type if isinstance(field.type, GraphQLNonNull) else field.type
    if isinstance(outer, GraphQLList):
        item_serialize, item_nullable = _leaf(outer.of_type)
        if item_serialize is not None and not item_nullable:
            return _Plain(resolve, item_serialize, False, is_list=True, list_nullable=nullable)
    return None


# Filled lazily; the field objects are kept in the values so their ids stay theirs.
_PLAN: dict[int, tuple[GraphQLField, _Plain | None]] = {}


def _plan(field: GraphQLField) -> _Plain | None:
    known = _PLAN.get(id(field))
    if known is None or known[0] is not field:
        known = (field, plain_field(field))
        _PLAN[id(field)] = known
    return known[1]


def _read(plain: _Plain, source: Any) -> Any:
    value = plain.resolve(source, None)
    if plain.is_list:
        if value is None:
            return None if plain.list_nullable else _SLOW
        if not is_iterable(value):  # graphql-core's test: a string or a mapping is no list
            return _SLOW
        out = []
        for item in value:
            serialized = _SLOW if item is None else plain.serialize(item)
            if serialized is _SLOW or serialized is Undefined or serialized is None:
                return _SLOW
            out.append(serialized)
        return out
    if value is None:
        return None if plain.nullable else _SLOW
    serialized = plain.serialize(value)
    return _SLOW if serialized is Undefined or serialized is None else serialized


_TYPENAME = "__typename"


class PlainFieldsExecution(StrawberryGraphQLCoreExecutionContext):
    """graphql-core's execution, reading plain leaf fields directly (see the module doc)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        manager = self.middleware_manager
        self._shortcut = manager is None or not manager.middlewares
        # (item type, id of the list's field details) -> (the details, kept alive so the id
        # stays theirs; the item's fields as (response key, plain field or a type name)).
        self._rows: dict[tuple[GraphQLObjectType, int], tuple[Any, Any]] = {}

    def _row_plan(
        self, item_type: GraphQLObjectType, field_details_list: Any
    ) -> list[tuple[str, Any]] | None:
        """How to build an item of a list of ``item_type`` directly, or None."""
        key = (item_type, id(field_details_list))
        known = self._rows.get(key)
        if known is not None:
            plan: list[tuple[str, Any]] | None = known[1]
            return plan
        plan = self._make_row_plan(item_type, field_details_list)
        self._rows[key] = (field_details_list, plan)
        return plan

    def _make_row_plan(
        self, item_type: GraphQLObjectType, field_details_list: Any
    ) -> list[tuple[str, Any]] | None:
        """Each selected field of an item as (response key, a ``_Plain``, an ``_InHand`` or
        the type's name for ``__typename``), or None when one needs the normal path."""
        if item_type.is_type_of is not None:
            return None
        if any(d.node.directives or d.defer_usage is not None for d in field_details_list):
            return None  # @stream and the like: graphql-core's own handling
        grouped, new_defer_usages, _ = self.collect_subfields(item_type, field_details_list)
        if new_defer_usages:
            return None
        plan: list[tuple[str, Any]] = []
        for response_key, details in grouped.items():
            # A key selected more than once (a fragment and the selection) is one field.
            for detail in details:
                node = detail.node
                if node.arguments or node.directives or detail.fragment_variable_values:
                    return None
            name = details[0].node.name.value
            if name == _TYPENAME:
                plan.append((response_key, item_type.name))
                continue
            field = item_type.fields.get(name)
            if field is None:
                return None
            how: _Plain | _InHand | None = _plan(field) or self._in_hand_plan(field, details)
            if how is None:
                return None
            plan.append((response_key, how))
        return plan

    def _in_hand_plan(self, field: GraphQLField, details: Any) -> _InHand | None:
        """How to build an "in hand" object field's value directly, or None."""
        read = metadata(field).get(IN_HAND)
        definition = field.extensions.get(_DEFINITION)
        if read is None or field.args or definition is None:
            return None
        if definition.permission_classes or definition.extensions or definition.directives:
            return None  # something must run around the resolver: the normal path
        nullable = not isinstance(field.type, GraphQLNonNull)
        inner = field.type.of_type if isinstance(field.type, GraphQLNonNull) else field.type
        if not isinstance(inner, GraphQLObjectType):
            return None
        plan = self._make_row_plan(inner, details)
        return None if plan is None else _InHand(read, plan, nullable)

    def _row(self, plan: list[tuple[str, Any]], item: Any) -> Any:
        """An item built by ``plan``, or ``_SLOW``."""
        row: dict[str, Any] = {}
        for response_key, how in plan:
            if isinstance(how, str):
                row[response_key] = how
                continue
            if isinstance(how, _InHand):
                value = how.read(item, self.context_value)
                if value is NOT_LOADED:
                    return _SLOW
                if value is None:
                    if not how.nullable:
                        return _SLOW
                else:
                    value = self._row(how.plan, value)
                    if value is _SLOW:
                        return _SLOW
                row[response_key] = value
                continue
            value = _read(how, item)
            if value is _SLOW:
                return _SLOW
            row[response_key] = value
        return row

    def _plain_rows(self, item_type: GraphQLOutputType, field_details_list: Any, items: Any) -> Any:
        """The completed list, or ``_SLOW``."""
        nullable = not isinstance(item_type, GraphQLNonNull)
        inner = item_type.of_type if isinstance(item_type, GraphQLNonNull) else item_type
        if not isinstance(inner, GraphQLObjectType) or not isinstance(items, list | tuple):
            return _SLOW
        plan = self._row_plan(inner, field_details_list)
        if plan is None:
            return _SLOW
        rows: list[Any] = []
        append = rows.append
        try:
            for item in items:
                if item is None:
                    if not nullable:
                        return _SLOW
                    append(None)
                    continue
                if self.is_awaitable(item):
                    return _SLOW
                row = self._row(plan, item)
                if row is _SLOW:
                    return _SLOW
                append(row)
        except Exception:
            return _SLOW
        return rows

    def complete_iterable_value(
        self,
        item_type: GraphQLOutputType,
        field_details_list: Any,
        info: Any,
        path: Path,
        items: Any,
        position_context: Any,
    ) -> Any:
        if self._shortcut:
            rows = self._plain_rows(item_type, field_details_list, items)
            if rows is not _SLOW:
                return rows
        return super().complete_iterable_value(
            item_type, field_details_list, info, path, items, position_context
        )

    def execute_field(
        self,
        parent_type: GraphQLObjectType,
        source: Any,
        field_details_list: Any,
        path: Path,
        position_context: Any = None,
    ) -> Any:
        if self._shortcut:
            node = field_details_list[0].node
            field = parent_type.fields.get(node.name.value)
            if field is not None and not node.arguments:
                plain = _plan(field)
                if plain is not None:
                    try:
                        value = _read(plain, source)
                    except Exception:
                        value = _SLOW
                    if value is not _SLOW:
                        return value
        return super().execute_field(
            parent_type, source, field_details_list, path, position_context
        )
