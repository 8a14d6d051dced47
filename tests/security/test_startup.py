"""Start-up and recovery: unusable store URLs, stores down at the first start, stores coming back.

- A bad ``DATABASE_URL`` (unparseable, unknown scheme, bad or closed port, wrong host, wrong
  role, missing database) or a malformed ``NEO4J_URI``/``MONGODB_URI``/``REDIS_URL`` stops the
  real CLI (a subprocess) with a non-zero exit and one line on stderr naming the variable, the
  password masked, never a traceback.
- A graph or thesis store that is unreachable at the first start does not keep the SQL part of
  the corpus from loading, and gets its own part at a later start (and only once).
- The outbox relay catches up within a second or two of a store's return, however long the
  outage made its back-off.

URLs only ever point at loopback addresses: a "wrong host" is another 127/8 address.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, update

from philos import bootstrap
from philos.bootstrap import build_stores, create_app
from philos.datasources.outbox import OutboxRelay
from philos.datasources.sql.tables import outbox_t
from philos.datasources.startup import SQL_SCHEMES, mask_url
from philos.datasources.stores import Stores
from philos.domain import ConceptFilter, ConceptOrder, Page, Role, utcnow
from philos.seed.loader import read_corpus
from tests.api.accounts import make_user
from tests.api.client import Api
from tests.services.plugin import ServiceControl
from tests.settings import settings_for
from tests.sql_access import sql_db
from tests.stores import unwrap

CORPUS = read_corpus()
PROFILE = settings(
    max_examples=6,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
STORE_VARIABLES = (
    "DATABASE_URL",
    "NEO4J_URI",
    "NEO4J_USER",
    "NEO4J_PASSWORD",
    "MONGODB_URI",
    "REDIS_URL",
)


def closed_port() -> int:
    """A port nothing listens on (on any address), as of now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("", 0))
        port: int = sock.getsockname()[1]
    return port


def philos(command: str, data_dir: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """Run the real CLI with only the given store variables set."""
    environment = {k: v for k, v in os.environ.items() if k not in STORE_VARIABLES}
    environment.update(PHILOS_DATA_DIR=str(data_dir), PHILOS_STORE_TIMEOUT="0.5", **env)
    return subprocess.run(
        [sys.executable, "-m", "philos", command],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def assert_one_line_failure(
    result: subprocess.CompletedProcess[str], variable: str, secret: str | None = None
) -> str:
    assert result.returncode != 0, result
    assert "Traceback" not in result.stderr + result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    line = lines[0]
    assert variable in line and "tried" in line, line
    if secret is not None:
        assert secret not in result.stderr + result.stdout
        assert "***" in line
    return line


# Passwords look like nothing else in the output, so finding one there is a leak.
passwords = st.from_regex(r"Pw[A-Za-z0-9]{8,12}", fullmatch=True)
loopback_hosts = st.builds(
    "127.{}.{}.{}".format, st.integers(0, 255), st.integers(0, 255), st.integers(2, 254)
)
bad_ports = st.one_of(
    st.integers(65536, 10**7).map(str),
    st.sampled_from(["abc", "-1", "0", "80x", "٣"]),
)
unknown_schemes = st.one_of(
    st.sampled_from(["mysql", "http", "foo", "postgresql+psycopg2", "sqlite+pysqlite", "oracle"]),
    st.from_regex(r"[a-z][a-z0-9+.-]{0,8}", fullmatch=True),
).filter(lambda s: s not in SQL_SCHEMES)


@st.composite
def bad_database_urls(draw: st.DrawFn) -> tuple[str, str]:
    """(URL, password): an unknown scheme, a bad port, a closed port on some loopback
    address, or no URL at all."""
    password = draw(passwords)
    kind = draw(st.sampled_from(["scheme", "port", "closed", "garbage"]))
    if kind == "scheme":
        url = f"{draw(unknown_schemes)}://philos:{password}@127.0.0.1/philos"
    elif kind == "port":
        url = f"postgresql://philos:{password}@127.0.0.1:{draw(bad_ports)}/philos"
    elif kind == "closed":
        url = f"postgresql://philos:{password}@{draw(loopback_hosts)}:{closed_port()}/philos"
    else:
        url = draw(st.sampled_from(["", "not a url", "philos:" + password, "://" + password]))
    return url, password


@PROFILE
@given(case=bad_database_urls(), command=st.sampled_from(["serve", "migrate", "seed", "worker"]))
def test_a_bad_database_url_fails_in_one_line(
    case: tuple[str, str], command: str, tmp_path: Path
) -> None:
    url, password = case
    result = philos(command, tmp_path, DATABASE_URL=url)
    line = assert_one_line_failure(result, "DATABASE_URL")
    assert password not in result.stderr + result.stdout
    assert line.startswith(f"philos {command}: DATABASE_URL")


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda u: u.replace("://philos@", "://nobody-here:Pwsecret123@"), "credentials refused"),
        (lambda u: u.rsplit("/", 1)[0] + "/no_such_database", "database does not exist"),
    ],
    ids=["wrong-role", "missing-database"],
)
def test_wrong_credentials_or_a_missing_database_fail_in_one_line(
    sql_url: str, change: Any, reason: str, tmp_path: Path
) -> None:
    url = change(sql_url)
    assert url != sql_url
    for command in ("migrate", "worker"):
        result = philos(command, tmp_path, DATABASE_URL=url)
        secret = "Pwsecret123" if "Pwsecret123" in url else None
        line = assert_one_line_failure(result, "DATABASE_URL", secret)
        assert reason in line


def test_an_unusable_sqlite_path_fails_in_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    result = philos("migrate", tmp_path, DATABASE_URL=f"sqlite:///{blocker}/philos.db")
    assert_one_line_failure(result, "DATABASE_URL")
    # The default SQLite file is named by the variable that places it.
    result = philos("seed", blocker)
    assert_one_line_failure(result, "PHILOS_DATA_DIR")


def test_a_setting_that_does_not_parse_fails_in_one_line(tmp_path: Path) -> None:
    result = philos("migrate", tmp_path, PHILOS_BREAKER_THRESHOLD="many")
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        "philos migrate: PHILOS_BREAKER_THRESHOLD: Input should be a valid integer, "
        "unable to parse string as an integer"
    ]


SEPARATE = {
    "NEO4J_URI": ("bolt", ["http", "https", "bolt+x", "mongodb", "redis", "neo4j+tls"]),
    "MONGODB_URI": ("mongodb", ["http", "bolt", "redis", "mongo", "mongodb+x"]),
    "REDIS_URL": ("redis", ["http", "bolt", "mongodb", "memcached", "rediss+x"]),
}


@st.composite
def bad_separate_urls(draw: st.DrawFn) -> tuple[str, str, str]:
    """(variable, URL, password) for a separate store: an unknown scheme or a bad port."""
    variable = draw(st.sampled_from(sorted(SEPARATE)))
    scheme, wrong = SEPARATE[variable]
    password = draw(passwords)
    host = draw(loopback_hosts)
    if draw(st.booleans()):
        url = f"{draw(st.sampled_from(wrong))}://user:{password}@{host}:7687"
    else:
        url = f"{scheme}://user:{password}@{host}:{draw(bad_ports)}"
    return variable, url, password


@PROFILE
@given(case=bad_separate_urls(), command=st.sampled_from(["serve", "seed", "worker"]))
def test_a_malformed_separate_store_url_fails_in_one_line(
    case: tuple[str, str, str], command: str, tmp_path: Path
) -> None:
    variable, url, password = case
    result = philos(command, tmp_path, **{variable: url})
    line = assert_one_line_failure(result, variable, password)
    assert line.startswith(f"philos {command}: {variable}")


def test_masking_never_shows_the_password() -> None:
    assert mask_url("postgresql://u:p%40ss@h/db") == "postgresql://u:***@h/db"
    assert mask_url("postgresql://u:a@b@h/db") == "postgresql://u:***@h/db"
    assert mask_url("redis://:secret@h:6379/0") == "redis://:***@h:6379/0"
    assert mask_url("mongodb://h/?password=secret&x=1") == "mongodb://h/?password=***&x=1"
    assert mask_url("bolt://h:7687") == "bolt://h:7687"


# --- Seeding: each store gets its part, at the first start it answers --------------------


@pytest.fixture
def quick_setup(monkeypatch: pytest.MonkeyPatch) -> None:
    # A store that is down costs the setup timeout (10 s) at a start; 4 s keeps the test short.
    monkeypatch.setattr(bootstrap, "SETUP_TIMEOUT_SECONDS", 4.0)


@pytest.fixture
async def clean_separate_stores(neo4j_uri: str, mongodb_uri: str) -> Any:
    """Empty the session's Neo4j and this module's MongoDB database, before and after."""
    from neo4j import AsyncGraphDatabase
    from pymongo import AsyncMongoClient

    async def clean() -> None:
        driver = AsyncGraphDatabase.driver(neo4j_uri)
        try:
            await driver.execute_query("MATCH (n) DETACH DELETE n")
        finally:
            await driver.close()
        client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongodb_uri)
        try:
            await client.drop_database(MONGO_DATABASE)
        finally:
            await client.close()

    await clean()
    yield
    await clean()


MONGO_DATABASE = "philos_startup_tests"
FORMS = '{ concept(slug: "forms") { name relations { type } theses { statement } } }'


async def start(settings: Any, query: str | None = None) -> dict[str, Any] | None:
    """Start the app as ``philos serve`` does (its lifespan: open, migrate, seed), optionally
    ask one query over HTTP, and stop it."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        if query is None:
            return None
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://philos.test") as c:
            response = await c.post("/graphql", json={"query": query})
            body: dict[str, Any] = response.json()
            return body


async def counts(stores: Stores) -> dict[str, int]:
    """How much of the corpus each store of a wiring holds."""
    concepts = await stores.concepts.list(ConceptFilter(), ConceptOrder.NAME_ASC, Page(limit=1))
    relations = await stores.graph.get_relations([r.id for r in CORPUS.relations])
    theses = await stores.theses.get_many([t.id for t in CORPUS.theses])
    return {"concepts": concepts.total, "relations": len(relations), "theses": len(theses)}


async def test_stores_down_at_the_first_start_get_their_part_at_a_later_one(
    stores: Stores,
    sql_url: str,
    neo4j_uri: str,
    mongodb_uri: str,
    tmp_path: Path,
    quick_setup: None,
    clean_separate_stores: None,
) -> None:
    common: dict[str, object] = {
        "PHILOS_MONGODB_DATABASE": MONGO_DATABASE,
        "PHILOS_BREAKER_RESET": 1,
    }
    down = settings_for(
        sql_url,
        tmp_path,
        NEO4J_URI=f"bolt://127.0.0.1:{closed_port()}",
        MONGODB_URI=f"mongodb://127.0.0.1:{closed_port()}/?serverSelectionTimeoutMS=500",
        **common,
    )
    up = settings_for(sql_url, tmp_path, NEO4J_URI=neo4j_uri, MONGODB_URI=mongodb_uri, **common)

    await start(down)  # starts, although neither separate store answers
    # The SQL wiring of the same database sees the concepts and nothing else: the relations
    # and theses belong in the stores that were down.
    assert await counts(stores) == {"concepts": len(CORPUS.concepts), "relations": 0, "theses": 0}

    body = await start(up, FORMS)
    assert body is not None and "errors" not in body, body
    assert body["data"]["concept"]["relations"] and body["data"]["concept"]["theses"]
    separate = await build_stores(up)
    try:
        assert await counts(separate) == {
            "concepts": len(CORPUS.concepts),
            "relations": len(CORPUS.relations),
            "theses": len(CORPUS.theses),
        }
        # What users remove from a store that has its part stays removed at the next start.
        gone_relation, gone_thesis = CORPUS.relations[0].id, CORPUS.theses[0].id
        assert await separate.graph.remove_relation(gone_relation)
        assert await separate.theses.delete(gone_thesis)
    finally:
        await separate.aclose()

    await start(up)
    again = await build_stores(up)
    try:
        assert await counts(again) == {
            "concepts": len(CORPUS.concepts),
            "relations": len(CORPUS.relations) - 1,
            "theses": len(CORPUS.theses) - 1,
        }
        assert not await again.graph.get_relations([gone_relation])
    finally:
        await again.aclose()


def test_philos_seed_with_the_graph_down_loads_the_rest_and_says_what_is_missing(
    tmp_path: Path, mongodb_uri: str, clean_separate_stores: None
) -> None:
    port = closed_port()
    result = philos(
        "seed",
        tmp_path,
        DATABASE_URL=f"sqlite:///{tmp_path / 'fresh.db'}",
        NEO4J_URI=f"bolt://127.0.0.1:{port}",
        NEO4J_USER="neo4j",
        NEO4J_PASSWORD="Pwgraph0000",
        MONGODB_URI=mongodb_uri,
        PHILOS_MONGODB_DATABASE=MONGO_DATABASE,
    )
    line = assert_one_line_failure(result, "NEO4J_URI")
    assert "Pwgraph0000" not in result.stdout + result.stderr
    assert "relations" in line and f"127.0.0.1:{port}" in line
    assert f"{len(CORPUS.concepts)} concepts added" in result.stdout
    assert f"{len(CORPUS.theses)} theses added" in result.stdout


# --- The relay after an outage ----------------------------------------------------------


async def eventually(
    check: Callable[[], Awaitable[bool]], within: float, step: float = 0.2
) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if await check():
            return True
        await asyncio.sleep(step)
    return await check()


async def failed_at_least(stores: Stores, times: int) -> bool:
    async with sql_db(stores).connect() as conn:
        value = (await conn.execute(select(func.max(outbox_t.c.attempts)))).scalar_one()
    return int(value or 0) >= times


async def nothing_pending(relay: Any) -> bool:
    return int(await relay.pending()) == 0


@pytest.fixture
async def running_relay(api: Api) -> AsyncIterator[OutboxRelay]:
    """The relay as ``philos serve`` runs it (in the background), with a long back-off cap:
    only its watching the store can explain a quick catch-up."""
    relay = api.stores.relay
    assert isinstance(relay, OutboxRelay)
    cap, relay.max_delay = relay.max_delay, 60.0
    task = asyncio.create_task(relay.run())
    yield relay
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    relay.max_delay = cap


@pytest.mark.parametrize("backend", ["production"], indirect=True)
async def test_the_relay_catches_up_within_seconds_of_a_store_coming_back(
    api: Api, service_control: ServiceControl, running_relay: Any
) -> None:
    relay = running_relay
    forms = await api.concept_id("forms")
    graph = unwrap(api.stores.graph)
    # An ADMIN: what an EDITOR's delete would remove from the graph cannot be checked now.
    admin = await make_user(api.stores, "admin", Role.ADMIN)
    with service_control.outage("neo4j"):
        deleted = await api.as_user(admin).data(
            "mutation($id: ID!) { deleteConcept(id: $id) { __typename } }", {"id": forms}
        )
        assert deleted["deleteConcept"]["__typename"] == "DeleteSuccess"
        # Several real back-offs, then the one a long outage ends with: a minute away.
        assert await eventually(lambda: failed_at_least(api.stores, 3), within=60)
        async with sql_db(api.stores).begin() as conn:
            await conn.execute(
                update(outbox_t).values(next_attempt_at=utcnow() + timedelta(seconds=60))
            )
        assert await relay.pending() == 1
    restarted = time.monotonic()
    logging.getLogger("philos.test").warning("neo4j is back")
    assert await eventually(lambda: nothing_pending(relay), within=30, step=0.1)
    took = time.monotonic() - restarted
    logging.getLogger("philos.test").warning("caught up %.1fs after neo4j was back", took)
    assert await relay.pending() == 0
    assert took < 6, f"the relay took {took:.1f}s after the graph store came back"
    records, _, _ = await graph.driver.execute_query(  # type: ignore[attr-defined]
        "MATCH (c:Concept {id: $id}) RETURN c", id=forms
    )
    assert records == []


async def test_a_request_deadline_ends_with_the_request(api: Api) -> None:
    """An in-process client runs the app in its own task: a deadline left behind there would
    fail its later store calls (the relay's drains among them) once it passed."""
    from philos.datasources.resilience import request_deadline

    assert request_deadline.get() is None
    await api.data('{ concept(slug: "forms") { name } }')
    await api.data('{ concept(slug: "forms") { name } }')  # the response cache answers this one
    assert request_deadline.get() is None
