"""Accounts in the schema: register, login, refreshToken, logout, setUserRole; ``me``, and
``users`` for an ADMIN."""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import datetime
from typing import Annotated

import strawberry
from strawberry.types import Info

from philos import domain
from philos.resolvers import users
from philos.tokens import ACCESS_TTL
from philos.types.context import Context
from philos.types.enums import Role
from philos.types.hints import per_caller, store_cost
from philos.types.objects import User
from philos.types.payloads import (
    AuthFailed,
    AuthRateLimited,
    Conflict,
    Expected,
    Forbidden,
    NotFound,
    P,
    ValidationFailed,
    attempt,
    expecting,
)

PhilosInfo = Info[Context, None]


@strawberry.type(description="Your own account, as only you see it.")
class Me:
    id: strawberry.ID
    email: str
    display_name: str
    role: Role
    created_at: datetime

    @classmethod
    def from_domain(cls, u: domain.User) -> Me:
        return cls(
            id=strawberry.ID(u.id),
            email=u.email,
            display_name=u.display_name,
            role=u.role,
            created_at=u.created_at,
        )


@strawberry.type(description="An account as an ADMIN sees it.")
class Account:
    id: strawberry.ID
    email: str
    display_name: str
    role: Role
    created_at: datetime

    @classmethod
    def from_domain(cls, u: domain.User) -> Account:
        return cls(
            id=strawberry.ID(u.id),
            email=u.email,
            display_name=u.display_name,
            role=u.role,
            created_at=u.created_at,
        )


@strawberry.type
class AccountList:
    # Sized by `users(first:)`, which the cost model already multiplies by: one item here.
    accounts: list[Account] = strawberry.field(metadata=store_cost(items=1))


@strawberry.type(description="Signed in. Send `Authorization: Bearer <accessToken>`.")
class AuthSuccess:
    access_token: str
    expires_in: int = strawberry.field(description="Seconds until the access token expires.")
    refresh_token: str = strawberry.field(
        description="Single use: refreshToken returns a new one. Keep it secret."
    )
    user: Me = strawberry.field(metadata=per_caller())


@strawberry.type
class SignedOut:
    ok: bool


@strawberry.type
class UserSuccess:
    user: User


RegisterResult = Annotated[
    AuthSuccess | ValidationFailed | Conflict | AuthRateLimited, strawberry.union("RegisterResult")
]
LoginResult = Annotated[AuthSuccess | AuthFailed | AuthRateLimited, strawberry.union("LoginResult")]
LogoutResult = Annotated[SignedOut | AuthFailed, strawberry.union("LogoutResult")]
SetUserRoleResult = Annotated[
    UserSuccess | NotFound | Forbidden, strawberry.union("SetUserRoleResult")
]
UsersResult = Annotated[AccountList | ValidationFailed | Forbidden, strawberry.union("UsersResult")]


REGISTER_FAILURES = expecting(ValidationFailed, Conflict, AuthRateLimited)
SIGN_IN_FAILURES = expecting(AuthFailed, AuthRateLimited)


async def _signed_in(
    action: Awaitable[tuple[str, str, domain.User]], expected: Expected[P]
) -> AuthSuccess | P:
    async def run() -> AuthSuccess:
        access, refresh, user = await action
        return AuthSuccess(
            access_token=access,
            expires_in=int(ACCESS_TTL.total_seconds()),
            refresh_token=refresh,
            user=Me.from_domain(user),
        )

    return await attempt(run, expected)


@strawberry.type
class AuthMutation:
    @strawberry.mutation(
        description="Create an account. It starts as READER; on an installation with no account "
        "yet (and PHILOS_FIRST_USER_ADMIN on) the first one becomes ADMIN. Throttled per client."
    )
    async def register(
        self, info: PhilosInfo, email: str, password: str, display_name: str
    ) -> RegisterResult:
        return await _signed_in(
            users.register(info.context, email, password, display_name), REGISTER_FAILURES
        )

    @strawberry.mutation(
        description="Sign in with email and password. Repeated failures for an account or from "
        "a client back off, then lock out (AuthRateLimited)."
    )
    async def login(self, info: PhilosInfo, email: str, password: str) -> LoginResult:
        return await _signed_in(users.login(info.context, email, password), SIGN_IN_FAILURES)

    @strawberry.mutation(description="Trade a refresh token for new tokens; the old one dies.")
    async def refresh_token(self, info: PhilosInfo, refresh_token: str) -> LoginResult:
        return await _signed_in(users.refresh(info.context, refresh_token), SIGN_IN_FAILURES)

    @strawberry.mutation(description="Sign out: the refresh token and its rotations stop working.")
    async def logout(self, info: PhilosInfo, refresh_token: str) -> LogoutResult:
        async def run() -> SignedOut:
            await users.logout(info.context, refresh_token)
            return SignedOut(ok=True)

        return await attempt(run, expecting(AuthFailed))

    @strawberry.mutation(description="Change a user's role (ADMIN only).")
    async def set_user_role(
        self, info: PhilosInfo, user_id: strawberry.ID, role: Role
    ) -> SetUserRoleResult:
        async def run() -> UserSuccess:
            user = await users.set_role(info.context, str(user_id), role)
            return UserSuccess(user=User.from_domain(user))

        return await attempt(run, expecting(NotFound, Forbidden))


async def resolve_me(info: PhilosInfo) -> Me | None:
    principal = info.context.principal
    if principal.user_id is None:
        return None
    user = await info.context.loaders.user.load(principal.user_id)
    return Me.from_domain(user) if user else None


async def resolve_users(info: PhilosInfo, search: str | None, first: int) -> UsersResult:
    async def run() -> AccountList:
        found = await users.list_users(info.context, search, first)
        return AccountList(accounts=[Account.from_domain(u) for u in found])

    return await attempt(run, expecting(ValidationFailed, Forbidden))
