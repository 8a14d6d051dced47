"""A job whose runner died part-way is run again, and what it produces exists once.

The runner's process is made to die after a drawn number of writes (the model's answer kept
on the job, each thesis, the suggestions, the ledger row, the job's end): every write after
that raises ``Died``, which nothing in the job catches, as nothing runs in a killed process.
Then the job is delivered again, as a broker or the lease sweep would. The second run must
reuse the kept answer (one model call, one unit of quota: the quota is 1) and skip what the
first run wrote (the same ids), so each kind of job leaves one set of records, one ledger row
and a SUCCEEDED job whose result names them. Runs on every wiring's theses store.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import strategies as st

from philos.ai import jobs
from philos.bootstrap import build_llm
from philos.config import Settings
from philos.datasources.ports import ACCESS, AiJobStore, AiLedger, SuggestionStore, ThesisStore
from philos.datasources.stores import Stores
from philos.domain import ConceptFilter, ConceptOrder, Page, RelationType, Role, new_id
from philos.domain.ai import AiJob, AiJobStatus, SuggestionStatus
from philos.schema.ai import RUNNERS
from philos.seed.loader import seed
from philos.tokens import Tokens
from tests.ai.fake_anthropic import FakeAnthropic, tool_use
from tests.ai.helpers import MODEL, analysis_answer, synthesis_answer, theses_answer
from tests.api.accounts import make_user
from tests.corpus import SMALL_CORPUS
from tests.security.documents import drawn
from tests.settings import PRODUCTION_BACKENDS, settings_for

pytestmark = pytest.mark.parametrize("backend", PRODUCTION_BACKENDS, indirect=True, scope="session")


class Died(BaseException):
    """The runner's process is gone: no handler of the job's code catches this."""


class Dying:
    """A store whose process dies after ``budget.left`` more writes (shared by the stores)."""

    def __init__(self, inner: object, port: type, budget: Budget) -> None:
        self.inner = inner
        self.writes = ACCESS[port].writes - {"start", "heartbeat"}
        self.budget = budget

    def __getattr__(self, name: str) -> Any:
        value = getattr(self.inner, name)
        if name not in self.writes:
            return value

        async def write(*args: Any, **kwargs: Any) -> Any:
            if self.budget.left <= 0:
                raise Died(name)
            self.budget.left -= 1
            return await value(*args, **kwargs)

        return write


@dataclasses.dataclass
class Budget:
    left: int


def dying(stores: Stores, writes: int) -> Stores:
    budget = Budget(writes)
    return dataclasses.replace(
        stores,
        theses=Dying(stores.theses, ThesisStore, budget),
        ledger=Dying(stores.ledger, AiLedger, budget),
        suggestions=Dying(stores.suggestions, SuggestionStore, budget),
        jobs=Dying(stores.jobs, AiJobStore, budget),
    )


@dataclasses.dataclass(frozen=True)
class Scenario:
    mutation: str
    died_after: int  # writes that succeed before the process dies
    count: int  # theses to generate, suggestions to make
    types: tuple[str, ...]  # the suggested relations' types
    key: str | None  # an idempotency key


scenarios = st.builds(
    Scenario,
    mutation=st.sampled_from(sorted(RUNNERS)),
    # At least the kept answer is written: a death before it (during the model call) loses
    # the answer, and a second call is what must happen then (tests/ai/test_job_resume.py).
    died_after=st.integers(1, 7),
    count=st.integers(1, 3),
    types=st.lists(st.sampled_from([t.value for t in RelationType]), min_size=3, max_size=3).map(
        tuple
    ),
    key=st.none() | st.uuids().map(str),
)


SCENARIOS: list[Scenario] = drawn(scenarios, 24)


@dataclasses.dataclass
class World:
    stores: Stores
    forms: str
    others: list[str]
    thesis: str
    antithesis: str


def _arguments(s: Scenario, w: World) -> tuple[dict[str, Any], dict[str, Any], str]:
    """The job's arguments, the model's answer and the id the ledger files the call under."""
    args: dict[str, Any]
    subject = w.forms
    if s.mutation == "generateTheses":
        args, answer = {"conceptId": w.forms, "count": s.count}, theses_answer(s.count)
    elif s.mutation == "synthesizeTheses":
        args, answer = {"thesisId": w.thesis, "antithesisId": w.antithesis}, synthesis_answer()
        subject = w.thesis
    elif s.mutation == "suggestRelations":
        args = {"conceptId": w.forms, "limit": s.count}
        answer = {
            "suggestions": [
                {
                    "source_id": w.forms,
                    "target_id": target,
                    "type": kind,
                    "weight": 0.5,
                    "rationale": "They answer the same question in different ways.",
                }
                for target, kind in zip(w.others, s.types, strict=False)
            ]
        }
    else:
        args, answer = {"conceptId": w.forms}, analysis_answer(w.others[:2])
    return {**args, "idempotencyKey": s.key}, answer, subject


async def _records(w: World, mutation: str) -> set[str]:
    """The ids of what a job of ``mutation`` writes, as they stand."""
    if mutation == "suggestRelations":
        return {x.id for x in await w.stores.suggestions.by_concept(w.forms)}
    if mutation == "analyzeConcept":
        return set()
    found = await w.stores.theses.by_concepts([w.forms], None, 1000)
    return {t.id for t in found.get(w.forms, [])}


async def _ledger(w: World, subject: str) -> list[str]:
    return [c.id for c in await w.stores.ledger.calls_for(subject)]


async def test_a_job_run_again_after_its_runner_died_writes_once(
    stores: Stores, sql_url: str, tmp_path: Path, fake: FakeAnthropic
) -> None:
    await seed(stores, SMALL_CORPUS)
    page = await stores.concepts.list(ConceptFilter(), ConceptOrder.NAME_ASC, Page(limit=50))
    ids = {c.slug: c.id for c in page.items}
    forms = ids["forms"]
    by_concept = (await stores.theses.by_concepts([forms], None, 100))[forms]
    stances = {t.stance.value: t.id for t in by_concept}
    others = [i for slug, i in sorted(ids.items()) if slug != "forms"]
    world = World(stores, forms, others, stances["AFFIRMS"], stances["DENIES"])
    app_settings = settings_for(
        sql_url,
        tmp_path,
        ANTHROPIC_API_KEY="sk-ant-test",
        ANTHROPIC_BASE_URL=fake.url,
        PHILOS_AI_MODEL=MODEL,
        PHILOS_AI_QUOTA=1,  # a second model call would fail the job
        PHILOS_AI_CACHE_TTL=0,  # every job asks the model: nothing is reused across examples
    )
    original = stores.llm
    stores.llm = llm = build_llm(app_settings)
    tokens = Tokens(b"redelivery-tests-secret-of-32-bytes!")
    try:
        for n, scenario in enumerate(SCENARIOS):
            await _run_twice(world, scenario, n, app_settings, tokens, fake)
    finally:
        stores.llm = original
        if llm is not None:
            await llm.aclose()


async def _run_twice(
    w: World, s: Scenario, n: int, app_settings: Settings, tokens: Tokens, fake: FakeAnthropic
) -> None:
    stores = w.stores
    assert stores.jobs is not None
    editor = await make_user(stores, f"editor-{n}", Role.EDITOR)
    arguments, answer, subject = _arguments(s, w)
    fake.reset()
    fake.reply(tool_use(answer))
    before, ledger_before = await _records(w, s.mutation), await _ledger(w, subject)
    job = await stores.jobs.add(
        AiJob(id=new_id(), mutation=s.mutation, creator_id=editor.id, arguments=arguments)
    )

    async def run(on: Stores) -> None:
        await jobs.run_delivered(on, app_settings, tokens, job.id, RUNNERS)

    died = False
    try:
        await run(dying(stores, s.died_after))
    except Died:
        died = True
    await run(stores)  # delivered again; a finished job is not run again

    done = await stores.jobs.get(job.id)
    assert done is not None
    context = f"{s} (died: {died})"
    assert done.status is AiJobStatus.SUCCEEDED, (context, done.failure)
    assert done.attempts == (2 if died else 1), context
    assert len(fake.requests) == 1, context  # the kept answer was reused
    assert done.result is not None
    made = await _records(w, s.mutation)
    produced = set(done.result.get("ids", []))
    assert produced <= made, context
    if s.mutation == "suggestRelations":
        # A repeat of a pending suggestion is not stored twice, across jobs too.
        pending = [
            (x.source_id, x.target_id, x.type)
            for x in await stores.suggestions.by_concept(w.forms, SuggestionStatus.PENDING)
        ]
        assert len(pending) == len(set(pending)), context
        assert made - before == produced - before, context
    else:
        # The job's records, once: exactly the ones its result names are new.
        assert made - before == produced, context
        expected = {"generateTheses": s.count, "synthesizeTheses": 1, "analyzeConcept": 0}
        assert len(produced) == expected[s.mutation], (context, json.dumps(done.result))
    new_calls = [c for c in await _ledger(w, subject) if c not in ledger_before]
    assert len(new_calls) == 1, context
