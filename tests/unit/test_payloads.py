"""Expected failures as typed payloads (``philos.types.payloads``)."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given
from hypothesis import strategies as st

from philos import errors
from philos.types.payloads import (
    CHANGES,
    CREATES,
    DELETES,
    AuthFailed,
    AuthRateLimited,
    Conflict,
    Forbidden,
    NotFound,
    Problem,
    ValidationFailed,
    attempt,
    expecting,
    payload_for,
)

words = st.text(st.characters(codec="utf-8"), max_size=20)
problems = st.lists(st.builds(errors.FieldProblem, words, words), min_size=1, max_size=4)
failures = st.one_of(
    st.builds(errors.NotFoundError, words, words),
    st.builds(errors.ValidationError, problems),
    st.builds(errors.ConflictError, words, st.none() | st.integers(1, 10**6)),
    st.builds(errors.ForbiddenError, words),
    st.builds(errors.InputRejectedError, st.sampled_from(["sql", "graph"])),
    st.builds(errors.AuthError, words),
    st.builds(errors.AuthRateLimitedError, st.integers(1, 10**4)),
)


@given(words, words)
def test_not_found_keeps_its_id(kind: str, ident: str) -> None:
    found = payload_for(errors.NotFoundError(kind, ident))
    assert isinstance(found, NotFound)
    assert found.id == ident
    assert found.message == f"No {kind} with id '{ident}' exists."


@given(problems)
def test_validation_keeps_every_problem_in_order(listed: list[errors.FieldProblem]) -> None:
    found = payload_for(errors.ValidationError(listed))
    assert isinstance(found, ValidationFailed)
    assert [(f.field, f.message) for f in found.fields] == [(p.field, p.message) for p in listed]


@given(words, st.none() | st.integers(1, 10**6))
def test_conflict_keeps_the_current_version(message: str, version: int | None) -> None:
    found = payload_for(errors.ConflictError(message, version))
    assert isinstance(found, Conflict)
    assert (found.message, found.current_version) == (message, version)


@given(words, st.integers(1, 10**4))
def test_forbidden_rejected_input_and_auth(message: str, retry: int) -> None:
    forbidden = payload_for(errors.ForbiddenError(message))
    assert isinstance(forbidden, Forbidden) and forbidden.message == message
    rejected = payload_for(errors.InputRejectedError("graph"))
    assert isinstance(rejected, ValidationFailed)
    assert [f.field for f in rejected.fields] == ["input"]
    failed = payload_for(errors.AuthError(message))
    assert isinstance(failed, AuthFailed) and failed.message == message
    limited = payload_for(errors.AuthRateLimitedError(retry))
    assert isinstance(limited, AuthRateLimited) and limited.retry_after_seconds == retry


def test_other_errors_have_no_payload() -> None:
    assert payload_for(errors.StoreUnavailableError("graph", "timeout")) is None
    assert payload_for(errors.BudgetExceededError(3)) is None
    assert payload_for(RuntimeError("bug")) is None


@given(failures)
def test_each_mutation_kind_answers_only_the_payloads_it_expects(exc: Exception) -> None:
    made = payload_for(exc)
    assert isinstance(made, Problem)
    for expected, kinds in (
        (CREATES, (ValidationFailed, Conflict, Forbidden)),
        (CHANGES, (NotFound, ValidationFailed, Conflict, Forbidden)),
        (DELETES, (NotFound, Forbidden)),
    ):
        found = expected.payload(exc)
        if isinstance(made, kinds):
            assert type(found) is type(made) and found.message == made.message
        else:
            assert found is None


@given(failures)
def test_attempt_answers_an_expected_failure_and_raises_the_rest(exc: Exception) -> None:
    async def fail() -> int:
        raise exc

    async def fine() -> int:
        return 7

    everything = expecting(
        NotFound, ValidationFailed, Conflict, Forbidden, AuthFailed, AuthRateLimited
    )
    assert asyncio.run(attempt(fine, everything)) == 7
    answer = asyncio.run(attempt(fail, everything))
    assert type(answer) is type(payload_for(exc))
    nothing_matching = (
        expecting(NotFound) if not isinstance(exc, errors.NotFoundError) else expecting(Conflict)
    )
    with pytest.raises(type(exc)):
        asyncio.run(attempt(fail, nothing_matching))


def test_attempt_lets_unexpected_errors_through() -> None:
    async def broken() -> None:
        raise RuntimeError("bug")

    with pytest.raises(RuntimeError):
        asyncio.run(attempt(broken, CHANGES))
