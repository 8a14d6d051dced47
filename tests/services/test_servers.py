"""Smoke tests of the throwaway servers through the real Python drivers."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
import uuid
from pathlib import Path

import aio_pika
import asyncpg
import pytest
import redis.asyncio as aioredis
from neo4j import AsyncGraphDatabase
from pymongo import AsyncMongoClient

from tests.services.plugin import (
    SERVER_TYPES,
    ServiceControl,
    ServiceManager,
    backend_enabled,
    external_url,
)
from tests.services.servers import LOG_TAIL_LINES, RedisServer, ServerError, sweep_leftovers


async def test_postgres_answers_and_has_the_philos_database(postgres_url: str) -> None:
    conn = await asyncpg.connect(postgres_url, timeout=10)
    try:
        assert await conn.fetchval("select 1") == 1
        assert await conn.fetchval("select current_database()") == "philos_concepts"
        assert await conn.fetchval("select current_user") == "philos"
        await conn.execute("create temporary table t (id int primary key, name text)")
        await conn.execute("insert into t values (1, 'Being')")
        assert await conn.fetchval("select name from t where id = 1") == "Being"
    finally:
        await conn.close()


async def test_postgres_preloads_pg_stat_statements_when_installed(postgres_url: str) -> None:
    if external_url("postgres") is not None:
        pytest.skip("only checked on the throwaway server")
    conn = await asyncpg.connect(postgres_url, timeout=10)
    try:
        preload = await conn.fetchval("show shared_preload_libraries")
        installed = await conn.fetchval(
            "select count(*) from pg_available_extensions where name = 'pg_stat_statements'"
        )
        if not installed:
            pytest.skip("the pg_stat_statements contrib module is not installed here")
        assert "pg_stat_statements" in preload
        assert await conn.fetchval(
            "select count(*) from pg_extension where extname = 'pg_stat_statements'"
        )
        await conn.fetchval("select count(*) from pg_stat_statements")
    finally:
        await conn.close()


async def test_redis_set_get(redis_url: str) -> None:
    client = aioredis.Redis.from_url(redis_url)
    try:
        key = f"philos-test:{uuid.uuid4()}"
        assert await client.set(key, "concept", ex=60)
        assert await client.get(key) == b"concept"
        assert await client.delete(key) == 1
    finally:
        await client.aclose()


async def test_rabbitmq_keeps_a_persistent_message_in_a_quorum_queue_across_a_restart(
    rabbitmq_url: str, service_control: ServiceControl
) -> None:
    server = service_control.server("rabbitmq")
    name = f"philos-test-{uuid.uuid4().hex[:8]}"
    connection = await aio_pika.connect(rabbitmq_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        queue = await channel.declare_queue(
            name, durable=True, arguments={"x-queue-type": "quorum"}
        )
        await channel.default_exchange.publish(
            aio_pika.Message(b"kept", delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
            routing_key=name,
        )
    server.stop()
    assert server.start() == rabbitmq_url  # same port, same data
    connection = await aio_pika.connect(rabbitmq_url)
    async with connection:
        channel = await connection.channel()
        queue = await channel.declare_queue(name, passive=True)
        message = await queue.get(timeout=10)
        assert message is not None and message.body == b"kept"
        await message.ack()
        await queue.delete(if_unused=False, if_empty=False)


async def test_neo4j_return_1_and_create_read_node(neo4j_uri: str) -> None:
    async with AsyncGraphDatabase.driver(neo4j_uri, auth=None) as driver:
        records, _, _ = await driver.execute_query("RETURN 1 AS one")
        assert records[0]["one"] == 1
        key = str(uuid.uuid4())
        await driver.execute_query("CREATE (:SmokeConcept {key: $key, name: 'Being'})", key=key)
        records, _, _ = await driver.execute_query(
            "MATCH (c:SmokeConcept {key: $key}) RETURN c.name AS name", key=key
        )
        assert [r["name"] for r in records] == ["Being"]
        await driver.execute_query("MATCH (c:SmokeConcept {key: $key}) DELETE c", key=key)


async def test_mongodb_insert_find_and_index(mongodb_uri: str) -> None:
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(
        mongodb_uri, serverSelectionTimeoutMS=10_000
    )
    try:
        collection = client["philos_smoke"][f"theses_{uuid.uuid4().hex[:8]}"]
        await collection.insert_one({"slug": "being", "text": "Being is."})
        found = await collection.find_one({"slug": "being"})
        assert found is not None and found["text"] == "Being is."
        name = await collection.create_index("slug", unique=True)
        names = [ix["name"] async for ix in await collection.list_indexes()]
        assert name in names
        await collection.drop()
    finally:
        await client.close()


def test_backend_enabled_matches_selection() -> None:
    assert backend_enabled("sqlite") in (True, False)
    with pytest.raises(ValueError, match="unknown backend"):
        backend_enabled("oracle")


async def test_neo4j_stop_and_restart_on_same_port_keeps_data(
    neo4j_uri: str, service_control: ServiceControl
) -> None:
    server = service_control.server("neo4j")
    port = server.port
    key = str(uuid.uuid4())
    async with AsyncGraphDatabase.driver(neo4j_uri, auth=None) as driver:
        await driver.execute_query("CREATE (:Restart {key: $key})", key=key)
    with service_control.outage("neo4j"):
        assert not server.is_running()
        async with AsyncGraphDatabase.driver(
            neo4j_uri, auth=None, connection_acquisition_timeout=2
        ) as driver:
            with pytest.raises(Exception):  # noqa: B017 - any driver error: the server is down
                await driver.verify_connectivity()
    assert server.port == port and server.url == neo4j_uri
    async with AsyncGraphDatabase.driver(neo4j_uri, auth=None) as driver:
        records, _, _ = await driver.execute_query(
            "MATCH (r:Restart {key: $key}) RETURN count(r) AS n", key=key
        )
        assert records[0]["n"] == 1


async def test_ferretdb_crash_and_restart_on_same_port(
    mongodb_uri: str, service_control: ServiceControl
) -> None:
    server = service_control.server("mongo")
    port = server.port
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(
        mongodb_uri, serverSelectionTimeoutMS=10_000
    )
    try:
        collection = client["philos_smoke"]["restart"]
        await collection.insert_one({"k": "kept"})
        service_control.kill("mongo")
        assert not server.is_running()
        assert service_control.start("mongo") == mongodb_uri
        assert server.port == port
        assert await collection.find_one({"k": "kept"}) is not None
        await collection.drop()
    finally:
        await client.close()


class _BrokenRedis(RedisServer):
    """A redis-server that refuses its configuration and exits at once."""

    def _launch(self, log: Path) -> subprocess.Popen[bytes]:
        binary = shutil.which("redis-server") or "redis-server"
        return self._popen([binary, "--port", str(self.port), "--no-such-directive", "x"], log)


def test_a_server_that_exits_raises_with_its_log_tail() -> None:
    if not backend_enabled("redis"):
        pytest.skip("backend redis not selected by PHILOS_TEST_BACKENDS")
    server = _BrokenRedis()
    try:
        with pytest.raises(ServerError) as info:
            server.start()
        message = str(info.value)
        assert "exited with code" in message
        assert f"last {LOG_TAIL_LINES} lines of {server.log_path}" in message
        assert "no-such-directive" in message  # redis's own complaint, from the log
        assert not server.is_running()
    finally:
        server.cleanup()


def test_a_taken_port_is_reported_not_waited_for() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        server = RedisServer(port=port)
        try:
            with pytest.raises(ServerError, match="is taken by another process"):
                server.start()
        finally:
            server.cleanup()


def test_the_plugin_fails_rather_than_skips_when_a_server_cannot_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if not backend_enabled("redis"):
        pytest.skip("backend redis not selected by PHILOS_TEST_BACKENDS")
    monkeypatch.setitem(SERVER_TYPES, "redis", _BrokenRedis)
    monkeypatch.delenv("REDIS_URL", raising=False)
    manager = ServiceManager()
    try:
        with pytest.raises(pytest.fail.Exception, match="could not start the throwaway redis"):
            manager.url("redis")
        # remembered: the next test fails at once, without a second start attempt
        with pytest.raises(pytest.fail.Exception, match="no-such-directive"):
            manager.url("redis")
    finally:
        manager.close()


def test_leftovers_of_a_dead_run_are_stopped_and_removed() -> None:
    if not backend_enabled("redis"):
        pytest.skip("backend redis not selected by PHILOS_TEST_BACKENDS")
    server = RedisServer()  # creates its dir under SCRATCH_ROOT, owned by this process
    try:
        server.start()
        pid = server.pid
        assert pid is not None
        assert server.base_dir not in sweep_leftovers()  # our own: left alone
        (server.base_dir / "owner").write_text("999999999 1")  # as if our run had died
        assert server.base_dir in sweep_leftovers()
        assert not server.base_dir.exists()
        # The sweep returns once the process is gone from /proc's point of view (a zombie
        # counts as gone); reaping it can lag that by a moment.
        deadline = time.monotonic() + 5
        while server.is_running() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not server.is_running()
    finally:
        server.cleanup()
