"""A deployment seeded with the whole sample corpus and one record of every other kind, and
an HTTP client on it."""

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
from tests.backup.reads import add_other_records
from tests.settings import settings_for


@pytest.fixture
async def api(stores: Stores, sql_url: str, tmp_path: Any) -> AsyncIterator[Api]:
    await seed(stores)
    await add_other_records(stores)
    reader = await make_user(stores, "reader", Role.READER)
    # The drills read every concept several times over, several concepts a document: no rate
    # limit gets in the way, and the documents may be larger than a client's.
    settings = settings_for(
        sql_url,
        tmp_path,
        PHILOS_RATE_LIMIT_IP=0,
        PHILOS_RATE_LIMIT_USER=0,
        PHILOS_MAX_ALIASES=100,
        PHILOS_MAX_TOKENS=10_000,
        PHILOS_MAX_COST=10_000_000,
    )
    app = create_app(settings, stores)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://philos.test") as client:
        yield Api(client, stores, reader)
