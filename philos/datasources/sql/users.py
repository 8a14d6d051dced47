"""UserStore on SQL."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, func, insert, select
from sqlalchemy.exc import IntegrityError

from philos.datasources.sql import SqlDatabase
from philos.datasources.sql.common import aware
from philos.datasources.sql.tables import users_t
from philos.domain import ConflictError, Role, User

u = users_t.c


def user_from_row(row: Row[Any]) -> User:
    m = row._mapping
    return User(
        id=m["id"],
        email=m["email"],
        display_name=m["display_name"],
        password_hash=m["password_hash"],
        role=Role(m["role"]),
        created_at=aware(m["created_at"]),
    )


class SqlUserStore:
    name = "sql"

    def __init__(self, db: SqlDatabase) -> None:
        self.db = db

    async def ping(self) -> None:
        await self.db.ping()

    async def aclose(self) -> None:
        return None

    async def get_many(self, ids: Sequence[str]) -> dict[str, User]:
        if not ids:
            return {}
        async with self.db.connect() as conn:
            rows = await conn.execute(select(users_t).where(u.id.in_(set(ids))))
        return {row.id: user_from_row(row) for row in rows}

    async def get_by_email(self, email: str) -> User | None:
        async with self.db.connect() as conn:
            row = (
                await conn.execute(select(users_t).where(func.lower(u.email) == email.lower()))
            ).first()
        return user_from_row(row) if row else None

    async def create(self, user: User) -> User:
        try:
            async with self.db.begin() as conn:
                await conn.execute(
                    insert(users_t).values(
                        id=user.id,
                        email=user.email.lower(),
                        display_name=user.display_name,
                        password_hash=user.password_hash,
                        role=user.role.value,
                        created_at=user.created_at,
                    )
                )
        except IntegrityError as exc:
            raise ConflictError(f"An account with the email '{user.email}' exists.") from exc
        return user
