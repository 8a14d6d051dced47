"""GraphQL documents, model answers and settings shared by the AI tests."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from philos.datasources.bus import LocalBus
from philos.datasources.stores import Stores
from tests.api.client import Api

MODEL = "claude-test-model"
TIMEOUT = 0.5

# The ``open_ai`` fixture: opens the app with AI settings overridden by its keyword arguments.
OpenAi = Callable[..., Awaitable[Api]]

CALL = "call { model promptVersion inputTokens outputTokens cached replayed }"
PROBLEM = (
    "__typename ... on Problem { message } ... on AiRateLimited { retryAfterSeconds } "
    "... on AiFailed { reason } ... on ValidationFailed { fields { field message } }"
)
THESIS = (
    "id statement stance status concept { slug } provenance { kind model promptVersion } "
    "arguments { polarity text strength } sources { author work year url } "
    "synthesisOf { id }"
)

GENERATE = f"""mutation($c: ID!, $n: Int!, $s: Stance, $k: String) {{
  generateTheses(conceptId: $c, count: $n, stance: $s, idempotencyKey: $k) {{ {PROBLEM}
    ... on GenerateThesesSuccess {{ theses {{ {THESIS} }} {CALL} }} }} }}"""
SUGGEST = f"""mutation($c: ID!, $n: Int!, $k: String) {{
  suggestRelations(conceptId: $c, limit: $n, idempotencyKey: $k) {{ {PROBLEM}
    ... on SuggestRelationsSuccess {{ suggestions {{ id type weight rationale status relationId
        provenance {{ kind model promptVersion }} source {{ slug }} target {{ slug }} }} {CALL} }}
  }} }}"""
ACCEPT = """mutation($id: ID!) { acceptRelationSuggestion(id: $id) {
    __typename ... on Problem { message }
    ... on RelationSuccess { relation { id type weight note provenance { kind model }
        source { slug } target { slug } } } } }"""
ANALYZE = f"""mutation($c: ID!, $k: String) {{ analyzeConcept(conceptId: $c, idempotencyKey: $k) {{
    {PROBLEM}
    ... on AnalyzeConceptSuccess {{ analysis {{ concept {{ slug }} summary
        keyThinkers {{ name contribution }} tensions openQuestions
        relatedConcepts {{ concept {{ slug }} reason }} }} {CALL} }} }} }}"""
SYNTHESIZE = f"""mutation($t: ID!, $a: ID!, $k: String) {{
  synthesizeTheses(thesisId: $t, antithesisId: $a, idempotencyKey: $k) {{ {PROBLEM}
    ... on SynthesizeThesesSuccess {{ thesis {{ {THESIS} }} {CALL} }} }} }}"""


def thesis_answer(statement: str, stance: str = "AFFIRMS") -> dict[str, Any]:
    return {
        "statement": statement,
        "stance": stance,
        "arguments": [
            {
                "polarity": "PRO",
                "text": "It explains how stable knowledge is possible.",
                "strength": 0.7,
            },
            {
                "polarity": "CON",
                "text": "It multiplies entities beyond necessity.",
                "strength": 0.5,
            },
        ],
        "sources": [{"author": "Plato", "work": "Phaedo", "year": -380, "url": None}],
    }


def theses_answer(count: int = 2, stance: str = "AFFIRMS") -> dict[str, Any]:
    return {
        "theses": [
            thesis_answer(f"Generated thesis number {i + 1} about the concept.", stance)
            for i in range(count)
        ]
    }


def analysis_answer(related: list[str]) -> dict[str, Any]:
    return {
        "summary": "The Forms are eternal patterns in which changing things participate.",
        "key_thinkers": [
            {"name": "Plato", "contribution": "Introduced the Forms in the middle dialogues."}
        ],
        "tensions": ["How do particulars participate in a separate Form?"],
        "open_questions": ["Are there Forms of artefacts and of negative properties?"],
        "related_concepts": [
            {"concept_id": i, "reason": "It takes up or rejects the theory."} for i in related
        ],
    }


def synthesis_answer() -> dict[str, Any]:
    return thesis_answer(
        "Forms are real as the intelligible structure of things, not as a second world.",
        "QUALIFIES",
    )


async def thesis_ids(api: Api, slug: str) -> list[str]:
    data = await api.data(
        "query($s: String!) { concept(slug: $s) { theses(first: 50) { id } } }", {"s": slug}
    )
    return [t["id"] for t in data["concept"]["theses"]]


_SAMPLE = re.compile(r"^(?P<name>[a-z_]+)\{(?P<labels>[^}]*)\} (?P<value>\S+)$")


async def metric(api: Api, name: str, **labels: str) -> float:
    """The value of one sample on /metrics (0 when absent)."""
    text = (await api.client.get("/metrics")).text
    wanted = {f'{k}="{v}"' for k, v in labels.items()}
    for line in text.splitlines():
        m = _SAMPLE.match(line)
        if m and m["name"] == name and set(m["labels"].split(",")) == wanted:
            return float(m["value"])
    return 0.0


RELAY_EVERY_SECONDS = 0.02


@contextlib.asynccontextmanager
async def events_flowing(stores: Stores, *, relay: bool = True) -> AsyncIterator[None]:
    """Inside, domain events reach this process's subscribers as in a serving process: the
    hub listens to the in-process bus and (with ``relay``) the outbox relay runs. The stores
    are shared by the session's tests, so on the way out they are put back as they were: no
    relay left running (its statements would count in other tests), no hub on the bus."""
    hub, event_relay = stores.events, stores.event_relay
    assert hub is not None and event_relay is not None
    bus = hub.bus
    assert isinstance(bus, LocalBus), "tests/ai runs on the in-process bus"
    handlers, started, before = list(bus._handlers), hub._started, hub.before
    await stores.start_events()
    stop = asyncio.Event()

    async def publish() -> None:  # the relay's work, ended between drains (not cancelled
        while not stop.is_set():  # inside one, which would leave a connection checked out)
            await event_relay.drain()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), RELAY_EVERY_SECONDS)

    task = asyncio.create_task(publish()) if relay else None
    try:
        yield
    finally:
        stop.set()
        if task is not None:
            await task
        bus._handlers[:] = handlers
        hub._started, hub.before = started, before
