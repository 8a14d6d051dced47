"""Cost control: idempotency keys, the result cache, the per-caller quota, the concurrency cap."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from philos.ai.answers import THESES_OUTPUT, GeneratedTheses
from philos.ai.quotas import BoundedLLM, Busy
from philos.datasources.ports import LlmAnswer, StructuredOutput, TokenUsage
from philos.domain import Role
from tests.ai.fake_anthropic import FakeAnthropic, tool_use
from tests.ai.helpers import (
    ANALYZE,
    GENERATE,
    SUGGEST,
    SYNTHESIZE,
    OpenAi,
    analysis_answer,
    metric,
    synthesis_answer,
    theses_answer,
    thesis_ids,
)
from tests.api.accounts import make_user
from tests.api.client import Api
from tests.stores import snapshot


async def test_idempotency_key_gives_the_first_result(ai: Api, fake: FakeAnthropic) -> None:
    forms = await ai.concept_id("forms")
    before = await thesis_ids(ai, "forms")
    fake.reply(tool_use(theses_answer(2)), tool_use(theses_answer(2)))
    variables = {"c": forms, "n": 2, "k": "retry-7d1c"}

    first = (await ai.data(GENERATE, variables))["generateTheses"]
    second = (await ai.data(GENERATE, variables))["generateTheses"]

    assert first["__typename"] == second["__typename"] == "GenerateThesesSuccess"
    assert len(fake.requests) == 1  # one upstream call for two identical requests
    assert [t["id"] for t in second["theses"]] == [t["id"] for t in first["theses"]]
    assert second["call"] == {**first["call"], "replayed": True}
    assert len(await thesis_ids(ai, "forms")) == len(before) + 2

    # the same key with other arguments is a mistake, not a replay
    other = (await ai.data(GENERATE, {**variables, "n": 1}))["generateTheses"]
    assert other["__typename"] == "Conflict"
    assert len(fake.requests) == 1
    # another caller's identical key is theirs alone
    someone = ai.as_user(await make_user(ai.stores, "another", Role.EDITOR))
    theirs = (await someone.data(GENERATE, variables))["generateTheses"]
    assert theirs["call"]["replayed"] is False
    assert len(fake.requests) == 2


async def test_idempotency_on_every_mutation(ai: Api, fake: FakeAnthropic) -> None:
    forms = await ai.concept_id("forms")
    wu_wei = await ai.concept_id("wu-wei")
    nodes = (await ai.data("{ theses(first: 2) { nodes { id } } }"))["theses"]["nodes"]
    suggestion = {
        "source_id": forms,
        "target_id": wu_wei,
        "type": "RELATED_TO",
        "weight": 0.2,
        "rationale": "Both describe an order that is not made by us.",
    }
    fake.reply(
        tool_use({"suggestions": [suggestion]}),
        tool_use(analysis_answer([wu_wei])),
        tool_use(synthesis_answer()),
    )
    calls: list[tuple[str, dict[str, Any], str]] = [
        (SUGGEST, {"c": forms, "n": 2, "k": "s-1"}, "suggestRelations"),
        (ANALYZE, {"c": forms, "k": "a-1"}, "analyzeConcept"),
        (SYNTHESIZE, {"t": nodes[0]["id"], "a": nodes[1]["id"], "k": "y-1"}, "synthesizeTheses"),
    ]
    for doc, variables, name in calls:
        first = (await ai.data(doc, variables))[name]
        again = (await ai.data(doc, variables))[name]
        assert first["__typename"].endswith("Success"), first
        first["call"]["replayed"] = True
        assert again == first
    assert len(fake.requests) == 3


async def test_cache_hit_makes_no_model_call(ai: Api, fake: FakeAnthropic) -> None:
    forms = await ai.concept_id("forms")
    reused = await metric(
        ai, "philos_ai_results_reused_total", mutation="analyzeConcept", source="cache"
    )
    fake.reply(tool_use(analysis_answer([]), usage=(700, 300)))

    first = (await ai.data(ANALYZE, {"c": forms}))["analyzeConcept"]
    second = (await ai.data(ANALYZE, {"c": forms}))["analyzeConcept"]

    assert len(fake.requests) == 1
    assert first["call"]["cached"] is False and first["call"]["inputTokens"] == 700
    assert second["call"]["cached"] is True
    assert (second["call"]["inputTokens"], second["call"]["outputTokens"]) == (0, 0)
    assert second["analysis"] == first["analysis"]
    assert (
        await metric(
            ai, "philos_ai_results_reused_total", mutation="analyzeConcept", source="cache"
        )
        == reused + 1
    )


async def test_changed_input_is_not_a_cache_hit(ai: Api, fake: FakeAnthropic) -> None:
    """Generated theses join the next prompt (so they are not repeated): no stale reuse."""
    forms = await ai.concept_id("forms")
    fake.reply(tool_use(theses_answer(1)), tool_use(theses_answer(1)))
    await ai.data(GENERATE, {"c": forms, "n": 1})
    again = (await ai.data(GENERATE, {"c": forms, "n": 1}))["generateTheses"]
    assert again["call"]["cached"] is False
    assert len(fake.requests) == 2
    assert "Generated thesis number 1" in fake.requests[1].user_text


async def test_quota_exceeded(open_ai: OpenAi, fake: FakeAnthropic) -> None:
    ai = await open_ai(PHILOS_AI_QUOTA=1, PHILOS_AI_QUOTA_WINDOW=3600)
    forms = await ai.concept_id("forms")
    fake.reply(tool_use(analysis_answer([])))
    assert (await ai.data(ANALYZE, {"c": forms}))["analyzeConcept"]["__typename"] == (
        "AnalyzeConceptSuccess"
    )
    # a cache hit costs no quota
    assert (await ai.data(ANALYZE, {"c": forms}))["analyzeConcept"]["call"]["cached"] is True
    counted = await metric(ai, "philos_ai_calls_total", mutation="generateTheses", outcome="quota")
    before = await snapshot(ai.stores)

    result = (await ai.data(GENERATE, {"c": forms, "n": 1}))["generateTheses"]

    assert result["__typename"] == "AiRateLimited", result
    assert 1 <= result["retryAfterSeconds"] <= 3600
    assert "1 AI requests" in result["message"]
    assert len(fake.requests) == 1
    assert await snapshot(ai.stores) == before
    assert (
        await metric(ai, "philos_ai_calls_total", mutation="generateTheses", outcome="quota")
        == counted + 1
    )


async def test_unavailable_is_counted(open_ai: OpenAi) -> None:
    ai = await open_ai(ANTHROPIC_API_KEY=None)
    counted = await metric(
        ai, "philos_ai_calls_total", mutation="analyzeConcept", outcome="unavailable"
    )
    await ai.data(ANALYZE, {"c": await ai.concept_id("forms")})
    assert (
        await metric(ai, "philos_ai_calls_total", mutation="analyzeConcept", outcome="unavailable")
        == counted + 1
    )


async def test_tokens_and_latency_are_measured(ai: Api, fake: FakeAnthropic) -> None:
    labels = {"mutation": "generateTheses"}
    tokens_in = await metric(ai, "philos_ai_tokens_total", direction="input", **labels)
    tokens_out = await metric(ai, "philos_ai_tokens_total", direction="output", **labels)
    timed = await metric(ai, "philos_ai_call_duration_seconds_count", **labels)
    fake.reply(tool_use(theses_answer(1), usage=(123, 45)))
    await ai.data(GENERATE, {"c": await ai.concept_id("forms"), "n": 1})
    assert (
        await metric(ai, "philos_ai_tokens_total", direction="input", **labels) == tokens_in + 123
    )
    assert (
        await metric(ai, "philos_ai_tokens_total", direction="output", **labels) == tokens_out + 45
    )
    assert await metric(ai, "philos_ai_call_duration_seconds_count", **labels) == timed + 1


class SlowLLM:
    name = "slow"
    model = "slow-model"

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.running = 0

    async def complete(
        self, *, system: str, user: str, output: StructuredOutput[Any], max_tokens: int
    ) -> LlmAnswer[Any]:
        self.running += 1
        await self.release.wait()
        answer = output.parse(theses_answer(1))
        return LlmAnswer(output=answer, usage=TokenUsage(1, 1), stop_reason="tool_use", model="m")

    async def aclose(self) -> None:
        return None


async def test_concurrency_cap() -> None:
    inner = SlowLLM()
    llm = BoundedLLM(inner, max_concurrency=1, queue_timeout=0.05)
    args: dict[str, Any] = {"system": "s", "user": "u", "output": THESES_OUTPUT, "max_tokens": 10}
    first = asyncio.create_task(llm.complete(**args))
    await asyncio.sleep(0.01)
    with pytest.raises(Busy) as busy:
        await llm.complete(**args)
    assert busy.value.retry_after > 0
    assert inner.running == 1
    inner.release.set()
    answer = await first
    assert isinstance(answer.output, GeneratedTheses)
    assert isinstance(await llm.complete(**args), LlmAnswer)  # the slot is free again
