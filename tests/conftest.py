"""Shared fixtures: the SQL backends every API test runs on, and an HTTP client per test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from pymongo import monitoring
from sqlalchemy import delete

from philos.bootstrap import build_stores
from philos.config import Settings
from philos.datasources.cache import MemoryCache
from philos.datasources.sql.tables import metadata
from philos.datasources.stores import Stores
from tests.sql_access import sql_db

pytest_plugins = ["tests.services.plugin", "tests.watchdog"]

FIXTURES = Path(__file__).parent / "fixtures"
SQL_BACKENDS = ["sqlite", "postgres"]
# The GraphQL API suite (tests/api) also runs once on the full production wiring.
PRODUCTION_BACKENDS = [*SQL_BACKENDS, "production"]


JWT_SECRET = "test-secret-0123456789-abcdefghijklmnopqrstuvwxyz-0123456789-abcdefghij"


def settings_for(url: str, data_dir: Path, **extra: object) -> Settings:
    values: dict[str, object] = {
        "DATABASE_URL": url,
        "PHILOS_DATA_DIR": data_dir,
        "PHILOS_ENV": "test",
        "JWT_SECRET": JWT_SECRET,
        **extra,
    }
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def backend(request: pytest.FixtureRequest) -> str:
    """Which wiring a test runs on: ``sqlite`` (the embedded default), ``postgres`` (everything
    in PostgreSQL) or ``production`` (PostgreSQL + Neo4j + MongoDB-wire + Redis)."""
    name: str = request.param
    return name


@pytest.fixture(scope="session")
def sql_url(
    backend: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> str:
    """The URL of the backend's SQL database."""
    if backend == "sqlite":
        from tests.services.plugin import backend_enabled

        if not backend_enabled("sqlite"):
            pytest.skip("backend sqlite not selected by PHILOS_TEST_BACKENDS")
        return f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('sqlite') / 'philos.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture(scope="session")
def backend_settings(backend: str, request: pytest.FixtureRequest) -> dict[str, object]:
    """Settings beyond DATABASE_URL that the backend's wiring needs."""
    if backend != "production":
        return {}
    return {
        "NEO4J_URI": request.getfixturevalue("neo4j_uri"),
        "MONGODB_URI": request.getfixturevalue("mongodb_uri"),
        "PHILOS_MONGODB_DATABASE": "philos_api_tests",
        "REDIS_URL": request.getfixturevalue("redis_url"),
        # Short enough that outage tests see failures and recoveries quickly.
        "PHILOS_STORE_TIMEOUT": 2,
        "PHILOS_BREAKER_RESET": 1,
    }


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    explicit = any(
        m.args and m.args[0] == "backend" for m in metafunc.definition.iter_markers("parametrize")
    )
    wanted = {"sql_url", "backend"} & set(metafunc.fixturenames)
    if wanted and not explicit:
        api_suite = metafunc.module.__name__.startswith("tests.api.")
        backends = PRODUCTION_BACKENDS if api_suite else SQL_BACKENDS
        metafunc.parametrize("backend", backends, indirect=True, scope="session")


@pytest.fixture(scope="session")
async def session_stores(
    sql_url: str,
    backend_settings: dict[str, object],
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Stores]:
    settings = settings_for(sql_url, tmp_path_factory.mktemp("data"), **backend_settings)
    stores = await build_stores(settings)
    yield stores
    await sql_db(stores).drop_schema()
    await stores.aclose()


def unwrap(store: object) -> object:
    """The adapter under its cache and guard wrappers."""
    while hasattr(store, "inner"):
        store = store.inner
    return store


async def wipe(stores: Stores) -> None:
    """Empty every store of a wiring: SQL tables, and Neo4j, MongoDB and Redis when used."""
    async with sql_db(stores).begin() as conn:
        for table in reversed(metadata.sorted_tables):
            await conn.execute(delete(table))
    graph = unwrap(stores.graph)
    if getattr(graph, "name", "") == "neo4j":
        await graph.driver.execute_query(  # type: ignore[attr-defined]
            "MATCH (n) DETACH DELETE n",
            database_=graph.database,  # type: ignore[attr-defined]
        )
    theses = unwrap(stores.theses)
    if getattr(theses, "name", "") == "mongo":
        documents = await theses._docs()  # type: ignore[attr-defined]
        await documents.get_pymongo_collection().delete_many({})
    await clear_cache(stores)


@pytest.fixture
async def stores(session_stores: Stores) -> AsyncIterator[Stores]:
    """The backend's stores, emptied (cache included) before each test."""
    await wipe(session_stores)
    yield session_stores


async def clear_cache(stores: Stores) -> None:
    cache = unwrap(stores.cache)
    if isinstance(cache, MemoryCache):
        cache.clear()
    else:
        await cache._redis.flushdb()  # type: ignore[attr-defined]


class MongoCommands(monitoring.CommandListener):
    """Counts commands sent to MongoDB by every client of the session (registered globally,
    before any client exists); ``recording`` turns counting on."""

    def __init__(self) -> None:
        self.recording = False
        self.commands: list[str] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if self.recording:
            self.commands.append(event.command_name)

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        return None

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        return None


MONGO_COMMANDS = MongoCommands()
monitoring.register(MONGO_COMMANDS)


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path
