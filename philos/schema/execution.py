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

A list field marked "per level" (``types/hints.py``: ``Concept.relations``, ``Concept.theses``)
is answered for all the items of its parent list by one call, not by a resolver call per
item: its arguments are coerced and converted once, the call gets every parent and one
``info``, and what it answers is built by the items' own row plan, which may hold per-level
fields again, so ``concepts { nodes { relations { target { name } } theses { statement } } }``
takes one call per list level and no resolver call per object. The calls of one level are
all made before any is awaited, so their loaders dispatch together. A call that fails, or a
value the plan cannot build, sends the list down the normal path, whose resolvers then report
what went wrong at each field (the loaders answer them from what the call already fetched).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from functools import partial
from operator import attrgetter
from typing import Any, cast

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
from graphql.execution.executor import to_nodes
from graphql.execution.values import get_argument_values
from graphql.pyutils import Path, is_iterable
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.types import Info
from strawberry.types.arguments import convert_arguments

from philos.datasources.loaders import NOT_LOADED
from philos.types.hints import IN_HAND, PER_LEVEL, metadata

__all__ = ["PlainFieldsExecution"]

_SLOW = object()  # "take the normal path"
_LEVELS = object()  # "a list with per-level fields: build it a level at a time"
_DEFINITION = "strawberry-definition"  # Strawberry's field, kept in graphql-core's


@dataclass(frozen=True, slots=True)
class _InHand:
    """An object field read from what the request holds, and its own row plan."""

    read: Callable[[Any, Any], Any]  # (source, context) -> the value, or NOT_LOADED
    plan: list[tuple[str, Any]]
    nullable: bool


@dataclass(frozen=True, slots=True)
class _PerLevel:
    """A list field answered for a whole level of parents by one call (``hints.per_level``),
    its arguments converted once, and the row plan of its items."""

    values: Callable[..., Awaitable[Sequence[Any]]]
    field: GraphQLField
    definition: Any  # Strawberry's field
    details: Any  # the field's details, to build its one ``info``
    parent: GraphQLObjectType
    arguments: dict[str, Any]
    plan: list[tuple[str, Any]]
    nullable: bool  # may the list be null
    item_nullable: bool


@dataclass(frozen=True, slots=True)
class _Plain:
    read: Callable[[Any], Any]  # source -> the attribute's value
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
    inner, nullable = _unwrapped(of)
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
    read = _reader(field, resolve)
    serialize, nullable = _leaf(field.type)
    if serialize is not None:
        return _Plain(read, serialize, nullable, is_list=False)
    outer, _ = _unwrapped(field.type)
    if isinstance(outer, GraphQLList):
        item_serialize, item_nullable = _leaf(outer.of_type)
        if item_serialize is not None and not item_nullable:
            return _Plain(read, item_serialize, False, is_list=True, list_nullable=nullable)
    return None


def _reader(field: GraphQLField, resolve: Callable[..., Any]) -> Callable[[Any], Any]:
    """What Strawberry's default resolver does for ``field``: where that is ``getattr`` of
    the attribute (the default configuration), the attribute read itself, without the two
    calls Strawberry wraps around it."""
    definition = field.extensions.get(_DEFINITION)
    if (
        definition is not None
        and definition.base_resolver is None
        and definition.default_resolver is getattr
        and isinstance(definition.python_name, str)
    ):
        return attrgetter(definition.python_name)
    return lambda source: resolve(source, None)


# Filled lazily; the field objects are kept in the values so their ids stay theirs.
_PLAN: dict[int, tuple[GraphQLField, _Plain | None]] = {}


def _plan(field: GraphQLField) -> _Plain | None:
    known = _PLAN.get(id(field))
    if known is None or known[0] is not field:
        known = (field, plain_field(field))
        _PLAN[id(field)] = known
    return known[1]


def _read(plain: _Plain, source: Any) -> Any:
    value = plain.read(source)
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


def _hint(field: GraphQLField, name: str) -> Any:
    """The field's hint ``name`` (``types/hints.py``), where the field may be answered without
    its resolver: Strawberry's field is known and nothing (permissions, field extensions,
    directives) must run around the resolver. Else None: the normal path."""
    found = metadata(field).get(name)
    definition = field.extensions.get(_DEFINITION)
    if found is None or definition is None:
        return None
    if definition.permission_classes or definition.extensions or definition.directives:
        return None
    return found


def _unwrapped(of: Any) -> tuple[Any, bool]:
    """(the type inside ``of``'s non-null wrapper if it has one, whether ``of`` is nullable)."""
    if isinstance(of, GraphQLNonNull):
        return of.of_type, False
    return of, True


def _has_levels(plan: list[tuple[str, Any]]) -> bool:
    return any(isinstance(how, _PerLevel) for _, how in plan)


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
        self, item_type: GraphQLObjectType, field_details_list: Any, levels: bool = True
    ) -> list[tuple[str, Any]] | None:
        """Each selected field of an item as (response key, a ``_Plain``, an ``_InHand``, a
        ``_PerLevel`` (only where ``levels``) or the type's name for ``__typename``), or None
        when one needs the normal path."""
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
            if any(d.node.directives or d.fragment_variable_values for d in details):
                return None
            name = details[0].node.name.value
            given = any(d.node.arguments for d in details)
            if name == _TYPENAME and not given:
                plan.append((response_key, item_type.name))
                continue
            field = item_type.fields.get(name)
            if field is None:
                return None
            how: _Plain | _InHand | _PerLevel | None = None
            if not given:
                how = _plan(field) or self._in_hand_plan(field, details)
            if how is None and levels:
                how = self._per_level_plan(item_type, field, details)
            if how is None:
                return None
            plan.append((response_key, how))
        return plan

    def _in_hand_plan(self, field: GraphQLField, details: Any) -> _InHand | None:
        """How to build an "in hand" object field's value directly, or None."""
        read = _hint(field, IN_HAND)
        if read is None or field.args:
            return None
        inner, nullable = _unwrapped(field.type)
        if not isinstance(inner, GraphQLObjectType):
            return None
        # Built as the value is read, one item at a time: nothing under it waits for a level.
        plan = self._make_row_plan(inner, details, levels=False)
        return None if plan is None else _InHand(read, plan, nullable)

    def _per_level_plan(
        self, parent: GraphQLObjectType, field: GraphQLField, details: Any
    ) -> _PerLevel | None:
        """How to answer a "per level" list field for a whole list of parents, or None."""
        values = _hint(field, PER_LEVEL)
        schema = getattr(self.schema, "_strawberry_schema", None)
        if values is None or schema is None:
            return None
        outer, nullable = _unwrapped(field.type)
        if not isinstance(outer, GraphQLList):
            return None
        inner, item_nullable = _unwrapped(outer.of_type)
        if not isinstance(inner, GraphQLObjectType):
            return None
        plan = self._make_row_plan(inner, details)
        if plan is None:
            return None
        definition = field.extensions[_DEFINITION]
        try:  # the arguments, as the resolver would get them: once for the whole level
            given = get_argument_values(field, details[0].node, self.variable_values)
            arguments = convert_arguments(
                given,
                definition.arguments,
                scalar_registry=schema.schema_converter.scalar_registry,
                config=schema.config,
            )
        except Exception:
            return None  # the normal path reports it, at each field
        return _PerLevel(
            values, field, definition, details, parent, arguments, plan, nullable, item_nullable
        )

    def _row(self, plan: list[tuple[str, Any]], item: Any) -> Any:
        """An item built by ``plan``, or ``_SLOW``; a per-level field is left None, in its
        place, for ``_fill`` to set."""
        row: dict[str, Any] = {}
        for response_key, how in plan:
            if isinstance(how, str):
                row[response_key] = how
                continue
            if isinstance(how, _PerLevel):
                row[response_key] = None
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

    def _list_plan(
        self, item_type: GraphQLOutputType, field_details_list: Any, items: Any
    ) -> tuple[list[tuple[str, Any]], bool] | None:
        """(the items' row plan, whether an item may be null), or None."""
        inner, nullable = _unwrapped(item_type)
        if not isinstance(inner, GraphQLObjectType) or not isinstance(items, list | tuple):
            return None
        plan = self._row_plan(inner, field_details_list)
        return None if plan is None else (plan, nullable)

    def _plain_rows(self, item_type: GraphQLOutputType, field_details_list: Any, items: Any) -> Any:
        """The completed list, ``_LEVELS`` when a per-level field is selected in it (for
        ``_complete_by_level``), or ``_SLOW``."""
        found = self._list_plan(item_type, field_details_list, items)
        if found is None:
            return _SLOW
        if _has_levels(found[0]):
            return _LEVELS
        return self._build_rows(*found, items)

    def _build_rows(self, plan: list[tuple[str, Any]], nullable: bool, items: Any) -> Any:
        """Each item built by ``plan`` (its per-level fields left None), or ``_SLOW``."""
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

    async def _level_rows(
        self, plan: list[tuple[str, Any]], nullable: bool, items: Sequence[Any], path: Path
    ) -> Any:
        """The completed list, each per-level field in ``plan`` answered by one call for all
        the items (and so on down), or ``_SLOW``. Raises what a call raises."""
        rows = self._build_rows(plan, nullable, items)
        if rows is _SLOW:
            return _SLOW
        levels = [(key, how) for key, how in plan if isinstance(how, _PerLevel)]
        built = [(item, row) for item, row in zip(items, rows, strict=True) if row is not None]
        if not levels or not built:
            return rows
        fills = [self._fill(built, key, how, path) for key, how in levels]
        # Every level's call is made before any is awaited: their loaders dispatch together.
        done = [await fills[0]] if len(fills) == 1 else await asyncio.gather(*fills)
        return _SLOW if any(d is _SLOW for d in done) else rows

    async def _fill(
        self, built: list[tuple[Any, dict[str, Any]]], key: str, how: _PerLevel, path: Path
    ) -> Any:
        """Sets ``key`` of each built row to its item's value of ``how``; ``_SLOW`` when a
        value is not one the plan can build."""
        raw = self.build_resolve_info(how.field, to_nodes(how.details), how.parent, path)
        info = Info(_raw_info=raw, _field=how.definition)
        values = await how.values(info, [item for item, _ in built], **how.arguments)
        if len(values) != len(built):
            return _SLOW
        children: list[Any] = []
        spans: list[int | None] = []
        for value in values:
            if value is None:
                if not how.nullable:
                    return _SLOW
                spans.append(None)
            elif isinstance(value, list | tuple):
                spans.append(len(value))
                children.extend(value)
            else:
                return _SLOW
        rows = await self._level_rows(how.plan, how.item_nullable, children, path)
        if rows is _SLOW:
            return _SLOW
        start = 0
        for (_, row), span in zip(built, spans, strict=True):
            if span is None:
                row[key] = None
            else:
                row[key] = rows[start : start + span]
                start += span
        return None

    async def _complete_by_level(
        self,
        plan: list[tuple[str, Any]],
        nullable: bool,
        items: Any,
        path: Path,
        normal: Callable[[], Any],
    ) -> Any:
        """``_level_rows``, or, when it cannot build the list or a call fails, the normal
        path (which reports the failure at each field, from the loaders' cached answers)."""
        try:
            rows = await self._level_rows(plan, nullable, items, path)
        except Exception:
            rows = _SLOW
        if rows is not _SLOW:
            return rows
        completed = normal()
        return await completed if self.is_awaitable(completed) else completed

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
            if rows is _LEVELS:
                # The plan _plain_rows just found, from the request's cache.
                found = cast(
                    "tuple[list[tuple[str, Any]], bool]",
                    self._list_plan(item_type, field_details_list, items),
                )
                normal = partial(
                    super().complete_iterable_value,
                    item_type,
                    field_details_list,
                    info,
                    path,
                    items,
                    position_context,
                )
                return self._complete_by_level(*found, items, path, normal)
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
