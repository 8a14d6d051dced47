"""What the compiler reads from the single sources instead of keeping copies: which GraphQL
fields are plain columns (the SQL tables and the Strawberry fields' Python names), how each
prints (from the column's and the field's types), and the SQL stores' orders."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from functools import lru_cache, partial
from typing import Any
from weakref import WeakKeyDictionary

from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLScalarType,
)
from sqlalchemy import JSON, Column, Table, TypeDecorator
from sqlalchemy.dialects.postgresql.base import PGDialect
from sqlalchemy.sql.util import ClauseAdapter

from philos.compile.fragments import enum_value, float_json, tags, timestamp
from philos.datasources.sql.concepts import ORDER
from philos.datasources.sql.concepts import SEARCH_COLUMNS as CONCEPT_SEARCH
from philos.datasources.sql.graph import EDGE_ORDER
from philos.datasources.sql.keyset import (
    CONCEPT_KEYS,
    THESIS_KEY,
    Part,
    key_values,
    render_condition,
    reverse_order,
    seek,
)
from philos.datasources.sql.tables import concepts_t, relations_t, theses_t, users_t
from philos.datasources.sql.theses import NEWEST_FIRST, argument_to_dict, source_to_dict
from philos.datasources.sql.theses import SEARCH_COLUMNS as THESIS_SEARCH
from philos.domain import Argument, ConceptOrder, Keyset, Polarity, Source
from philos.types.paging import CONCEPT_CURSOR, NO_ERA, THESES, THESIS_CURSOR, VERSION

__all__ = [
    "CONCEPT_KEYS",
    "CONCEPT_SEARCH",
    "TABLES",
    "THESIS_KEY",
    "THESIS_SEARCH",
    "Part",
    "after_sql",
    "column_format",
    "concept_cursor_text",
    "concept_order",
    "embedded_keys",
    "newest_first",
    "oldest_first",
    "relation_order",
    "row_fields",
    "thesis_cursor_text",
]

# The row each object type is read from.
TABLES: dict[str, Table] = {
    "Concept": concepts_t,
    "Thesis": theses_t,
    "Relation": relations_t,
    "User": users_t,
}

Format = Callable[[str], str]  # a row's column ("c3.name") -> its JSON value


def _plain(column: str) -> str:
    return column


def _json_list(column: str) -> str:
    return f"coalesce({column}, '[]'::json)"


# GraphQL scalars whose JSON value is the column's own, by the column's Python type.
_PLAIN: dict[str, type] = {"ID": str, "String": str, "Int": int, "Boolean": bool}
_CONVERTED: dict[tuple[str, type], Format] = {
    ("DateTime", datetime): timestamp,
    ("Float", float): float_json,
}


def _python_type(column: Column[Any]) -> type | None:
    sql_type = column.type
    if isinstance(sql_type, TypeDecorator):  # SQLModel's AutoString wraps a VARCHAR
        sql_type = sql_type.impl_instance
    try:
        found = sql_type.python_type
    except NotImplementedError:  # pragma: no cover - every column type here has one
        return None
    return found if isinstance(found, type) and found is not object else None


def _unwrap(field_type: GraphQLOutputType) -> Any:
    return field_type.of_type if isinstance(field_type, GraphQLNonNull) else field_type


def column_format(column: Column[Any], field_type: GraphQLOutputType) -> Format | None:
    """How the column prints as the field's value, or None when that takes more than the
    column (or is not known to match the resolvers' answer)."""
    kind = _unwrap(field_type)
    if isinstance(kind, GraphQLList):
        inner = _unwrap(kind.of_type)
        if not (isinstance(inner, GraphQLScalarType) and inner.name in ("ID", "String")):
            return None
        if isinstance(column.type, JSON):
            return _json_list  # a JSON list; null read as []
        if _python_type(column) is str:
            return tags  # ``|a|b|`` (datasources/sql/common.join_tags)
        return None
    if isinstance(column.type, JSON):
        return None
    python = _python_type(column)
    if isinstance(kind, GraphQLScalarType):
        if _PLAIN.get(kind.name) is python:
            return _plain
        return _CONVERTED.get((kind.name, python)) if python is not None else None
    # An enum is stored as its value and answered by its name: only the same text prints as is.
    if (
        isinstance(kind, GraphQLEnumType)
        and python is str
        and all(enum_value(v.value) == name for name, v in kind.values.items())
    ):
        return _plain
    return None


def _python_name(field: GraphQLField) -> str | None:
    definition = field.extensions.get("strawberry-definition")
    if definition is None or definition.base_resolver is not None:
        return None  # fields with a resolver compute their value
    return str(definition.python_name)


_CACHE: WeakKeyDictionary[GraphQLObjectType, dict[str, Any]] = WeakKeyDictionary()


def _cached(kind: str, object_type: GraphQLObjectType, make: Callable[[], Any]) -> Any:
    """Once per schema's type; forgotten with the schema."""
    found = _CACHE.setdefault(object_type, {})
    if kind not in found:
        found[kind] = make()
    return found[kind]


def row_fields(object_type: GraphQLObjectType) -> dict[str, tuple[str, Format]]:
    """GraphQL name -> (column, format) of the type's fields that are a column of its row."""
    found: dict[str, tuple[str, Format]] = _cached(
        "row", object_type, lambda: _row_fields(object_type)
    )
    return found


def _row_fields(object_type: GraphQLObjectType) -> dict[str, tuple[str, Format]]:
    table = TABLES.get(object_type.name)
    found: dict[str, tuple[str, Format]] = {}
    for name, field in object_type.fields.items() if table is not None else ():
        python_name = _python_name(field)
        column = table.c.get(python_name) if table is not None and python_name else None
        fmt = column_format(column, field.type) if column is not None else None
        if column is not None and fmt is not None:
            found[name] = (column.name, fmt)
    return found


# The keys the thesis store writes for each record kept in a JSON list.
_STORED_KEYS: dict[str, frozenset[str]] = {
    "Argument": frozenset(argument_to_dict(Argument("", Polarity.PRO, ""))),
    "Source": frozenset(source_to_dict(Source("", ""))),
}


def _prints_as_stored(field_type: GraphQLOutputType) -> bool:
    kind = _unwrap(field_type)
    if isinstance(kind, GraphQLScalarType):
        return kind.name in ("ID", "String", "Int", "Float", "Boolean")
    return isinstance(kind, GraphQLEnumType) and all(
        enum_value(v.value) == name for name, v in kind.values.items()
    )


def embedded_keys(object_type: GraphQLObjectType) -> dict[str, str]:
    """GraphQL name -> JSON key of the fields read straight off a record stored in a JSON list
    (a thesis's arguments and sources)."""
    keys = _STORED_KEYS.get(object_type.name, frozenset())

    def make() -> dict[str, str]:
        found: dict[str, str] = {}
        for name, field in object_type.fields.items():
            python_name = _python_name(field)
            if python_name in keys and _prints_as_stored(field.type):
                found[name] = python_name
        return found

    result: dict[str, str] = _cached("embedded", object_type, make)
    return result


_PG = PGDialect()  # type: ignore[no-untyped-call] # only renders the ORDER BY text


#: Every order the compiler renders, by store and name: the stores' own clauses, one source.
_ORDERS: dict[tuple[str, object], tuple[Table, Sequence[Any]]] = {
    **{("concepts", order): (concepts_t, clauses) for order, clauses in ORDER.items()},
    ("theses", None): (theses_t, NEWEST_FIRST),
    ("relations", None): (relations_t, EDGE_ORDER),
}


@lru_cache(maxsize=1024)
def _order_by(store: str, name: object, reverse: bool, alias: str) -> str:
    """The ORDER BY text of one order over one alias, rendered once. The key holds only plain
    values: clause objects hash by identity, and the reversed ones are built anew per call, so
    keying on them rendered (through SQLAlchemy's compiler) on every request."""
    table, clauses = _ORDERS[store, name]
    adapter = ClauseAdapter(table.alias(alias))
    ordered = reverse_order(clauses) if reverse else clauses
    return ", ".join(str(adapter.traverse(c).compile(dialect=_PG)) for c in ordered)


def concept_order(order: ConceptOrder, reverse: bool = False) -> Callable[[str], str]:
    """The concept store's ORDER BY for ``order`` (or read backwards), over a table alias."""
    return partial(_order_by, "concepts", order, reverse)


def newest_first(alias: str) -> str:
    """The thesis store's order, over a table alias."""
    return _order_by("theses", None, False, alias)


def oldest_first(alias: str) -> str:
    """The thesis store's order read backwards, over a table alias."""
    return _order_by("theses", None, True, alias)


def relation_order(alias: str) -> str:
    """The graph store's ``edges_of`` order, over a table alias."""
    return _order_by("relations", None, False, alias)


# keyset paging (datasources/sql/keyset.py, types/paging.py)

_KEY_TYPES = {
    "id": "varchar",
    "name": "varchar",
    "era_from": "int",
    "created_at": "timestamptz",
    "updated_at": "timestamptz",
}


def after_sql(
    parts: tuple[Part, ...], after: Keyset, param: Callable[[Any, str], str]
) -> Callable[[str, bool], str]:
    """``keyset.condition`` over a table alias: rows after the cursor (``True``) or at or
    before it (``False``), its values bound once through ``param``."""
    values = key_values(parts, after)
    bound = [param(v, _KEY_TYPES[part.column]) for part, v in zip(parts, values, strict=True)]

    def render(alias: str, forward: bool) -> str:
        def compare(op: str, i: int) -> str:
            part, col, value = parts[i], f"{alias}.{parts[i].column}", bound[i]
            if part.lower:
                return f"lower({col}) {op} lower({value})"
            if part.absent is not None:
                return f"coalesce({col}, {part.absent}) {op} {value}"
            return f"{col} {op} {value}"

        text: str = render_condition(seek(parts, forward), compare)
        return text

    return render


def _cursor_text(tag: str, columns: tuple[str, ...]) -> Callable[[str], str]:
    def text(alias: str) -> str:
        fields = [f"'{VERSION} {tag} '", f"{alias}.id"]
        for column in columns:
            if column == "era_from":
                value = f"coalesce({alias}.era_from::text, '{NO_ERA}')"
            elif column in ("created_at", "updated_at"):
                value = timestamp(f"{alias}.{column}")
            else:
                value = f"{alias}.{column}"
            fields += ["' '", value]
        return "(" + " || ".join(fields) + ")"

    return text


def concept_cursor_text(order: ConceptOrder) -> Callable[[str], str]:
    """``paging.concept_cursor``'s text (before base64) of a row alias."""
    return _cursor_text(order.value, CONCEPT_CURSOR[order])


def thesis_cursor_text(alias: str) -> str:
    return _cursor_text(THESES, THESIS_CURSOR)(alias)
