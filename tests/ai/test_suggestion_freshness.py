"""What the response cache answers about suggestions follows every write to them.

``relationSuggestions`` is answered from the response cache like any read; each AI mutation
that stores, claims or releases a suggestion must make that answer stale, for every filter.
"""

from __future__ import annotations

from typing import Any

from tests.ai.fake_anthropic import FakeAnthropic, tool_use
from tests.ai.helpers import ACCEPT, SUGGEST
from tests.api.client import Api

LIST = """query($c: ID!, $s: SuggestionStatus) { relationSuggestions(conceptId: $c, status: $s) {
    id status relationId } }"""
STATUSES = [None, "PENDING", "ACCEPTED"]


def suggestion(source: str, target: str, kind: str) -> dict[str, Any]:
    return {
        "source_id": source,
        "target_id": target,
        "type": kind,
        "weight": 0.4,
        "rationale": "Both ask what lies behind the appearances and how to live with it.",
    }


async def listed(api: Api, concept: str) -> dict[str | None, list[dict[str, Any]]]:
    out = {}
    for status in STATUSES:
        data = await api.data(LIST, {"c": concept, "s": status})
        out[status] = data["relationSuggestions"]
    return out


async def test_suggestions_listed_from_the_cache_follow_each_write(
    ai: Api, fake: FakeAnthropic
) -> None:
    forms = await ai.concept_id("forms")
    wu_wei = await ai.concept_id("wu-wei")
    calm = await ai.concept_id("ataraxia")
    empty = await listed(ai, forms)
    assert empty == {s: [] for s in STATUSES}
    assert await listed(ai, forms) == empty  # answered from the cache now

    fake.reply(
        tool_use(
            {
                "suggestions": [
                    suggestion(wu_wei, forms, "ANALOGOUS_TO"),
                    suggestion(forms, calm, "OPPOSES"),
                ]
            }
        )
    )
    made = (await ai.data(SUGGEST, {"c": forms, "n": 5}))["suggestRelations"]["suggestions"]
    assert len(made) == 2
    after = await listed(ai, forms)
    assert {x["id"] for x in after[None]} == {x["id"] for x in made}
    assert {x["id"] for x in after["PENDING"]} == {x["id"] for x in made}
    assert after["ACCEPTED"] == []

    accepted = await ai.data(ACCEPT, {"id": made[0]["id"]})
    relation = accepted["acceptRelationSuggestion"]["relation"]
    later = await listed(ai, forms)
    assert [x["id"] for x in later["ACCEPTED"]] == [made[0]["id"]]
    assert later["ACCEPTED"][0]["relationId"] == relation["id"]
    assert [x["id"] for x in later["PENDING"]] == [made[1]["id"]]
