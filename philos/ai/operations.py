"""The AI mutations' work: gather what the model needs, ask, check, write.

Each function returns domain records (the schema layer turns them into GraphQL types) or
raises: ``PhilosError`` for bad input or missing records, ``LlmError`` for anything AI.
Nothing is written before a usable answer is in hand.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from philos import domain
from philos.ai import prompts
from philos.ai.prompts import (
    PROMPT_VERSION,
    ConceptAnalysisAnswer,
    GeneratedTheses,
    SuggestedRelations,
    SynthesisAnswer,
    ThesisAnswer,
)
from philos.ai.service import AiSession, CallInfo, caller_user_id, ensure_ai_editor
from philos.datasources.ports import ThesisStore
from philos.domain.ai import RelationSuggestion, SuggestionStatus
from philos.types.context import Context
from philos.validation import is_id

MAX_THESES = 5
MAX_SUGGESTIONS = 10


@dataclass(frozen=True, slots=True)
class ThesesResult:
    theses: list[domain.Thesis]
    call: CallInfo


@dataclass(frozen=True, slots=True)
class SuggestionsResult:
    suggestions: list[RelationSuggestion]
    call: CallInfo


@dataclass(frozen=True, slots=True)
class ConceptAnalysis:
    concept: domain.Concept
    answer: ConceptAnalysisAnswer
    related: list[tuple[domain.Concept, str]]


@dataclass(frozen=True, slots=True)
class AnalysisResult:
    analysis: ConceptAnalysis
    call: CallInfo


@dataclass(frozen=True, slots=True)
class SynthesisResult:
    thesis: domain.Thesis
    call: CallInfo


def _range(field: str, value: int, low: int, high: int) -> None:
    if not low <= value <= high:
        raise domain.ValidationError(
            [domain.FieldProblem(field, f"must be between {low} and {high} (got {value}).")]
        )


async def _concept(ctx: Context, concept_id: str) -> domain.Concept:
    found = (
        (await ctx.stores.concepts.get_many([concept_id])).get(concept_id)
        if is_id(concept_id)
        else None
    )
    if found is None:
        raise domain.NotFoundError("concept", concept_id)
    return found


async def _thesis(ctx: Context, thesis_id: str) -> domain.Thesis:
    found = (
        (await ctx.stores.theses.get_many([thesis_id])).get(thesis_id) if is_id(thesis_id) else None
    )
    if found is None:
        raise domain.NotFoundError("thesis", thesis_id)
    return found


async def _candidates(ctx: Context, concept: domain.Concept) -> list[domain.Concept]:
    """Concepts the model may relate ``concept`` to, nearest first: its graph neighbourhood,
    its tradition, its tags, then the rest by name, up to ``prompts.MAX_CANDIDATES``."""
    stores = ctx.stores
    limit = prompts.MAX_CANDIDATES
    near = await stores.graph.neighbours(concept.id, 2)
    picked: dict[str, domain.Concept | None] = dict.fromkeys(
        sorted(near, key=lambda i: (near[i], i))
    )
    filters = []
    if concept.tradition:
        filters.append(domain.ConceptFilter(tradition=concept.tradition))
    filters += [domain.ConceptFilter(tags=(tag,)) for tag in concept.tags[:3]]
    filters.append(domain.ConceptFilter())
    for flt in filters:
        if len(picked) >= limit + 1:
            break
        page = await stores.concepts.list(
            flt, domain.ConceptOrder.NAME_ASC, domain.Page(limit=limit + 1)
        )
        for c in page.items:
            picked.setdefault(c.id, c)
    picked.pop(concept.id, None)
    missing = [i for i, c in picked.items() if c is None]
    found = await stores.concepts.get_many(missing) if missing else {}
    out = [c or found.get(i) for i, c in picked.items()]
    return [c for c in out if c is not None][:limit]


def _thesis_from(
    answer: ThesisAnswer | SynthesisAnswer,
    *,
    concept_id: str,
    call: CallInfo,
    author_id: str | None,
    related: tuple[str, ...] = (),
    synthesis_of: tuple[str, ...] = (),
) -> domain.Thesis:
    now = domain.utcnow()
    return domain.Thesis(
        id=domain.new_id(),
        concept_id=concept_id,
        statement=answer.statement,
        stance=domain.Stance(answer.stance),
        arguments=tuple(
            domain.Argument(
                id=domain.new_id(),
                polarity=domain.Polarity(a.polarity),
                text=a.text,
                strength=a.strength,
            )
            for a in answer.arguments
        ),
        sources=tuple(
            domain.Source(author=s.author, work=s.work, year=s.year, url=s.url)
            for s in answer.sources
        ),
        related_concept_ids=related,
        provenance=domain.Provenance(
            kind=domain.ProvenanceKind.AI, model=call.model, prompt_version=call.prompt_version
        ),
        status=domain.ThesisStatus.DRAFT,
        synthesis_of=synthesis_of,
        author_id=author_id,
        created_at=now,
        updated_at=now,
    )


async def _create_all(store: ThesisStore, theses: Sequence[domain.Thesis]) -> list[domain.Thesis]:
    """Create every thesis, or (on an error part-way) remove those already created."""
    created: list[domain.Thesis] = []
    try:
        for thesis in theses:
            created.append(await store.create(thesis))
    except BaseException:
        for thesis in created:
            await store.delete(thesis.id)
        raise
    return created


async def _theses_in_order(ctx: Context, ids: Sequence[str]) -> list[domain.Thesis]:
    found = await ctx.stores.theses.get_many(list(ids))
    return [found[i] for i in ids if i in found]


# generateTheses -----------------------------------------------------------------------------


async def generate_theses(
    ctx: Context,
    concept_id: str,
    count: int,
    stance: domain.Stance | None,
    idempotency_key: str | None,
) -> ThesesResult:
    session = AiSession(ctx, "generateTheses")
    _range("count", count, 1, MAX_THESES)
    key = session.check_key(idempotency_key)

    async def run() -> ThesesResult:
        concept = await _concept(ctx, concept_id)
        existing = (
            await ctx.stores.theses.by_concepts([concept.id], None, prompts.MAX_EXISTING_THESES)
        ).get(concept.id, [])
        prompt = prompts.generate_theses(
            concept, count, stance, existing, session.max_tokens(600 + 700 * count)
        )

        def check(answer: GeneratedTheses) -> None:
            if stance is not None and any(t.stance != stance.value for t in answer.theses):
                raise ValueError(f"a thesis does not have the stance {stance.value}")

        answer, call = await session.ask(prompt, check)
        theses = [
            _thesis_from(t, concept_id=concept.id, call=call, author_id=caller_user_id(ctx))
            for t in answer.theses[:count]
        ]
        stored = await _create_all(ctx.stores.theses, theses)
        if not call.cached:
            await ctx.stores.ledger.record(
                session.ledger_record(concept.id, [t.id for t in stored], call)
            )
        return ThesesResult(stored, call)

    async def load(saved: dict[str, Any]) -> ThesesResult:
        theses = await _theses_in_order(ctx, saved["ids"])
        return ThesesResult(theses, session.load_info(saved["call"]))

    return await session.idempotent(
        key,
        {"conceptId": concept_id, "count": count, "stance": stance and stance.value},
        run,
        lambda r: {"ids": [t.id for t in r.theses], "call": session.dump_info(r.call)},
        load,
    )


# suggestRelations / acceptRelationSuggestion -----------------------------------------------


async def suggest_relations(
    ctx: Context, concept_id: str, limit: int, idempotency_key: str | None
) -> SuggestionsResult:
    session = AiSession(ctx, "suggestRelations")
    _range("limit", limit, 1, MAX_SUGGESTIONS)
    key = session.check_key(idempotency_key)
    suggestion_store = ctx.stores.suggestions

    async def run() -> SuggestionsResult:
        concept = await _concept(ctx, concept_id)
        candidates = await _candidates(ctx, concept)
        existing = (await ctx.stores.graph.edges_of([concept.id], domain.Direction.BOTH)).get(
            concept.id, []
        )
        prompt = prompts.suggest_relations(
            concept, limit, candidates, existing, session.max_tokens(400 + 250 * limit)
        )
        offered = {c.id for c in candidates}

        def check(answer: SuggestedRelations) -> None:
            for s in answer.suggestions:
                if s.source_id == s.target_id:
                    raise ValueError("a suggestion relates a concept to itself")
                if concept.id not in (s.source_id, s.target_id):
                    raise ValueError("a suggestion does not involve the concept asked about")
                other = s.target_id if s.source_id == concept.id else s.source_id
                if other not in offered:
                    raise ValueError(
                        f"a suggestion names a concept that was not offered: {other!r}"
                    )

        answer, call = await session.ask(prompt, check)
        taken = {(r.source_id, r.target_id, r.type.value) for r in existing}
        suggestions: list[RelationSuggestion] = []
        for s in answer.suggestions:
            if (s.source_id, s.target_id, s.type) in taken or len(suggestions) >= limit:
                continue
            taken.add((s.source_id, s.target_id, s.type))
            suggestions.append(
                RelationSuggestion(
                    id=domain.new_id(),
                    concept_id=concept.id,
                    source_id=s.source_id,
                    target_id=s.target_id,
                    type=domain.RelationType(s.type),
                    weight=s.weight,
                    rationale=s.rationale,
                    model=call.model,
                    prompt_version=call.prompt_version,
                )
            )
        ledger = None if call.cached else session.ledger_record(concept.id, [], call)
        stored = await suggestion_store.add(suggestions, ledger)
        return SuggestionsResult(stored, call)

    async def load(saved: dict[str, Any]) -> SuggestionsResult:
        found = await suggestion_store.get_many(saved["ids"])
        return SuggestionsResult(
            [found[i] for i in saved["ids"] if i in found], session.load_info(saved["call"])
        )

    return await session.idempotent(
        key,
        {"conceptId": concept_id, "limit": limit},
        run,
        lambda r: {"ids": [x.id for x in r.suggestions], "call": session.dump_info(r.call)},
        load,
    )


async def accept_relation_suggestion(ctx: Context, suggestion_id: str) -> domain.Relation:
    """Turn a pending suggestion into a relation (provenance AI). No model call."""
    ensure_ai_editor(ctx)
    store = ctx.stores.suggestions
    found = (
        (await store.get_many([suggestion_id])).get(suggestion_id) if is_id(suggestion_id) else None
    )
    if found is None:
        raise domain.NotFoundError("relation suggestion", suggestion_id)
    if found.status is not SuggestionStatus.PENDING:
        raise domain.ConflictError("This suggestion was already accepted.")
    ends = await ctx.stores.concepts.get_many([found.source_id, found.target_id])
    for ident in (found.source_id, found.target_id):
        if ident not in ends:
            raise domain.NotFoundError("concept", ident)
    if not await store.claim(found.id):
        raise domain.ConflictError("This suggestion was already accepted.")
    relation = domain.Relation(
        id=domain.new_id(),
        source_id=found.source_id,
        target_id=found.target_id,
        type=found.type,
        weight=found.weight,
        note=found.rationale,
        provenance=domain.Provenance(
            kind=domain.ProvenanceKind.AI, model=found.model, prompt_version=found.prompt_version
        ),
        author_id=caller_user_id(ctx),
    )
    try:
        stored = await ctx.stores.graph.relate(relation)
    except BaseException:
        await store.release(found.id)
        raise
    await store.attach(found.id, stored.id)
    return stored


# analyzeConcept -----------------------------------------------------------------------------


async def analyze_concept(
    ctx: Context, concept_id: str, idempotency_key: str | None
) -> AnalysisResult:
    session = AiSession(ctx, "analyzeConcept")
    key = session.check_key(idempotency_key)

    async def resolve(concept: domain.Concept, answer: ConceptAnalysisAnswer) -> ConceptAnalysis:
        wanted = [r.concept_id for r in answer.related_concepts]
        found = await ctx.stores.concepts.get_many(wanted)
        related = [
            (found[r.concept_id], r.reason)
            for r in answer.related_concepts
            if r.concept_id in found
        ]
        return ConceptAnalysis(concept, answer, related)

    async def run() -> AnalysisResult:
        concept = await _concept(ctx, concept_id)
        candidates = await _candidates(ctx, concept)
        prompt = prompts.analyze_concept(concept, candidates, session.max_tokens(2500))
        offered = {c.id for c in candidates}

        def check(answer: ConceptAnalysisAnswer) -> None:
            for r in answer.related_concepts:
                if r.concept_id not in offered:
                    raise ValueError(f"a related concept was not offered: {r.concept_id!r}")

        answer, call = await session.ask(prompt, check)
        analysis = await resolve(concept, answer)
        if not call.cached:
            await ctx.stores.ledger.record(session.ledger_record(concept.id, [], call))
        return AnalysisResult(analysis, call)

    async def load(saved: dict[str, Any]) -> AnalysisResult:
        concept = await _concept(ctx, concept_id)
        answer = ConceptAnalysisAnswer.model_validate(saved["answer"])
        return AnalysisResult(await resolve(concept, answer), session.load_info(saved["call"]))

    return await session.idempotent(
        key,
        {"conceptId": concept_id},
        run,
        lambda r: {
            "answer": r.analysis.answer.model_dump(mode="json"),
            "call": session.dump_info(r.call),
        },
        load,
    )


# synthesizeTheses ---------------------------------------------------------------------------


async def synthesize_theses(
    ctx: Context, thesis_id: str, antithesis_id: str, idempotency_key: str | None
) -> SynthesisResult:
    session = AiSession(ctx, "synthesizeTheses")
    if thesis_id == antithesis_id:
        raise domain.ValidationError(
            [domain.FieldProblem("antithesisId", "must name a different thesis than thesisId.")]
        )
    key = session.check_key(idempotency_key)

    async def run() -> SynthesisResult:
        thesis = await _thesis(ctx, thesis_id)
        antithesis = await _thesis(ctx, antithesis_id)
        concepts = await ctx.stores.concepts.get_many([thesis.concept_id, antithesis.concept_id])
        for ident in (thesis.concept_id, antithesis.concept_id):
            if ident not in concepts:
                raise domain.NotFoundError("concept", ident)
        pair = (thesis.id, antithesis.id)
        siblings = (await ctx.stores.theses.by_concepts([thesis.concept_id], None, 100)).get(
            thesis.concept_id, []
        )
        existing = [t for t in siblings if t.synthesis_of == pair]
        prompt = prompts.synthesize_theses(
            thesis, antithesis, concepts, existing, session.max_tokens(2000)
        )
        answer, call = await session.ask(prompt)
        related = (antithesis.concept_id,) if antithesis.concept_id != thesis.concept_id else ()
        synthesis = _thesis_from(
            answer,
            concept_id=thesis.concept_id,
            call=call,
            author_id=caller_user_id(ctx),
            related=related,
            synthesis_of=pair,
        )
        stored = await ctx.stores.theses.create(synthesis)
        if not call.cached:
            await ctx.stores.ledger.record(session.ledger_record(thesis.id, [stored.id], call))
        return SynthesisResult(stored, call)

    async def load(saved: dict[str, Any]) -> SynthesisResult:
        found = await _theses_in_order(ctx, [saved["id"]])
        if not found:  # deleted since: the first result no longer exists
            raise domain.NotFoundError("thesis", saved["id"])
        return SynthesisResult(found[0], session.load_info(saved["call"]))

    return await session.idempotent(
        key,
        {"thesisId": thesis_id, "antithesisId": antithesis_id},
        run,
        lambda r: {"id": r.thesis.id, "call": session.dump_info(r.call)},
        load,
    )


__all__ = [
    "PROMPT_VERSION",
    "AnalysisResult",
    "ConceptAnalysis",
    "SuggestionsResult",
    "SynthesisResult",
    "ThesesResult",
    "accept_relation_suggestion",
    "analyze_concept",
    "generate_theses",
    "suggest_relations",
    "synthesize_theses",
]
