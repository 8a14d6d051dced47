"""Expected failures as typed payloads (``philos.types.payloads``)."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given
from hypothesis import strategies as st

from philos import domain
from philos.types.payloads import (
    AuthFailed,
    AuthRateLimited,
    Conflict,
    Forbidden,
    NotFound,
    ValidationFailed,
    attempt,
    attempt_auth,
    failure_of,
)

words = st.text(st.characters(codec="utf-8"), max_size=20)
problems = st.lists(st.builds(domain.FieldProblem, words, words), min_size=1, max_size=4)


@given(words, words)
def test_not_found_keeps_its_id(kind: str, ident: str) -> None:
    found = failure_of(domain.NotFoundError(kind, ident))
    assert isinstance(found, NotFound)
    assert found.id == ident
    assert found.message == f"No {kind} with id '{ident}' exists."


@given(problems)
def test_validation_keeps_every_problem_in_order(listed: list[domain.FieldProblem]) -> None:
    found = failure_of(domain.ValidationError(listed))
    assert isinstance(found, ValidationFailed)
    assert [(f.field, f.message) for f in found.fields] == [(p.field, p.message) for p in listed]


@given(words, st.none() | st.integers(1, 10**6))
def test_conflict_keeps_the_current_version(message: str, version: int | None) -> None:
    found = failure_of(domain.ConflictError(message, version))
    assert isinstance(found, Conflict)
    assert (found.message, found.current_version) == (message, version)


@given(words)
def test_forbidden_and_rejected_input(message: str) -> None:
    forbidden = failure_of(domain.ForbiddenError(message))
    assert isinstance(forbidden, Forbidden) and forbidden.message == message
    rejected = failure_of(domain.InputRejectedError("graph"))
    assert isinstance(rejected, ValidationFailed)
    assert [f.field for f in rejected.fields] == ["input"]


def test_other_failures_are_not_payloads() -> None:
    with pytest.raises(domain.StoreUnavailableError):
        failure_of(domain.StoreUnavailableError("graph", "timeout"))


@given(st.integers(1, 10**4))
def test_attempt_auth_turns_auth_failures_into_payloads(retry: int) -> None:
    async def locked() -> None:
        raise domain.AuthRateLimitedError(retry)

    async def wrong() -> None:
        raise domain.AuthError("Wrong email or password.")

    async def fine() -> int:
        return retry

    limited = asyncio.run(attempt_auth(locked))
    assert isinstance(limited, AuthRateLimited) and limited.retry_after_seconds == retry
    failed = asyncio.run(attempt_auth(wrong))
    assert isinstance(failed, AuthFailed) and failed.message == "Wrong email or password."
    assert asyncio.run(attempt_auth(fine)) == retry
    assert asyncio.run(attempt(fine)) == retry


def test_attempt_lets_unexpected_errors_through() -> None:
    async def broken() -> None:
        raise RuntimeError("bug")

    with pytest.raises(RuntimeError):
        asyncio.run(attempt(broken))
    with pytest.raises(domain.AuthError):
        asyncio.run(attempt(_auth_error))


async def _auth_error() -> None:
    raise domain.AuthError("no")
