"""Users for the API suites: one known password, and the token issuer the app trusts."""

from __future__ import annotations

from argon2 import PasswordHasher

from philos.datasources.stores import Stores
from philos.domain import Role, User, new_id
from philos.tokens import Tokens
from tests.settings import JWT_SECRET

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
