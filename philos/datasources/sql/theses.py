"""ThesisStore on SQL: one row per thesis, arguments and sources embedded as JSON."""

from __future__ import annotations

import builtins
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy import ColumnElement, Row, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from philos.datasources.shared import without_argument
from philos.datasources.sql import SqlStore
from philos.datasources.sql.common import (
    aware,
    contains_text,
    is_missing_reference,
    join_tags,
    split_tags,
)
from philos.datasources.sql.keyset import THESIS_KEY, order_by, read_page
from philos.datasources.sql.search import rank_theses, ranked_page
from philos.datasources.sql.tables import theses_t
from philos.domain import (
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
            rows = await conn.execute(select(theses_t).where(t.id.in_(set(ids))))
        return {row.id: thesis_from_row(row) for row in rows}

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
    ) -> dict[str, builtins.list[Thesis]]:
        result: dict[str, builtins.list[Thesis]] = {cid: [] for cid in concept_ids}
        if not concept_ids:
            return result
        conds: builtins.list[ColumnElement[bool]] = [t.concept_id.in_(set(concept_ids))]
        if stance:
            conds.append(t.stance == stance.value)
        if limit_per_concept is None:
            stmt = select(theses_t).where(*conds).order_by(t.concept_id, *NEWEST_FIRST)
        else:
            rank = (
                func.row_number()
                .over(partition_by=t.concept_id, order_by=NEWEST_FIRST)
                .label("rank")
            )
            ranked = select(theses_t, rank).where(*conds).subquery()
            stmt = (
                select(*(ranked.c[col.name] for col in theses_t.columns))
                .where(ranked.c.rank <= limit_per_concept)
                .order_by(ranked.c.concept_id, ranked.c.created_at.desc(), ranked.c.id.desc())
            )
        async with self.db.connect() as conn:
            for row in await conn.execute(stmt):
                result[row.concept_id].append(thesis_from_row(row))
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
        except IntegrityError as exc:
            if is_missing_reference(exc):  # its concept was deleted since it was looked up
                raise NotFoundError("concept", thesis.concept_id) from exc
            raise
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
        return (await self.get_many([thesis.id]))[thesis.id]

    async def delete(self, thesis_id: str) -> bool:
        async with self.db.begin() as conn:
            result = await conn.execute(delete(theses_t).where(t.id == thesis_id))
        return bool(result.rowcount)

    async def add_argument(self, thesis_id: str, argument: Argument) -> Thesis:
        return await self._edit_arguments(thesis_id, lambda args: [*args, argument])

    async def remove_argument(self, thesis_id: str, argument_id: str) -> Thesis:
        return await self._edit_arguments(
            thesis_id, lambda args: without_argument(args, argument_id)
        )

    async def _edit_arguments(
        self, thesis_id: str, edit: Callable[[builtins.list[Argument]], builtins.list[Argument]]
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
            if result.rowcount:
                return (await self.get_many([thesis_id]))[thesis_id]
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
