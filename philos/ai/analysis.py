"""``analyzeConcept``: a structured analysis of a concept by the model (nothing is stored but
the ledger entry)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from philos import domain
from philos.ai import prompts
from philos.ai.answers import ConceptAnalysisAnswer
from philos.ai.common import candidates_for, get_concept
from philos.ai.service import AiSession, CallInfo
from philos.types.context import Context


@dataclass(frozen=True, slots=True)
class ConceptAnalysis:
    concept: domain.Concept
    answer: ConceptAnalysisAnswer
    related: list[tuple[domain.Concept, str]]


@dataclass(frozen=True, slots=True)
class AnalysisResult:
    analysis: ConceptAnalysis
    call: CallInfo


async def _resolve(
    ctx: Context, concept: domain.Concept, answer: ConceptAnalysisAnswer
) -> ConceptAnalysis:
    """The answer with its related concepts looked up now (one that was deleted since drops)."""
    wanted = [r.concept_id for r in answer.related_concepts]
    found = await ctx.stores.concepts.get_many(wanted)
    related = [
        (found[r.concept_id], r.reason) for r in answer.related_concepts if r.concept_id in found
    ]
    return ConceptAnalysis(concept, answer, related)


def dump_analysis(analysis: ConceptAnalysis) -> dict[str, Any]:
    """What is kept of an analysis (an idempotency record, a background job's result): the
    model's answer and the concept's id; the concepts themselves are read again on load."""
    return {"conceptId": analysis.concept.id, "answer": analysis.answer.model_dump(mode="json")}


async def load_analysis(ctx: Context, saved: dict[str, Any]) -> ConceptAnalysis:
    concept = await get_concept(ctx, str(saved["conceptId"]))
    answer = ConceptAnalysisAnswer.model_validate(saved["answer"])
    return await _resolve(ctx, concept, answer)


async def analyze_concept(
    ctx: Context, concept_id: str, idempotency_key: str | None
) -> AnalysisResult:
    session = AiSession(ctx, "analyzeConcept")
    key = session.check_key(idempotency_key)

    async def resolve(concept: domain.Concept, answer: ConceptAnalysisAnswer) -> ConceptAnalysis:
        return await _resolve(ctx, concept, answer)

    async def run() -> AnalysisResult:
        concept = await get_concept(ctx, concept_id)
        candidates = await candidates_for(ctx, concept)
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
        concept = await get_concept(ctx, concept_id)
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
