"""Fixtures for the AI mutations: a scripted Anthropic API on 127.0.0.1 and the app wired to it
with the real SDK, on each SQL backend (the backends and stores come from ``tests/conftest``,
the GraphQL client from ``tests/api/client``)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from philos.bootstrap import build_llm, create_app
from philos.datasources.llm import LLM
from philos.datasources.stores import Stores
from philos.domain import Role
from philos.seed.loader import seed
from tests.ai.fake_anthropic import FakeAnthropic
from tests.ai.helpers import MODEL, TIMEOUT, OpenAi
from tests.api.accounts import make_user
from tests.api.client import Api
from tests.corpus import SMALL_CORPUS
from tests.settings import settings_for


@pytest.fixture(scope="session")
def anthropic_server() -> Iterator[FakeAnthropic]:
    server = FakeAnthropic()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def fake(anthropic_server: FakeAnthropic) -> Iterator[FakeAnthropic]:
    anthropic_server.reset()
    yield anthropic_server
    anthropic_server.reset()


@pytest.fixture
async def open_ai(
    stores: Stores, sql_url: str, tmp_path: Path, fake: FakeAnthropic
) -> AsyncIterator[OpenAi]:
    """Open the app with AI settings (``open_ai(PHILOS_AI_QUOTA=1)`` overrides them), the
    sample corpus loaded and an EDITOR signed in."""
    await seed(stores, SMALL_CORPUS)
    editor = await make_user(stores, "editor", Role.EDITOR)
    original = stores.llm
    opened: list[tuple[httpx.AsyncClient, LLM | None]] = []

    async def open_(**overrides: object) -> Api:
        values: dict[str, object] = {
            "ANTHROPIC_API_KEY": "sk-ant-test",
            "ANTHROPIC_BASE_URL": fake.url,
            "PHILOS_AI_MODEL": MODEL,
            "PHILOS_AI_TIMEOUT": TIMEOUT,
            "PHILOS_AI_QUOTA": 100,
            **overrides,
        }
        settings = settings_for(sql_url, tmp_path, **values)
        stores.llm = llm = build_llm(settings)
        app = create_app(settings, stores)
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://philos.test"
        )
        opened.append((client, llm))
        return Api(client, stores, editor)

    yield open_
    for client, llm in opened:
        await client.aclose()
        if llm is not None:
            await llm.aclose()
    stores.llm = original


@pytest.fixture
async def ai(open_ai: OpenAi) -> Api:
    return await open_ai()
