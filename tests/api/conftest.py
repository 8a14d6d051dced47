"""An in-process HTTP client on the app, seeded with the small test corpus."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from philos.datasources.wiring import Stores
from philos.gateway.app import create_app
from philos.seed.loader import read_corpus, seed
from tests.conftest import FIXTURES, settings_for

SMALL_CORPUS = read_corpus((FIXTURES / "small_corpus.toml").read_text("utf-8"))


class Api:
    """A GraphQL client over real HTTP semantics (httpx against the ASGI app)."""

    def __init__(self, client: httpx.AsyncClient, stores: Stores) -> None:
        self.client = client
        self.stores = stores

    async def post(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        response = await self.client.post(
            "/graphql", json={"query": query, "variables": variables or {}}
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def data(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        body = await self.post(query, variables)
        assert "errors" not in body, body["errors"]
        result: dict[str, Any] = body["data"]
        return result

    async def errors(self, query: str, variables: dict[str, Any] | None = None) -> list[str]:
        body = await self.post(query, variables)
        assert body.get("errors"), body
        return [e["message"] for e in body["errors"]]

    async def concept_id(self, slug: str) -> str:
        data = await self.data("query($s:String!){concept(slug:$s){id}}", {"s": slug})
        ident: str = data["concept"]["id"]
        return ident


@pytest.fixture
async def api(stores: Stores, sql_url: str, tmp_path: Any) -> AsyncIterator[Api]:
    await seed(stores, SMALL_CORPUS)
    app = create_app(settings_for(sql_url, tmp_path), stores)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://philos.test") as client:
        yield Api(client, stores)
