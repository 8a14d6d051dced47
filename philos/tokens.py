"""Tokens and passwords.

Access tokens are JWTs (RFC 8725 practice): one pinned algorithm (HS256), and ``exp``, ``iat``,
``iss``, ``aud`` and ``sub`` all required on decode; they live 15 minutes and carry the user's
role. Refresh tokens are opaque random strings, stored only as SHA-256 hashes, rotated on every
use; see ``resolvers/users.py`` for reuse detection. Passwords are hashed with argon2id.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from philos.config import Settings
from philos.domain import AuthError, Principal, Role, User, new_id, utcnow

logger = logging.getLogger("philos.auth")

ALGORITHM = "HS256"
ISSUER = "philos"
AUDIENCE = "philos-api"
ACCESS_TTL = timedelta(minutes=15)
REFRESH_TTL = timedelta(days=30)
MIN_SECRET_BYTES = 32

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
# Verifying against this when the email is unknown keeps login time the same either way.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, password)


async def verify_password(password_hash: str | None, password: str) -> bool:
    def check() -> bool:
        try:
            return _hasher.verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
        except (VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(check)


def hash_refresh_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def new_refresh_token() -> str:
    return secrets.token_urlsafe(32)


@dataclass(frozen=True)
class Tokens:
    secret: bytes

    def issue_access(self, user: User) -> str:
        now = utcnow()
        claims = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": user.id,
            "iat": int(now.timestamp()),
            "nbf": int(now.timestamp()),
            "exp": int((now + ACCESS_TTL).timestamp()),
            "jti": new_id(),
            "role": user.role.value,
        }
        return jwt.encode(claims, self.secret, algorithm=ALGORITHM)

    def principal(self, token: str) -> Principal:
        return self.principal_until(token)[0]

    def principal_until(self, token: str) -> tuple[Principal, float]:
        """The token's principal and its ``exp`` (seconds since the epoch)."""
        try:
            claims = jwt.decode(
                token,
                self.secret,
                algorithms=[ALGORITHM],
                audience=AUDIENCE,
                issuer=ISSUER,
                options={"require": ["exp", "iat", "iss", "aud", "sub"]},
                leeway=5,
            )
            principal = Principal(
                user_id=str(claims["sub"]), role=Role(claims.get("role", "READER"))
            )
            return principal, float(claims["exp"])
        except jwt.ExpiredSignatureError as exc:
            raise AuthError(
                "The access token has expired; use refreshToken for a new one."
            ) from exc
        except (jwt.InvalidTokenError, ValueError) as exc:
            raise AuthError("The access token is not valid; sign in again.") from exc


class VerifiedTokens:
    """Access tokens already verified, each until its ``exp``: a client sends the same token
    with every request, and checking its signature and claims again each time is wasted work.
    Only successes are kept (a bad or expired token is checked, and refused, every time);
    bounded, least recently used first out."""

    def __init__(self, tokens: Tokens, max_entries: int = 10_000) -> None:
        self.tokens = tokens
        self.max_entries = max_entries
        self._verified: OrderedDict[str, tuple[Principal, float]] = OrderedDict()

    def principal(self, token: str) -> Principal:
        """As ``Tokens.principal``: raises ``AuthError`` for a token that is not valid now."""
        found = self._verified.get(token)
        if found is not None:
            if time.time() < found[1]:
                self._verified.move_to_end(token)
                return found[0]
            del self._verified[token]
        principal, expires = self.tokens.principal_until(token)
        if time.time() < expires:
            self._verified[token] = (principal, expires)
            if len(self._verified) > self.max_entries:
                self._verified.popitem(last=False)
        return principal


def load_secret(settings: Settings) -> bytes:
    """``JWT_SECRET`` if set. The embedded default (no ``DATABASE_URL``, not production) makes
    one on first start and keeps it in the data directory; anything else must configure it."""
    if settings.jwt_secret:
        secret = settings.jwt_secret.encode()
        if len(secret) < MIN_SECRET_BYTES:
            raise RuntimeError(f"JWT_SECRET must be at least {MIN_SECRET_BYTES} bytes long.")
        return secret
    if settings.database_url or settings.env == "production":
        raise RuntimeError(
            "JWT_SECRET is required outside the embedded default: set it to a random string of "
            f"at least {MIN_SECRET_BYTES} bytes (e.g. `python -c 'import secrets; "
            "print(secrets.token_urlsafe(48))'`)."
        )
    path = Path(settings.data_dir) / "jwt_secret"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(48))
        logger.info("generated a JWT signing secret in %s", path)
    return path.read_text().strip().encode()
