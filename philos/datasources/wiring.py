"""The one place that picks adapters from configuration."""

from __future__ import annotations

from dataclasses import dataclass

from philos.config import Settings
from philos.datasources.ports import ConceptStore, GraphStore, Store, ThesisStore, UserStore
from philos.datasources.sql import SqlDatabase
from philos.datasources.sql.concepts import SqlConceptStore
from philos.datasources.sql.graph import SqlGraphStore
from philos.datasources.sql.theses import SqlThesisStore
from philos.datasources.sql.users import SqlUserStore


@dataclass
class Stores:
    sql: SqlDatabase
    concepts: ConceptStore
    graph: GraphStore
    theses: ThesisStore
    users: UserStore

    def by_role(self) -> dict[str, Store]:
        """Each store under the name /ready reports it by."""
        return {
            "concepts": self.concepts,
            "graph": self.graph,
            "theses": self.theses,
            "users": self.users,
        }

    async def aclose(self) -> None:
        seen: set[int] = set()
        for store in self.by_role().values():
            if id(store) not in seen:
                seen.add(id(store))
                await store.aclose()
        await self.sql.aclose()


async def build_stores(settings: Settings) -> Stores:
    """Open every store and make sure its schema exists."""
    db = SqlDatabase(settings.sql_url)
    await db.create_schema()
    return Stores(
        sql=db,
        concepts=SqlConceptStore(db, owns_graph=True, owns_theses=True),
        graph=SqlGraphStore(db),
        theses=SqlThesisStore(db),
        users=SqlUserStore(db),
    )
