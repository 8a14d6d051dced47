"""Every way an AI call can fail: a typed payload, and the databases exactly as they were."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from tests.ai.fake_anthropic import FakeAnthropic, Reply, error, slow, stopped, tool_use
from tests.ai.helpers import ANALYZE, GENERATE, SUGGEST, SYNTHESIZE, OpenAi, metric, theses_answer
from tests.api.client import Api
from tests.stores import snapshot

MISSING = "0b6c9a1e-7d7e-4f1e-8a0e-5f0f3a9d2c11"
BROKEN_THESES = {"theses": [{"statement": "Too short", "stance": "MAYBE", "arguments": []}]}


def overloaded() -> Reply:
    return error(529, "overloaded_error", "Overloaded")


FAILURES: dict[str, tuple[list[Reply], str, int | None, int]] = {
    # name: (scripted replies, expected payload and reason, retry-after, upstream requests)
    "429 with a long retry-after": (
        [error(429, "rate_limit_error", "Rate limited", {"retry-after": "30"})],
        "AiRateLimited",
        30,
        1,  # not sat out: the client hears it at once
    ),
    "429 twice with a short retry-after": (
        [error(429, "rate_limit_error", "Rate limited", {"retry-after": "1"})] * 2,
        "AiRateLimited",
        1,
        2,  # the SDK's one retry
    ),
    "529 overloaded": ([overloaded(), overloaded()], "OVERLOADED", None, 2),
    "500 api error": ([error(500, "api_error", "Internal error")] * 2, "UPSTREAM", None, 2),
    "timeout": ([slow(3.0, tool_use(theses_answer(1)))] * 2, "TIMEOUT", None, 2),
    "tool input breaks the schema": ([tool_use(BROKEN_THESES)], "INVALID_OUTPUT", None, 1),
    "max_tokens stop reason": (
        [stopped("max_tokens", answer={"theses": [{"statement": "Knowledge is"}]})],
        "MAX_TOKENS",
        None,
        1,
    ),
    "refusal stop reason": (
        [stopped("refusal", text="I can't help with that.")],
        "REFUSAL",
        None,
        1,
    ),
    "no tool call at all": (
        [stopped("end_turn", text="Here are some theses…")],
        "INVALID_OUTPUT",
        None,
        1,
    ),
}


@pytest.mark.parametrize("case", list(FAILURES), ids=list(FAILURES))
async def test_failed_call_changes_nothing(ai: Api, fake: FakeAnthropic, case: str) -> None:
    replies, expected, retry_after, calls = FAILURES[case]
    forms = await ai.concept_id("forms")
    before = await snapshot(ai.stores)
    outcome = "rate_limited" if expected == "AiRateLimited" else "failed"
    counted = await metric(ai, "philos_ai_calls_total", mutation="generateTheses", outcome=outcome)
    fake.reply(*replies)

    result = (await ai.data(GENERATE, {"c": forms, "n": 1}))["generateTheses"]

    if expected == "AiRateLimited":
        assert result["__typename"] == "AiRateLimited", result
        assert result["retryAfterSeconds"] == retry_after
        assert f"{retry_after} s" in result["message"]
    else:
        assert result["__typename"] == "AiFailed", result
        assert result["reason"] == expected
    assert result["message"]
    assert len(fake.requests) == calls
    assert fake.pending == 0
    assert await snapshot(ai.stores) == before
    assert (
        await metric(ai, "philos_ai_calls_total", mutation="generateTheses", outcome=outcome)
        == counted + 1
    )


async def test_unknown_concept_in_a_suggestion(ai: Api, fake: FakeAnthropic) -> None:
    forms = await ai.concept_id("forms")
    good = {
        "source_id": forms,
        "target_id": await ai.concept_id("wu-wei"),
        "type": "ANALOGOUS_TO",
        "weight": 0.3,
        "rationale": "Both point to an order behind appearances.",
    }
    invented = {**good, "target_id": MISSING, "rationale": "An invented concept id here."}
    before = await snapshot(ai.stores)
    fake.reply(tool_use({"suggestions": [good, invented]}))

    result = (await ai.data(SUGGEST, {"c": forms, "n": 5}))["suggestRelations"]

    assert result["__typename"] == "AiFailed", result
    assert result["reason"] == "INVALID_OUTPUT"
    assert MISSING in result["message"]
    assert await snapshot(ai.stores) == before  # not even the good suggestion is kept


async def test_unknown_concept_in_an_analysis(ai: Api, fake: FakeAnthropic) -> None:
    from tests.ai.helpers import analysis_answer

    before = await snapshot(ai.stores)
    fake.reply(tool_use(analysis_answer([MISSING])))
    result = (await ai.data(ANALYZE, {"c": await ai.concept_id("forms")}))["analyzeConcept"]
    assert (result["__typename"], result["reason"]) == ("AiFailed", "INVALID_OUTPUT")
    assert await snapshot(ai.stores) == before


async def test_wrong_stance_is_an_invalid_answer(ai: Api, fake: FakeAnthropic) -> None:
    before = await snapshot(ai.stores)
    fake.reply(tool_use(theses_answer(1, "AFFIRMS")))
    result = (await ai.data(GENERATE, {"c": await ai.concept_id("forms"), "n": 1, "s": "DENIES"}))[
        "generateTheses"
    ]
    assert (result["__typename"], result["reason"]) == ("AiFailed", "INVALID_OUTPUT")
    assert await snapshot(ai.stores) == before


async def test_connection_refused(open_ai: OpenAi, fake: FakeAnthropic) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    ai = await open_ai(ANTHROPIC_BASE_URL=f"http://127.0.0.1:{port}")
    before = await snapshot(ai.stores)
    result = (await ai.data(GENERATE, {"c": await ai.concept_id("forms"), "n": 1}))[
        "generateTheses"
    ]
    assert (result["__typename"], result["reason"]) == ("AiFailed", "CONNECTION")
    assert await snapshot(ai.stores) == before


async def mutate_each(api: Api) -> dict[str, dict[str, Any]]:
    forms = await api.concept_id("forms")
    theses = await api.data("{ theses(first: 2) { nodes { id } } }")
    t1, t2 = (n["id"] for n in theses["theses"]["nodes"])
    return {
        "generateTheses": (await api.data(GENERATE, {"c": forms, "n": 1}))["generateTheses"],
        "suggestRelations": (await api.data(SUGGEST, {"c": forms, "n": 3}))["suggestRelations"],
        "analyzeConcept": (await api.data(ANALYZE, {"c": forms}))["analyzeConcept"],
        "synthesizeTheses": (await api.data(SYNTHESIZE, {"t": t1, "a": t2}))["synthesizeTheses"],
    }


async def test_no_key_configured(open_ai: OpenAi, fake: FakeAnthropic) -> None:
    ai = await open_ai(ANTHROPIC_API_KEY=None)
    assert ai.stores.llm is None
    before = await snapshot(ai.stores)
    for mutation, result in (await mutate_each(ai)).items():
        assert result["__typename"] == "AiUnavailable", (mutation, result)
        assert "ANTHROPIC_API_KEY" in result["message"]
    assert fake.requests == []
    assert await snapshot(ai.stores) == before


async def test_readers_may_not_use_ai(ai: Api, fake: FakeAnthropic) -> None:
    before = await snapshot(ai.stores)
    for mutation, result in (await mutate_each(ai.anonymous)).items():
        assert result["__typename"] == "Forbidden", (mutation, result)
        assert "EDITOR" in result["message"]
    assert fake.requests == []
    assert await snapshot(ai.stores) == before


@pytest.mark.parametrize(
    ("variables", "field"),
    [({"n": 0}, "count"), ({"n": 6}, "count"), ({"n": 1, "k": ""}, "idempotencyKey")],
)
async def test_bad_arguments_ask_no_model(
    ai: Api, fake: FakeAnthropic, variables: dict[str, Any], field: str
) -> None:
    before = await snapshot(ai.stores)
    result = (await ai.data(GENERATE, {"c": await ai.concept_id("forms"), **variables}))[
        "generateTheses"
    ]
    assert result["__typename"] == "ValidationFailed"
    assert [f["field"] for f in result["fields"]] == [field]
    assert fake.requests == []
    assert await snapshot(ai.stores) == before


async def test_missing_records_ask_no_model(ai: Api, fake: FakeAnthropic) -> None:
    before = await snapshot(ai.stores)
    assert (await ai.data(GENERATE, {"c": MISSING, "n": 1}))["generateTheses"][
        "__typename"
    ] == "NotFound"
    assert (await ai.data(SUGGEST, {"c": "not-an-id", "n": 1}))["suggestRelations"][
        "__typename"
    ] == "NotFound"
    theses = await ai.data("{ theses(first: 1) { nodes { id } } }")
    t1 = theses["theses"]["nodes"][0]["id"]
    synth = (await ai.data(SYNTHESIZE, {"t": t1, "a": MISSING}))["synthesizeTheses"]
    assert synth["__typename"] == "NotFound"
    same = (await ai.data(SYNTHESIZE, {"t": t1, "a": t1}))["synthesizeTheses"]
    assert same["__typename"] == "ValidationFailed"
    assert fake.requests == []
    assert await snapshot(ai.stores) == before
