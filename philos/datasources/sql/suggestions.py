"""The AI features' own records on SQL: relation suggestions, and the ledger of model calls.

Both live in the SQL database whichever stores hold relations and theses: they are working
records of the AI features, not part of the graph.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy import ColumnElement, Row, and_, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from philos.datasources.sql import SqlStore
from philos.datasources.sql.common import aware, is_missing_reference, missing_concept
from philos.datasources.sql.tables import ai_calls_t, relation_suggestions_t
from philos.domain import NotFoundError, RelationType
from philos.domain.ai import AiCallRecord, RelationSuggestion, SuggestionStatus

s = relation_suggestions_t.c


def suggestion_from_row(row: Row[Any]) -> RelationSuggestion:
    m = row._mapping
    return RelationSuggestion(
        id=m["id"],
        concept_id=m["concept_id"],
        source_id=m["source_id"],
        target_id=m["target_id"],
        type=RelationType(m["type"]),
        weight=m["weight"],
        rationale=m["rationale"],
        model=m["model"],
        prompt_version=m["prompt_version"],
        status=SuggestionStatus(m["status"]),
        relation_id=m["relation_id"],
        created_at=aware(m["created_at"]),
    )


def _suggestion_values(x: RelationSuggestion) -> dict[str, Any]:
    return {
        "id": x.id,
        "concept_id": x.concept_id,
        "source_id": x.source_id,
        "target_id": x.target_id,
        "type": x.type.value,
        "weight": x.weight,
        "rationale": x.rationale,
        "model": x.model,
        "prompt_version": x.prompt_version,
        "status": x.status.value,
        "relation_id": x.relation_id,
        "created_at": x.created_at,
    }


async def _record(conn: AsyncConnection, call: AiCallRecord) -> None:
    """Append the call; one already recorded under its id (an AI job run again) stays as it is."""
    c = ai_calls_t.c
    if (await conn.execute(select(c.id).where(c.id == call.id))).first() is not None:
        return
    await conn.execute(
        insert(ai_calls_t).values(
            id=call.id,
            mutation=call.mutation,
            model=call.model,
            prompt_version=call.prompt_version,
            input_tokens=call.input_tokens,
            output_tokens=call.output_tokens,
            caller=call.caller[:200],
            subject_id=call.subject_id,
            produced_ids=list(call.produced_ids),
            created_at=call.created_at,
        )
    )


class SqlAiLedger(SqlStore):
    """Appends one row per successful model call."""

    async def record(self, call: AiCallRecord) -> None:
        async with self.db.begin() as conn:
            await _record(conn, call)

    async def calls_for(self, subject_id: str) -> list[AiCallRecord]:
        c = ai_calls_t.c
        async with self.db.connect() as conn:
            rows = await conn.execute(
                select(ai_calls_t).where(c.subject_id == subject_id).order_by(c.created_at)
            )
            return [
                AiCallRecord(
                    id=r.id,
                    mutation=r.mutation,
                    model=r.model,
                    prompt_version=r.prompt_version,
                    input_tokens=r.input_tokens,
                    output_tokens=r.output_tokens,
                    caller=r.caller,
                    subject_id=r.subject_id,
                    produced_ids=tuple(r.produced_ids),
                    created_at=aware(r.created_at),
                )
                for r in rows
            ]


class SqlSuggestionStore(SqlStore):
    async def get_many(self, ids: Sequence[str]) -> dict[str, RelationSuggestion]:
        if not ids:
            return {}
        async with self.db.connect() as conn:
            rows = await conn.execute(select(relation_suggestions_t).where(s.id.in_(set(ids))))
            return {row.id: suggestion_from_row(row) for row in rows}

    async def by_concept(
        self, concept_id: str, status: SuggestionStatus | None = None
    ) -> list[RelationSuggestion]:
        """The concept's suggestions, newest first."""
        conds = [s.concept_id == concept_id]
        if status is not None:
            conds.append(s.status == status.value)
        stmt = select(relation_suggestions_t).where(*conds).order_by(s.created_at.desc(), s.id)
        async with self.db.connect() as conn:
            return [suggestion_from_row(row) for row in await conn.execute(stmt)]

    async def add(
        self, suggestions: Sequence[RelationSuggestion], call: AiCallRecord | None
    ) -> list[RelationSuggestion]:
        """Store new suggestions and the model call that made them (None for an answer reused
        from the cache) in one transaction.

        A suggestion that repeats a pending one (same source, target and type) is not stored
        twice: the pending one stands in for it; one stored already under its id (an AI job
        run again) is kept as it is. Returns the suggestions in the given order.
        """
        if not suggestions:
            if call is not None:
                async with self.db.begin() as conn:
                    await _record(conn, call)
            return []
        same = or_(
            *(
                and_(s.source_id == x.source_id, s.target_id == x.target_id, s.type == x.type.value)
                for x in suggestions
            )
        )
        try:
            return await self._add(suggestions, call, same)
        except IntegrityError as exc:
            if not is_missing_reference(exc):
                raise
            # A concept they name was deleted while the model was thinking.
            async with self.db.connect() as conn:
                named = [i for x in suggestions for i in (x.concept_id, x.source_id, x.target_id)]
                gone = await missing_concept(conn, named)
            raise NotFoundError("concept", gone or suggestions[0].concept_id) from exc

    async def _add(
        self,
        suggestions: Sequence[RelationSuggestion],
        call: AiCallRecord | None,
        same: ColumnElement[bool],
    ) -> list[RelationSuggestion]:
        async with self.db.begin() as conn:
            # What is there already: pending repeats, and these very suggestions (under their
            # ids: an AI job run again) whatever became of them since.
            found = [
                suggestion_from_row(row)
                for row in await conn.execute(
                    select(relation_suggestions_t).where(
                        or_(
                            and_(s.status == SuggestionStatus.PENDING.value, same),
                            s.id.in_([x.id for x in suggestions]),
                        )
                    )
                )
            ]
            by_id = {x.id: x for x in found}
            pending = {
                (x.source_id, x.target_id, x.type.value): x
                for x in found
                if x.status is SuggestionStatus.PENDING
            }
            out: list[RelationSuggestion] = []
            for x in suggestions:
                key = (x.source_id, x.target_id, x.type.value)
                if x.id in by_id:
                    out.append(by_id[x.id])
                    continue
                if key not in pending:
                    await conn.execute(insert(relation_suggestions_t).values(_suggestion_values(x)))
                    pending[key] = x
                out.append(pending[key])
            if call is not None:
                await _record(conn, replace(call, produced_ids=tuple(x.id for x in out)))
        return out

    async def claim(self, suggestion_id: str) -> bool:
        """Mark a pending suggestion accepted; False when it is not (or no longer) pending,
        so two people accepting the same suggestion cannot both succeed."""
        async with self.db.begin() as conn:
            result = await conn.execute(
                update(relation_suggestions_t)
                .where(s.id == suggestion_id, s.status == SuggestionStatus.PENDING.value)
                .values(status=SuggestionStatus.ACCEPTED.value)
            )
        return bool(result.rowcount)

    async def attach(self, suggestion_id: str, relation_id: str) -> None:
        async with self.db.begin() as conn:
            await conn.execute(
                update(relation_suggestions_t)
                .where(s.id == suggestion_id)
                .values(relation_id=relation_id)
            )

    async def release(self, suggestion_id: str) -> None:
        """Undo ``claim`` after the relation could not be made."""
        async with self.db.begin() as conn:
            await conn.execute(
                update(relation_suggestions_t)
                .where(s.id == suggestion_id)
                .values(status=SuggestionStatus.PENDING.value, relation_id=None)
            )
