"""Queued AI jobs through RabbitMQ and real ``philos worker`` processes: a worker killed in
the middle of a job leaves it to another, which finishes it exactly once."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from philos.ai import jobs
from philos.datasources.rabbitmq import RabbitJobQueue
from philos.datasources.sql.tables import ai_calls_t, theses_t
from tests.ai.fake_anthropic import FakeAnthropic, slow, tool_use
from tests.ai.helpers import MODEL, OpenAi, theses_answer
from tests.ai.test_jobs import job, queue
from tests.api.client import Api
from tests.events.replicas import Replica
from tests.sql_access import sql_db


async def theses_of(api: Api, concept_id: str) -> set[str]:
    """Straight from SQL: the API process's response cache and data versions do not hear of a
    worker's writes when they are not shared (no Redis here)."""
    async with sql_db(api.stores).connect() as conn:
        rows = await conn.execute(select(theses_t.c.id).where(theses_t.c.concept_id == concept_id))
        return {r.id for r in rows}


class Worker(Replica):
    def start(self) -> None:
        Path(self.env["PHILOS_DATA_DIR"]).mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "philos", "worker"],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait()


async def test_a_job_survives_a_killed_worker_and_completes_once(
    open_ai: OpenAi, fake: FakeAnthropic, sql_url: str, rabbitmq_url: str, tmp_path: Path
) -> None:
    if not sql_url.startswith("postgresql"):
        pytest.skip("workers in other processes share a PostgreSQL database")
    api = await open_ai()
    api.stores.job_queue = queue_ = RabbitJobQueue(rabbitmq_url)
    env = {
        "DATABASE_URL": sql_url,
        "RABBITMQ_URL": rabbitmq_url,
        "ANTHROPIC_API_KEY": "sk-ant-test",
        "ANTHROPIC_BASE_URL": fake.url,
        "PHILOS_AI_MODEL": MODEL,
        "PHILOS_AI_TIMEOUT": "30",
        "PHILOS_AI_MAX_RETRIES": "0",
        "PHILOS_AI_MAX_CONCURRENCY": "2",
        "PHILOS_CACHE_TTL": "0",
        "PHILOS_LOG_LEVEL": "INFO",
    }
    first, second = Worker("worker-a", tmp_path, **env), Worker("worker-b", tmp_path, **env)
    try:
        forms = await api.concept_id("forms")
        before = await theses_of(api, forms)
        # Worker A's call hangs (it is killed meanwhile); worker B's is answered at once.
        fake.reply(slow(8, tool_use(theses_answer(2))), tool_use(theses_answer(2)))
        job_id = await queue(api, forms)
        first.start()
        deadline = time.monotonic() + 30
        while not fake.requests:
            assert time.monotonic() < deadline, first.diagnostics()
            await asyncio.sleep(0.1)
        assert (await job(api, job_id))["status"] == "RUNNING"
        first.kill()
        second.start()
        state = await job(api, job_id)
        while state["status"] not in ("SUCCEEDED", "FAILED"):
            assert time.monotonic() < deadline + 20, (len(fake.requests), second.diagnostics())
            await asyncio.sleep(0.2)
            state = await job(api, job_id)
        assert state["status"] == "SUCCEEDED", (state, second.diagnostics())
        assert state["attempts"] == 2
        made = {t["id"] for t in state["result"]["theses"]}
        assert await theses_of(api, forms) - before == made and len(made) == 2
        async with sql_db(api.stores).connect() as conn:
            rows = (await conn.execute(select(ai_calls_t.c.produced_ids))).all()
        assert [sorted(r.produced_ids) for r in rows] == [sorted(made)]
        assert len(fake.requests) == 2
    finally:
        first.stop()
        second.stop()
        api.stores.job_queue = None
        await queue_.aclose()
        await jobs.drain()
