"""Jobs without a broker live in the API process: a ``philos serve`` killed (SIGKILL) in the
middle of a job leaves it RUNNING with a lapsing lease, and the next process to start takes it
over and finishes it once."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from philos.datasources.sql.tables import ai_calls_t
from philos.tokens import Tokens
from tests.ai.fake_anthropic import FakeAnthropic, slow, tool_use
from tests.ai.helpers import MODEL, OpenAi, theses_answer
from tests.ai.test_job_workers import theses_of
from tests.ai.test_jobs import JOB, QUEUE
from tests.events.replicas import SECRET, Replica
from tests.sql_access import sql_db


async def post(replica: Replica, token: str, query: str, variables: dict[str, Any]) -> Any:
    async with httpx.AsyncClient(timeout=20) as client:
        response = await client.post(
            f"{replica.url}/graphql",
            json={"query": query, "variables": variables},
            headers={"Authorization": f"Bearer {token}"},
        )
    body = response.json()
    assert "errors" not in body, body
    return body["data"]


async def test_a_job_of_a_killed_process_is_finished_once_by_the_next(
    open_ai: OpenAi, fake: FakeAnthropic, sql_url: str, tmp_path: Path
) -> None:
    if not sql_url.startswith("sqlite"):
        pytest.skip("the embedded default: one SQLite file shared by the restarted process")
    api = await open_ai()
    assert api.user is not None
    token = Tokens(SECRET.encode()).issue_access(api.user)
    env = {
        "DATABASE_URL": sql_url,
        "ANTHROPIC_API_KEY": "sk-ant-test",
        "ANTHROPIC_BASE_URL": fake.url,
        "PHILOS_AI_MODEL": MODEL,
        "PHILOS_AI_TIMEOUT": "60",
        "PHILOS_AI_MAX_RETRIES": "0",
        "PHILOS_AI_JOB_LEASE": "1",
        "PHILOS_CACHE_TTL": "0",
    }
    first, second = Replica("serve-a", tmp_path, **env), Replica("serve-b", tmp_path, **env)
    try:
        forms = await api.concept_id("forms")
        before = await theses_of(api, forms)
        # The first process's call hangs (it is killed meanwhile); the second's is answered.
        fake.reply(slow(30, tool_use(theses_answer(2))), tool_use(theses_answer(2)))
        first.start()
        first.wait_ready()
        queued = await post(first, token, QUEUE, {"c": forms, "n": 2, "k": None})
        job_id = queued["generateTheses"]["job"]["id"]
        deadline = time.monotonic() + 30
        while not fake.requests:
            assert time.monotonic() < deadline, first.diagnostics()
            await asyncio.sleep(0.1)
        assert (await post(first, token, JOB, {"id": job_id}))["aiJob"]["status"] == "RUNNING"
        assert first.proc is not None
        first.proc.kill()  # SIGKILL: no shutdown, the job stays RUNNING
        first.proc.wait()

        second.start()
        second.wait_ready()
        state = (await post(second, token, JOB, {"id": job_id}))["aiJob"]
        while state["status"] not in ("SUCCEEDED", "FAILED"):
            assert time.monotonic() < deadline + 30, (state, second.diagnostics())
            await asyncio.sleep(0.2)
            state = (await post(second, token, JOB, {"id": job_id}))["aiJob"]
        assert state["status"] == "SUCCEEDED", (state, second.diagnostics())
        assert state["attempts"] == 2
        made = {t["id"] for t in state["result"]["theses"]}
        assert await theses_of(api, forms) - before == made and len(made) == 2
        async with sql_db(api.stores).connect() as conn:
            rows = (await conn.execute(select(ai_calls_t.c.produced_ids))).all()
        assert [sorted(r.produced_ids) for r in rows] == [sorted(made)]
        assert len(fake.requests) == 2
        # It stays finished: a later sweep of the same process does not run it again.
        await asyncio.sleep(2.5)
        assert len(fake.requests) == 2
    finally:
        first.stop()
        second.stop()
