"""AI mutations run in the background (``background: true``): queued at once, run in this
process through the synchronous code path, read back with ``aiJob`` and followed with
``aiJobProgress``."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from philos.ai import jobs
from philos.datasources.sql.jobs import SqlAiJobStore
from philos.domain import Role, new_id
from philos.domain.ai import AiJob, AiJobStatus
from tests.ai.fake_anthropic import FakeAnthropic, error, slow, tool_use
from tests.ai.helpers import (
    CALL,
    PROBLEM,
    OpenAi,
    analysis_answer,
    events_flowing,
    theses_answer,
    thesis_ids,
)
from tests.api.accounts import make_user
from tests.api.client import Api
from tests.sql_access import sql_db
from tests.stores import counting

QUEUE = f"""mutation($c: ID!, $n: Int!, $k: String) {{
  generateTheses(conceptId: $c, count: $n, idempotencyKey: $k, background: true) {{ {PROBLEM}
    ... on AiJobQueued {{ job {{ id status mutation }} }} }} }}"""
SUGGEST_QUEUE = """mutation($c: ID!) { suggestRelations(conceptId: $c, background: true) {
    __typename ... on AiJobQueued { job { id status } } } }"""
JOB = f"""query($id: ID!) {{ aiJob(id: $id) {{ id status attempts mutation
    failure {{ code message }}
    result {{ __typename ... on GenerateThesesSuccess {{ theses {{ id statement status }} {CALL} }}
    }} }} }}"""


async def queue(api: Api, concept: str, key: str | None = None, count: int = 2) -> str:
    data = await api.data(QUEUE, {"c": concept, "n": count, "k": key})
    queued = data["generateTheses"]
    assert queued["__typename"] == "AiJobQueued", queued
    assert queued["job"]["status"] in ("QUEUED", "RUNNING")
    assert queued["job"]["mutation"] == "generateTheses"
    return str(queued["job"]["id"])


async def job(api: Api, job_id: str) -> Any:
    return (await api.data(JOB, {"id": job_id}))["aiJob"]


async def test_a_queued_job_succeeds_with_the_synchronous_payload(
    ai: Api, fake: FakeAnthropic
) -> None:
    forms = await ai.concept_id("forms")
    before = await thesis_ids(ai, "forms")
    fake.reply(slow(0.2, tool_use(theses_answer(2), usage=(700, 300))))

    job_id = await queue(ai, forms)
    assert (await job(ai, job_id))["status"] in ("QUEUED", "RUNNING")
    await jobs.drain()

    done = await job(ai, job_id)
    assert done["status"] == "SUCCEEDED", done
    assert done["attempts"] == 1 and done["failure"] is None
    result = done["result"]
    assert result["__typename"] == "GenerateThesesSuccess"
    assert [t["status"] for t in result["theses"]] == ["DRAFT", "DRAFT"]
    assert result["call"]["inputTokens"] == 700 and result["call"]["replayed"] is False
    after = await thesis_ids(ai, "forms")
    assert set(after) - set(before) == {t["id"] for t in result["theses"]}
    assert len(fake.requests) == 1


async def test_a_failed_job_is_typed_and_writes_nothing(ai: Api, fake: FakeAnthropic) -> None:
    forms = await ai.concept_id("forms")
    before = await thesis_ids(ai, "forms")
    fake.reply(error(400, "invalid_request_error", "bad request"))

    job_id = await queue(ai, forms)
    await jobs.drain()

    done = await job(ai, job_id)
    assert done["status"] == "FAILED", done
    assert done["failure"]["code"] == "AiFailed" and done["failure"]["message"]
    assert done["result"] is None
    assert await thesis_ids(ai, "forms") == before


async def test_quota_and_unknown_concepts_fail_the_job_as_they_fail_the_mutation(
    open_ai: OpenAi, fake: FakeAnthropic
) -> None:
    api = await open_ai(PHILOS_AI_QUOTA=1)
    forms = await api.concept_id("forms")
    fake.reply(tool_use(theses_answer(2)))
    first = await queue(api, forms)
    await jobs.drain()
    # The next model call finds the quota spent; an unknown concept is NotFound.
    over = await queue(api, forms, count=3)
    missing = await queue(api, "00000000-0000-4000-8000-000000000000")
    await jobs.drain()
    states = [await job(api, j) for j in (first, over, missing)]
    assert [s["status"] for s in states] == ["SUCCEEDED", "FAILED", "FAILED"], states
    assert states[1]["failure"]["code"] == "AiRateLimited"
    assert states[2]["failure"]["code"] == "NotFound"
    assert len(fake.requests) == 1


async def test_an_idempotency_key_gives_the_first_result_without_a_second_call(
    ai: Api, fake: FakeAnthropic
) -> None:
    forms = await ai.concept_id("forms")
    fake.reply(tool_use(theses_answer(2)))
    first = await queue(ai, forms, "key-1")
    await jobs.drain()
    second = await queue(ai, forms, "key-1")
    await jobs.drain()
    a, b = await job(ai, first), await job(ai, second)
    assert a["status"] == b["status"] == "SUCCEEDED"
    assert [t["id"] for t in a["result"]["theses"]] == [t["id"] for t in b["result"]["theses"]]
    assert b["result"]["call"]["replayed"] is True
    assert len(fake.requests) == 1


async def test_a_job_handed_over_again_runs_once(ai: Api, fake: FakeAnthropic) -> None:
    forms = await ai.concept_id("forms")
    before = await thesis_ids(ai, "forms")
    fake.reply(tool_use(theses_answer(2)))
    job_id = await queue(ai, forms)
    await jobs.drain()
    # A second delivery of the finished job (a redelivery) does not start it again.
    assert ai.stores.jobs is not None
    assert await ai.stores.jobs.start(job_id) is None
    assert len(fake.requests) == 1
    assert len(set(await thesis_ids(ai, "forms")) - set(before)) == 2
    assert (await job(ai, job_id))["attempts"] == 1


async def test_only_the_creator_or_an_admin_reads_a_job(ai: Api, fake: FakeAnthropic) -> None:
    forms = await ai.concept_id("forms")
    fake.reply(tool_use(theses_answer(2)))
    job_id = await queue(ai, forms)
    await jobs.drain()
    other = ai.as_user(await make_user(ai.stores, "other-editor", Role.EDITOR))
    admin = ai.as_user(await make_user(ai.stores, "admin", Role.ADMIN))
    assert await job(other, job_id) is None
    assert await job(ai.anonymous, job_id) is None
    assert (await job(admin, job_id))["status"] == "SUCCEEDED"
    assert await job(ai, "not-an-id") is None


async def test_readers_cannot_queue_jobs(ai: Api) -> None:
    forms = await ai.concept_id("forms")
    data = await ai.anonymous.data(SUGGEST_QUEUE, {"c": forms})
    assert data["suggestRelations"]["__typename"] == "Forbidden"


async def test_progress_streams_every_status(ai: Api, fake: FakeAnthropic) -> None:
    forms = await ai.concept_id("forms")
    fake.reply(slow(0.25, tool_use(theses_answer(2))))
    async with events_flowing(ai.stores):
        job_id = await queue(ai, forms)
        query = f'subscription {{ aiJobProgress(jobId: "{job_id}") {{ status }} }}'
        response = await ai.client.post(
            "/graphql",
            json={"query": query},
            headers={"Accept": "text/event-stream", "Authorization": f"Bearer {ai.token()}"},
            timeout=20,
        )
        await jobs.drain()
    assert response.status_code == 200, response.text
    seen = [
        json.loads(line[len("data: ") :])["data"]["aiJobProgress"]["status"]
        for line in response.text.splitlines()
        if line.startswith("data: ") and "aiJobProgress" in line
    ]
    assert seen[0] in ("QUEUED", "RUNNING") and seen[-1] == "SUCCEEDED", seen
    assert "RUNNING" in seen or seen[0] == "RUNNING"


async def test_progress_is_pushed_when_the_job_changes(ai: Api) -> None:
    """Between changes the subscriber reads nothing: each step of the job (RUNNING, then
    SUCCEEDED) reaches it as an event and costs one read of the record."""
    assert ai.user is not None and ai.stores.jobs is not None
    job = await ai.stores.jobs.add(
        AiJob(id=new_id(), mutation="generateTheses", creator_id=ai.user.id, arguments={})
    )
    query = f'subscription {{ aiJobProgress(jobId: "{job.id}") {{ status }} }}'
    async with events_flowing(ai.stores, relay=False):  # each step published by hand
        with counting(ai.stores) as statements:
            following = asyncio.create_task(
                ai.client.post(
                    "/graphql",
                    json={"query": query},
                    headers={
                        "Accept": "text/event-stream",
                        "Authorization": f"Bearer {ai.token()}",
                    },
                    timeout=20,
                )
            )
            await asyncio.sleep(1.0)  # polling would have read the record five times by now
            reads = [
                s for s in statements if "FROM ai_jobs" in s and s.lstrip().startswith("SELECT")
            ]
            assert len(reads) == 1, reads
            relay = ai.stores.event_relay
            assert relay is not None  # the serving process runs it; here each step is published
            assert await ai.stores.jobs.start(job.id) is not None
            await relay.drain()
            await asyncio.sleep(0.3)
            await ai.stores.jobs.finish(job.id, AiJobStatus.SUCCEEDED, {"thesisIds": []}, None)
            await relay.drain()
            response = await asyncio.wait_for(following, 10)
    seen = [
        json.loads(line[len("data: ") :])["data"]["aiJobProgress"]["status"]
        for line in response.text.splitlines()
        if line.startswith("data: ") and "aiJobProgress" in line
    ]
    assert seen == ["QUEUED", "RUNNING", "SUCCEEDED"], seen


async def test_others_cannot_follow_a_job(ai: Api, fake: FakeAnthropic) -> None:
    forms = await ai.concept_id("forms")
    fake.reply(tool_use(theses_answer(2)))
    job_id = await queue(ai, forms)
    await jobs.drain()
    query = f'subscription {{ aiJobProgress(jobId: "{job_id}") {{ status }} }}'
    response = await ai.client.post(
        "/graphql", json={"query": query}, headers={"Accept": "text/event-stream"}, timeout=20
    )
    assert response.status_code == 200
    # A reader (no token) learns nothing of someone else's job: the stream just ends.
    assert "aiJobProgress" not in response.text and "SUCCEEDED" not in response.text


async def test_the_job_record_moves_only_forward(ai: Api) -> None:
    """The SQL store's transitions: a finished job cannot be started or finished again."""
    store = SqlAiJobStore(sql_db(ai.stores))
    assert ai.user is not None
    job = await store.add(
        AiJob(id=new_id(), mutation="generateTheses", creator_id=ai.user.id, arguments={"a": 1})
    )
    assert (await store.get(job.id)) == job
    running = await store.start(job.id)
    assert running is not None and running.status is AiJobStatus.RUNNING
    assert running.attempts == 1 and running.version == 2
    again = await store.start(job.id)  # a lost worker's job, handed over again
    assert again is not None and again.attempts == 2
    await store.finish(job.id, AiJobStatus.FAILED, None, {"code": "AiFailed", "message": "x"})
    await store.finish(job.id, AiJobStatus.SUCCEEDED, {"ids": []}, None)  # ignored: finished
    done = await store.get(job.id)
    assert done is not None and done.status is AiJobStatus.FAILED and done.result is None
    assert await store.start(job.id) is None
    assert await store.get(new_id()) is None


ANALYZE_QUEUE = """mutation($c: ID!, $k: String) {
  analyzeConcept(conceptId: $c, idempotencyKey: $k, background: true) {
    __typename ... on AiJobQueued { job { id status mutation } } } }"""
ANALYSIS_JOB = f"""query($id: ID!) {{ aiJob(id: $id) {{ status failure {{ code }}
    result {{ __typename ... on AnalyzeConceptSuccess {{ analysis {{ concept {{ slug }} summary
        relatedConcepts {{ concept {{ slug }} reason }} }} {CALL} }} }} }} }}"""


async def analyze_in_background(api: Api, concept: str, key: str | None = None) -> Any:
    data = await api.data(ANALYZE_QUEUE, {"c": concept, "k": key})
    queued = data["analyzeConcept"]
    assert queued["__typename"] == "AiJobQueued", queued
    assert queued["job"]["mutation"] == "analyzeConcept"
    await jobs.drain()
    return (await api.data(ANALYSIS_JOB, {"id": queued["job"]["id"]}))["aiJob"]


async def test_an_analysis_job_keeps_the_analysis(ai: Api, fake: FakeAnthropic) -> None:
    forms = await ai.concept_id("forms")
    related = await ai.concept_id("hylomorphism")
    fake.reply(tool_use(analysis_answer([related]), usage=(500, 200)))
    done = await analyze_in_background(ai, forms, "an-1")
    assert done["status"] == "SUCCEEDED", done
    result = done["result"]
    assert result["__typename"] == "AnalyzeConceptSuccess"
    assert result["analysis"]["concept"]["slug"] == "forms"
    assert [r["concept"]["slug"] for r in result["analysis"]["relatedConcepts"]] == ["hylomorphism"]
    assert result["call"]["inputTokens"] == 500
    # The same key again: the first analysis back, no second model call.
    again = await analyze_in_background(ai, forms, "an-1")
    assert again["result"]["analysis"] == result["analysis"]
    assert again["result"]["call"]["replayed"] is True
    assert len(fake.requests) == 1


async def test_an_analysis_job_fails_typed_as_the_mutation_does(
    open_ai: OpenAi, fake: FakeAnthropic
) -> None:
    api = await open_ai(PHILOS_AI_QUOTA=1)
    forms = await api.concept_id("forms")
    fake.reply(error(400, "invalid_request_error", "bad request"))
    failed = await analyze_in_background(api, forms)
    assert failed["status"] == "FAILED" and failed["failure"]["code"] == "AiFailed"
    missing = await analyze_in_background(api, "00000000-0000-4000-8000-000000000000")
    assert missing["failure"]["code"] == "NotFound" and missing["result"] is None
