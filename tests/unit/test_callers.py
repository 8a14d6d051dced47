"""Caller identity and rate limits (``philos.gateway.callers``)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any, cast

import orjson
import pytest
from cross_web import HTTPException
from hypothesis import given
from hypothesis import strategies as st

from philos.config import Settings
from philos.datasources.ports import Cache
from philos.domain import ANONYMOUS, Role, User
from philos.errors import RateLimited
from philos.gateway.callers import Callers, http_error, too_many_requests
from philos.tokens import Tokens

TOKENS = Tokens(b"unit-secret-0123456789-abcdefghijklmnopqrstuvwxyz-0123456789")


class Counts:
    def __init__(self) -> None:
        self.values: dict[str, int] = {}

    async def incr(self, key: str, ttl: float | None = None) -> int:
        self.values[key] = self.values.get(key, 0) + 1
        return self.values[key]


def callers(ip_limit: int = 0, user_limit: int = 0) -> Callers:
    settings = SimpleNamespace(
        rate_limit_ip=ip_limit, rate_limit_user=user_limit, rate_limit_window=3600.0
    )
    return Callers(cast(Settings, settings), TOKENS)


@given(st.sampled_from(Role), st.uuids().map(str), st.sampled_from(["Bearer", "bearer", "BEARER"]))
def test_a_bearer_token_names_its_user(role: Role, user_id: str, scheme: str) -> None:
    token = TOKENS.issue_access(
        User(id=user_id, email="a@b.c", display_name="A", password_hash="", role=role)
    )
    principal = callers().principal_for(f"{scheme} {token}")
    assert (principal.user_id, principal.role) == (user_id, role)


@given(st.none() | st.just(""))
def test_no_header_is_anonymous(header: str | None) -> None:
    assert callers().principal_for(header) is ANONYMOUS


@given(st.text(max_size=30).filter(lambda h: h and not h.lower().startswith("bearer ")))
def test_any_other_header_is_a_401(header: str) -> None:
    with pytest.raises(HTTPException) as info:
        callers().principal_for(header)
    assert info.value.status_code == 401
    assert callers().principal_or_none(header) is None


def test_a_forged_token_is_a_401() -> None:
    forged = Tokens(b"another-secret-0123456789-abcdefghijklmnopqrstuvwxyz-01").issue_access(
        User(id="u", email="a@b.c", display_name="A", password_hash="")
    )
    with pytest.raises(HTTPException) as info:
        callers().principal_for(f"Bearer {forged}")
    assert info.value.status_code == 401


@given(st.integers(1, 5), st.integers(0, 8))
def test_requests_past_the_ip_limit_are_refused(limit: int, requests: int) -> None:
    counts = Counts()
    gate = callers(ip_limit=limit)

    async def run() -> int:
        refused = 0
        for _ in range(requests):
            try:
                await gate.count(cast(Cache, counts), "10.0.0.1", ANONYMOUS)
            except RateLimited as exc:
                assert 1 <= exc.retry_after <= 3600
                refused += 1
        return refused

    assert asyncio.run(run()) == max(0, requests - limit)


@given(st.integers(100, 599), st.text(max_size=20))
def test_http_errors_are_graphql_shaped(status: int, reason: str) -> None:
    response = http_error(status, reason)
    body: Any = orjson.loads(bytes(response.body))
    if status == 400 and "mutations are not allowed" in reason.lower():
        assert response.status_code == 405
    else:
        assert response.status_code == status
        assert body == {"errors": [{"message": reason}]}
    if response.status_code == 405:
        assert "POST" in response.headers["Allow"]
    if status == 401:
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_mutation_over_get_is_a_405() -> None:
    response = http_error(400, "Mutations are not allowed when using GET")
    assert response.status_code == 405
    assert response.headers["Allow"] == "POST"


@given(st.integers(1, 10**5))
def test_too_many_requests_says_when_to_retry(retry: int) -> None:
    response = too_many_requests(retry)
    assert response.status_code == 429
    assert response.headers["Retry-After"] == str(retry)
