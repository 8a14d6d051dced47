"""ConceptStore on SQL."""

from __future__ import annotations

import builtins
import functools
from collections.abc import Callable, Sequence
from dataclasses import replace
from operator import itemgetter
from typing import Any

from sqlalchemy import ColumnElement, Row, delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from philos.datasources.outbox import TOPIC_DELETE, TOPIC_UPSERT, enqueue, record_event
from philos.datasources.ports import DeleteCheck
from philos.datasources.sql import SqlDatabase, SqlStore
from philos.datasources.sql.common import (
    aware,
    by_id,
    contains_text,
    join_tags,
    split_tags,
    tag_pattern,
)
from philos.datasources.sql.keyset import CONCEPT_KEYS, order_by, read_page
from philos.datasources.sql.search import rank_concepts, ranked_page
from philos.datasources.sql.tables import concepts_t, relations_t, theses_t
from philos.domain import (
    Concept,
    ConceptFilter,
    ConceptOrder,
    ConflictError,
    Dependant,
    NotFoundError,
    Page,
    PageResult,
)

c = concepts_t.c
# What the filter's `search` looks in (also in the compiled statements, philos/compile).
SEARCH_COLUMNS = (c.name, c.summary, c.aliases, c.slug)

# Each order's ORDER BY is its keyset key's (``keyset.CONCEPT_KEYS``), ending on the id so that
# equal keys cannot swap places between pages; also rendered into the compiled statements
# (philos/compile/columns.py). RELEVANCE without a search has nothing to rank: by name (with
# one, see _search below).
ORDER: dict[ConceptOrder, list[Any]] = {
    order: order_by(concepts_t, parts) for order, parts in CONCEPT_KEYS.items()
}


def concept_from_row(row: Row[Any], prefix: str = "") -> Concept:
    """The concept in ``row``, its columns named as in the concepts table, each after
    ``prefix`` (a concept joined to another table's rows under labels of its own)."""
    m = row._mapping
    p = prefix
    return _concept(*(m[p + name] for name in _CONCEPT_FIELDS))


# The concept's attributes in the order ``_concept`` takes them, and where each is in a row of
# ``select(concepts_t)``.
_CONCEPT_FIELDS = (
    "id", "slug", "name", "summary", "body", "tradition", "era_from", "era_to", "tags",
    "aliases", "wikidata_id", "sep_url", "author_id", "created_at", "updated_at", "version",
)  # fmt: skip
_CONCEPT_AT = [concepts_t.columns.keys().index(name) for name in _CONCEPT_FIELDS]
CONCEPT_ID_AT = concepts_t.columns.keys().index("id")


def concept_at(row: Row[Any], start: int = 0) -> Concept:
    """The concept whose columns are ``row``'s from ``start`` on, in the concepts table's
    order: a row of ``select(concepts_t)``, or of a statement selecting the table's columns
    after ``start`` others. By position, which costs a fraction of reading by name."""
    return _concept(*_concept_picker(start)(row))


@functools.cache
def _concept_picker(start: int) -> Callable[[Any], tuple[Any, ...]]:
    return itemgetter(*(start + i for i in _CONCEPT_AT))


def _concept(
    id: str,
    slug: str,
    name: str,
    summary: str,
    body: str,
    tradition: str | None,
    era_from: int | None,
    era_to: int | None,
    tags: str,
    aliases: Any,
    wikidata_id: str | None,
    sep_url: str | None,
    author_id: str | None,
    created_at: Any,
    updated_at: Any,
    version: int,
) -> Concept:
    return Concept(
        id=id,
        slug=slug,
        name=name,
        summary=summary,
        body=body,
        tradition=tradition,
        era_from=era_from,
        era_to=era_to,
        tags=split_tags(tags),
        aliases=tuple(aliases or ()),
        wikidata_id=wikidata_id,
        sep_url=sep_url,
        author_id=author_id,
        created_at=aware(created_at),
        updated_at=aware(updated_at),
        version=version,
    )


def _values(concept: Concept) -> dict[str, Any]:
    return {
        "id": concept.id,
        "slug": concept.slug,
        "name": concept.name,
        "summary": concept.summary,
        "body": concept.body,
        "tradition": concept.tradition,
        "era_from": concept.era_from,
        "era_to": concept.era_to,
        "tags": join_tags(concept.tags),
        "aliases": list(concept.aliases),
        "wikidata_id": concept.wikidata_id,
        "sep_url": concept.sep_url,
        "author_id": concept.author_id,
        "created_at": concept.created_at,
        "updated_at": concept.updated_at,
        "version": concept.version,
    }


def _where(flt: ConceptFilter) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = []
    if flt.search:
        conds.append(contains_text(list(SEARCH_COLUMNS), flt.search))
    if flt.tradition:
        conds.append(func.lower(c.tradition) == flt.tradition.lower())
    conds.extend(c.tags.like(tag_pattern(tag)) for tag in flt.tags)
    if flt.era_from is not None:
        # Overlap: a concept whose period ends at or after eraFrom.
        conds.append(func.coalesce(c.era_to, c.era_from) >= flt.era_from)
    if flt.era_to is not None:
        conds.append(c.era_from <= flt.era_to)
    return conds


class SqlConceptStore(SqlStore):
    def __init__(
        self, db: SqlDatabase, *, owns_graph: bool, owns_theses: bool, outbox: bool = False
    ) -> None:
        super().__init__(db)
        # When relations or theses live in this database too, their foreign keys remove them
        # with the concept, in the same transaction. Otherwise each change is also written to
        # the outbox, in the same transaction, and a relay carries it to the other stores.
        self.owns_graph = owns_graph
        self.owns_theses = owns_theses
        self.outbox = outbox
        self.outbox_stores = [
            name for name, owned in (("graph", owns_graph), ("theses", owns_theses)) if not owned
        ]

    async def get_many(self, ids: Sequence[str]) -> dict[str, Concept]:
        if not ids:
            return {}
        async with self.db.connect() as conn:
            return await by_id(conn, concepts_t, ids, concept_at)

    async def get_many_by_slug(self, slugs: Sequence[str]) -> dict[str, Concept]:
        if not slugs:
            return {}
        async with self.db.connect() as conn:
            rows = await conn.execute(select(concepts_t).where(c.slug.in_(set(slugs))))
        return {r.slug: concept_at(r) for r in rows}

    async def get_many_by_name(self, names: Sequence[str]) -> dict[str, Concept]:
        wanted = {n.lower() for n in names}
        if not wanted:
            return {}
        stmt = (
            select(concepts_t)
            .where(func.lower(c.name).in_(wanted))
            .order_by(c.created_at.desc(), c.id.desc())
        )
        async with self.db.connect() as conn:
            rows = await conn.execute(stmt)
        # Oldest last, so it is the one kept for a name several concepts share.
        return {r.name.lower(): concept_at(r) for r in rows}

    async def list(
        self, filter: ConceptFilter, order: ConceptOrder, page: Page
    ) -> PageResult[Concept]:
        if filter.search:  # ranked: datasources/sql/search.py
            return await self._search(filter, order, page)
        return await read_page(
            self.db,
            concepts_t,
            _where(filter),
            ORDER[order],
            CONCEPT_KEYS[order],
            page,
            concept_at,  # the page's statement selects the table's columns first
        )

    async def _search(
        self, filter: ConceptFilter, order: ConceptOrder, page: Page
    ) -> PageResult[Concept]:
        return await ranked_page(
            self.db,
            concepts_t,
            _where(replace(filter, search=None)),
            filter.search or "",
            rank_concepts,
            None if order is ConceptOrder.RELEVANCE else ORDER[order],
            ORDER[ConceptOrder.NAME_ASC],
            page,
            concept_from_row,
        )

    async def create(self, concept: Concept) -> Concept:
        try:
            async with self.db.begin() as conn:
                await conn.execute(insert(concepts_t).values(**_values(concept)))
                if self.outbox:
                    await enqueue(conn, TOPIC_UPSERT, concept, self.outbox_stores)
                if self.events:
                    await record_event(
                        conn,
                        "concept.created",
                        concept.id,
                        version=concept.version,
                        concept_ids=[concept.id],
                    )
        except IntegrityError as exc:
            raise ConflictError(
                f"The slug '{concept.slug}' is already used by another concept; choose another."
            ) from exc
        self._evented()
        return concept

    async def update(self, concept: Concept, expected_version: int) -> Concept:
        values = _values(concept)
        del values["id"], values["created_at"], values["author_id"]
        values["version"] = expected_version + 1
        try:
            async with self.db.begin() as conn:
                result = await conn.execute(
                    update(concepts_t)
                    .where(c.id == concept.id, c.version == expected_version)
                    .values(**values)
                )
                if result.rowcount == 0:
                    current = (
                        await conn.execute(select(c.version).where(c.id == concept.id))
                    ).scalar_one_or_none()
                    if current is None:
                        raise NotFoundError("concept", concept.id)
                    raise ConflictError(
                        f"The concept was changed by someone else: it is at version {current}, "
                        f"not {expected_version}. Reload it and apply your change again.",
                        current_version=current,
                    )
                if self.outbox:
                    await enqueue(conn, TOPIC_UPSERT, concept, self.outbox_stores)
                if self.events:
                    await record_event(
                        conn,
                        "concept.updated",
                        concept.id,
                        version=expected_version + 1,
                        concept_ids=[concept.id],
                    )
                # Read back before the commit: nothing can fail once the change is durable.
                stored = (await by_id(conn, concepts_t, [concept.id], concept_at))[concept.id]
        except IntegrityError as exc:
            raise ConflictError(
                f"The slug '{concept.slug}' is already used by another concept; choose another."
            ) from exc
        self._evented()
        return stored

    async def delete(self, concept_id: str, check: DeleteCheck | None = None) -> bool:
        # The concept row is locked first, so what is read below stays true until the delete
        # commits: a record of the concept written meanwhile waits (on PostgreSQL its foreign
        # key takes a share lock on the row; on SQLite the database is locked for writing)
        # and then fails its foreign key. Of concurrent deletes one finds the row, the others
        # find it gone. The foreign keys cascade to relations, theses and suggestions.
        async with self.db.begin_locked() as conn:
            row = (
                await conn.execute(select(concepts_t).where(c.id == concept_id).with_for_update())
            ).first()
            if row is None:
                return False
            if check is not None:
                await check(concept_from_row(row), await self._dependants(conn, concept_id))
            result = await conn.execute(delete(concepts_t).where(c.id == concept_id))
            if not result.rowcount:  # pragma: no cover - the row is locked
                return False
            if self.outbox:
                await enqueue(conn, TOPIC_DELETE, concept_id, self.outbox_stores)
            if self.events:
                # One past the last version, so it is newer than every change before it.
                await record_event(
                    conn,
                    "concept.deleted",
                    concept_id,
                    version=row.version + 1,
                    concept_ids=[concept_id],
                )
        self._evented()
        return True

    async def _dependants(self, conn: AsyncConnection, concept_id: str) -> builtins.list[Dependant]:
        """The relations and theses of the concept kept in this database."""
        found: builtins.list[Dependant] = []
        if self.owns_theses:
            rows = await conn.execute(
                select(theses_t.c.id, theses_t.c.author_id).where(
                    theses_t.c.concept_id == concept_id
                )
            )
            found += [Dependant("thesis", r.id, r.author_id) for r in rows]
        if self.owns_graph:
            r = relations_t.c
            rows = await conn.execute(
                select(r.id, r.author_id).where(
                    or_(r.source_id == concept_id, r.target_id == concept_id)
                )
            )
            found += [Dependant("relation", row.id, row.author_id) for row in rows]
        return found
