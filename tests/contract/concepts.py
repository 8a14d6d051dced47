"""The concepts the graph and thesis contracts point at, written into a SQL database."""

from __future__ import annotations

from sqlalchemy import insert

from philos.datasources.sql import SqlDatabase
from philos.datasources.sql.tables import concepts_t
from philos.domain import utcnow

# The concept ids the graph and thesis contracts use (``cid(n)``). On SQL a relation or thesis
# must name a concept that exists (foreign keys), so those stores get these concepts first.
CONTRACT_CONCEPTS = [f"00000000-0000-4000-8000-{n:012d}" for n in range(10)]


async def with_concepts(db: SqlDatabase, ids: list[str]) -> SqlDatabase:
    async with db.begin() as conn:
        await conn.execute(
            insert(concepts_t),
            [
                {
                    "id": i,
                    "slug": f"contract-{n}",
                    "name": f"C{n}",
                    "summary": "s",
                    "body": "",
                    "tags": "",
                    "aliases": [],
                    "created_at": utcnow(),
                    "updated_at": utcnow(),
                    "version": 1,
                }
                for n, i in enumerate(ids)
            ],
        )
    return db
