"""Shared fixtures: the SQL backends every API test runs on, and an HTTP client per test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import delete

from philos.config import Settings
from philos.datasources.cache import MemoryCache
from philos.datasources.sql.tables import metadata
from philos.datasources.wiring import Stores, build_stores

pytest_plugins = ["tests.services.plugin"]

FIXTURES = Path(__file__).parent / "fixtures"
SQL_BACKENDS = ["sqlite", "postgres"]


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
def sql_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The URL of one SQL backend; tests that use it run once per backend."""
    backend = request.param
    if backend == "sqlite":
        from tests.services.plugin import backend_enabled

        if not backend_enabled("sqlite"):
            pytest.skip("backend sqlite not selected by PHILOS_TEST_BACKENDS")
        return f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('sqlite') / 'philos.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    explicit = any(
        m.args and m.args[0] == "sql_url" for m in metafunc.definition.iter_markers("parametrize")
    )
    if "sql_url" in metafunc.fixturenames and not explicit:
        metafunc.parametrize("sql_url", SQL_BACKENDS, indirect=True, scope="session")


@pytest.fixture(scope="session")
async def session_stores(
    sql_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Stores]:
    stores = await build_stores(settings_for(sql_url, tmp_path_factory.mktemp("data")))
    yield stores
    await stores.sql.drop_schema()
    await stores.aclose()


@pytest.fixture
async def stores(session_stores: Stores) -> AsyncIterator[Stores]:
    """The backend's stores, emptied (cache included) before each test."""
    async with session_stores.sql.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            await conn.execute(delete(table))
    memory_cache(session_stores).clear()
    yield session_stores


def memory_cache(stores: Stores) -> MemoryCache:
    """The in-process cache under its guard."""
    cache = getattr(stores.cache, "inner", stores.cache)
    assert isinstance(cache, MemoryCache)
    return cache


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path
