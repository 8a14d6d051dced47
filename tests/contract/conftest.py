"""One fixture per port, parametrised over every backend that implements it.

Each test gets an empty store. SQL backends share one database per session and are emptied
between tests; Neo4j and MongoDB are wiped the same way through the adapter's own client.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import delete

from philos.datasources.ports import ConceptStore, GraphStore, ThesisStore, UserStore
from philos.datasources.sql import SqlDatabase
from philos.datasources.sql.concepts import SqlConceptStore
from philos.datasources.sql.graph import SqlGraphStore
from philos.datasources.sql.tables import metadata
from philos.datasources.sql.theses import SqlThesisStore
from philos.datasources.sql.users import SqlUserStore
from tests.contract.concepts import CONTRACT_CONCEPTS, with_concepts

GRAPH_BACKENDS = ["sqlite", "postgres", "neo4j"]
THESIS_BACKENDS = ["sqlite", "postgres", "mongo"]
SQL_ONLY = ["sqlite", "postgres"]


async def _sql(request: pytest.FixtureRequest, kind: str, tmp: Path) -> SqlDatabase:
    if kind == "sqlite":
        from tests.services.plugin import backend_enabled

        if not backend_enabled("sqlite"):
            pytest.skip("backend sqlite not selected by PHILOS_TEST_BACKENDS")
        url = f"sqlite+aiosqlite:///{tmp / 'contract.db'}"
    else:
        from philos.config import normalise_sql_url

        url = normalise_sql_url(request.getfixturevalue("postgres_url"))
    db = SqlDatabase(url)
    await db.create_schema()
    async with db.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            await conn.execute(delete(table))
    return db


@pytest.fixture(params=GRAPH_BACKENDS)
async def graph_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[GraphStore]:
    kind = request.param
    if kind in SQL_ONLY:
        db = await with_concepts(await _sql(request, kind, tmp_path), CONTRACT_CONCEPTS)
        yield SqlGraphStore(db)
        await db.aclose()
        return
    if kind == "neo4j":
        from philos.datasources.neo4j import Neo4jGraphStore

        store = Neo4jGraphStore(request.getfixturevalue("neo4j_uri"))
        await store.setup()
        await store.driver.execute_query("MATCH (n) DETACH DELETE n", database_=store.database)
        yield store
        await store.aclose()
        return
    raise AssertionError(f"no graph backend {kind}")


@pytest.fixture(params=THESIS_BACKENDS)
async def thesis_store(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[ThesisStore]:
    kind = request.param
    if kind in SQL_ONLY:
        db = await with_concepts(await _sql(request, kind, tmp_path), CONTRACT_CONCEPTS)
        yield SqlThesisStore(db)
        await db.aclose()
        return
    if kind == "mongo":
        from philos.datasources.mongo import MongoThesisStore

        store = MongoThesisStore(request.getfixturevalue("mongodb_uri"), database="philos_contract")
        await store.client[store.database].drop_collection("theses")
        await store.setup()
        yield store
        await store.aclose()
        return
    raise AssertionError(f"no thesis backend {kind}")


@pytest.fixture(params=SQL_ONLY)
async def concept_store(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[ConceptStore]:
    db = await _sql(request, request.param, tmp_path)
    yield SqlConceptStore(db, owns_graph=True, owns_theses=True)
    await db.aclose()


@pytest.fixture(params=SQL_ONLY)
async def user_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[UserStore]:
    db = await _sql(request, request.param, tmp_path)
    yield SqlUserStore(db)
    await db.aclose()
