"""The AI mutations (Claude): types, payloads and the ``AiMutation`` feature class.

Every AI mutation answers a union of its success type and the expected failures, all
implementing ``Problem``: ``AiUnavailable`` (no key configured), ``AiRateLimited`` (try again
after ``retryAfterSeconds``), ``AiFailed`` (the call failed or its answer was unusable), and the
usual ``NotFound``, ``ValidationFailed``, ``Conflict`` and ``Forbidden`` (AI mutations need the
EDITOR role). A failure changes nothing.

Every model-calling mutation (``generateTheses``, ``suggestRelations``, ``synthesizeTheses``,
``analyzeConcept``) also runs as a background job (``background: true``) through one path
(``KINDS``, ``_answer``): it answers ``AiJobQueued`` at once, and ``aiJob`` later gives the same
success payload, or the failure's type and message (``philos/ai/jobs.py``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

import strawberry

from philos import domain
from philos.ai import analysis, generation, jobs, suggestions, synthesis
from philos.ai.common import theses_in_order
from philos.ai.service import CallInfo
from philos.domain.ai import AiJob as AiJobRecord
from philos.domain.ai import AiJobStatus, SuggestionStatus
from philos.domain.ai import RelationSuggestion as SuggestionRecord
from philos.types.context import Context
from philos.types.enums import RelationType, Stance
from philos.types.hints import store_cost
from philos.types.objects import Concept, PhilosInfo, Provenance, Relation, Thesis, concept_by_id
from philos.types.payloads import (
    AiFailed,
    AiRateLimited,
    AiUnavailable,
    Conflict,
    Expected,
    Forbidden,
    NotFound,
    Problem,
    RelationSuccess,
    ValidationFailed,
    attempt,
    expecting,
)

strawberry.enum(SuggestionStatus, description="Whether a relation suggestion was accepted yet.")
strawberry.enum(AiJobStatus, description="QUEUED, then RUNNING, then SUCCEEDED or FAILED.")


@strawberry.type(description="How an AI result came about: model, prompt version, tokens.")
class AiCall:
    model: str
    prompt_version: str
    input_tokens: int = strawberry.field(description="Input tokens this request spent.")
    output_tokens: int = strawberry.field(description="Output tokens this request spent.")
    cached: bool = strawberry.field(
        description="The answer came from the result cache: no model call, no tokens spent."
    )
    replayed: bool = strawberry.field(
        description="The first result of the same `idempotencyKey`, returned again as it was."
    )

    @classmethod
    def from_info(cls, c: CallInfo) -> AiCall:
        return cls(
            model=c.model,
            prompt_version=c.prompt_version,
            input_tokens=c.input_tokens,
            output_tokens=c.output_tokens,
            cached=c.cached,
            replayed=c.replayed,
        )


@strawberry.type(
    description="A relation a model proposed (source TYPE target); "
    "acceptRelationSuggestion turns it into a relation."
)
class RelationSuggestion:
    id: strawberry.ID
    type: RelationType
    weight: float
    rationale: str
    status: SuggestionStatus
    provenance: Provenance
    created_at: datetime
    source_id: strawberry.ID
    target_id: strawberry.ID
    relation_id: strawberry.ID | None = strawberry.field(
        description="The relation it became, once accepted."
    )

    @classmethod
    def from_record(cls, s: SuggestionRecord) -> RelationSuggestion:
        return cls(
            id=strawberry.ID(s.id),
            type=s.type,
            weight=s.weight,
            rationale=s.rationale,
            status=s.status,
            provenance=Provenance(
                kind=domain.ProvenanceKind.AI, model=s.model, prompt_version=s.prompt_version
            ),
            created_at=s.created_at,
            source_id=strawberry.ID(s.source_id),
            target_id=strawberry.ID(s.target_id),
            relation_id=strawberry.ID(s.relation_id) if s.relation_id else None,
        )

    @strawberry.field
    async def source(self, info: PhilosInfo) -> Concept | None:
        return await concept_by_id(info, self.source_id)

    @strawberry.field
    async def target(self, info: PhilosInfo) -> Concept | None:
        return await concept_by_id(info, self.target_id)


@strawberry.type(description="A thinker central to a concept and what they contributed.")
class KeyThinker:
    name: str
    contribution: str


@strawberry.type(description="A concept closely related to the one analysed, and why.")
class RelatedConcept:
    concept: Concept
    reason: str


@strawberry.type(description="A structured analysis of a concept, written by a model.")
class ConceptAnalysis:
    concept: Concept
    summary: str
    key_thinkers: list[KeyThinker] = strawberry.field(metadata=store_cost(items=10))
    tensions: list[str] = strawberry.field(description="Main tensions and objections.")
    open_questions: list[str]
    related_concepts: list[RelatedConcept] = strawberry.field(
        description="Existing concepts only: every id the model named was checked.",
        metadata=store_cost(items=10),
    )

    @classmethod
    def from_analysis(cls, a: analysis.ConceptAnalysis) -> ConceptAnalysis:
        return cls(
            concept=Concept.from_domain(a.concept),
            summary=a.answer.summary,
            key_thinkers=[
                KeyThinker(name=k.name, contribution=k.contribution) for k in a.answer.key_thinkers
            ],
            tensions=list(a.answer.tensions),
            open_questions=list(a.answer.open_questions),
            related_concepts=[
                RelatedConcept(concept=Concept.from_domain(c), reason=reason)
                for c, reason in a.related
            ],
        )


@strawberry.type
class GenerateThesesSuccess:
    theses: list[Thesis] = strawberry.field(
        description="The new DRAFT theses (provenance AI).", metadata=store_cost(items=5)
    )
    call: AiCall


@strawberry.type
class SuggestRelationsSuccess:
    suggestions: list[RelationSuggestion] = strawberry.field(metadata=store_cost(items=10))
    call: AiCall


@strawberry.type
class AnalyzeConceptSuccess:
    analysis: ConceptAnalysis
    call: AiCall
    kept: strawberry.Private[dict[str, Any] | None] = None  # what a background job keeps


@strawberry.type
class SynthesizeThesesSuccess:
    thesis: Thesis = strawberry.field(description="The new DRAFT synthesis (provenance AI).")
    call: AiCall


@strawberry.type(
    description="Why a background AI job failed: `code` names the failure type "
    "the synchronous mutation would have answered (`AiFailed`, `AiRateLimited`, `NotFound`, "
    "`ValidationFailed`, `Conflict`, `Forbidden`, `AiUnavailable`)."
)
class AiJobFailure:
    code: str
    message: str


@strawberry.type(description="An AI mutation run in the background (`background: true`).")
class AiJob:
    id: strawberry.ID
    mutation: str = strawberry.field(description="The mutation it runs, e.g. generateTheses.")
    status: AiJobStatus
    attempts: int = strawberry.field(description="How often a worker started it.")
    created_at: datetime
    updated_at: datetime
    failure: AiJobFailure | None = strawberry.field(description="Set once FAILED.")
    saved: strawberry.Private[dict[str, Any] | None] = None

    @classmethod
    def from_record(cls, job: AiJobRecord) -> AiJob:
        return cls(
            id=strawberry.ID(job.id),
            mutation=job.mutation,
            status=job.status,
            attempts=job.attempts,
            created_at=job.created_at,
            updated_at=job.updated_at,
            failure=AiJobFailure(
                code=str(job.failure.get("code", "AiFailed")),
                message=str(job.failure.get("message", "")),
            )
            if job.failure
            else None,
            saved=job.result,
        )

    @strawberry.field(
        description="Once SUCCEEDED: the payload the synchronous mutation answers with."
    )
    async def result(self, info: PhilosInfo) -> AiJobResult | None:
        if self.saved is None:
            return None
        load = LOADERS.get(self.mutation)
        return await load(info.context, self.saved) if load is not None else None


@strawberry.type(
    description="The mutation was queued; follow it with `aiJob(id)` or "
    "the `aiJobProgress(jobId)` subscription."
)
class AiJobQueued:
    job: AiJob


AiJobResult = Annotated[
    GenerateThesesSuccess
    | SuggestRelationsSuccess
    | SynthesizeThesesSuccess
    | AnalyzeConceptSuccess,
    strawberry.union("AiJobResult"),
]


GenerateThesesResult = Annotated[
    GenerateThesesSuccess
    | AiJobQueued
    | NotFound
    | ValidationFailed
    | Conflict
    | Forbidden
    | AiUnavailable
    | AiRateLimited
    | AiFailed,
    strawberry.union("GenerateThesesResult"),
]
SuggestRelationsResult = Annotated[
    SuggestRelationsSuccess
    | AiJobQueued
    | NotFound
    | ValidationFailed
    | Conflict
    | Forbidden
    | AiUnavailable
    | AiRateLimited
    | AiFailed,
    strawberry.union("SuggestRelationsResult"),
]
AcceptRelationSuggestionResult = Annotated[
    RelationSuccess | NotFound | Conflict | Forbidden,
    strawberry.union("AcceptRelationSuggestionResult"),
]
AnalyzeConceptResult = Annotated[
    AnalyzeConceptSuccess
    | AiJobQueued
    | NotFound
    | ValidationFailed
    | Conflict
    | Forbidden
    | AiUnavailable
    | AiRateLimited
    | AiFailed,
    strawberry.union("AnalyzeConceptResult"),
]
SynthesizeThesesResult = Annotated[
    SynthesizeThesesSuccess
    | AiJobQueued
    | NotFound
    | ValidationFailed
    | Conflict
    | Forbidden
    | AiUnavailable
    | AiRateLimited
    | AiFailed,
    strawberry.union("SynthesizeThesesResult"),
]

# What every AI mutation may answer with besides its success.
AiFailure = (
    NotFound | ValidationFailed | Conflict | Forbidden | AiUnavailable | AiRateLimited | AiFailed
)
AI_FAILURES: Expected[AiFailure] = expecting(
    NotFound, ValidationFailed, Conflict, Forbidden, AiUnavailable, AiRateLimited, AiFailed
)
ACCEPT_FAILURES: Expected[NotFound | Conflict | Forbidden] = expecting(
    NotFound, Conflict, Forbidden
)

BACKGROUND = (
    "Answer `AiJobQueued` at once and run the mutation in the background: its result (or "
    "failure) is then read with `aiJob(id)`. Quotas, idempotency keys and the result cache "
    "apply as to the synchronous form."
)

IDEMPOTENCY = (
    "Send the same key again (for example when retrying after a network error) to get the "
    "first result back without a second model call."
)


def _call_of(saved: dict[str, Any]) -> AiCall:
    return AiCall(**saved["call"])


def _dump_call(call: AiCall) -> dict[str, Any]:
    return {
        "model": call.model,
        "prompt_version": call.prompt_version,
        "input_tokens": call.input_tokens,
        "output_tokens": call.output_tokens,
        "cached": call.cached,
        "replayed": call.replayed,
    }


async def _generate(ctx: Context, args: dict[str, Any]) -> GenerateThesesSuccess:
    stance = args.get("stance")
    result = await generation.generate_theses(
        ctx,
        str(args["conceptId"]),
        int(args["count"]),
        Stance(stance) if stance is not None else None,
        args.get("idempotencyKey"),
    )
    return GenerateThesesSuccess(
        theses=[Thesis.from_domain(t) for t in result.theses], call=AiCall.from_info(result.call)
    )


async def _suggest(ctx: Context, args: dict[str, Any]) -> SuggestRelationsSuccess:
    result = await suggestions.suggest_relations(
        ctx, str(args["conceptId"]), int(args["limit"]), args.get("idempotencyKey")
    )
    return SuggestRelationsSuccess(
        suggestions=[RelationSuggestion.from_record(s) for s in result.suggestions],
        call=AiCall.from_info(result.call),
    )


async def _synthesize(ctx: Context, args: dict[str, Any]) -> SynthesizeThesesSuccess:
    result = await synthesis.synthesize_theses(
        ctx, str(args["thesisId"]), str(args["antithesisId"]), args.get("idempotencyKey")
    )
    return SynthesizeThesesSuccess(
        thesis=Thesis.from_domain(result.thesis), call=AiCall.from_info(result.call)
    )


async def _analyze(ctx: Context, args: dict[str, Any]) -> AnalyzeConceptSuccess:
    result = await analysis.analyze_concept(ctx, str(args["conceptId"]), args.get("idempotencyKey"))
    return AnalyzeConceptSuccess(
        analysis=ConceptAnalysis.from_analysis(result.analysis),
        call=AiCall.from_info(result.call),
        kept=analysis.dump_analysis(result.analysis),
    )


async def _load_generated(ctx: Context, saved: dict[str, Any]) -> GenerateThesesSuccess:
    theses = await theses_in_order(ctx, saved["ids"])
    return GenerateThesesSuccess(
        theses=[Thesis.from_domain(t) for t in theses], call=_call_of(saved)
    )


async def _load_suggested(ctx: Context, saved: dict[str, Any]) -> SuggestRelationsSuccess:
    found = await ctx.stores.suggestions.get_many(saved["ids"])
    return SuggestRelationsSuccess(
        suggestions=[RelationSuggestion.from_record(found[i]) for i in saved["ids"] if i in found],
        call=_call_of(saved),
    )


async def _load_synthesis(ctx: Context, saved: dict[str, Any]) -> SynthesizeThesesSuccess | None:
    theses = await theses_in_order(ctx, saved["ids"])
    if not theses:
        return None
    return SynthesizeThesesSuccess(thesis=Thesis.from_domain(theses[0]), call=_call_of(saved))


async def _load_analysis(ctx: Context, saved: dict[str, Any]) -> AnalyzeConceptSuccess | None:
    try:
        found = await analysis.load_analysis(ctx, saved["analysis"])
    except domain.NotFoundError:  # the concept was deleted since
        return None
    return AnalyzeConceptSuccess(
        analysis=ConceptAnalysis.from_analysis(found), call=_call_of(saved)
    )


def _ids_of(success: Any) -> dict[str, Any]:
    if isinstance(success, GenerateThesesSuccess):
        return {"ids": [str(t.id) for t in success.theses]}
    if isinstance(success, SuggestRelationsSuccess):
        return {"ids": [str(x.id) for x in success.suggestions]}
    if isinstance(success, SynthesizeThesesSuccess):
        return {"ids": [str(success.thesis.id)]}
    if isinstance(success, AnalyzeConceptSuccess):
        return {"analysis": success.kept}
    raise TypeError(f"not an AI success payload: {success!r}")


@dataclass(frozen=True, slots=True)
class AiKind:
    """One AI mutation as both forms run it: ``action`` is the work (the synchronous form
    answers what it returns; a job runs the same action), ``load`` rebuilds the success
    payload from what a job kept (the ids of the records written, or the analysis, and the
    call)."""

    action: Callable[[Context, dict[str, Any]], Awaitable[Any]]
    load: Callable[[Context, dict[str, Any]], Awaitable[Any]]


KINDS: dict[str, AiKind] = {
    "generateTheses": AiKind(_generate, _load_generated),
    "suggestRelations": AiKind(_suggest, _load_suggested),
    "synthesizeTheses": AiKind(_synthesize, _load_synthesis),
    "analyzeConcept": AiKind(_analyze, _load_analysis),
}


def _runner(kind: AiKind) -> jobs.Runner:
    """A job runs the same action as the synchronous mutation, with the same failures."""

    async def run(ctx: Context, args: dict[str, Any]) -> tuple[bool, dict[str, Any]]:
        async def go() -> Any:
            return await kind.action(ctx, args)

        outcome = await attempt(go, AI_FAILURES)
        if isinstance(outcome, Problem):
            return False, {"code": type(outcome).__name__, "message": outcome.message}
        return True, {**_ids_of(outcome), "call": _dump_call(outcome.call)}

    return run


RUNNERS: dict[str, jobs.Runner] = {name: _runner(kind) for name, kind in KINDS.items()}
LOADERS = {name: kind.load for name, kind in KINDS.items()}


async def _queue(info: PhilosInfo, mutation: str, args: dict[str, Any]) -> AiJobQueued:
    job = await jobs.enqueue(info.context, mutation, args, RUNNERS[mutation])
    return AiJobQueued(job=AiJob.from_record(job))


async def _answer(info: PhilosInfo, mutation: str, args: dict[str, Any], background: bool) -> Any:
    """Every AI mutation's one path: run it now, or queue it as a job that runs the same
    action; either way an expected failure is its typed payload."""
    if background:
        return await attempt(lambda: _queue(info, mutation, args), AI_FAILURES)
    return await attempt(lambda: KINDS[mutation].action(info.context, args), AI_FAILURES)


@strawberry.type
class AiMutation:
    """Claude-backed mutations. Each needs ANTHROPIC_API_KEY on the server."""

    @strawberry.mutation(
        description="Write `count` (1–5) new theses about a concept with a model, optionally "
        "all with one stance, and store them as DRAFT theses with provenance AI."
    )
    async def generate_theses(
        self,
        info: PhilosInfo,
        concept_id: strawberry.ID,
        count: int = 3,
        stance: Stance | None = None,
        idempotency_key: Annotated[str | None, strawberry.argument(description=IDEMPOTENCY)] = None,
        background: Annotated[bool, strawberry.argument(description=BACKGROUND)] = False,
    ) -> GenerateThesesResult:
        args = {
            "conceptId": str(concept_id),
            "count": count,
            "stance": stance.value if stance is not None else None,
            "idempotencyKey": idempotency_key,
        }
        answer: GenerateThesesResult = await _answer(info, "generateTheses", args, background)
        return answer

    @strawberry.mutation(
        description="Ask a model for up to `limit` (1–10) relations between a concept and "
        "existing concepts. They are stored as suggestions with a rationale, not relations."
    )
    async def suggest_relations(
        self,
        info: PhilosInfo,
        concept_id: strawberry.ID,
        limit: int = 5,
        idempotency_key: Annotated[str | None, strawberry.argument(description=IDEMPOTENCY)] = None,
        background: Annotated[bool, strawberry.argument(description=BACKGROUND)] = False,
    ) -> SuggestRelationsResult:
        args = {"conceptId": str(concept_id), "limit": limit, "idempotencyKey": idempotency_key}
        answer: SuggestRelationsResult = await _answer(info, "suggestRelations", args, background)
        return answer

    @strawberry.mutation(
        description="Turn a relation suggestion into a relation (provenance AI). No model call."
    )
    async def accept_relation_suggestion(
        self, info: PhilosInfo, id: strawberry.ID
    ) -> AcceptRelationSuggestionResult:
        async def run() -> RelationSuccess:
            relation = await suggestions.accept_relation_suggestion(info.context, str(id))
            return RelationSuccess(relation=Relation.from_domain(relation))

        return await attempt(run, ACCEPT_FAILURES)

    @strawberry.mutation(
        description="A model's structured analysis of a concept: summary, key thinkers, "
        "tensions, open questions and related existing concepts. Stores nothing (a background "
        "job keeps the analysis for `aiJob`)."
    )
    async def analyze_concept(
        self,
        info: PhilosInfo,
        concept_id: strawberry.ID,
        idempotency_key: Annotated[str | None, strawberry.argument(description=IDEMPOTENCY)] = None,
        background: Annotated[bool, strawberry.argument(description=BACKGROUND)] = False,
    ) -> AnalyzeConceptResult:
        args = {"conceptId": str(concept_id), "idempotencyKey": idempotency_key}
        answer: AnalyzeConceptResult = await _answer(info, "analyzeConcept", args, background)
        return answer

    @strawberry.mutation(
        description="Write a synthesis of a thesis and an antithesis with a model and store it "
        "as a DRAFT thesis (provenance AI) about the thesis's concept; its `synthesisOf` "
        "names both."
    )
    async def synthesize_theses(
        self,
        info: PhilosInfo,
        thesis_id: strawberry.ID,
        antithesis_id: strawberry.ID,
        idempotency_key: Annotated[str | None, strawberry.argument(description=IDEMPOTENCY)] = None,
        background: Annotated[bool, strawberry.argument(description=BACKGROUND)] = False,
    ) -> SynthesizeThesesResult:
        args = {
            "thesisId": str(thesis_id),
            "antithesisId": str(antithesis_id),
            "idempotencyKey": idempotency_key,
        }
        answer: SynthesizeThesesResult = await _answer(info, "synthesizeTheses", args, background)
        return answer
