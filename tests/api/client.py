"""The GraphQL client the API suites talk to the app through."""

from __future__ import annotations

from typing import Any

import httpx

from philos.datasources.stores import Stores
from philos.domain import User
from tests.api.accounts import TOKENS


class Api:
    """A GraphQL client over real HTTP semantics (httpx against the ASGI app), signed in as an
    EDITOR unless told otherwise (``as_user``/``anonymous``)."""

    def __init__(self, client: httpx.AsyncClient, stores: Stores, user: User | None) -> None:
        self.client = client
        self.stores = stores
        self.user = user

    def token(self) -> str | None:
        return TOKENS.issue_access(self.user) if self.user else None

    def as_user(self, user: User | None) -> Api:
        return Api(self.client, self.stores, user)

    @property
    def anonymous(self) -> Api:
        return self.as_user(None)

    async def post(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        token = self.token()
        response = await self.client.post(
            "/graphql",
            json={"query": query, "variables": variables or {}},
            headers={"authorization": f"Bearer {token}"} if token else {},
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
