"""Accounts: register, sign in, rotate refresh tokens, sign out, change roles."""

from __future__ import annotations

import re

from philos import domain
from philos.gateway.auth import (
    REFRESH_TTL,
    hash_password,
    hash_refresh_token,
    new_refresh_token,
    verify_password,
)
from philos.resolvers.permissions import require_role
from philos.schema.context import Context
from philos.validation import Checker, is_id

EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD = 10
MAX_PASSWORD = 256
BAD_LOGIN = "The email or password is wrong."


async def _issue(
    ctx: Context, user: domain.User, family_id: str | None = None
) -> tuple[str, str, domain.User]:
    raw = new_refresh_token()
    now = domain.utcnow()
    await ctx.stores.tokens.create(
        domain.RefreshToken(
            id=domain.new_id(),
            user_id=user.id,
            family_id=family_id or domain.new_id(),
            token_hash=hash_refresh_token(raw),
            created_at=now,
            expires_at=now + REFRESH_TTL,
        )
    )
    return ctx.tokens.issue_access(user), raw, user


async def register(
    ctx: Context, email: str, password: str, display_name: str
) -> tuple[str, str, domain.User]:
    ck = Checker()
    email = email.strip().lower()
    if len(email) > 254 or not EMAIL_RE.match(email):
        ck.add("email", "is not an email address.")
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        ck.add("password", f"must be {MIN_PASSWORD} to {MAX_PASSWORD} characters.")
    elif password.lower() in email or email.split("@")[0] in password.lower():
        ck.add("password", "must not contain the email address.")
    name = ck.text("displayName", display_name, max_len=80, required=True) or ""
    ck.done()
    # The first account administers the installation; everyone else starts as a reader.
    role = domain.Role.ADMIN if await ctx.stores.users.count() == 0 else domain.Role.READER
    user = domain.User(
        id=domain.new_id(),
        email=email,
        display_name=name,
        password_hash=await hash_password(password),
        role=role,
    )
    await ctx.stores.users.create(user)
    return await _issue(ctx, user)


async def login(ctx: Context, email: str, password: str) -> tuple[str, str, domain.User]:
    user = await ctx.stores.users.get_by_email(email.strip()[:254])
    ok = await verify_password(user.password_hash if user else None, password[:MAX_PASSWORD])
    if user is None or not ok:
        raise domain.AuthError(BAD_LOGIN)
    return await _issue(ctx, user)


async def refresh(ctx: Context, raw: str) -> tuple[str, str, domain.User]:
    token = await ctx.stores.tokens.get_by_hash(hash_refresh_token(raw))
    if token is None:
        raise domain.AuthError("The refresh token is not known; sign in again.")
    if token.revoked_at is not None:
        raise domain.AuthError("The refresh token was revoked; sign in again.")
    if token.used_at is not None or not await ctx.stores.tokens.mark_used(token.id):
        # A used token presented again means it leaked: end every session of that sign-in.
        await ctx.stores.tokens.revoke_family(token.family_id)
        raise domain.AuthError(
            "The refresh token was already used, so every session of that sign-in was ended; "
            "sign in again."
        )
    if token.expires_at <= domain.utcnow():
        raise domain.AuthError("The refresh token has expired; sign in again.")
    user = (await ctx.stores.users.get_many([token.user_id])).get(token.user_id)
    if user is None:
        raise domain.AuthError("The account no longer exists.")
    return await _issue(ctx, user, token.family_id)


async def logout(ctx: Context, raw: str) -> None:
    token = await ctx.stores.tokens.get_by_hash(hash_refresh_token(raw))
    if token is None:
        raise domain.AuthError("The refresh token is not known.")
    await ctx.stores.tokens.revoke_family(token.family_id)


async def set_role(ctx: Context, user_id: str, role: domain.Role) -> domain.User:
    require_role(ctx.principal, domain.Role.ADMIN, "change roles")
    if not is_id(user_id):
        raise domain.NotFoundError("user", user_id)
    user = await ctx.stores.users.set_role(user_id, role)
    if user is None:
        raise domain.NotFoundError("user", user_id)
    return user
