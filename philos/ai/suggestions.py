"""``suggestRelations`` (the model proposes relations, stored as pending suggestions) and
``acceptRelationSuggestion`` (a suggestion becomes a relation; no model call)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from philos import domain
from philos.ai import prompts
from philos.ai.answers import SuggestedRelations
from philos.ai.common import candidates_for, check_range, get_concept
from philos.ai.service import AiSession, CallInfo, caller_user_id, ensure_ai_editor
from philos.domain.ai import RelationSuggestion, SuggestionStatus
from philos.types.context import Context
from philos.validation import is_id

MAX_SUGGESTIONS = 10


@dataclass(frozen=True, slots=True)
class SuggestionsResult:
    suggestions: list[RelationSuggestion]
    call: CallInfo


async def suggest_relations(
    ctx: Context, concept_id: str, limit: int, idempotency_key: str | None
) -> SuggestionsResult:
    session = AiSession(ctx, "suggestRelations")
    check_range("limit", limit, 1, MAX_SUGGESTIONS)
    key = session.check_key(idempotency_key)
    suggestion_store = ctx.stores.suggestions

    async def run() -> SuggestionsResult:
        concept = await get_concept(ctx, concept_id)
        candidates = await candidates_for(ctx, concept)
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
        for n, s in enumerate(answer.suggestions):
            if (s.source_id, s.target_id, s.type) in taken or len(suggestions) >= limit:
                continue
            taken.add((s.source_id, s.target_id, s.type))
            suggestions.append(
                RelationSuggestion(
                    id=session.new_id(f"suggestion:{n}"),
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
