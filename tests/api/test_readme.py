"""Every ```graphql example in the README runs against the packaged corpus and finds something."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from philos.bootstrap import create_app
from philos.datasources.stores import Stores
from philos.domain import Role
from philos.seed.loader import seed
from tests.api.accounts import make_user
from tests.api.client import Api
from tests.settings import settings_for

README = Path(__file__).resolve().parents[2] / "README.md"
EXAMPLES = re.findall(r"```graphql\n(.*?)```", README.read_text(encoding="utf-8"), re.S)


@pytest.fixture
async def full(stores: Stores, sql_url: str, tmp_path: Any) -> AsyncIterator[Api]:
    await seed(stores)
    editor = await make_user(stores, "editor", Role.EDITOR)
    app = create_app(settings_for(sql_url, tmp_path), stores)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://philos.test") as client:
        yield Api(client, stores, editor)


def empty(value: Any) -> bool:
    if value is None or value == [] or value == {}:
        return True
    if isinstance(value, dict):
        return all(empty(v) for v in value.values())
    return False


def test_the_readme_has_examples() -> None:
    assert len(EXAMPLES) >= 5


@pytest.mark.parametrize("example", EXAMPLES, ids=[f"example{i}" for i in range(len(EXAMPLES))])
async def test_readme_example_answers(full: Api, example: str) -> None:
    body = await full.post(example)
    assert "errors" not in body, body
    for field, value in body["data"].items():
        assert not empty(value), f"{field} found nothing:\n{example}"
