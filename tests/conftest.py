"""Shared fixtures: the SQL backends every API test runs on, and an HTTP client per test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from philos.bootstrap import build_stores
from philos.datasources.stores import Stores
from tests.settings import PRODUCTION_BACKENDS, PRODUCTION_SERVERS, SQL_BACKENDS, settings_for
from tests.sql_access import sql_db

# Importing tests.stores registers its MongoDB command listener before any client exists.
from tests.stores import wipe

if TYPE_CHECKING:  # imported as a plugin below, after pytest can rewrite its asserts
    from tests.services.plugin import ServiceManager

pytest_plugins = ["tests.services.plugin", "tests.watchdog"]


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
        "PHILOS_STORE_IO_TIMEOUT": 15,
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


# The throwaway servers each wiring's stores talk to.
WIRING_SERVERS = {"sqlite": (), "postgres": ("postgres",), "production": PRODUCTION_SERVERS}


@pytest.fixture
async def stores(
    session_stores: Stores, backend: str, service_manager: ServiceManager
) -> AsyncIterator[Stores]:
    """The backend's stores, emptied (cache included) before each test, on servers that
    answer (one an earlier test left stopped is started again)."""
    service_manager.ensure_running(WIRING_SERVERS[backend])
    await wipe(session_stores)
    yield session_stores


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path
