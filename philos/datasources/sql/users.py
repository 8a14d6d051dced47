"""UserStore on SQL."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy import Row, case, exists, func, insert, literal, or_, select, text, update
from sqlalchemy.exc import IntegrityError

from philos.datasources.outbox import record_event
from philos.datasources.sql import SqlStore
from philos.datasources.sql.common import aware, by_id
from philos.datasources.sql.tables import refresh_tokens_t, users_t
from philos.domain import ConflictError, RefreshToken, Role, User, utcnow

u = users_t.c
rt = refresh_tokens_t.c

_FIRST_ADMIN_LOCK = 0x50484C4F5341444D  # "PHLOSADM": serialises first-account sign-ups


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


class SqlUserStore(SqlStore):
    async def get_many(self, ids: Sequence[str]) -> dict[str, User]:
        if not ids:
            return {}
        async with self.db.connect() as conn:
            return await by_id(conn, users_t, ids, user_from_row)

    async def get_by_email(self, email: str) -> User | None:
        async with self.db.connect() as conn:
            row = (
                await conn.execute(select(users_t).where(func.lower(u.email) == email.lower()))
            ).first()
        return user_from_row(row) if row else None

    async def create(self, user: User, *, admin_if_first: bool = False) -> User:
        values = {
            "id": user.id,
            "email": user.email.lower(),
            "display_name": user.display_name,
            "password_hash": user.password_hash,
            "role": user.role.value,
            "created_at": user.created_at,
        }
        try:
            async with self.db.begin() as conn:
                if not admin_if_first:
                    await conn.execute(insert(users_t).values(**values))
                    return user
                if not self.db.is_sqlite:
                    # Under READ COMMITTED two inserts could each see no account; the lock
                    # makes the second wait for the first to commit (on every replica).
                    await conn.execute(
                        text("SELECT pg_advisory_xact_lock(:key)"), {"key": _FIRST_ADMIN_LOCK}
                    )
                # One statement decides the role and inserts: SQLite runs it under its write
                # lock, so no other insert comes between the look and the write.
                role = case(
                    (exists().select_from(users_t), literal(user.role.value)),
                    else_=literal(Role.ADMIN.value),
                )
                columns = [c for c in values if c != "role"]
                await conn.execute(
                    insert(users_t).from_select(
                        [*columns, "role"],
                        select(*(literal(values[c], users_t.c[c].type) for c in columns), role),
                    )
                )
                stored = (await conn.execute(select(u.role).where(u.id == user.id))).scalar_one()
        except IntegrityError as exc:
            raise ConflictError(f"An account with the email '{user.email}' exists.") from exc
        return replace(user, role=Role(stored))

    async def count(self) -> int:
        async with self.db.connect() as conn:
            return int((await conn.execute(select(func.count()).select_from(users_t))).scalar_one())

    async def set_role(self, user_id: str, role: Role) -> User | None:
        async with self.db.begin() as conn:
            result = await conn.execute(
                update(users_t).where(u.id == user_id).values(role=role.value)
            )
            if result.rowcount and self.events:
                # Users carry no version: the event id alone tells copies apart.
                await record_event(
                    conn, "user.updated", user_id, version=None, extra={"role": role.value}
                )
            # Read back before the commit: nothing can fail once the change is durable.
            stored = (await by_id(conn, users_t, [user_id], user_from_row)).get(user_id)
        if result.rowcount:
            self._evented()
        return stored

    async def search(self, text: str | None, limit: int) -> list[User]:
        query = select(users_t).order_by(u.email, u.id).limit(limit)
        if text:
            needle = text.lower()
            query = query.where(
                or_(
                    func.lower(u.email).contains(needle, autoescape=True),
                    func.lower(u.display_name).contains(needle, autoescape=True),
                )
            )
        async with self.db.connect() as conn:
            rows = await conn.execute(query)
        return [user_from_row(row) for row in rows]


class SqlRefreshTokenStore(SqlStore):
    async def create(self, token: RefreshToken) -> None:
        async with self.db.begin() as conn:
            await conn.execute(
                insert(refresh_tokens_t).values(
                    id=token.id,
                    user_id=token.user_id,
                    family_id=token.family_id,
                    token_hash=token.token_hash,
                    created_at=token.created_at,
                    expires_at=token.expires_at,
                )
            )

    async def get_by_hash(self, token_hash: str) -> RefreshToken | None:
        async with self.db.connect() as conn:
            row = (
                await conn.execute(select(refresh_tokens_t).where(rt.token_hash == token_hash))
            ).first()
        if row is None:
            return None
        m = row._mapping
        return RefreshToken(
            id=m["id"],
            user_id=m["user_id"],
            family_id=m["family_id"],
            token_hash=m["token_hash"],
            created_at=aware(m["created_at"]),
            expires_at=aware(m["expires_at"]),
            used_at=aware(m["used_at"]) if m["used_at"] else None,
            revoked_at=aware(m["revoked_at"]) if m["revoked_at"] else None,
        )

    async def mark_used(self, token_id: str) -> bool:
        async with self.db.begin() as conn:
            result = await conn.execute(
                update(refresh_tokens_t)
                .where(rt.id == token_id, rt.used_at.is_(None), rt.revoked_at.is_(None))
                .values(used_at=utcnow())
            )
        return bool(result.rowcount)

    async def revoke_family(self, family_id: str) -> None:
        async with self.db.begin() as conn:
            await conn.execute(
                update(refresh_tokens_t)
                .where(rt.family_id == family_id, rt.revoked_at.is_(None))
                .values(revoked_at=utcnow())
            )
