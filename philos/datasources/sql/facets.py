"""FacetStore on SQL: what the concepts a filter matches have in common, and a random one."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

from sqlalchemy import Select, and_, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from philos.datasources.sql import SqlDatabase, SqlStore
from philos.datasources.sql.common import split_tags
from philos.datasources.sql.concepts import _where, concept_from_row
from philos.datasources.sql.search import matching, rank_concepts, search_connection
from philos.datasources.sql.tables import concepts_t
from philos.domain import Concept, ConceptFacets, ConceptFilter, EraSpan, Facet

c = concepts_t.c


def most_common(counts: Counter[str], limit: int) -> list[Facet]:
    """The ``limit`` most common values, ties by name (case-insensitive, then exact)."""
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0].lower(), kv[0]))
    return [Facet(name, count) for name, count in ranked[:limit]]


@asynccontextmanager
async def _matching(
    db: SqlDatabase, filter: ConceptFilter, stmt: Select[Any]
) -> AsyncIterator[tuple[AsyncConnection, Select[Any]]]:
    """A connection and ``stmt`` narrowed to the concepts the filter matches: a search
    matches as it does in concept lists (datasources/sql/search.py)."""
    if not filter.search:
        async with db.connect() as conn:
            yield conn, stmt.where(and_(True, *_where(filter)))
        return
    async with search_connection(db) as (conn, trigrams):
        ranked = rank_concepts(db.is_sqlite, filter.search, trigrams)
        conds = _where(replace(filter, search=None))
        yield conn, stmt.select_from(matching(concepts_t, ranked)).where(ranked.match, *conds)


class SqlFacetStore(SqlStore):
    async def facets(self, filter: ConceptFilter, limit: int) -> ConceptFacets:
        # One statement reads the three columns of every matching concept; the counting is
        # done here, the same on SQLite and PostgreSQL (tags live in one delimited column).
        columns = select(c.tradition, c.tags, c.era_from, c.era_to)
        traditions: Counter[str] = Counter()
        tags: Counter[str] = Counter()
        eras: list[EraSpan] = []
        async with _matching(self.db, filter, columns) as (conn, stmt):
            for tradition, joined, era_from, era_to in await conn.execute(stmt):
                if tradition:
                    traditions[tradition] += 1
                tags.update(set(split_tags(joined)))
                if era_from is not None:
                    eras.append(EraSpan(era_from, era_to))
        return ConceptFacets(most_common(traditions, limit), most_common(tags, limit), eras)

    async def random(self, filter: ConceptFilter) -> Concept | None:
        one = select(concepts_t).order_by(func.random()).limit(1)
        async with _matching(self.db, filter, one) as (conn, stmt):
            row = (await conn.execute(stmt)).first()
        return concept_from_row(row) if row is not None else None
