"""Who the caller is and whether they are over their rate limits: one answer for the GraphQL
view and for the cached-answer fast path (``answers.py``)."""

from __future__ import annotations

import math
import time

from cross_web import HTTPException
from starlette.responses import JSONResponse, Response

from philos.config import Settings
from philos.datasources.ports import Cache
from philos.domain import ANONYMOUS, AuthError, Principal
from philos.errors import (
    RateLimited as RateLimited,
)
from philos.tokens import Tokens, VerifiedTokens


class Callers:
    """Reads the caller from the ``Authorization`` header and counts their requests."""

    def __init__(self, settings: Settings, tokens: Tokens) -> None:
        self.settings = settings
        self.tokens = tokens
        self.verified = VerifiedTokens(tokens)

    def principal_for(self, authorization: str | None) -> Principal:
        """The caller named by an ``Authorization`` header value; ``HTTPException`` 401."""
        if not authorization:
            return ANONYMOUS
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise HTTPException(401, "Send the access token as `Authorization: Bearer <token>`.")
        try:
            return self.verified.principal(token.strip())
        except AuthError as exc:
            raise HTTPException(401, exc.message) from exc

    def principal_or_none(self, authorization: str | None) -> Principal | None:
        try:
            return self.principal_for(authorization)
        except HTTPException:
            return None

    async def count(self, cache: Cache, ip: str, principal: Principal) -> None:
        """Count the request against the caller's limits; ``RateLimited`` past one."""
        window = self.settings.rate_limit_window
        slot = int(time.time() // window)
        checks = [(f"rl:ip:{ip}:{slot}", self.settings.rate_limit_ip)]
        if principal.user_id:
            checks.append((f"rl:user:{principal.user_id}:{slot}", self.settings.rate_limit_user))
        for key, limit in checks:
            if limit and await cache.incr(key, ttl=window) > limit:
                raise RateLimited(max(1, math.ceil((slot + 1) * window - time.time())))

    async def over_limit(self, cache: Cache, ip: str, principal: Principal) -> Response | None:
        """Count the request; the 429 answer if it is over a limit."""
        try:
            await self.count(cache, ip, principal)
        except RateLimited as exc:
            return too_many_requests(exc.retry_after)
        return None


def too_many_requests(retry_after: int) -> Response:
    response = http_error(429, "Too many requests; slow down.")
    response.headers["Retry-After"] = str(retry_after)
    return response


def http_error(status: int, reason: str) -> Response:
    """Transport-level failures as GraphQL-shaped JSON. A mutation sent over GET is 405 with
    ``Allow: POST`` (GraphQL-over-HTTP), not a generic 400."""
    headers: dict[str, str] = {}
    if status == 400 and "mutations are not allowed" in reason.lower():
        status, reason = 405, "Mutations must be sent with POST, not GET."
        headers["Allow"] = "POST"
    elif status == 405:
        headers["Allow"] = "GET, POST"
    elif status == 401:
        headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
    return JSONResponse({"errors": [{"message": reason}]}, status_code=status, headers=headers)
