"""Keyset paging: the key each list order sorts on, and the condition "after this row".

A page of a list is read with ``WHERE key > after ORDER BY key LIMIT n``, where ``key`` is the
order's sort key ending on the id: a row added or removed elsewhere in the list cannot shift
the rows of the next page, as an OFFSET would. The keys here are the ORDER BYs of the stores
(``concepts.ORDER``, ``theses.NEWEST_FIRST``) part for part; the query compiler
(``philos/compile``) renders the same condition over its aliases, and ``philos.types.paging``
writes and reads the cursors that carry a row's key values.

"After" is spelled ``k >= v AND (k > v OR <after the rest>)`` part by part (descending parts
with ``<=`` and ``<``): the leading bound lets an index on the key start at the cursor. A part
that may be NULL (the era) sorts its NULLs last, as the ORDER BYs do (``era_from IS NULL``
first): after a NULL value only NULLs follow, and every NULL follows a value.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Row, Table, and_, func, literal, not_, or_, select

from philos.datasources.sql import SqlDatabase
from philos.domain import ConceptOrder, Keyset, Page, PageResult

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Part:
    """One column of a sort key: compared lower-cased or as is, ascending or descending,
    NULLs last when it may hold them."""

    column: str
    lower: bool = False
    descending: bool = False
    nullable: bool = False


_ID = Part("id")
_ID_DESC = Part("id", descending=True)
_NAME = Part("name", lower=True)

# The key of each concept order, the id last (``ORDER`` in concepts.py sorts the same way).
CONCEPT_KEYS: dict[ConceptOrder, tuple[Part, ...]] = {
    ConceptOrder.NAME_ASC: (_NAME, _ID),
    ConceptOrder.NAME_DESC: (Part("name", lower=True, descending=True), _ID_DESC),
    ConceptOrder.ERA_ASC: (Part("era_from", nullable=True), _NAME, _ID),
    ConceptOrder.ERA_DESC: (Part("era_from", descending=True, nullable=True), _NAME, _ID),
    ConceptOrder.CREATED_AT_ASC: (Part("created_at"), _ID),
    ConceptOrder.CREATED_AT_DESC: (Part("created_at", descending=True), _ID_DESC),
    ConceptOrder.UPDATED_AT_DESC: (Part("updated_at", descending=True), _ID_DESC),
}
# Theses, newest first (``NEWEST_FIRST`` in theses.py).
THESIS_KEY: tuple[Part, ...] = (Part("created_at", descending=True), _ID_DESC)


def key_values(parts: tuple[Part, ...], after: Keyset) -> list[Any]:
    """The cursor's values, one per part (the id last)."""
    values = [*after.values, after.id]
    if len(values) != len(parts):
        raise ValueError(f"a key of {len(parts)} parts, got {len(values)} values")
    return values


def after_condition(table: Table, parts: tuple[Part, ...], after: Keyset) -> ColumnElement[bool]:
    """Rows of ``table`` that sort after the row ``after`` in the order of ``parts``."""
    values = key_values(parts, after)

    def column(part: Part) -> Any:
        col = table.c[part.column]
        return func.lower(col) if part.lower else col

    def bound(part: Part, value: Any) -> Any:
        return func.lower(value) if part.lower else value

    def beyond(i: int) -> ColumnElement[bool]:
        part, value = parts[i], values[i]
        col = column(part)
        if part.nullable and value is None:
            rest = beyond(i + 1)
            return and_(col.is_(None), rest)
        v = bound(part, value)
        strict = col < v if part.descending else col > v
        if i == len(parts) - 1:
            cond: ColumnElement[bool] = strict
        else:
            loose = col <= v if part.descending else col >= v
            cond = and_(loose, or_(strict, beyond(i + 1)))
        if part.nullable:
            cond = or_(table.c[part.column].is_(None), cond)
        return cond

    return beyond(0)


def at_or_before_condition(
    table: Table, parts: tuple[Part, ...], after: Keyset
) -> ColumnElement[bool]:
    """Rows that sort at or before ``after``: the complement (the condition is never NULL
    on the rows the key's columns allow)."""
    return not_(after_condition(table, parts, after))


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
    where = and_(True, *conds)
    # Not correlated with the page's rows: each is evaluated once, over the whole table.
    total = select(func.count()).select_from(table).where(where).scalar_subquery().correlate(None)
    extra: list[Any] = [total.label("_total")]
    seek: list[ColumnElement[bool]] = []
    if page.after is not None:
        seek.append(after_condition(table, parts, page.after))
        before = (
            select(literal(1))
            .select_from(table)
            .where(where, at_or_before_condition(table, parts, page.after))
            .exists()
            .correlate(None)
        )
        extra.append(before.label("_before"))
    stmt = (
        select(table, *extra)
        .where(where, *seek)
        .order_by(*order_by)
        .offset(page.offset)
        .limit(page.limit + 1)  # one more: is there a next page
    )
    async with db.connect() as conn:
        rows = (await conn.execute(stmt)).all()
        # Past the end the counts have no row to ride on.
        first = rows[0] if rows else (await conn.execute(select(*extra))).one()
    before_found = bool(first._before) if page.after is not None else False
    return PageResult(
        items=[decode(row) for row in rows[: page.limit]],
        total=int(first._total),
        has_next=len(rows) > page.limit,
        has_previous=page.offset > 0 or before_found,
    )
