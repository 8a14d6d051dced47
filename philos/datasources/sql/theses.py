"""ThesisStore on SQL: one row per thesis, arguments and sources embedded as JSON."""

from __future__ import annotations

import builtins
import functools
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy import ColumnElement, Row, Select, bindparam, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from philos.datasources.outbox import record_event
from philos.datasources.shared import without_argument
from philos.datasources.sql import SqlStore
from philos.datasources.sql.common import (
    aware,
    by_id,
    contains_text,
    is_missing_reference,
    join_tags,
    split_tags,
)
from philos.datasources.sql.keyset import THESIS_KEY, order_by, read_page
from philos.datasources.sql.search import rank_theses, ranked_page
from philos.datasources.sql.tables import theses_t
from philos.domain import (
    THESIS_FIELDS,
    THESIS_UNREAD,
    Argument,
    ConflictError,
    NotFoundError,
    Page,
    PageResult,
    Polarity,
    Provenance,
    ProvenanceKind,
    Source,
    Stance,
    Thesis,
    ThesisFilter,
    ThesisStatus,
    utcnow,
)

t = theses_t.c
# What the filter's `search` looks in (also in the compiled statements, philos/compile).
SEARCH_COLUMNS = (t.statement,)
NEWEST_FIRST = tuple(order_by(theses_t, THESIS_KEY))
_OPTIMISTIC_RETRIES = 5


def argument_to_dict(a: Argument) -> dict[str, Any]:
    return {"id": a.id, "polarity": a.polarity.value, "text": a.text, "strength": a.strength}


# Enum look-ups by value through a dict: ``Polarity(value)`` costs several times more, and
# rows are decoded by the thousand on list pages.
_POLARITY = {p.value: p for p in Polarity}
_STANCE = {s.value: s for s in Stance}
_STATUS = {s.value: s for s in ThesisStatus}
_KIND = {k.value: k for k in ProvenanceKind}


def argument_from_dict(d: dict[str, Any]) -> Argument:
    return Argument(d["id"], _POLARITY[d["polarity"]], d["text"], d["strength"])


def source_to_dict(s: Source) -> dict[str, Any]:
    return {"author": s.author, "work": s.work, "year": s.year, "url": s.url}


def source_from_dict(d: dict[str, Any]) -> Source:
    return Source(d["author"], d["work"], d.get("year"), d.get("url"))


def thesis_from_row(row: Row[Any]) -> Thesis:
    m = row._mapping
    return Thesis(
        id=m["id"],
        concept_id=m["concept_id"],
        statement=m["statement"],
        stance=_STANCE[m["stance"]],
        arguments=tuple([argument_from_dict(a) for a in m["arguments"]]),
        sources=tuple([source_from_dict(s) for s in m["sources"]]),
        related_concept_ids=tuple(m["related_concept_ids"]),
        synthesis_of=tuple(m["synthesis_of"]),
        tags=split_tags(m["tags"]),
        provenance=Provenance(_KIND[m["provenance"]], m["model"], m["prompt_version"]),
        status=_STATUS[m["status"]],
        author_id=m["author_id"],
        created_at=aware(m["created_at"]),
        updated_at=aware(m["updated_at"]),
        version=m["version"],
    )


# Each attribute of a thesis: the columns it is read from, and how.
_READ: dict[str, tuple[tuple[str, ...], Callable[[Any], Any]]] = {
    "id": (("id",), lambda m: m["id"]),
    "concept_id": (("concept_id",), lambda m: m["concept_id"]),
    "statement": (("statement",), lambda m: m["statement"]),
    "stance": (("stance",), lambda m: _STANCE[m["stance"]]),
    "arguments": (
        ("arguments",),
        lambda m: tuple([argument_from_dict(a) for a in m["arguments"]]),
    ),
    "sources": (("sources",), lambda m: tuple([source_from_dict(s) for s in m["sources"]])),
    "related_concept_ids": (
        ("related_concept_ids",),
        lambda m: tuple(m["related_concept_ids"]),
    ),
    "synthesis_of": (("synthesis_of",), lambda m: tuple(m["synthesis_of"])),
    "tags": (("tags",), lambda m: split_tags(m["tags"])),
    "provenance": (
        ("provenance", "model", "prompt_version"),
        lambda m: Provenance(_KIND[m["provenance"]], m["model"], m["prompt_version"]),
    ),
    "status": (("status",), lambda m: _STATUS[m["status"]]),
    "author_id": (("author_id",), lambda m: m["author_id"]),
    "created_at": (("created_at",), lambda m: aware(m["created_at"])),
    "updated_at": (("updated_at",), lambda m: aware(m["updated_at"])),
    "version": (("version",), lambda m: m["version"]),
}
if set(_READ) != THESIS_FIELDS:
    raise RuntimeError("every attribute of a thesis needs its reader here")


@functools.cache
def _projection(fields: frozenset[str]) -> tuple[tuple[str, ...], Callable[[Row[Any]], Thesis]]:
    """The columns to read for ``fields``, and the thesis of a row holding them."""
    names = sorted(fields)
    columns = tuple(dict.fromkeys(c for name in names for c in _READ[name][0]))
    readers = [(name, _READ[name][1]) for name in names]
    unread = {name: value for name, value in THESIS_UNREAD.items() if name not in fields}

    def read(row: Row[Any]) -> Thesis:
        m = row._mapping
        return Thesis(**unread, **{name: reader(m) for name, reader in readers})

    return columns, read


_ALL_COLUMNS = tuple(theses_t.columns.keys())


@functools.cache
def _by_concepts(names: tuple[str, ...], by_stance: bool, limited: bool) -> Select[Any]:
    """``by_concepts``'s statement for these columns, built once: the concept ids are bound
    as ``ids`` (expanding), the stance as ``stance``, the limit per concept as ``limit``."""
    conds: list[ColumnElement[bool]] = [t.concept_id.in_(bindparam("ids", expanding=True))]
    if by_stance:
        conds.append(t.stance == bindparam("stance"))
    if not limited:
        return (
            select(*(t[name] for name in names)).where(*conds).order_by(t.concept_id, *NEWEST_FIRST)
        )
    rank = func.row_number().over(partition_by=t.concept_id, order_by=NEWEST_FIRST).label("rank")
    inner = dict.fromkeys((*names, "concept_id", "created_at", "id"))
    ranked = select(*(t[name] for name in inner), rank).where(*conds).subquery()
    return (
        select(*(ranked.c[name] for name in names))
        .where(ranked.c.rank <= bindparam("limit"))
        .order_by(ranked.c.concept_id, ranked.c.created_at.desc(), ranked.c.id.desc())
    )


def thesis_values(th: Thesis) -> dict[str, Any]:
    """A thesis as a ``theses`` row (also the shape of a thesis in a backup)."""
    return {
        "id": th.id,
        "concept_id": th.concept_id,
        "statement": th.statement,
        "stance": th.stance.value,
        "arguments": [argument_to_dict(a) for a in th.arguments],
        "sources": [source_to_dict(s) for s in th.sources],
        "related_concept_ids": list(th.related_concept_ids),
        "synthesis_of": list(th.synthesis_of),
        "tags": join_tags(th.tags),
        "provenance": th.provenance.kind.value,
        "model": th.provenance.model,
        "prompt_version": th.provenance.prompt_version,
        "status": th.status.value,
        "author_id": th.author_id,
        "created_at": th.created_at,
        "updated_at": th.updated_at,
        "version": th.version,
    }


def _where(flt: ThesisFilter) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = []
    if flt.concept_id:
        conds.append(t.concept_id == flt.concept_id)
    if flt.stance:
        conds.append(t.stance == flt.stance.value)
    if flt.search:
        conds.append(contains_text(list(SEARCH_COLUMNS), flt.search))
    return conds


class SqlThesisStore(SqlStore):
    async def get_many(self, ids: Sequence[str]) -> dict[str, Thesis]:
        if not ids:
            return {}
        async with self.db.connect() as conn:
            return await by_id(conn, theses_t, ids, thesis_from_row)

    async def list(self, filter: ThesisFilter, page: Page) -> PageResult[Thesis]:
        if filter.search:  # ranked: datasources/sql/search.py
            return await ranked_page(
                self.db,
                theses_t,
                _where(replace(filter, search=None)),
                filter.search,
                rank_theses,
                None,
                NEWEST_FIRST,
                page,
                thesis_from_row,
            )
        return await read_page(
            self.db, theses_t, _where(filter), NEWEST_FIRST, THESIS_KEY, page, thesis_from_row
        )

    async def by_concepts(
        self,
        concept_ids: Sequence[str],
        stance: Stance | None = None,
        limit_per_concept: int | None = None,
        fields: frozenset[str] | None = None,
    ) -> dict[str, builtins.list[Thesis]]:
        result: dict[str, builtins.list[Thesis]] = {cid: [] for cid in concept_ids}
        if not concept_ids:
            return result
        read: Callable[[Row[Any]], Thesis]
        if fields is None:
            names, read = _ALL_COLUMNS, thesis_from_row
        else:
            names, read = _projection(fields)
        stmt = _by_concepts(names, stance is not None, limit_per_concept is not None)
        params: dict[str, Any] = {"ids": sorted(set(concept_ids))}
        if stance is not None:
            params["stance"] = stance.value
        if limit_per_concept is not None:
            params["limit"] = limit_per_concept
        async with self.db.connect() as conn:
            for row in await conn.execute(stmt, params):
                result[row.concept_id].append(read(row))
        return result

    async def count_by_concepts(self, concept_ids: Sequence[str]) -> dict[str, int]:
        result = dict.fromkeys(concept_ids, 0)
        if not concept_ids:
            return result
        stmt = (
            select(t.concept_id, func.count().label("n"))
            .where(t.concept_id.in_(set(concept_ids)))
            .group_by(t.concept_id)
        )
        async with self.db.connect() as conn:
            for row in await conn.execute(stmt):
                result[row.concept_id] = int(row.n)
        return result

    async def create(self, thesis: Thesis) -> Thesis:
        try:
            async with self.db.begin() as conn:
                await conn.execute(insert(theses_t).values(**thesis_values(thesis)))
                if self.events:
                    await record_event(
                        conn,
                        "thesis.created",
                        thesis.id,
                        version=thesis.version,
                        concept_ids=[thesis.concept_id],
                    )
        except IntegrityError as exc:
            if is_missing_reference(exc):  # its concept was deleted since it was looked up
                raise NotFoundError("concept", thesis.concept_id) from exc
            raise
        self._evented()
        return thesis

    async def update(self, thesis: Thesis, expected_version: int | None) -> Thesis:
        async with self.db.begin() as conn:
            current = (
                await conn.execute(select(t.version).where(t.id == thesis.id))
            ).scalar_one_or_none()
            if current is None:
                raise NotFoundError("thesis", thesis.id)
            if expected_version is not None and current != expected_version:
                raise _stale(current, expected_version)
            values = thesis_values(thesis)
            del values["id"], values["created_at"], values["author_id"]
            values["version"] = current + 1
            result = await conn.execute(
                update(theses_t).where(t.id == thesis.id, t.version == current).values(**values)
            )
            if result.rowcount == 0:
                raise _stale(current + 1, current)
            if self.events:
                await record_event(
                    conn,
                    "thesis.updated",
                    thesis.id,
                    version=current + 1,
                    concept_ids=[thesis.concept_id],
                )
            # Read back before the commit: nothing can fail once the change is durable.
            stored = (await by_id(conn, theses_t, [thesis.id], thesis_from_row))[thesis.id]
        self._evented()
        return stored

    async def delete(self, thesis_id: str) -> bool:
        async with self.db.begin() as conn:
            row = (
                await conn.execute(select(t.concept_id, t.version).where(t.id == thesis_id))
            ).first()
            result = await conn.execute(delete(theses_t).where(t.id == thesis_id))
            if result.rowcount and row is not None and self.events:
                await record_event(
                    conn,
                    "thesis.deleted",
                    thesis_id,
                    version=row.version + 1,
                    concept_ids=[row.concept_id],
                )
        if result.rowcount:
            self._evented()
        return bool(result.rowcount)

    async def add_argument(self, thesis_id: str, argument: Argument) -> Thesis:
        return await self._edit_arguments(
            thesis_id,
            lambda args: [*args, argument],
            {"argument": "added", "argumentId": argument.id},
        )

    async def remove_argument(self, thesis_id: str, argument_id: str) -> Thesis:
        return await self._edit_arguments(
            thesis_id,
            lambda args: without_argument(args, argument_id),
            {"argument": "removed", "argumentId": argument_id},
        )

    async def _edit_arguments(
        self,
        thesis_id: str,
        edit: Callable[[builtins.list[Argument]], builtins.list[Argument]],
        change: dict[str, Any] | None = None,
    ) -> Thesis:
        # Read, edit, and write back only if nobody wrote in between (compare-and-set on the
        # version), retrying a few times: works the same on SQLite and PostgreSQL.
        for _ in range(_OPTIMISTIC_RETRIES):
            current = (await self.get_many([thesis_id])).get(thesis_id)
            if current is None:
                raise NotFoundError("thesis", thesis_id)
            args = edit(list(current.arguments))
            async with self.db.begin() as conn:
                result = await conn.execute(
                    update(theses_t)
                    .where(t.id == thesis_id, t.version == current.version)
                    .values(
                        arguments=[argument_to_dict(a) for a in args],
                        version=current.version + 1,
                        updated_at=utcnow(),
                    )
                )
                if result.rowcount and self.events:
                    await record_event(
                        conn,
                        "thesis.updated",
                        thesis_id,
                        version=current.version + 1,
                        concept_ids=[current.concept_id],
                        extra=change,
                    )
                stored = None
                if result.rowcount:
                    stored = (await by_id(conn, theses_t, [thesis_id], thesis_from_row))[thesis_id]
            if stored is not None:
                self._evented()
                return stored
        raise ConflictError("The thesis is being changed by others right now; try again.")

    async def remove_concept(self, concept_id: str) -> None:
        async with self.db.begin() as conn:
            await conn.execute(delete(theses_t).where(t.concept_id == concept_id))


def _stale(current: int, expected: int) -> ConflictError:
    return ConflictError(
        f"The thesis was changed by someone else: it is at version {current}, not {expected}. "
        "Reload it and apply your change again.",
        current_version=current,
    )
