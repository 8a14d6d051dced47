"""The AI mutations (Claude): types, payloads and the ``AiMutation`` feature class.

Every AI mutation answers a union of its success type and the expected failures, all
implementing ``Problem``: ``AiUnavailable`` (no key configured), ``AiRateLimited`` (try again
after ``retryAfterSeconds``), ``AiFailed`` (the call failed or its answer was unusable), and the
usual ``NotFound``, ``ValidationFailed``, ``Conflict`` and ``Forbidden`` (AI mutations need the
EDITOR role). A failure changes nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from philos import domain
from philos.ai import analysis, generation, suggestions, synthesis
from philos.ai.service import CallInfo
from philos.domain.ai import RelationSuggestion as SuggestionRecord
from philos.domain.ai import SuggestionStatus
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
    RelationSuccess,
    ValidationFailed,
    attempt,
    expecting,
)

strawberry.enum(SuggestionStatus, description="Whether a relation suggestion was accepted yet.")


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


@strawberry.type
class SynthesizeThesesSuccess:
    thesis: Thesis = strawberry.field(description="The new DRAFT synthesis (provenance AI).")
    call: AiCall


GenerateThesesResult = Annotated[
    GenerateThesesSuccess
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

IDEMPOTENCY = (
    "Send the same key again (for example when retrying after a network error) to get the "
    "first result back without a second model call."
)


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
    ) -> GenerateThesesResult:
        async def run() -> GenerateThesesSuccess:
            result = await generation.generate_theses(
                info.context, str(concept_id), count, stance, idempotency_key
            )
            return GenerateThesesSuccess(
                theses=[Thesis.from_domain(t) for t in result.theses],
                call=AiCall.from_info(result.call),
            )

        return await attempt(run, AI_FAILURES)

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
    ) -> SuggestRelationsResult:
        async def run() -> SuggestRelationsSuccess:
            result = await suggestions.suggest_relations(
                info.context, str(concept_id), limit, idempotency_key
            )
            return SuggestRelationsSuccess(
                suggestions=[RelationSuggestion.from_record(s) for s in result.suggestions],
                call=AiCall.from_info(result.call),
            )

        return await attempt(run, AI_FAILURES)

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
        "tensions, open questions and related existing concepts. Stores nothing."
    )
    async def analyze_concept(
        self,
        info: PhilosInfo,
        concept_id: strawberry.ID,
        idempotency_key: Annotated[str | None, strawberry.argument(description=IDEMPOTENCY)] = None,
    ) -> AnalyzeConceptResult:
        async def run() -> AnalyzeConceptSuccess:
            result = await analysis.analyze_concept(info.context, str(concept_id), idempotency_key)
            return AnalyzeConceptSuccess(
                analysis=ConceptAnalysis.from_analysis(result.analysis),
                call=AiCall.from_info(result.call),
            )

        return await attempt(run, AI_FAILURES)

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
    ) -> SynthesizeThesesResult:
        async def run() -> SynthesizeThesesSuccess:
            result = await synthesis.synthesize_theses(
                info.context, str(thesis_id), str(antithesis_id), idempotency_key
            )
            return SynthesizeThesesSuccess(
                thesis=Thesis.from_domain(result.thesis), call=AiCall.from_info(result.call)
            )

        return await attempt(run, AI_FAILURES)
