"""Repeated requests answered from the response cache before GraphQL runs (gateway/answers.py):
the same bytes, headers, limits, metrics and log lines as the normal path."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
import structlog
from hypothesis import strategies as st
from starlette.applications import Starlette

from philos.bootstrap import create_app
from philos.datasources.stores import Stores
from philos.domain import Role
from philos.gateway.answers import AnswerIndex
from philos.gateway.graphql import PhilosGraphQL
from philos.seed.loader import seed
from tests.api.accounts import TOKENS, make_user
from tests.corpus import SMALL_CORPUS
from tests.security.documents import drawn
from tests.settings import JWT_SECRET, settings_for
from tests.stores import counting

GQL_RESPONSE = "application/graphql-response+json"
LISTING = "query Listing { concepts(first: 3) { nodes { slug name thesisCount } } }"
ONE = '{ concept(slug: "ataraxia") { name version } }'


def view_of(app: Starlette) -> PhilosGraphQL:
    for route in app.routes:
        if getattr(route, "path", None) == "/graphql":
            endpoint: PhilosGraphQL = route.endpoint  # type: ignore[attr-defined]
            return endpoint
    raise AssertionError("no /graphql route")


@asynccontextmanager
async def client_for(
    stores: Stores, sql_url: str, tmp_path: Path, *, index: bool = True, **settings: object
) -> AsyncIterator[tuple[httpx.AsyncClient, PhilosGraphQL]]:
    app = create_app(settings_for(sql_url, tmp_path, **settings), stores)
    view = view_of(app)
    if not index:
        view.answers = AnswerIndex(max_entries=0)  # every request takes the normal path
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://philos.test") as client:
        yield client, view


@pytest.fixture
async def seeded(stores: Stores) -> Stores:
    await seed(stores, SMALL_CORPUS)
    return stores


def comparable(response: httpx.Response) -> tuple[int, list[tuple[str, str]], bytes]:
    headers = [(k, v) for k, v in response.headers.multi_items() if k != "x-request-id"]
    return response.status_code, headers, response.content


Send = Callable[[httpx.AsyncClient], Any]


def requests_to_compare(token: str) -> list[Send]:
    body = {"query": LISTING, "variables": {}}
    return [
        lambda c: c.post("/graphql", json=body),
        lambda c: c.post("/graphql", json=body, headers={"accept": GQL_RESPONSE}),
        lambda c: c.post(
            "/graphql",
            json={
                "query": "query($s: String!) { concept(slug: $s) { name tradition } }",
                "variables": {"s": "wu-wei"},
            },
            headers={"accept": f"{GQL_RESPONSE}, application/json;q=0.9"},
        ),
        lambda c: c.get("/graphql", params={"query": LISTING}),
        lambda c: c.post("/graphql", json=body, headers={"authorization": f"Bearer {token}"}),
    ]


async def test_answers_are_the_normal_paths_bytes(
    seeded: Stores, sql_url: str, tmp_path: Path
) -> None:
    editor = await make_user(seeded, "editor", Role.EDITOR)
    token = TOKENS.issue_access(editor)
    async with (
        client_for(seeded, sql_url, tmp_path, index=False) as (normal, _),
        client_for(seeded, sql_url, tmp_path) as (fast, view),
    ):
        for send in requests_to_compare(token):
            computed = comparable(await send(normal))  # a miss: computed and stored
            from_cache = comparable(await send(normal))  # the normal path's cache hit
            hits = view.answers.hits
            first = comparable(await send(fast))  # normal path (a cache hit), then indexed
            assert view.answers.hits == hits
            with counting(seeded) as statements:
                again = comparable(await send(fast))
            assert view.answers.hits == hits + 1
            assert statements == []
            assert computed == from_cache == first == again
            assert computed[0] == 200 and b'"errors"' not in computed[2]
        negotiated = await requests_to_compare(token)[1](fast)
        assert negotiated.headers["content-type"] == f"{GQL_RESPONSE}; charset=utf-8"
        plain = await requests_to_compare(token)[0](fast)
        assert plain.headers["content-type"] == "application/json"


async def test_a_write_is_visible_to_the_next_repeat(
    seeded: Stores, sql_url: str, tmp_path: Path
) -> None:
    editor = await make_user(seeded, "editor", Role.EDITOR)
    auth = {"authorization": f"Bearer {TOKENS.issue_access(editor)}"}
    async with client_for(seeded, sql_url, tmp_path) as (client, view):
        for _ in range(3):
            answer = await client.post("/graphql", json={"query": ONE})
            assert answer.json()["data"]["concept"] == {"name": "Ataraxia", "version": 1}
        assert view.answers.hits == 2
        found = await client.post(
            "/graphql", json={"query": '{ concept(slug: "ataraxia") { id } }'}
        )
        renamed = await client.post(
            "/graphql",
            json={
                "query": "mutation($id: ID!) { updateConcept(input: {id: $id, version: 1, "
                'name: "Tranquillity"}) { __typename } }',
                "variables": {"id": found.json()["data"]["concept"]["id"]},
            },
            headers=auth,
        )
        assert renamed.json()["data"]["updateConcept"]["__typename"] == "ConceptSuccess"
        after = await client.post("/graphql", json={"query": ONE})
        assert after.json()["data"]["concept"] == {"name": "Tranquillity", "version": 2}
        assert view.answers.hits == 2  # the stale entry sent it down the normal path
        again = await client.post("/graphql", json={"query": ONE})
        assert again.content == after.content
        assert view.answers.hits == 3


async def test_roles_do_not_share_answers(seeded: Stores, sql_url: str, tmp_path: Path) -> None:
    editor = await make_user(seeded, "editor", Role.EDITOR)
    reader = await make_user(seeded, "reader", Role.READER)
    async with client_for(seeded, sql_url, tmp_path) as (client, view):
        await client.post("/graphql", json={"query": LISTING})
        await client.post("/graphql", json={"query": LISTING})
        assert (view.answers.hits, len(view.answers)) == (1, 1)
        as_editor = {"authorization": f"Bearer {TOKENS.issue_access(editor)}"}
        await client.post("/graphql", json={"query": LISTING}, headers=as_editor)
        assert (view.answers.hits, len(view.answers)) == (1, 2)  # computed for EDITOR
        await client.post("/graphql", json={"query": LISTING}, headers=as_editor)
        assert view.answers.hits == 2
        # A signed-in READER has the anonymous caller's role, so the same answer.
        as_reader = {"authorization": f"Bearer {TOKENS.issue_access(reader)}"}
        await client.post("/graphql", json={"query": LISTING}, headers=as_reader)
        assert (view.answers.hits, len(view.answers)) == (3, 2)


def _token(**overrides: object) -> str:
    now = int(time.time())
    claims = {"iss": "philos", "aud": "philos-api", "sub": "u", "iat": now, "exp": now + 60}
    claims.update(overrides)
    return jwt.encode(claims, JWT_SECRET, algorithm="HS256")


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: _token(exp=int(time.time()) - 60), "expired"),
        (lambda: _token(aud="someone-else"), "not valid"),
        (lambda: _token() + "x", "not valid"),
        (lambda: "", "Bearer <token>"),
    ],
)
async def test_bad_tokens_are_401_on_repeated_bodies(
    seeded: Stores, sql_url: str, tmp_path: Path, make: Callable[[], str], message: str
) -> None:
    editor = await make_user(seeded, "editor", Role.EDITOR)
    good = {"authorization": f"Bearer {TOKENS.issue_access(editor)}"}
    async with client_for(seeded, sql_url, tmp_path) as (client, view):
        for headers in ({}, {}, good, good):
            assert (
                await client.post("/graphql", json={"query": LISTING}, headers=headers)
            ).is_success
        assert view.answers.hits == 2
        refused = await client.post(
            "/graphql", json={"query": LISTING}, headers={"authorization": f"Bearer {make()}"}
        )
        assert refused.status_code == 401
        assert refused.headers["www-authenticate"].startswith("Bearer")
        assert message in refused.json()["errors"][0]["message"]
        assert len(refused.headers["x-request-id"]) == 32
        assert view.answers.hits == 2


async def test_rate_limits_count_repeats(seeded: Stores, sql_url: str, tmp_path: Path) -> None:
    async with client_for(seeded, sql_url, tmp_path, PHILOS_RATE_LIMIT_IP=3) as (client, view):
        statuses = [
            (await client.post("/graphql", json={"query": LISTING})).status_code for _ in range(4)
        ]
        assert statuses == [200, 200, 200, 429]
        assert view.answers.hits == 2
        limited = await client.post(
            "/graphql", json={"query": LISTING}, headers={"x-request-id": "limited-1"}
        )
        assert limited.status_code == 429
        assert 1 <= int(limited.headers["retry-after"]) <= 60
        assert "slow down" in limited.json()["errors"][0]["message"]
        assert limited.headers["x-request-id"] == "limited-1"
        # Sent down the normal path, the 429 has every header an answer there gets.
        assert limited.headers["x-content-type-options"] == "nosniff"
        assert limited.headers["content-security-policy"].startswith("default-src 'none'")
    editor = await make_user(seeded, "editor", Role.EDITOR)
    auth = {"authorization": f"Bearer {TOKENS.issue_access(editor)}"}
    async with client_for(seeded, sql_url, tmp_path, PHILOS_RATE_LIMIT_USER=2) as (client, view):
        statuses = [
            (await client.post("/graphql", json={"query": ONE}, headers=auth)).status_code
            for _ in range(3)
        ]
        assert statuses == [200, 200, 429]
        assert view.answers.hits == 1


async def test_request_id_is_echoed_or_made(seeded: Stores, sql_url: str, tmp_path: Path) -> None:
    async with client_for(seeded, sql_url, tmp_path) as (client, view):
        await client.post("/graphql", json={"query": ONE})
        given = await client.post(
            "/graphql", json={"query": ONE}, headers={"x-request-id": "abc-1"}
        )
        made = await client.post(
            "/graphql", json={"query": ONE}, headers={"x-request-id": "bad id\twith tab"}
        )
        assert view.answers.hits == 2
        assert given.headers["x-request-id"] == "abc-1"
        assert len(made.headers["x-request-id"]) == 32


def sample(text: str, name: str, labels: str) -> float:
    key = f"{name}{{{labels}}} "
    for line in text.splitlines():
        if line.startswith(key):
            return float(line[len(key) :])
    return 0.0


async def test_metrics_and_log_lines_are_counted(
    seeded: Stores, sql_url: str, tmp_path: Path
) -> None:
    series = (
        ("philos_graphql_requests_total", 'operation="Listing",outcome="ok"'),
        ("philos_graphql_request_duration_seconds_count", 'operation="Listing"'),
        ("philos_response_cache_total", 'result="hit"'),
    )
    editor = await make_user(seeded, "editor", Role.EDITOR)
    headers = {"x-request-id": "req-1", "authorization": f"Bearer {TOKENS.issue_access(editor)}"}
    async with (
        client_for(seeded, sql_url, tmp_path, index=False) as (normal, _),
        client_for(seeded, sql_url, tmp_path) as (fast, view),
    ):
        await normal.post("/graphql", json={"query": LISTING}, headers=headers)
        with structlog.testing.capture_logs() as normal_logs:
            await normal.post("/graphql", json={"query": LISTING}, headers=headers)
        normal_context = structlog.contextvars.get_contextvars()
        await fast.post("/graphql", json={"query": LISTING}, headers=headers)
        structlog.contextvars.clear_contextvars()
        start = (await fast.get("/metrics")).text
        with structlog.testing.capture_logs() as fast_logs:
            for _ in range(3):
                await fast.post("/graphql", json={"query": LISTING}, headers=headers)
        fast_context = structlog.contextvars.get_contextvars()
        end = (await fast.get("/metrics")).text
        assert view.answers.hits == 3
    for name, labels in series:
        assert sample(end, name, labels) - sample(start, name, labels) == 3, name
    # The request's log context (request id, user id) and the access log line are the same.
    assert fast_context == normal_context == {"request_id": "req-1", "user_id": editor.id}
    lines = [e for e in normal_logs if e["event"] == "graphql.operation"]
    fast_lines = [e for e in fast_logs if e["event"] == "graphql.operation"]
    assert len(lines) == 1 and len(fast_lines) == 3
    for entry in (*lines, *fast_lines):
        assert isinstance(entry.pop("duration_ms"), float)
    assert (
        fast_lines[0]
        == lines[0]
        == {
            "event": "graphql.operation",
            "log_level": "info",
            "operation": "Listing",
            "operation_type": "query",
            "outcome": "ok",
            "errors": 0,
        }
    )


ALLOWED_ORIGIN = "https://explorer.example"


@dataclass(frozen=True)
class Repeat:
    """A request sent again and again: each part one the answer or its headers depend on."""

    method: str
    query: str
    accept: str | None
    origin: str | None
    signed_in: bool
    request_id: str | None
    coding: str | None

    def send(self, client: httpx.AsyncClient, token: str) -> Any:
        headers = {
            name: value
            for name, value in (
                ("accept", self.accept),
                ("origin", self.origin),
                ("authorization", f"Bearer {token}" if self.signed_in else None),
                ("x-request-id", self.request_id),
                ("content-encoding", self.coding),
            )
            if value is not None
        }
        if self.method == "GET":
            return client.get("/graphql", params={"query": self.query}, headers=headers)
        return client.post("/graphql", json={"query": self.query}, headers=headers)


repeats = st.builds(
    Repeat,
    method=st.sampled_from(["GET", "POST"]),
    query=st.sampled_from([LISTING, ONE, "{ __typename }"]),
    accept=st.sampled_from([None, "*/*", "application/json", GQL_RESPONSE, "text/html"]),
    origin=st.sampled_from([None, ALLOWED_ORIGIN, "https://elsewhere.example"]),
    signed_in=st.booleans(),
    request_id=st.sampled_from([None, "abc-1", "bad id\twith tab"]),
    coding=st.sampled_from([None, None, None, "identity", "gzip"]),
)


async def test_every_repeat_is_answered_as_the_normal_path_answers_it(
    seeded: Stores, sql_url: str, tmp_path: Path
) -> None:
    """Generated repeats (method, media types, CORS origins, callers, request ids, content
    codings): the raw-request index answers each with the normal path's status, headers and
    bytes (the security and CORS headers included), and it answers exactly the repeats it
    can answer without the checks below it."""
    editor = await make_user(seeded, "editor", Role.EDITOR)
    token = TOKENS.issue_access(editor)
    cases = drawn(repeats, 40)
    indexed: set[tuple[object, ...]] = set()
    async with (
        client_for(seeded, sql_url, tmp_path, index=False, PHILOS_CORS_ORIGINS=ALLOWED_ORIGIN) as (
            normal,
            _,
        ),
        client_for(seeded, sql_url, tmp_path, PHILOS_CORS_ORIGINS=ALLOWED_ORIGIN) as (fast, view),
    ):
        for case in cases:
            expected = [await case.send(normal, token) for _ in range(2)]
            hits = view.answers.hits
            answers = [await case.send(fast, token) for _ in range(3)]
            assert comparable(expected[0]) == comparable(expected[1]), case
            for answer in answers:
                assert comparable(answer) == comparable(expected[0]), case
                sent_id = case.request_id
                if sent_id is not None and "\t" not in sent_id:
                    assert answer.headers["x-request-id"] == sent_id
                else:
                    assert len(answer.headers["x-request-id"]) == 32
            # The request id is no part of what is answered: a repeat of an earlier case but
            # for it is answered from the index from its first send. (httpx sends no Accept
            # as ``*/*``.)
            raw = (case.method, case.query, case.accept or "*/*", case.origin, case.signed_in)
            answerable = case.coding is None and b'"data"' in expected[0].content
            assert view.answers.hits - hits == (3 if raw in indexed else 2) * answerable, case
            if answerable:
                indexed.add(raw)


async def test_a_failing_hit_is_answered_by_the_normal_path(
    seeded: Stores, sql_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:
    """A bug in the index's own answer (here: one raised on purpose) costs the caller
    nothing: the normal path answers, and the failure is logged with its traceback."""
    from philos.gateway.answers import CachedAnswers

    async with client_for(seeded, sql_url, tmp_path) as (client, view):
        first = await client.post("/graphql", json={"query": LISTING})
        assert len(view.answers) == 1

        def broken(*_args: object, **_kwargs: object) -> None:
            raise RuntimeError("boom: a bug in the raw-request answer")

        monkeypatch.setattr(CachedAnswers, "_answer", broken)
        with caplog.at_level("ERROR", logger="philos.errors"):
            again = await client.post("/graphql", json={"query": LISTING})
        assert comparable(again) == comparable(first)
        assert view.answers.hits == 0
        assert any("boom" in (r.exc_text or "") for r in caplog.records), caplog.records
