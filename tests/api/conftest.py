"""An in-process HTTP client on the app, seeded with the small test corpus."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from philos.bootstrap import create_app
from philos.datasources.sql.tables import concepts_t
from philos.datasources.stores import Stores
from philos.domain import Role, User
from philos.seed.loader import read_corpus, seed
from tests.api.accounts import make_user
from tests.api.client import Api
from tests.corpus import SMALL_CORPUS
from tests.settings import settings_for
from tests.sql_access import sql_db
from tests.stores import clear_cache, close_breakers, wipe

CORPUS = read_corpus()


@pytest.fixture
async def api(stores: Stores, sql_url: str, tmp_path: Any) -> AsyncIterator[Api]:
    await seed(stores, SMALL_CORPUS)
    editor = await make_user(stores, "editor", Role.EDITOR)
    app = create_app(settings_for(sql_url, tmp_path), stores)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://philos.test") as client:
        yield Api(client, stores, editor)


# The stores (by id) -> the editor made right after the packaged corpus was seeded into them.
_CORPUS_EDITORS: dict[int, User] = {}


async def _corpus_intact(stores: Stores, editor: User) -> bool:
    """Nothing emptied or reseeded the stores since: the same lone editor, every concept."""
    if await stores.users.count() != 1 or not await stores.users.get_many([editor.id]):
        return False
    async with sql_db(stores).connect() as conn:
        concepts = (await conn.execute(select(func.count()).select_from(concepts_t))).scalar_one()
    return int(concepts) == len(CORPUS.concepts)


@pytest.fixture
async def corpus_api(session_stores: Stores, sql_url: str, tmp_path: Any) -> AsyncIterator[Api]:
    """The same, seeded with the packaged corpus instead (over 200 concepts). Its tests only
    read, so the corpus stays for the next one that asks for it, unless another test emptied
    the stores meanwhile (every other API test starts from empty stores); the cache is emptied
    for each test, so no answer is carried over."""
    stores = session_stores
    editor = _CORPUS_EDITORS.get(id(stores))
    if editor is None or not await _corpus_intact(stores, editor):
        await wipe(stores)
        await seed(stores)
        editor = _CORPUS_EDITORS[id(stores)] = await make_user(stores, "editor", Role.EDITOR)
    await clear_cache(stores)
    close_breakers(stores)
    app = create_app(settings_for(sql_url, tmp_path), stores)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://philos.test") as client:
        yield Api(client, stores, editor)
