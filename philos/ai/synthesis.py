"""``synthesizeTheses``: have the model write a synthesis of a thesis and an antithesis and
store it as a DRAFT thesis."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from philos import domain
from philos.ai import prompts
from philos.ai.common import create_theses, theses_in_order, thesis_from
from philos.ai.service import AiSession, CallInfo, caller_user_id
from philos.types.context import Context
from philos.validation import is_id


@dataclass(frozen=True, slots=True)
class SynthesisResult:
    thesis: domain.Thesis
    call: CallInfo


async def _thesis(ctx: Context, thesis_id: str) -> domain.Thesis:
    found = (
        (await ctx.stores.theses.get_many([thesis_id])).get(thesis_id) if is_id(thesis_id) else None
    )
    if found is None:
        raise domain.NotFoundError("thesis", thesis_id)
    return found


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
        synthesis = thesis_from(
            answer,
            new_id=session.new_id,
            label="synthesis",
            concept_id=thesis.concept_id,
            call=call,
            author_id=caller_user_id(ctx),
            related=related,
            synthesis_of=pair,
        )
        [stored] = await create_theses(ctx.stores.theses, [synthesis])
        if not call.cached:
            await ctx.stores.ledger.record(session.ledger_record(thesis.id, [stored.id], call))
        return SynthesisResult(stored, call)

    async def load(saved: dict[str, Any]) -> SynthesisResult:
        found = await theses_in_order(ctx, [saved["id"]])
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
