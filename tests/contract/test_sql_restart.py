"""The SQL pool across a PostgreSQL restart: the first statement after it succeeds.

Pooled connections are checked at checkout by asking the driver whether the server closed
them (``SqlDatabase``); no statement is sent for the check. Both a clean (``fast``) and a crash
(``immediate``) shutdown close every socket, so neither a read nor a write may fail after the
server is back, and neither needs a retry.
"""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select, text

from philos.config import normalise_sql_url
from philos.datasources.sql import SqlDatabase
from philos.datasources.sql.tables import concepts_t
from tests.contract.concepts import with_concepts
from tests.services.plugin import backend_enabled
from tests.services.servers.postgres import PostgresServer

pytestmark = pytest.mark.skipif(
    not backend_enabled("postgres"), reason="backend postgres not selected by PHILOS_TEST_BACKENDS"
)

POOLED = 4  # connections held open across the restart


async def _backend_pid(db: SqlDatabase) -> int:
    async with db.connect() as conn:
        await asyncio.sleep(0.05)  # overlap, so the pool opens several connections
        return int((await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one())


@pytest.mark.parametrize("mode", ["fast", "immediate"])
async def test_first_statements_after_a_restart_succeed(mode: str) -> None:
    server = PostgresServer()  # its own directory, which the postgres user can enter
    server.start()
    db = SqlDatabase(normalise_sql_url(server.url))
    try:
        await db.create_schema()
        before = set(await asyncio.gather(*(_backend_pid(db) for _ in range(POOLED))))
        assert len(before) == POOLED

        server._pg_ctl_stop(mode)
        server.start()
        await asyncio.sleep(0.2)  # a serving loop runs on; here it must see the closed sockets

        ids = [f"00000000-0000-4000-8000-{n:012d}" for n in range(3)]
        await with_concepts(db, ids)  # a write, first try: no retry around it
        async with db.connect() as conn:
            stored = set((await conn.execute(select(concepts_t.c.id))).scalars())
        assert stored == set(ids)
        after = set(await asyncio.gather(*(_backend_pid(db) for _ in range(POOLED))))
        assert not after & before  # every connection was replaced, none reused dead
    finally:
        await db.aclose()
        server.cleanup()
