"""A store that stops answering frees its callers: every driver is bounded by
``PHILOS_STORE_IO_TIMEOUT``.

``timeouts.within`` gives up on a slow store call for the request's sake, but the call itself
goes on; without a bound at the driver it would hold its pooled connection (and any lock it
took) for as long as the server stays silent. Here each real server is frozen (SIGSTOP: its
port takes connections, nothing is answered) under a store opened with a short bound, and the
store's call must fail with the driver's own error once that bound has passed (and well
before ``GIVE_UP_AFTER``), then work again once the server is thawed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from philos.config import normalise_sql_url
from philos.datasources.mongo import MongoThesisStore
from philos.datasources.neo4j import Neo4jGraphStore
from philos.datasources.sql import SqlDatabase
from tests.services.plugin import ServiceControl

IO_TIMEOUT = 1.5
# Generous for a loaded machine; a driver without the bound waits for as long as the server is
# silent (Neo4j's client until the server's 120 s hint, asyncpg and pymongo without end).
GIVE_UP_AFTER = 30.0


async def fails_within(call: Callable[[], Awaitable[Any]]) -> tuple[BaseException, float]:
    """The error the call ends with, and how long it took; a call that is still waiting
    after ``GIVE_UP_AFTER`` fails the test."""
    started = time.monotonic()
    task = asyncio.ensure_future(call())
    done, _ = await asyncio.wait({task}, timeout=GIVE_UP_AFTER)
    if not done:
        task.cancel()
        pytest.fail(f"the call was still waiting on the frozen server after {GIVE_UP_AFTER} s")
    error = task.exception()
    assert error is not None, "the frozen server answered"
    return error, time.monotonic() - started


async def answers_again(call: Callable[[], Awaitable[Any]]) -> None:
    deadline = time.monotonic() + GIVE_UP_AFTER
    while True:
        try:
            await call()
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)


async def frees_its_callers(
    control: ServiceControl,
    backend: str,
    call: Callable[[], Awaitable[Any]],
    error: type[BaseException],
) -> None:
    """While ``backend`` is frozen, ``call`` fails with ``error`` once the bound has passed;
    thawed, it answers again."""
    # A pooled connection exists before the freeze (a server just started can take longer
    # than the bound to answer its first call).
    await answers_again(call)
    with control.frozen(backend):
        found, waited = await fails_within(call)
        assert isinstance(found, error), repr(found)
        assert waited >= IO_TIMEOUT * 0.9
    await answers_again(call)


async def test_postgres(service_control: ServiceControl, postgres_url: str) -> None:
    db = SqlDatabase(normalise_sql_url(postgres_url), io_timeout=IO_TIMEOUT)
    try:
        await frees_its_callers(service_control, "postgres", db.ping, TimeoutError)
    finally:
        await db.aclose()


async def test_neo4j(service_control: ServiceControl, neo4j_uri: str) -> None:
    store = Neo4jGraphStore(neo4j_uri, io_timeout=IO_TIMEOUT)
    try:
        await frees_its_callers(service_control, "neo4j", store.ping, TimeoutError)
    finally:
        await store.aclose()


async def test_mongo(service_control: ServiceControl, mongodb_uri: str) -> None:
    from pymongo.errors import PyMongoError

    store = MongoThesisStore(mongodb_uri, database="philos_frozen", io_timeout=IO_TIMEOUT)
    try:
        await store.setup()

        async def count() -> dict[str, int]:
            return await store.count_by_concepts(["a"])

        await frees_its_callers(service_control, "mongo", count, PyMongoError)
    finally:
        await store.aclose()
