"""The per-request context (``philos.types.context``)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, cast

from hypothesis import given
from hypothesis import strategies as st

from philos.domain import ANONYMOUS
from philos.types.context import Context


def context(request: object) -> Context:
    unused = cast(Any, None)
    return Context(
        request=request,
        response=None,
        settings=unused,
        stores=unused,
        loaders=unused,
        request_id="r",
        tokens=unused,
    )


@given(st.ip_addresses().map(str))
def test_the_client_ip_is_the_requests_client_host(host: str) -> None:
    assert context(SimpleNamespace(client=SimpleNamespace(host=host))).client_ip == host


def test_without_a_client_the_ip_is_unknown() -> None:
    assert context(SimpleNamespace(client=None)).client_ip == "unknown"
    assert context(object()).client_ip == "unknown"


def test_a_context_starts_anonymous() -> None:
    assert context(None).principal is ANONYMOUS
    assert not context(None).principal.signed_in
