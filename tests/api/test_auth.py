"""Accounts, tokens and permissions, through HTTP."""

from __future__ import annotations

import stat
import time
from collections.abc import Callable
from pathlib import Path

import jwt
import pytest
from sqlalchemy import delete

from philos.bootstrap import create_app
from philos.config import Settings
from philos.datasources.sql.tables import users_t
from philos.domain import Role
from philos.tokens import load_secret
from tests.api.accounts import PASSWORD, TOKENS, make_user
from tests.api.client import Api
from tests.settings import JWT_SECRET
from tests.sql_access import sql_db

AUTH = """__typename ... on Problem { message }
    ... on AuthSuccess { accessToken refreshToken expiresIn user { id email role displayName } }"""
REGISTER = f"""mutation($e: String!, $p: String!, $n: String!) {{
    register(email: $e, password: $p, displayName: $n) {{ {AUTH}
    ... on ValidationFailed {{ fields {{ field }} }} }} }}"""
LOGIN = f"mutation($e: String!, $p: String!) {{ login(email: $e, password: $p) {{ {AUTH} }} }}"
REFRESH = f"mutation($t: String!) {{ refreshToken(refreshToken: $t) {{ {AUTH} }} }}"
LOGOUT = (
    "mutation($t: String!) { logout(refreshToken: $t) { __typename ... on Problem { message } } }"
)
ME = "{ me { id email role displayName } }"
CREATE = """mutation($slug: String!) { createConcept(input: {slug: $slug, name: "N", summary: "S"}) {
    __typename ... on Problem { message } ... on ConceptSuccess { concept { id version } } } }"""


async def register(api: Api, email: str, password: str = PASSWORD) -> dict[str, object]:
    data = await api.anonymous.data(REGISTER, {"e": email, "p": password, "n": "Someone"})
    result: dict[str, object] = data["register"]
    return result


async def test_first_account_becomes_admin_then_readers(api: Api) -> None:
    async with sql_db(api.stores).begin() as conn:
        await conn.execute(delete(users_t))
    first = await register(api, "first@philos.test")
    assert first["__typename"] == "AuthSuccess"
    assert first["user"]["role"] == "ADMIN"  # type: ignore[index]
    second = await register(api, "second@philos.test")
    assert second["user"]["role"] == "READER"  # type: ignore[index]
    assert second["expiresIn"] == 900
    claims = jwt.decode(
        str(second["accessToken"]), JWT_SECRET, algorithms=["HS256"], audience="philos-api"
    )
    assert claims["iss"] == "philos" and claims["sub"] == second["user"]["id"]  # type: ignore[index]
    assert claims["exp"] - claims["iat"] == 900


@pytest.mark.parametrize(
    ("email", "password", "field"),
    [
        ("not-an-email", PASSWORD, "email"),
        ("a@philos.test", "short", "password"),
        ("a@philos.test", "x" * 300, "password"),
        ("longpassword@philos.test", "longpassword123", "password"),
    ],
)
async def test_register_validates(api: Api, email: str, password: str, field: str) -> None:
    result = await register(api, email, password)
    assert result["__typename"] == "ValidationFailed"
    assert result["fields"] == [{"field": field}]


async def test_register_duplicate_email_conflicts(api: Api) -> None:
    result = await register(api, "EDITOR@philos.test")
    assert result["__typename"] == "Conflict"


async def test_login_me_refresh_rotation_and_reuse(api: Api) -> None:
    wrong = await api.anonymous.data(LOGIN, {"e": "editor@philos.test", "p": "wrong password!"})
    unknown = await api.anonymous.data(LOGIN, {"e": "ghost@philos.test", "p": PASSWORD})
    assert (
        wrong["login"]
        == unknown["login"]
        == {
            "__typename": "AuthFailed",
            "message": "The email or password is wrong.",
        }
    )
    login = (await api.anonymous.data(LOGIN, {"e": "Editor@Philos.test", "p": PASSWORD}))["login"]
    assert login["user"]["role"] == "EDITOR"
    response = await api.client.post(
        "/graphql", json={"query": ME}, headers={"authorization": f"Bearer {login['accessToken']}"}
    )
    assert response.json()["data"]["me"]["email"] == "editor@philos.test"
    assert (await api.anonymous.data(ME))["me"] is None

    rotated = (await api.anonymous.data(REFRESH, {"t": login["refreshToken"]}))["refreshToken"]
    assert rotated["__typename"] == "AuthSuccess"
    assert rotated["refreshToken"] != login["refreshToken"]
    # Replaying the used token ends the whole family, the fresh token included.
    replay = (await api.anonymous.data(REFRESH, {"t": login["refreshToken"]}))["refreshToken"]
    assert replay["__typename"] == "AuthFailed" and "already used" in replay["message"]
    after = (await api.anonymous.data(REFRESH, {"t": rotated["refreshToken"]}))["refreshToken"]
    assert after["__typename"] == "AuthFailed" and "revoked" in after["message"]
    garbage = (await api.anonymous.data(REFRESH, {"t": "nonsense"}))["refreshToken"]
    assert garbage["__typename"] == "AuthFailed"


async def test_logout_revokes_the_refresh_token(api: Api) -> None:
    login = (await api.anonymous.data(LOGIN, {"e": "editor@philos.test", "p": PASSWORD}))["login"]
    assert (await api.anonymous.data(LOGOUT, {"t": login["refreshToken"]}))["logout"] == {
        "__typename": "SignedOut"
    }
    again = (await api.anonymous.data(REFRESH, {"t": login["refreshToken"]}))["refreshToken"]
    assert again["__typename"] == "AuthFailed"


def _token(**overrides: object) -> str:
    now = int(time.time())
    claims = {"iss": "philos", "aud": "philos-api", "sub": "u", "iat": now, "exp": now + 60}
    claims.update(overrides)
    claims = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode(claims, JWT_SECRET, algorithm="HS256")


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: _token(exp=int(time.time()) - 60), "expired"),
        (lambda: _token(aud="someone-else"), "not valid"),
        (lambda: _token(iss="someone-else"), "not valid"),
        (lambda: _token(sub=None), "not valid"),
        (lambda: _token(exp=None), "not valid"),
        (lambda: _token(nbf=int(time.time()) + 3600), "not valid"),
        (lambda: jwt.encode({"sub": "u"}, JWT_SECRET, algorithm="HS512"), "not valid"),
        (
            lambda: jwt.encode(
                {"iss": "philos", "aud": "philos-api", "sub": "u", "iat": 1, "exp": 2**40},
                None,
                algorithm="none",
            ),
            "not valid",
        ),
        (lambda: _token() + "x", "not valid"),
    ],
)
async def test_bad_tokens_are_401(api: Api, make: Callable[[], str], message: str) -> None:
    token = make()  # built now: tokens made at import time would expire during a long run
    response = await api.client.post(
        "/graphql", json={"query": ME}, headers={"authorization": f"Bearer {token}"}
    )
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert message in response.json()["errors"][0]["message"]


async def test_writes_need_an_editor(api: Api) -> None:
    reader = await make_user(api.stores, "reader", Role.READER)
    for client in (api.anonymous, api.as_user(reader)):
        result = (await client.data(CREATE, {"slug": "not-allowed"}))["createConcept"]
        assert result["__typename"] == "Forbidden"
        assert "EDITOR" in result["message"]
    assert (await api.data('{ concept(slug: "not-allowed") { id } }'))["concept"] is None


async def test_only_the_author_or_an_admin_changes_a_record(api: Api) -> None:
    other = await make_user(api.stores, "other", Role.EDITOR)
    admin = await make_user(api.stores, "admin", Role.ADMIN)
    created = (await api.data(CREATE, {"slug": "mine"}))["createConcept"]["concept"]
    update = """mutation($id: ID!, $v: Int!) { updateConcept(input: {id: $id, version: $v, name: "X"}) {
        __typename ... on Problem { message } } }"""
    delete_ = "mutation($id: ID!) { deleteConcept(id: $id) { __typename } }"
    refused = (await api.as_user(other).data(update, {"id": created["id"], "v": 1}))[
        "updateConcept"
    ]
    assert refused == {
        "__typename": "Forbidden",
        "message": "Only its author or an ADMIN may change this concept.",
    }
    assert (await api.as_user(other).data(delete_, {"id": created["id"]}))["deleteConcept"] == {
        "__typename": "Forbidden"
    }
    assert (await api.data(update, {"id": created["id"], "v": 1}))["updateConcept"][
        "__typename"
    ] == "ConceptSuccess"
    assert (await api.as_user(admin).data(delete_, {"id": created["id"]}))["deleteConcept"] == {
        "__typename": "DeleteSuccess"
    }


async def test_set_user_role(api: Api) -> None:
    admin = await make_user(api.stores, "admin", Role.ADMIN)
    reader = await make_user(api.stores, "reader", Role.READER)
    query = """mutation($u: ID!, $r: Role!) { setUserRole(userId: $u, role: $r) {
        __typename ... on Problem { message } ... on UserSuccess { user { id role } } } }"""
    refused = (await api.data(query, {"u": reader.id, "r": "ADMIN"}))["setUserRole"]
    assert refused["__typename"] == "Forbidden"
    done = (await api.as_user(admin).data(query, {"u": reader.id, "r": "EDITOR"}))["setUserRole"]
    assert done["user"] == {"id": reader.id, "role": "EDITOR"}
    missing = (await api.as_user(admin).data(query, {"u": "nope", "r": "EDITOR"}))["setUserRole"]
    assert missing["__typename"] == "NotFound"
    login = (await api.anonymous.data(LOGIN, {"e": "reader@philos.test", "p": PASSWORD}))["login"]
    assert login["user"]["role"] == "EDITOR"


async def test_an_admin_lists_and_searches_accounts(api: Api) -> None:
    admin = await make_user(api.stores, "root", Role.ADMIN)
    editor = await make_user(api.stores, "hypatia", Role.EDITOR)
    query = """query($s: String, $n: Int! = 50) { users(search: $s, first: $n) { __typename
        ... on AccountList { accounts { id email displayName role } }
        ... on ValidationFailed { fields { field } } ... on Problem { message } } }"""
    for caller in (api.anonymous, api.as_user(editor)):
        refused = (await caller.data(query, {}))["users"]
        assert refused["__typename"] == "Forbidden" and "ADMIN" in refused["message"]
    found = (await api.as_user(admin).data(query, {"s": " HYPAT "}))["users"]
    assert found["accounts"] == [
        {
            "id": editor.id,
            "email": "hypatia@philos.test",
            "displayName": "Hypatia",
            "role": "EDITOR",
        }
    ]
    every = (await api.as_user(admin).data(query, {}))["users"]["accounts"]
    assert {a["email"] for a in every} >= {"root@philos.test", "hypatia@philos.test"}
    too_many = (await api.as_user(admin).data(query, {"n": 1000}))["users"]
    assert too_many["__typename"] == "ValidationFailed"
    assert too_many["fields"] == [{"field": "first"}]


def test_embedded_default_makes_and_keeps_a_secret(tmp_path: Path) -> None:
    settings = Settings(PHILOS_DATA_DIR=tmp_path)
    first = load_secret(settings)
    assert len(first) >= 32
    assert stat.S_IMODE((tmp_path / "jwt_secret").stat().st_mode) == 0o600
    assert load_secret(settings) == first


@pytest.mark.parametrize(
    "settings",
    [
        {"DATABASE_URL": "postgresql://x@localhost/philos_concepts"},
        {"PHILOS_ENV": "production"},
        {"JWT_SECRET": "too-short"},
    ],
)
def test_secret_is_required_outside_the_embedded_default(
    tmp_path: Path, settings: dict[str, str]
) -> None:
    with pytest.raises(RuntimeError, match="JWT_SECRET"):
        create_app(Settings(PHILOS_DATA_DIR=tmp_path, **settings))  # type: ignore[arg-type]


def test_tokens_carry_the_role() -> None:
    from philos.domain import User

    user = User(id="u1", email="e@x.org", display_name="E", password_hash="h", role=Role.ADMIN)
    principal = TOKENS.principal(TOKENS.issue_access(user))
    assert principal.user_id == "u1" and principal.role is Role.ADMIN
