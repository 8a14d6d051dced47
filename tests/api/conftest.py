"""An in-process HTTP client on the app, seeded with the small test corpus."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from philos.bootstrap import create_app
from philos.datasources.stores import Stores
from philos.domain import Role
from philos.seed.loader import seed
from tests.api.accounts import make_user
from tests.api.client import Api
from tests.corpus import SMALL_CORPUS
from tests.settings import settings_for


@pytest.fixture
async def api(stores: Stores, sql_url: str, tmp_path: Any) -> AsyncIterator[Api]:
    await seed(stores, SMALL_CORPUS)
    editor = await make_user(stores, "editor", Role.EDITOR)
    app = create_app(settings_for(sql_url, tmp_path), stores)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://philos.test") as client:
        yield Api(client, stores, editor)


@pytest.fixture
async def corpus_api(stores: Stores, sql_url: str, tmp_path: Any) -> AsyncIterator[Api]:
    """The same, seeded with the packaged corpus instead (over 200 concepts)."""
    await seed(stores)
    editor = await make_user(stores, "editor", Role.EDITOR)
    app = create_app(settings_for(sql_url, tmp_path), stores)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://philos.test") as client:
        yield Api(client, stores, editor)
