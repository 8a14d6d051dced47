"""``generateTheses``: have the model write DRAFT theses about a concept and store them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from philos import domain
from philos.ai import prompts
from philos.ai.answers import GeneratedTheses
from philos.ai.common import (
    check_range,
    create_theses,
    get_concept,
    theses_in_order,
    thesis_from,
)
from philos.ai.service import AiSession, CallInfo, caller_user_id
from philos.types.context import Context

MAX_THESES = 5


@dataclass(frozen=True, slots=True)
class ThesesResult:
    theses: list[domain.Thesis]
    call: CallInfo


async def generate_theses(
    ctx: Context,
    concept_id: str,
    count: int,
    stance: domain.Stance | None,
    idempotency_key: str | None,
) -> ThesesResult:
    session = AiSession(ctx, "generateTheses")
    check_range("count", count, 1, MAX_THESES)
    key = session.check_key(idempotency_key)

    async def run() -> ThesesResult:
        concept = await get_concept(ctx, concept_id)
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
            thesis_from(
                t,
                new_id=session.new_id,
                label=f"thesis:{n}",
                concept_id=concept.id,
                call=call,
                author_id=caller_user_id(ctx),
            )
            for n, t in enumerate(answer.theses[:count])
        ]
        stored = await create_theses(ctx.stores.theses, theses)
        if not call.cached:
            await ctx.stores.ledger.record(
                session.ledger_record(concept.id, [t.id for t in stored], call)
            )
        return ThesesResult(stored, call)

    async def load(saved: dict[str, Any]) -> ThesesResult:
        theses = await theses_in_order(ctx, saved["ids"])
        return ThesesResult(theses, session.load_info(saved["call"]))

    return await session.idempotent(
        key,
        {"conceptId": concept_id, "count": count, "stance": stance and stance.value},
        run,
        lambda r: {"ids": [t.id for t in r.theses], "call": session.dump_info(r.call)},
        load,
    )
