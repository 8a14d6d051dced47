"""One caller's own data (``me``) is never answered to another, however the query is written.

Generated queries reach ``me`` directly, through named and inline fragments (nested), under
aliases and ``@include``/``@skip`` (literal or by variable), beside other root fields. Each is
sent as caller A (twice: the second may come from the response cache or the raw-request index),
then as B (same role) and as nobody; neither may see anything of A.
"""

from __future__ import annotations

from typing import Any

import pytest

from philos.domain import Role, User
from tests.api.accounts import make_user
from tests.api.client import Api
from tests.fuzz.strategies import SCHEMA
from tests.security.documents import drawn, queries_reaching
from tests.settings import PRODUCTION_BACKENDS

EXAMPLES = 60


def marks_of(user: User) -> list[str]:
    return [user.id, user.email, user.display_name]


async def raw(api: Api, query: str) -> str:
    token = api.token()
    response = await api.client.post(
        "/graphql",
        json={"query": query, "variables": {}},
        headers={"authorization": f"Bearer {token}"} if token else {},
    )
    assert response.status_code == 200, response.text
    return response.text


@pytest.mark.parametrize("backend", PRODUCTION_BACKENDS, indirect=True, scope="session")
async def test_me_is_never_answered_to_another_caller(api: Api) -> None:
    alice = await make_user(api.stores, "alicexq", Role.READER)
    bob = await make_user(api.stores, "bobzv", Role.READER)
    own_seen = 0
    for query in drawn(queries_reaching(SCHEMA, "me"), EXAMPLES):
        own = [await raw(api.as_user(alice), query) for _ in range(2)]
        assert own[0] == own[1], query
        own_seen += any(mark in own[0] for mark in marks_of(alice))
        for other in (api.as_user(bob), api.anonymous):
            answer = await raw(other, query)
            leaked = [mark for mark in marks_of(alice) if mark in answer]
            assert not leaked, (query, answer)
    # The probe means something only if A's own answers did carry A's data.
    assert own_seen >= EXAMPLES // 5, own_seen


@pytest.mark.parametrize(
    "query",
    [
        "{ ...Who } fragment Who on Query { me { id email displayName } }",
        "{ ... on Query { me { id email displayName } } }",
        "{ ... { whoami: me { id email displayName } } }",
        "query($y: Boolean = true) { me @include(if: $y) { id email displayName } }",
        "{ ...A } fragment A on Query { ...B } fragment B on Query { ... { me { email } } }",
    ],
)
async def test_documented_variants_are_not_shared(api: Api, query: str) -> None:
    alice = await make_user(api.stores, "alicevar", Role.READER)
    bob = await make_user(api.stores, "bobvar", Role.READER)
    mine = await raw(api.as_user(alice), query)
    assert alice.email in mine
    for other in (api.as_user(bob), api.anonymous):
        answer = await raw(other, query)
        assert alice.email not in answer
        assert alice.id not in answer


def test_per_caller_fields_are_marked_in_the_schema() -> None:
    """The mark lives on the fields that return the caller's own account."""
    from philos.schema.root import build_schema
    from philos.types.hints import PER_CALLER, metadata

    schema: Any = build_schema()._schema
    marked = {
        f"{type_name}.{field_name}"
        for type_name, named in schema.type_map.items()
        for field_name, definition in getattr(named, "fields", {}).items()
        if not type_name.startswith("__") and metadata(definition).get(PER_CALLER)
    }
    returning_me = {
        f"{type_name}.{field_name}"
        for type_name, named in schema.type_map.items()
        if hasattr(named, "interfaces")
        for field_name, definition in named.fields.items()
        if str(definition.type).strip("!") == "Me"
    }
    assert returning_me
    assert returning_me <= marked
