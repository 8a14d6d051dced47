"""Error masking (``philos.gateway.errors``): the client's own mistakes in full, ours masked
with a request id to quote."""

from __future__ import annotations

import logging

import pytest
from graphql import GraphQLError
from hypothesis import given
from hypothesis import strategies as st

from philos.domain import BudgetExceededError, InputRejectedError, StoreUnavailableError
from philos.gateway.errors import is_unexpected, masked

request_ids = st.text("abcdef0123456789", min_size=1, max_size=32)
paths = st.lists(st.text("abcxyz", min_size=1, max_size=5) | st.integers(0, 9), max_size=4)


def located(original: Exception | None, path: list[str | int]) -> GraphQLError:
    return GraphQLError("raw message", path=path or None, original_error=original)


@given(paths)
def test_only_foreign_causes_are_unexpected(path: list[str | int]) -> None:
    assert not is_unexpected(located(None, path))
    assert not is_unexpected(located(GraphQLError("user"), path))
    assert is_unexpected(located(RuntimeError("bug"), path))


@pytest.fixture(autouse=True)
def _quiet(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.CRITICAL, "philos.errors")


@given(request_ids, paths, st.text(max_size=20))
def test_a_bug_is_masked_with_the_request_id(rid: str, path: list[str | int], secret: str) -> None:
    error = masked(located(RuntimeError(f"password={secret}"), path), rid)
    assert error.message == f"Unexpected error. Quote request id {rid} when reporting it."
    assert error.extensions == {"code": "INTERNAL_SERVER_ERROR", "requestId": rid}
    assert error.original_error is None
    assert error.path == (path or None)


@given(request_ids, paths, st.sampled_from(["sql", "graph", "cache"]), st.text(max_size=10))
def test_known_failures_keep_their_message(
    rid: str, path: list[str | int], store: str, reason: str
) -> None:
    down = masked(located(StoreUnavailableError(store, reason), path), rid)
    assert down.extensions == {"code": "STORE_UNAVAILABLE", "store": store}
    assert down.message == StoreUnavailableError(store, reason).message
    rejected = masked(located(InputRejectedError(store), path), rid)
    assert rejected.extensions == {"code": "BAD_USER_INPUT"}
    budget = masked(located(BudgetExceededError(7), path), rid)
    assert budget.extensions == {"code": "STORE_BUDGET_EXCEEDED"}
    assert "7 store calls" in budget.message
    for error in (down, rejected, budget):
        assert error.original_error is None and error.path == (path or None)
