"""Security headers on every answer, a CSP on HTML pages, and CORS for the allow-listed
origins of ``PHILOS_CORS_ORIGINS`` only."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pydantic
import pytest

from philos.bootstrap import create_app
from philos.datasources.stores import Stores
from philos.seed.loader import seed
from tests.corpus import SMALL_CORPUS
from tests.settings import settings_for

APP_ORIGIN = "https://app.philos.example"
LOCAL_ORIGIN = "http://localhost:3000"
EVIL_ORIGIN = "https://evil.example"
QUERY = {"query": "{ concepts { totalCount } }"}


async def client_for(
    stores: Stores, sql_url: str, tmp_path: Path, **extra: object
) -> httpx.AsyncClient:
    await seed(stores, SMALL_CORPUS)
    app = create_app(settings_for(sql_url, tmp_path, **extra), stores)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://philos.test")


@pytest.fixture
async def plain(stores: Stores, sql_url: str, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    async with await client_for(stores, sql_url, tmp_path) as client:
        yield client


@pytest.fixture
async def cors(stores: Stores, sql_url: str, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    origins = f"{APP_ORIGIN}, {LOCAL_ORIGIN}"
    async with await client_for(stores, sql_url, tmp_path, PHILOS_CORS_ORIGINS=origins) as client:
        yield client


async def every_kind_of_answer(client: httpx.AsyncClient) -> list[httpx.Response]:
    return [
        await client.get("/health"),
        await client.get("/ready"),
        await client.get("/metrics"),
        await client.post("/graphql", json=QUERY),
        await client.post("/graphql", json={"query": "{ nope }"}),
        await client.post(
            "/graphql", content=b"null", headers={"content-type": "application/json"}
        ),
        await client.post("/graphql", content=b"a=b", headers={"content-type": "text/plain"}),
        await client.get("/graphql", headers={"accept": "text/html"}),
        await client.get("/nowhere"),
        await client.delete("/graphql"),
        await client.get("/"),
    ]


async def test_every_answer_has_nosniff_and_a_referrer_policy(plain: httpx.AsyncClient) -> None:
    for response in await every_kind_of_answer(plain):
        assert response.headers["x-content-type-options"] == "nosniff", response.url
        assert response.headers["referrer-policy"] == "no-referrer"
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
        assert response.headers["x-request-id"]
        assert response.status_code < 500


async def test_routing_errors_are_json(plain: httpx.AsyncClient) -> None:
    missing = await plain.get("/nowhere")
    assert missing.status_code == 404 and missing.json()["errors"][0]["message"]
    wrong = await plain.delete("/graphql")
    assert wrong.status_code == 405 and wrong.json()["errors"][0]["message"]


async def test_graphiql_csp_allows_its_own_scripts_only(plain: httpx.AsyncClient) -> None:
    page = await plain.get("/graphql", headers={"accept": "text/html"})
    csp = page.headers["content-security-policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["frame-ancestors"] == "'none'"
    assert directives["default-src"] == "'none'"
    # GraphiQL is part of the web bundle: its scripts come from this server only.
    assert re.findall(r"<script[^>]*>", page.text), "GraphiQL loads its script"
    for src in re.findall(r"<script[^>]*src=\"([^\"]+)\"", page.text):
        assert src.startswith("/app/assets/"), src
    assert not re.findall(r"<script>(.*?)</script>", page.text, flags=re.S)
    assert directives["script-src"].split() == ["'self'"]
    assert "https:" not in csp and "unpkg" not in page.text
    assert directives["connect-src"] == "'self'"


async def test_no_cors_headers_by_default(plain: httpx.AsyncClient) -> None:
    preflight = await plain.options(
        "/graphql", headers={"origin": APP_ORIGIN, "access-control-request-method": "POST"}
    )
    answer = await plain.post("/graphql", json=QUERY, headers={"origin": APP_ORIGIN})
    for response in (preflight, answer):
        assert not [h for h in response.headers if h.startswith("access-control-")]


async def test_preflight_from_an_allowed_origin(cors: httpx.AsyncClient) -> None:
    for origin in (APP_ORIGIN, LOCAL_ORIGIN):
        response = await cors.options(
            "/graphql",
            headers={
                "origin": origin,
                "access-control-request-method": "POST",
                "access-control-request-headers": "authorization, content-type",
            },
        )
        assert response.status_code == 200
        assert response.headers["access-control-allow-origin"] == origin
        allowed = {
            h.strip().lower() for h in response.headers["access-control-allow-headers"].split(",")
        }
        assert {"authorization", "content-type"} <= allowed
        assert "POST" in response.headers["access-control-allow-methods"]
        assert "access-control-allow-credentials" not in response.headers
        assert "origin" in response.headers["vary"].lower()


async def test_requests_from_an_allowed_origin(cors: httpx.AsyncClient) -> None:
    response = await cors.post("/graphql", json=QUERY, headers={"origin": APP_ORIGIN})
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == APP_ORIGIN
    assert "x-request-id" in response.headers["access-control-expose-headers"].lower()
    assert "access-control-allow-credentials" not in response.headers
    assert "origin" in response.headers["vary"].lower()


@pytest.mark.parametrize(
    "origin",
    [
        EVIL_ORIGIN,
        "null",
        APP_ORIGIN + ".evil.example",
        APP_ORIGIN.upper(),
        APP_ORIGIN + ":443",
        "http://app.philos.example",
    ],
)
async def test_other_origins_get_no_cors_headers(cors: httpx.AsyncClient, origin: str) -> None:
    preflight = await cors.options(
        "/graphql", headers={"origin": origin, "access-control-request-method": "POST"}
    )
    answer = await cors.post("/graphql", json=QUERY, headers={"origin": origin})
    for response in (preflight, answer):
        assert not [h for h in response.headers if h.startswith("access-control-")], (
            response.headers
        )
        assert "origin" in response.headers["vary"].lower()
        assert response.headers["x-request-id"]
    assert preflight.status_code == 405
    assert (
        answer.status_code == 200
    )  # a server-side client may call; the browser gets nothing to read


@pytest.mark.parametrize(
    "value", ["*", "https://app.example/", "app.example", "https://app.example/path", "ftp://x"]
)
def test_bad_origin_settings_are_refused(value: str, tmp_path: Path) -> None:
    with pytest.raises(pydantic.ValidationError, match="PHILOS_CORS_ORIGINS"):
        settings_for("sqlite://", tmp_path, PHILOS_CORS_ORIGINS=value)
