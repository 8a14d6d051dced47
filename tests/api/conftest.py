"""An in-process HTTP client on the app, seeded with the small test corpus."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from argon2 import PasswordHasher

from philos.bootstrap import create_app
from philos.datasources.stores import Stores
from philos.domain import Role, User, new_id
from philos.seed.loader import read_corpus, seed
from philos.tokens import Tokens
from tests.conftest import FIXTURES, JWT_SECRET, settings_for

SMALL_CORPUS = read_corpus((FIXTURES / "small_corpus.toml").read_text("utf-8"))


PASSWORD = "correct horse battery staple"
PASSWORD_HASH = PasswordHasher().hash(PASSWORD)
TOKENS = Tokens(JWT_SECRET.encode())


async def make_user(stores: Stores, name: str, role: Role) -> User:
    user = User(
        id=new_id(),
        email=f"{name}@philos.test",
        display_name=name.title(),
        password_hash=PASSWORD_HASH,
        role=role,
    )
    await stores.users.create(user)
    return user


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


@pytest.fixture
async def api(stores: Stores, sql_url: str, tmp_path: Any) -> AsyncIterator[Api]:
    await seed(stores, SMALL_CORPUS)
    editor = await make_user(stores, "editor", Role.EDITOR)
    app = create_app(settings_for(sql_url, tmp_path), stores)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://philos.test") as client:
        yield Api(client, stores, editor)
