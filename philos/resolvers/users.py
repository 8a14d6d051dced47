"""Accounts: register, sign in, rotate refresh tokens, sign out, change roles."""

from __future__ import annotations

import asyncio
import re

from philos import domain
from philos.config import Settings
from philos.datasources.stores import Stores
from philos.passwords import MAX_PASSWORD, password_problem
from philos.resolvers.permissions import require_role
from philos.resolvers.throttle import SignInThrottle
from philos.tokens import (
    REFRESH_TTL,
    hash_password,
    hash_refresh_token,
    new_refresh_token,
    verify_password,
)
from philos.types.context import Context
from philos.validation import Checker, is_id

EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+\Z")
BAD_LOGIN = "The email or password is wrong."


def _throttle(ctx: Context) -> SignInThrottle:
    return SignInThrottle(ctx.stores.cache, ctx.settings)


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


async def check_new_account(
    settings: Settings, email: str, password: str, display_name: str
) -> tuple[str, str]:
    """The normalised email and display name of a new account; ``ValidationError`` listing
    every rule the input breaks (the password's strength included)."""
    ck = Checker()
    email = email.strip().lower()
    if len(email) > 254 or not EMAIL_RE.match(email):
        ck.add("email", "is not an email address.")
    # The estimator takes tens of milliseconds: off the event loop, like argon2.
    problem = await asyncio.to_thread(
        password_problem,
        password,
        email=email,
        name=display_name.strip(),
        min_score=settings.password_min_score,
    )
    if problem:
        ck.add("password", problem)
    name = ck.text("displayName", display_name, max_len=80, required=True) or ""
    ck.done()
    return email, name


async def register(
    ctx: Context, email: str, password: str, display_name: str
) -> tuple[str, str, domain.User]:
    throttle = _throttle(ctx)
    await throttle.check_client(ctx.client_ip)
    email, name = await check_new_account(ctx.settings, email, password, display_name)
    await throttle.count_registration(ctx.client_ip)
    user = domain.User(
        id=domain.new_id(),
        email=email,
        display_name=name,
        password_hash=await hash_password(password),
        role=domain.Role.READER,
    )
    try:
        # The first account may administer the installation (PHILOS_FIRST_USER_ADMIN); the
        # store decides that atomically, so concurrent first sign-ups make a single ADMIN.
        user = await ctx.stores.users.create(
            user, admin_if_first=ctx.settings.first_account_becomes_admin
        )
    except domain.ConflictError:
        # "That email has an account" is what a password guesser wants to know first.
        await throttle.client_failed(ctx.client_ip)
        raise
    return await _issue(ctx, user)


async def login(ctx: Context, email: str, password: str) -> tuple[str, str, domain.User]:
    email = email.strip()[:254]
    attempt = await _throttle(ctx).begin_login(email, ctx.client_ip)
    user = await ctx.stores.users.get_by_email(email)
    ok = await verify_password(user.password_hash if user else None, password[:MAX_PASSWORD])
    if user is None or not ok:
        await attempt.failed()
        raise domain.AuthError(BAD_LOGIN)
    await attempt.succeeded()
    return await _issue(ctx, user)


async def refresh(ctx: Context, raw: str) -> tuple[str, str, domain.User]:
    throttle = _throttle(ctx)
    await throttle.check_client(ctx.client_ip)
    try:
        return await _refresh(ctx, raw)
    except domain.AuthError:
        await throttle.client_failed(ctx.client_ip)
        raise


async def _refresh(ctx: Context, raw: str) -> tuple[str, str, domain.User]:
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


MAX_LISTED_USERS = 200


async def list_users(ctx: Context, search: str | None, first: int) -> list[domain.User]:
    """Accounts for an ADMIN to manage, by email; ``search`` narrows them to those whose email
    or display name contains it."""
    require_role(ctx.principal, domain.Role.ADMIN, "list accounts")
    if not 1 <= first <= MAX_LISTED_USERS:
        raise domain.ValidationError(
            [domain.FieldProblem("first", f"Ask for 1 to {MAX_LISTED_USERS} accounts.")]
        )
    text = (search or "").strip()[:200] or None
    return await ctx.stores.users.search(text, first)


async def create_admin(
    stores: Stores, settings: Settings, email: str, password: str, display_name: str
) -> domain.User:
    """A new ADMIN account, for ``philos create-admin``: the same rules as ``register``, no
    throttle (the operator is at the console), and no race with the first sign-up."""
    email, name = await check_new_account(settings, email, password, display_name)
    user = domain.User(
        id=domain.new_id(),
        email=email,
        display_name=name,
        password_hash=await hash_password(password),
        role=domain.Role.ADMIN,
    )
    return await stores.users.create(user)
