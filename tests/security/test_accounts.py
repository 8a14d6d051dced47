"""Accounts under attack: the first-account race, password guessing, weak passwords.

Over HTTP (httpx on the ASGI app; each client has its own address, as uvicorn reports it) on
SQLite and PostgreSQL; the throttle also on Redis, shared by two replicas; ``create-admin``
through the real command line.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import strategies as st
from sqlalchemy import select

from philos.bootstrap import build_stores, create_app
from philos.config import Settings
from philos.datasources.sql.tables import refresh_tokens_t, users_t
from philos.datasources.stores import Stores
from philos.domain import Role
from philos.passwords import password_problem
from tests.api.accounts import PASSWORD, make_user
from tests.security.documents import drawn
from tests.settings import settings_for
from tests.sql_access import sql_db
from tests.stores import clear_cache

AUTH = """__typename ... on Problem { message }
    ... on AuthRateLimited { retryAfterSeconds }
    ... on AuthSuccess { refreshToken user { email role } }"""
REGISTER = f"""mutation($e: String!, $p: String!, $n: String!) {{
    register(email: $e, password: $p, displayName: $n) {{ {AUTH}
    ... on ValidationFailed {{ fields {{ field message }} }} }} }}"""
LOGIN = f"mutation($e: String!, $p: String!) {{ login(email: $e, password: $p) {{ {AUTH} }} }}"
REFRESH = f"mutation($t: String!) {{ refreshToken(refreshToken: $t) {{ {AUTH} }} }}"

# Throttle settings for the tests: no back-off unless a test asks, so counts are exact.
LOCKOUT_ONLY = {"PHILOS_LOGIN_BACKOFF": 0, "PHILOS_LOGIN_WINDOW": 3600}


class Caller:
    """One client address talking to one app."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def call(self, query: str, variables: dict[str, Any], field: str) -> dict[str, Any]:
        response = await self.client.post("/graphql", json={"query": query, "variables": variables})
        assert response.status_code == 200, response.text
        body = response.json()
        assert "errors" not in body, body
        result: dict[str, Any] = body["data"][field]
        return result

    async def login(self, email: str, password: str = PASSWORD) -> dict[str, Any]:
        return await self.call(LOGIN, {"e": email, "p": password}, "login")

    async def register(self, email: str, password: str = PASSWORD) -> dict[str, Any]:
        return await self.call(REGISTER, {"e": email, "p": password, "n": "Someone"}, "register")

    async def refresh(self, token: str) -> dict[str, Any]:
        return await self.call(REFRESH, {"t": token}, "refreshToken")


class Site:
    """An app on the test's stores, reachable from any client address."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.clients: list[httpx.AsyncClient] = []

    def at(self, ip: str) -> Caller:
        transport = httpx.ASGITransport(app=self.app, client=(ip, 40000))
        client = httpx.AsyncClient(transport=transport, base_url="http://philos.test")
        self.clients.append(client)
        return Caller(client)

    async def aclose(self) -> None:
        for client in self.clients:
            await client.aclose()


@pytest.fixture
def site_for(stores: Stores, sql_url: str, tmp_path: Path) -> Callable[..., Any]:
    @asynccontextmanager
    async def open_site(stores_: Stores | None = None, **extra: object) -> AsyncIterator[Site]:
        site = Site(create_app(settings_for(sql_url, tmp_path, **extra), stores_ or stores))
        try:
            yield site
        finally:
            await site.aclose()

    return open_site


async def snapshot(stores: Stores) -> tuple[list[Any], list[Any]]:
    async with sql_db(stores).connect() as conn:
        users = (await conn.execute(select(users_t).order_by(users_t.c.id))).all()
        tokens = (
            await conn.execute(select(refresh_tokens_t).order_by(refresh_tokens_t.c.id))
        ).all()
    return [tuple(r) for r in users], [tuple(r) for r in tokens]


async def roles(stores: Stores) -> list[str]:
    async with sql_db(stores).connect() as conn:
        return [r.role for r in await conn.execute(select(users_t.c.role))]


# 4. The first account ----------------------------------------------------------------------


@pytest.mark.parametrize("count", [10, 30])
async def test_concurrent_first_sign_ups_make_exactly_one_admin(
    stores: Stores, sql_url: str, tmp_path: Path, site_for: Callable[..., Any], count: int
) -> None:
    """A fresh install, two replicas on one database, ``count`` people registering at once
    from their own addresses: one ADMIN, everyone else READER. (Hashing that many passwords at
    once on a small machine takes a while: the requests get a longer deadline.)"""
    assert await roles(stores) == []
    slow = {"PHILOS_REQUEST_TIMEOUT": 120, "PHILOS_STORE_TIMEOUT": 30}
    replicas = [
        await build_stores(settings_for(sql_url, tmp_path / f"replica{i}", **slow))
        for i in range(2)
    ]
    try:
        async with site_for(replicas[0], **slow) as one, site_for(replicas[1], **slow) as two:
            callers = [
                (one if i % 2 else two).at(f"10.1.{i // 200}.{i % 200}") for i in range(count)
            ]
            results = await asyncio.gather(
                *(c.register(f"person{i}@philos.test") for i, c in enumerate(callers))
            )
    finally:
        for replica in replicas:
            await replica.aclose()
    assert [r["__typename"] for r in results] == ["AuthSuccess"] * count
    answered = sorted(r["user"]["role"] for r in results)
    assert answered == ["ADMIN"] + ["READER"] * (count - 1)
    assert sorted(await roles(stores)) == answered


async def test_first_account_admin_can_be_turned_off(
    stores: Stores, site_for: Callable[..., Any]
) -> None:
    async with site_for(PHILOS_FIRST_USER_ADMIN=False) as site:
        first = await site.at("10.2.0.1").register("first@philos.test")
    assert first["user"]["role"] == "READER"
    assert await roles(stores) == ["READER"]


def test_production_does_not_make_the_first_account_admin() -> None:
    assert Settings(PHILOS_ENV="production").first_account_becomes_admin is False
    assert Settings(PHILOS_ENV="development").first_account_becomes_admin is True
    on = Settings(PHILOS_ENV="production", PHILOS_FIRST_USER_ADMIN=True)
    assert on.first_account_becomes_admin is True


def _cli(
    sql_url: str, data_dir: Path, *args: str, stdin: str | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    """``python -m philos create-admin …``: the real entry point, in its own process."""
    keep = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PHILOS_", "NEO4J", "MONGODB", "REDIS"))
    }
    keep.update({"DATABASE_URL": sql_url, "PHILOS_DATA_DIR": str(data_dir), **env})
    return subprocess.run(
        [sys.executable, "-m", "philos", "create-admin", *args],
        input=stdin if stdin is not None else "",
        capture_output=True,
        text=True,
        env=keep,
        timeout=120,
        check=False,
    )


async def test_create_admin_through_the_command_line(
    stores: Stores, sql_url: str, tmp_path: Path, site_for: Callable[..., Any]
) -> None:
    reader = await make_user(stores, "reader", Role.READER)

    # A new account, the password on standard input.
    made = await asyncio.to_thread(
        _cli,
        sql_url,
        tmp_path,
        "--email",
        "Root@Philos.test",
        "--display-name",
        "Root",
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    assert made.returncode == 0, made.stderr
    assert "created the ADMIN account root@philos.test" in made.stdout
    # From PHILOS_ADMIN_PASSWORD.
    by_env = await asyncio.to_thread(
        _cli,
        sql_url,
        tmp_path,
        "--email",
        "ops@philos.test",
        PHILOS_ADMIN_PASSWORD="umbrella quietly orbits marmalade",
    )
    assert by_env.returncode == 0, by_env.stderr
    # An existing account is promoted; its password stays.
    promoted = await asyncio.to_thread(_cli, sql_url, tmp_path, "--email", reader.email)
    assert promoted.returncode == 0, promoted.stderr
    assert "password is unchanged" in promoted.stdout

    async with site_for() as site:
        caller = site.at("10.3.0.1")
        root = await caller.login("root@philos.test")
        ops = await caller.login("ops@philos.test", "umbrella quietly orbits marmalade")
        promoted_login = await caller.login(reader.email)
    assert root["user"] == {"email": "root@philos.test", "role": "ADMIN"}
    assert ops["user"]["role"] == "ADMIN"
    assert promoted_login["user"]["role"] == "ADMIN"

    before = await snapshot(stores)
    weak = await asyncio.to_thread(
        _cli,
        sql_url,
        tmp_path,
        "--email",
        "weak@philos.test",
        "--password-stdin",
        stdin="1234567890\n",
    )
    assert weak.returncode == 2
    assert "password is too easy to guess" in weak.stderr
    # No password and no terminal: refused, not hung on a prompt.
    silent = await asyncio.to_thread(_cli, sql_url, tmp_path, "--email", "silent@philos.test")
    assert silent.returncode != 0 and "--password-stdin" in silent.stderr
    # The password is not an option, so it never lands in shell history.
    argv = await asyncio.to_thread(
        _cli, sql_url, tmp_path, "--email", "argv@philos.test", "--password", PASSWORD
    )
    assert argv.returncode == 2 and "unrecognized arguments" in argv.stderr
    assert await snapshot(stores) == before


# 8. Guessing passwords ---------------------------------------------------------------------


async def test_sixty_wrong_passwords_then_the_right_one_is_refused(
    stores: Stores, site_for: Callable[..., Any]
) -> None:
    """With the default settings: a few free failures, then back-off, then lock-out."""
    editor = await make_user(stores, "victim", Role.EDITOR)
    async with site_for() as site:
        attacker = site.at("10.4.0.1")
        kinds = [
            (await attacker.login(editor.email, f"guess number {i}"))["__typename"]
            for i in range(60)
        ]
        right = await attacker.login(editor.email)
    assert kinds[:5] == ["AuthFailed"] * 5
    assert kinds.count("AuthFailed") <= 10 and kinds[-1] == "AuthRateLimited"
    assert right["__typename"] == "AuthRateLimited"
    assert right["retryAfterSeconds"] > 0
    assert "try again in" in right["message"]


async def test_account_lock_holds_from_every_client_and_client_lock_for_every_account(
    stores: Stores, site_for: Callable[..., Any]
) -> None:
    victim = await make_user(stores, "victim", Role.EDITOR)
    bystander = await make_user(stores, "bystander", Role.READER)
    async with site_for(
        PHILOS_LOGIN_ACCOUNT_FAILURES=4, PHILOS_LOGIN_CLIENT_FAILURES=10, **LOCKOUT_ONLY
    ) as site:
        attacker, elsewhere = site.at("10.5.0.1"), site.at("10.5.0.2")
        kinds = [(await attacker.login(victim.email, f"guess {i}"))["__typename"] for i in range(6)]
        assert kinds == ["AuthFailed"] * 4 + ["AuthRateLimited"] * 2
        # The account is locked from any address, the right password included…
        assert (await elsewhere.login(victim.email))["__typename"] == "AuthRateLimited"
        # …but the attacker's address may still sign in to another account (4 of 10 used).
        assert (await attacker.login(bystander.email))["__typename"] == "AuthSuccess"

        # Spraying one password over many accounts locks the client out, for every account.
        sprayer, neighbour = site.at("10.5.0.3"), site.at("10.5.0.4")
        sprayed = [
            (await sprayer.login(f"user{i}@philos.test", "Summer2024!"))["__typename"]
            for i in range(12)
        ]
        assert sprayed == ["AuthFailed"] * 10 + ["AuthRateLimited"] * 2
        assert (await sprayer.login(bystander.email))["__typename"] == "AuthRateLimited"
        assert (await neighbour.login(bystander.email))["__typename"] == "AuthSuccess"


async def test_successes_do_not_buy_a_client_more_guesses(
    stores: Stores, site_for: Callable[..., Any]
) -> None:
    """Signing in to one's own account many times gives no credit for guessing others."""
    own = await make_user(stores, "own", Role.READER)
    async with site_for(PHILOS_LOGIN_CLIENT_FAILURES=5, **LOCKOUT_ONLY) as site:
        caller = site.at("10.6.0.1")
        for _ in range(8):
            assert (await caller.login(own.email))["__typename"] == "AuthSuccess"
        guesses = [
            (await caller.login(f"x{i}@philos.test", "nope nope"))["__typename"] for i in range(7)
        ]
    assert guesses == ["AuthFailed"] * 5 + ["AuthRateLimited"] * 2


async def test_a_burst_of_concurrent_guesses_is_cut_at_the_allowance(
    stores: Stores, site_for: Callable[..., Any]
) -> None:
    victim = await make_user(stores, "victim", Role.EDITOR)
    async with site_for(PHILOS_LOGIN_ACCOUNT_FAILURES=5, **LOCKOUT_ONLY) as site:
        callers = [site.at(f"10.7.0.{i}") for i in range(30)]
        results = await asyncio.gather(
            *(c.login(victim.email, f"guess {i}") for i, c in enumerate(callers))
        )
    kinds = [r["__typename"] for r in results]
    assert kinds.count("AuthFailed") == 5 and kinds.count("AuthRateLimited") == 25


async def test_aliased_logins_in_one_request_get_no_more_guesses(
    stores: Stores, site_for: Callable[..., Any]
) -> None:
    victim = await make_user(stores, "victim", Role.EDITOR)
    aliases = " ".join(
        f'g{i}: login(email: "{victim.email}", password: "guess {i}") {{ __typename }}'
        for i in range(12)
    )
    async with site_for(PHILOS_LOGIN_ACCOUNT_FAILURES=4, **LOCKOUT_ONLY) as site:
        response = await site.at("10.7.1.1").client.post(
            "/graphql", json={"query": f"mutation {{ {aliases} }}"}
        )
    kinds = [v["__typename"] for v in response.json()["data"].values()]
    assert kinds == ["AuthFailed"] * 4 + ["AuthRateLimited"] * 8


async def test_back_off_then_lock_out_then_sign_in_again(
    stores: Stores, site_for: Callable[..., Any]
) -> None:
    user = await make_user(stores, "patient", Role.READER)
    async with site_for(
        PHILOS_LOGIN_ACCOUNT_FAILURES=4,
        PHILOS_LOGIN_BACKOFF=0.5,
        PHILOS_LOGIN_LOCKOUT=1.5,
        PHILOS_LOGIN_WINDOW=3600,
    ) as site:
        caller = site.at("10.8.0.1")
        # Failures 1 and 2 are free; the 3rd blocks for 0.5 s.
        for i in range(3):
            assert (await caller.login(user.email, f"wrong {i}"))["__typename"] == "AuthFailed"
        waiting = await caller.login(user.email)
        assert waiting["__typename"] == "AuthRateLimited" and waiting["retryAfterSeconds"] == 1
        await asyncio.sleep(0.6)
        # The 4th failure locks out: even the right password is refused until it has passed.
        assert (await caller.login(user.email, "wrong 4"))["__typename"] == "AuthFailed"
        locked = await caller.login(user.email)
        assert locked["__typename"] == "AuthRateLimited" and locked["retryAfterSeconds"] == 2
        await asyncio.sleep(1.6)
        assert (await caller.login(user.email))["__typename"] == "AuthSuccess"
        # Counting starts over after a lock-out and a sign-in.
        assert (await caller.login(user.email, "wrong again"))["__typename"] == "AuthFailed"


async def test_registration_is_throttled_per_client(
    stores: Stores, site_for: Callable[..., Any]
) -> None:
    await make_user(stores, "taken", Role.READER)
    async with site_for(
        PHILOS_REGISTER_LIMIT=3, PHILOS_LOGIN_CLIENT_FAILURES=3, **LOCKOUT_ONLY
    ) as site:
        one, two = site.at("10.9.0.1"), site.at("10.9.0.2")
        for i in range(3):
            assert (await one.register(f"new{i}@philos.test"))["__typename"] == "AuthSuccess"
        before = await snapshot(stores)
        refused = await one.register("new3@philos.test")
        assert refused["__typename"] == "AuthRateLimited" and refused["retryAfterSeconds"] > 0
        assert await snapshot(stores) == before
        assert (await two.register("new4@philos.test"))["__typename"] == "AuthSuccess"

        # Asking register which emails are taken spends the client's sign-in failures.
        prober = site.at("10.9.0.3")
        found = [(await prober.register("taken@philos.test"))["__typename"] for _ in range(3)]
        assert found == ["Conflict"] * 3
        before = await snapshot(stores)
        assert (await prober.register("fresh@philos.test"))["__typename"] == "AuthRateLimited"
        assert (await prober.login("taken@philos.test"))["__typename"] == "AuthRateLimited"
        assert await snapshot(stores) == before


async def test_bad_refresh_tokens_count_against_the_client(
    stores: Stores, site_for: Callable[..., Any]
) -> None:
    user = await make_user(stores, "holder", Role.READER)
    async with site_for(PHILOS_LOGIN_CLIENT_FAILURES=3, **LOCKOUT_ONLY) as site:
        good = await site.at("10.10.0.2").login(user.email)
        caller = site.at("10.10.0.1")
        kinds = [(await caller.refresh(f"guessed-token-{i}"))["__typename"] for i in range(4)]
        assert kinds == ["AuthFailed"] * 3 + ["AuthRateLimited"]
        assert (await caller.refresh(good["refreshToken"]))["__typename"] == "AuthRateLimited"
        assert (await site.at("10.10.0.2").refresh(good["refreshToken"]))[
            "__typename"
        ] == "AuthSuccess"


async def test_the_throttle_is_shared_by_replicas_through_redis(
    stores: Stores, sql_url: str, tmp_path: Path, redis_url: str, site_for: Callable[..., Any]
) -> None:
    user = await make_user(stores, "shared", Role.READER)
    extra = {"REDIS_URL": redis_url, "PHILOS_LOGIN_ACCOUNT_FAILURES": 3, **LOCKOUT_ONLY}
    replicas = [
        await build_stores(settings_for(sql_url, tmp_path / f"r{i}", **extra)) for i in range(2)
    ]
    try:
        await clear_cache(replicas[0])
        async with site_for(replicas[0], **extra) as one, site_for(replicas[1], **extra) as two:
            for i, site in enumerate([one, two, one]):
                assert (await site.at(f"10.11.0.{i}").login(user.email, "nope"))[
                    "__typename"
                ] == "AuthFailed"
            locked = await two.at("10.11.0.9").login(user.email)
            assert locked["__typename"] == "AuthRateLimited"
            assert locked["retryAfterSeconds"] > 0
    finally:
        await clear_cache(replicas[0])
        for replica in replicas:
            await replica.aclose()


# 9. Weak passwords -------------------------------------------------------------------------

KEYBOARD = [
    "qwertyuiop",
    "asdfghjkl",
    "zxcvbnm",
    "1234567890",
    "poiuytrewq",
    "1qaz2wsx3edc4rfv",
    "qazwsxedcrfv",
    "!@#$%^&*()",
]
WORDS = [
    "password",
    "philosophy",
    "dragon",
    "sunshine",
    "football",
    "monkey",
    "letmein",
    "welcome",
    "shadow",
    "master",
    "princess",
    "iloveyou",
    "trustno1",
    "someone",
    "philos",
]
WHITESPACE = " \t\n\r\u00a0\u2003\u3000"


def _sequence(start: int, step: int, length: int, alphabet: str) -> str:
    return "".join(alphabet[(start + step * i) % len(alphabet)] for i in range(length))


weak_passwords = st.one_of(
    # Repeats: one character, or a short chunk, again and again.
    st.builds(
        lambda c, n: c * n, st.characters(blacklist_categories=["Cs", "Cc"]), st.integers(10, 40)
    ),
    st.builds(
        lambda chunk, n: (chunk * n)[: max(10, len(chunk) * n)],
        st.text(alphabet=st.characters(blacklist_categories=["Cs", "Cc"]), min_size=2, max_size=3),
        st.integers(5, 12),
    ),
    # Sequences, up or down, in steps of one or two.
    st.builds(
        lambda alphabet, start, step, n: _sequence(start, step, n, alphabet)[:n],
        st.sampled_from(["abcdefghijklmnopqrstuvwxyz", "0123456789", "ABCDEFGHIJKLMNOPQRSTUVWXYZ"]),
        st.integers(0, 9),
        st.sampled_from([1, -1, 2]),
        st.integers(10, 12),
    ),
    # Keyboard walks, there and back.
    st.builds(
        lambda walk, back, n: ((walk + walk[::-1]) if back else walk * 2)[:n],
        st.sampled_from(KEYBOARD),
        st.booleans(),
        st.integers(10, 16),
    ),
    # Dictionary words, capitalised or not, with a year or a few digits.
    st.builds(
        lambda word, cap, tail: (word.capitalize() if cap else word) + tail,
        st.sampled_from(WORDS),
        st.booleans(),
        st.one_of(
            st.integers(1950, 2030).map(str),
            st.sampled_from(["123", "1234", "12345", "!", "1!", "2024!"]),
        ),
    ).filter(lambda p: len(p) >= 10),
    # Whitespace alone, or around a common word.
    st.text(alphabet=WHITESPACE, min_size=10, max_size=30),
    st.builds(
        lambda pad, word, pad2: pad + word + pad2,
        st.text(alphabet=WHITESPACE, min_size=1, max_size=6),
        st.sampled_from(WORDS),
        st.text(alphabet=WHITESPACE, min_size=1, max_size=6),
    ).filter(lambda p: len(p) >= 10),
)


def _generated_weak_passwords(count: int) -> list[str]:
    found: list[str] = drawn(weak_passwords, count)
    return found


def test_the_shared_password_passes_and_the_reported_ones_do_not() -> None:
    assert password_problem(PASSWORD, email="editor@philos.test", name="Editor") is None
    for weak in ("aaaaaaaaaa", "1234567890", " " * 10):
        assert password_problem(weak) is not None


async def test_weak_passwords_are_refused_and_nothing_is_written(
    stores: Stores, site_for: Callable[..., Any]
) -> None:
    weak = [*dict.fromkeys(["aaaaaaaaaa", "1234567890", " " * 10, *_generated_weak_passwords(120)])]
    assert len(weak) > 60
    before = await snapshot(stores)
    async with site_for() as site:
        caller = site.at("10.12.0.1")
        for password in weak:
            result = await caller.register("newcomer@philos.test", password)
            assert result["__typename"] == "ValidationFailed", (password, result)
            assert [f["field"] for f in result["fields"]] == ["password"], (password, result)
            message = result["fields"][0]["message"]
            assert "guess" in message or "whitespace" in message, (password, message)
    assert await snapshot(stores) == before
    # A strong passphrase goes through, on the same client: refusals are not throttled.
    async with site_for() as site:
        assert (await site.at("10.12.0.1").register("newcomer@philos.test"))[
            "__typename"
        ] == "AuthSuccess"
