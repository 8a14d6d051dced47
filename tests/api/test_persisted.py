"""Persisted documents over HTTP: APQ's miss → register → hit, on POST and GET, with generated
documents; limits checked before anything is stored; trusted documents from a manifest and
the trusted-only mode; one APQ store shared by two app instances through Redis."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from philos.bootstrap import build_stores, create_app
from philos.datasources.stores import Stores
from philos.gateway.persisted import NOT_FOUND, NOT_FOUND_MESSAGE
from philos.seed.loader import seed
from tests.corpus import SMALL_CORPUS
from tests.fuzz.strategies import SCHEMA
from tests.security.documents import drawn, queries_reaching
from tests.settings import settings_for
from tests.stores import clear_cache

EXAMPLES = 25
ROOTS = ["concepts", "concept", "traditions", "tags", "me"]
CONCEPTS = "query Few { concepts(first: 3) { edges { node { slug name } } } }"


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def apq(text: str) -> dict[str, Any]:
    return {"persistedQuery": {"version": 1, "sha256Hash": digest(text)}}


@asynccontextmanager
async def client_for(
    stores: Stores, sql_url: str, data_dir: Path, **extra: object
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings_for(sql_url, data_dir, **extra), stores)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://philos.test") as client:
        yield client


def code_of(response: httpx.Response) -> str | None:
    errors = response.json().get("errors") or [{}]
    found: str | None = (errors[0].get("extensions") or {}).get("code")
    return found


def ran(body: dict[str, Any]) -> bool:
    """Whether a request got past parsing, validation and the limits (it has data or an
    error at a field's path)."""
    errors = body.get("errors") or []
    return body.get("data") is not None or any(e.get("path") for e in errors)


@pytest.fixture
async def seeded(stores: Stores) -> Stores:
    await seed(stores, SMALL_CORPUS)
    return stores


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True, scope="session")
async def test_generated_documents_miss_register_then_hit(
    seeded: Stores, sql_url: str, tmp_path: Path
) -> None:
    drawn_cases = (
        q for root in ROOTS for q in drawn(queries_reaching(SCHEMA, root), EXAMPLES // 5)
    )
    cases = list(dict.fromkeys(drawn_cases))  # each text once: the first send must miss
    stored = refused = 0
    async with client_for(seeded, sql_url, tmp_path) as client:
        for query in cases:
            ext = apq(query)
            miss = await client.post("/graphql", json={"extensions": ext})
            assert miss.status_code == 200, query
            assert code_of(miss) == NOT_FOUND == "PERSISTED_QUERY_NOT_FOUND", query
            assert (
                miss.json()["errors"][0]["message"] == NOT_FOUND_MESSAGE == "PersistedQueryNotFound"
            )
            plain = await client.post("/graphql", json={"query": query})
            first = await client.post("/graphql", json={"query": query, "extensions": ext})
            assert first.json() == plain.json(), query
            hit = await client.post("/graphql", json={"extensions": ext})
            if ran(plain.json()):
                stored += 1
                assert hit.json() == plain.json(), query
                got = await client.get("/graphql", params={"extensions": json.dumps(ext)})
                assert got.status_code == 200 and got.json() == plain.json(), query
            else:  # refused before running (a limit, say): never stored
                refused += 1
                assert code_of(hit) == "PERSISTED_QUERY_NOT_FOUND", query
    assert stored >= len(cases) // 2, (stored, refused)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True, scope="session")
async def test_limits_are_checked_before_a_document_is_stored(
    stores: Stores, sql_url: str, tmp_path: Path
) -> None:
    deep = "{ me { " * 3 + "id" + " }" * 3
    aliased = "{ " + " ".join(f"a{i}: traditions {{ name }}" for i in range(4)) + " }"
    async with client_for(
        stores, sql_url, tmp_path, PHILOS_MAX_DEPTH=2, PHILOS_MAX_ALIASES=2
    ) as client:
        for query in (deep, aliased, "{ nosuchfield }", "{ broken"):
            sent = await client.post("/graphql", json={"query": query, "extensions": apq(query)})
            assert sent.json().get("errors"), query
            again = await client.post("/graphql", json={"extensions": apq(query)})
            assert code_of(again) == "PERSISTED_QUERY_NOT_FOUND", query


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True, scope="session")
async def test_hash_mismatch_and_get_stay_read_only(
    seeded: Stores, sql_url: str, tmp_path: Path
) -> None:
    async with client_for(seeded, sql_url, tmp_path) as client:
        wrong = {"persistedQuery": {"version": 1, "sha256Hash": digest("{ tags { name } }")}}
        mismatch = await client.post("/graphql", json={"query": CONCEPTS, "extensions": wrong})
        assert mismatch.status_code == 400
        assert code_of(mismatch) == "PERSISTED_QUERY_HASH_MISMATCH"
        for bad in ({"version": 2, "sha256Hash": digest(CONCEPTS)}, {"version": 1}, "x"):
            answer = await client.post("/graphql", json={"extensions": {"persistedQuery": bad}})
            assert answer.status_code == 400 and code_of(answer), bad
        # A GET carrying the text runs it but stores nothing: storing is a POST's effect.
        params = {"query": CONCEPTS, "extensions": json.dumps(apq(CONCEPTS))}
        assert (await client.get("/graphql", params=params)).json()["data"]["concepts"]
        miss = await client.get("/graphql", params={"extensions": json.dumps(apq(CONCEPTS))})
        assert code_of(miss) == "PERSISTED_QUERY_NOT_FOUND"
        # A stored mutation is still refused over GET.
        mutation = 'mutation { deleteConcept(id: "nope") { __typename } }'
        await client.post("/graphql", json={"query": mutation, "extensions": apq(mutation)})
        stored = await client.post("/graphql", json={"extensions": apq(mutation)})
        assert code_of(stored) != "PERSISTED_QUERY_NOT_FOUND", stored.text
        hashed = await client.get("/graphql", params={"extensions": json.dumps(apq(mutation))})
        assert hashed.status_code == 405


def manifest(path: Path, documents: list[str], apollo: bool) -> Path:
    if apollo:
        body: Any = {
            "format": "apollo-persisted-query-manifest",
            "version": 1,
            "operations": [
                {"id": digest(d), "name": "Op", "type": "query", "body": d} for d in documents
            ],
        }
    else:
        body = {f"sha256:{digest(d)}": d for d in documents}
    path.write_text(json.dumps(body), encoding="utf-8")
    return path


@pytest.mark.parametrize("apollo", [False, True])
@pytest.mark.parametrize("backend", ["sqlite"], indirect=True, scope="session")
async def test_trusted_documents_and_trusted_only(
    seeded: Stores, sql_url: str, tmp_path: Path, apollo: bool
) -> None:
    path = manifest(tmp_path / "manifest.json", [CONCEPTS], apollo)
    extra = {"PHILOS_PERSISTED_MANIFEST": path}
    async with client_for(seeded, sql_url, tmp_path, **extra) as client:
        plain = (await client.post("/graphql", json={"query": CONCEPTS})).json()
        assert plain["data"]["concepts"]["edges"]
        for ident in (f"sha256:{digest(CONCEPTS)}", digest(CONCEPTS), digest(CONCEPTS).upper()):
            assert (await client.post("/graphql", json={"documentId": ident})).json() == plain
        got = await client.get("/graphql", params={"documentId": digest(CONCEPTS)})
        assert got.json() == plain
        unknown = await client.post("/graphql", json={"documentId": "sha256:" + "0" * 64})
        assert unknown.status_code == 400 and code_of(unknown) == "PERSISTED_DOCUMENT_NOT_FOUND"
    async with client_for(seeded, sql_url, tmp_path, PHILOS_PERSISTED_ONLY=True, **extra) as client:
        known = await client.post("/graphql", json={"documentId": digest(CONCEPTS)})
        assert known.json() == plain
        assert (await client.post("/graphql", json={"extensions": apq(CONCEPTS)})).json() == plain
        other = "{ tags { name } }"
        for body in (
            {"query": other},
            {"query": other, "extensions": apq(other)},
            {"extensions": apq(other)},
            {},
        ):
            refused = await client.post("/graphql", json=body)
            assert refused.status_code == 400, body
            assert code_of(refused) == "PERSISTED_QUERY_NOT_IN_LIST", body
            assert "trusted documents only" in refused.json()["errors"][0]["message"]


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True, scope="session")
async def test_two_instances_share_the_store_through_redis(
    sql_url: str, redis_url: str, tmp_path: Path, stores: Stores
) -> None:
    settings = settings_for(sql_url, tmp_path, REDIS_URL=redis_url)
    first, second = await build_stores(settings), await build_stores(settings)
    try:
        await clear_cache(first)
        await seed(first, SMALL_CORPUS)
        cases = list(dict.fromkeys(drawn(queries_reaching(SCHEMA, "concepts"), 8)))
        shared = 0
        async with (
            client_for(first, sql_url, tmp_path, REDIS_URL=redis_url) as one,
            client_for(second, sql_url, tmp_path, REDIS_URL=redis_url) as two,
        ):
            for query in cases:
                ext = apq(query)
                assert code_of(await two.post("/graphql", json={"extensions": ext})) == (
                    "PERSISTED_QUERY_NOT_FOUND"
                )
                registered = await one.post("/graphql", json={"query": query, "extensions": ext})
                hit = await two.post("/graphql", json={"extensions": ext})
                if ran(registered.json()):
                    shared += 1
                    assert hit.json() == registered.json(), query
                else:  # over a limit on the first instance: stored for neither
                    assert code_of(hit) == "PERSISTED_QUERY_NOT_FOUND", query
        assert shared >= 2, shared
    finally:
        await clear_cache(first)
        await first.aclose()
        await second.aclose()
