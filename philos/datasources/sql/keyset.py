"""Keyset paging: the key each list order sorts on, and the condition "after this row".

A page of a list is read with ``WHERE key > after ORDER BY key LIMIT n``, where ``key`` is the
order's sort key ending on the id: a row added or removed elsewhere in the list cannot shift
the rows of the next page, as an OFFSET would. The keys here are the ORDER BYs of the stores
(``concepts.ORDER``, ``theses.NEWEST_FIRST``) part for part; the query compiler
(``philos/compile``) renders the same condition over its aliases, and ``philos.types.paging``
writes and reads the cursors that carry a row's key values.

"After" is spelled ``k >= v AND (k > v OR <after the rest>)`` part by part (descending parts
with ``<=`` and ``<``): the leading bound lets an index on the key start at the cursor. A column
that may be NULL (the era) is keyed as ``coalesce(column, absent)``, ``absent`` a value past
every valid one in the order's direction, so NULLs sort last and the key has none: the condition
stays one range over the key's index (an ``OR column IS NULL`` would make the planner read every
row before the cursor), and the same expression is indexed (migration 0006).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import (
    ColumnElement,
    Row,
    Select,
    Table,
    and_,
    bindparam,
    func,
    literal,
    literal_column,
    or_,
    select,
)
from sqlalchemy.sql import operators

from philos.datasources.sql import SqlDatabase
from philos.datasources.sql.tables import ERA_ABSENT_ASCENDING, ERA_ABSENT_DESCENDING
from philos.domain import ConceptOrder, Keyset, Page, PageResult

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Part:
    """One column of a sort key: compared lower-cased or as is, ascending or descending; a
    column that may be NULL names the value its NULLs sort as (``absent``)."""

    column: str
    lower: bool = False
    descending: bool = False
    absent: int | None = None


_ID = Part("id")
_ID_DESC = Part("id", descending=True)
_NAME = Part("name", lower=True)

# The key of each concept order, the id last (``ORDER`` in concepts.py sorts the same way).
CONCEPT_KEYS: dict[ConceptOrder, tuple[Part, ...]] = {
    ConceptOrder.NAME_ASC: (_NAME, _ID),
    ConceptOrder.RELEVANCE: (_NAME, _ID),  # without a search: the name order
    ConceptOrder.NAME_DESC: (Part("name", lower=True, descending=True), _ID_DESC),
    ConceptOrder.ERA_ASC: (Part("era_from", absent=ERA_ABSENT_ASCENDING), _NAME, _ID),
    ConceptOrder.ERA_DESC: (
        Part("era_from", descending=True, absent=ERA_ABSENT_DESCENDING),
        _NAME,
        _ID,
    ),
    ConceptOrder.CREATED_AT_ASC: (Part("created_at"), _ID),
    ConceptOrder.CREATED_AT_DESC: (Part("created_at", descending=True), _ID_DESC),
    ConceptOrder.UPDATED_AT_DESC: (Part("updated_at", descending=True), _ID_DESC),
}
# Theses, newest first (``NEWEST_FIRST`` in theses.py).
THESIS_KEY: tuple[Part, ...] = (Part("created_at", descending=True), _ID_DESC)


def key_values(parts: tuple[Part, ...], after: Keyset) -> list[Any]:
    """The cursor's values, one per part (the id last), a NULL as the value it sorts as."""
    values = [*after.values, after.id]
    if len(values) != len(parts):
        raise ValueError(f"a key of {len(parts)} parts, got {len(values)} values")
    return [
        part.absent if value is None and part.absent is not None else value
        for part, value in zip(parts, values, strict=True)
    ]


def key_column(table: Table, part: Part) -> ColumnElement[Any]:
    """The expression a part sorts on: the column, lower-cased or with its NULLs replaced."""
    col: ColumnElement[Any] = table.c[part.column]
    if part.lower:
        return func.lower(col)
    if part.absent is not None:  # written out, not bound, so that it matches the index
        return func.coalesce(col, literal_column(str(part.absent)))
    return col


def order_by(table: Table, parts: tuple[Part, ...]) -> list[Any]:
    """The ORDER BY of a key: each part's expression in its direction."""
    return [
        key_column(table, part).desc() if part.descending else key_column(table, part).asc()
        for part in parts
    ]


# A condition on a key, before it is written in SQL: ("and" | "or", a, b) or (operator, part)
# comparing the part's expression with the cursor's value.
Condition = tuple[Any, ...]


def seek(parts: tuple[Part, ...], forward: bool) -> Condition:
    """Rows after the cursor (``forward``), or at or before it: the two are complements on
    every row, since no part of a key is NULL."""

    def step(i: int) -> Condition:
        up = parts[i].descending != forward  # does the key grow in the direction we look?
        strict, loose = ("<", "<=") if not up else (">", ">=")
        if i == len(parts) - 1:
            return (strict if forward else loose, i)
        # The leading bound lets an index on the key start at the cursor.
        return ("and", (loose, i), ("or", (strict, i), step(i + 1)))

    return step(0)


def render_condition(cond: Condition, compare: Callable[[str, int], Any]) -> Any:
    """``cond`` written by ``compare(operator, part)``, combined with SQLAlchemy's
    ``and_``/``or_`` (or, given text, with AND/OR: see ``philos/compile``)."""
    kind = cond[0]
    if kind in ("and", "or"):
        a = render_condition(cond[1], compare)
        b = render_condition(cond[2], compare)
        if isinstance(a, str):
            return f"({a} {kind.upper()} {b})"
        return and_(a, b) if kind == "and" else or_(a, b)
    return compare(kind, cond[1])


_OPERATORS: dict[str, Callable[[Any, Any], Any]] = {
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


def beyond(
    clauses: Sequence[Any], values: Sequence[Any], forward: bool = True
) -> ColumnElement[bool]:
    """Rows after the one whose ORDER BY expressions (``clauses``, each ascending or
    descending) have the values ``values`` (``forward``), or at or before it."""
    elements = [clause.element for clause in clauses]
    parts = tuple(
        Part(str(i), descending=clause.modifier is operators.desc_op)
        for i, clause in enumerate(clauses)
    )

    # Booleans (PostgreSQL's "exact match" rank) are bound, not taken for IS TRUE/IS FALSE.
    bound = [literal(v) if isinstance(v, bool) else v for v in values]

    def compare(op: str, i: int) -> Any:
        return _OPERATORS[op](elements[i], bound[i])

    found: ColumnElement[bool] = render_condition(seek(parts, forward), compare)
    return found


def condition(
    table: Table, parts: tuple[Part, ...], after: Keyset, forward: bool = True
) -> ColumnElement[bool]:
    """Rows of ``table`` after the row ``after`` in the order of ``parts`` (``forward``), or
    at or before it."""
    return seek_values(table, parts, key_values(parts, after), forward)


def seek_values(
    table: Table, parts: tuple[Part, ...], values: Sequence[Any], forward: bool = True
) -> ColumnElement[bool]:
    """``condition`` for a cursor's key values (``key_values``), or parameters bound to them."""
    lowered = [
        func.lower(value) if part.lower else value
        for part, value in zip(parts, values, strict=True)
    ]
    return beyond(order_by(table, parts), lowered, forward)


def reverse_order(order_by: Sequence[Any]) -> list[Any]:
    """The ORDER BY read the other way (``x ASC`` as ``x DESC``, and back)."""
    flipped = []
    for clause in order_by:
        if clause.modifier is operators.asc_op:
            flipped.append(clause.element.desc())
        elif clause.modifier is operators.desc_op:
            flipped.append(clause.element.asc())
        else:  # pragma: no cover - every order spells its direction
            raise ValueError(f"{clause} has no direction")
    return flipped


def _page_statement(
    table: Table,
    conds: tuple[ColumnElement[bool], ...],
    order_by: tuple[Any, ...],
    parts: tuple[Part, ...],
    after: Sequence[Any] | None,
    limit: Any = None,
) -> tuple[Select[Any], list[Any]]:
    """``read_page``'s statement and its extra columns (the filtered count, and whether a row
    precedes the page). ``after`` is the cursor's key values, or, for a statement built once,
    the parameters bound in their place (``_unfiltered_page``); ``limit`` likewise."""
    where = and_(True, *conds)
    # Not correlated with the page's rows: each is evaluated once, over the whole table.
    total = select(func.count()).select_from(table).where(where).scalar_subquery().correlate(None)
    extra: list[Any] = [total.label("_total")]
    seeking: list[ColumnElement[bool]] = []
    if after is not None:
        seeking.append(seek_values(table, parts, after))
        # The row just before the page, if any: a scalar subquery keeps its ORDER BY and
        # LIMIT (an EXISTS would drop them, and the planner may then scan the whole table).
        before = (
            select(literal(1))
            .select_from(table)
            .where(where, seek_values(table, parts, after, forward=False))
            .order_by(*reverse_order(order_by))
            .limit(1)
            .scalar_subquery()
            .correlate(None)
        )
        extra.append(before.is_not(None).label("_before"))
    stmt = select(table, *extra).where(where, *seeking).order_by(*order_by)
    return stmt.limit(limit), extra


@functools.lru_cache(maxsize=64)
def _unfiltered_page(
    table: Table, order_by: tuple[Any, ...], parts: tuple[Part, ...], seeking: bool
) -> tuple[Select[Any], list[Any]]:
    """The statement of an unfiltered page, built once for each order: the cursor's key
    values are bound as ``k0``, ``k1`` … (typed as their columns), the limit as ``limit``."""
    after = (
        [bindparam(f"k{i}", type_=table.c[part.column].type) for i, part in enumerate(parts)]
        if seeking
        else None
    )
    return _page_statement(table, (), order_by, parts, after, bindparam("limit"))


async def read_page(
    db: SqlDatabase,
    table: Table,
    conds: Sequence[ColumnElement[bool]],
    order_by: Sequence[Any],
    parts: tuple[Part, ...],
    page: Page,
    decode: Callable[[Row[Any]], T],
) -> PageResult[T]:
    """The rows of ``table`` matching ``conds`` just after ``page.after`` in the order
    ``order_by`` (whose key is ``parts``), in one statement with the filtered count and
    whether any row precedes the page: one snapshot, so the three agree."""
    if conds:
        after = None if page.after is None else key_values(parts, page.after)
        stmt, extra = _page_statement(
            table, tuple(conds), tuple(order_by), parts, after, page.limit + 1
        )  # one more row than the page: is there a next page
        params: dict[str, Any] = {}
    else:  # an unfiltered list: its statement is built once, the cursor and limit bound
        stmt, extra = _unfiltered_page(table, tuple(order_by), parts, page.after is not None)
        params = {"limit": page.limit + 1}
        if page.after is not None:
            params.update((f"k{i}", value) for i, value in enumerate(key_values(parts, page.after)))
    async with db.connect() as conn:
        rows = (await conn.execute(stmt, params)).all()
        # Past the end the counts have no row to ride on.
        first = rows[0] if rows else (await conn.execute(select(*extra), params)).one()
    before_found = bool(first._before) if page.after is not None else False
    return PageResult(
        items=[decode(row) for row in rows[: page.limit]],
        total=int(first._total),
        has_next=len(rows) > page.limit,
        has_previous=before_found,
    )
