"""Records the AI features keep: relation suggestions awaiting review, and the ledger of model
calls (who asked, which model and prompt version, tokens spent, what came of it)."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from philos.domain import RelationType, utcnow


class SuggestionStatus(enum.StrEnum):
    PENDING = "PENDING"
    ACCEPTED = "ACCEPTED"


@dataclass(frozen=True, slots=True)
class RelationSuggestion:
    """A relation the model proposed for ``concept_id``: source TYPE target, one of them being
    that concept. It becomes a relation only when someone accepts it."""

    id: str
    concept_id: str
    source_id: str
    target_id: str
    type: RelationType
    weight: float
    rationale: str
    model: str
    prompt_version: str
    status: SuggestionStatus = SuggestionStatus.PENDING
    relation_id: str | None = None
    created_at: datetime = field(default_factory=utcnow)


@dataclass(frozen=True, slots=True)
class AiCallRecord:
    """One successful model call and what it produced (thesis, suggestion ids)."""

    id: str
    mutation: str
    model: str
    prompt_version: str
    input_tokens: int
    output_tokens: int
    caller: str
    subject_id: str
    produced_ids: tuple[str, ...] = ()
    created_at: datetime = field(default_factory=utcnow)


class AiJobStatus(enum.Enum):
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


FINISHED = (AiJobStatus.SUCCEEDED, AiJobStatus.FAILED)


@dataclass(frozen=True, slots=True)
class AiJob:
    """An AI mutation run in the background for ``creator_id``. ``result``: what the mutation
    produced (record ids, the call's model and tokens); ``failure``: ``{"code", "message"}``;
    ``answer``: the model's answer and how the call went, kept before the job writes anything
    (a job run again reuses it: no second call, the same records)."""

    id: str
    mutation: str
    creator_id: str
    arguments: dict[str, Any]
    status: AiJobStatus = AiJobStatus.QUEUED
    result: dict[str, Any] | None = None
    failure: dict[str, Any] | None = None
    answer: dict[str, Any] | None = None
    attempts: int = 0
    version: int = 1
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)
