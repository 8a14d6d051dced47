"""The Subscription type: changes pushed as they commit, over ``graphql-transport-ws`` or SSE
on ``/graphql`` (see ``docs/events.md``)."""

from __future__ import annotations

import enum
from collections.abc import AsyncGenerator

import strawberry
from strawberry.types import Info

from philos import domain
from philos.ai import jobs as ai_jobs
from philos.domain.ai import FINISHED
from philos.resolvers import subscriptions as ops
from philos.schema.ai import AiJob
from philos.types.context import Context
from philos.types.objects import Concept, Relation, Thesis
from philos.validation import is_id

PhilosInfo = Info[Context, None]


@strawberry.enum(description="What happened to the record.")
class ChangeKind(enum.Enum):
    CREATED = "created"
    UPDATED = "updated"
    DELETED = "deleted"


def _kind(change: ops.Change) -> ChangeKind:
    return ChangeKind(change.event.action)


@strawberry.type(description="A concept was created, changed or deleted.")
class ConceptChange:
    kind: ChangeKind
    id: strawberry.ID = strawberry.field(description="The concept's id.")
    version: int | None = strawberry.field(description="The concept's version after the change.")
    concept: Concept | None = strawberry.field(description="The concept now; null once deleted.")

    @classmethod
    def of(cls, change: ops.Change) -> ConceptChange:
        return cls(
            kind=_kind(change),
            id=strawberry.ID(change.event.record_id),
            version=change.event.version,
            concept=Concept.from_domain(change.concept) if change.concept else None,
        )


@strawberry.type(description="A thesis (or one of its arguments) was created, changed or deleted.")
class ThesisChange:
    kind: ChangeKind
    id: strawberry.ID = strawberry.field(description="The thesis's id.")
    version: int | None = strawberry.field(description="The thesis's version after the change.")
    thesis: Thesis | None = strawberry.field(description="The thesis now; null once deleted.")


@strawberry.type(description="A relation touching the concept was created or removed.")
class RelationChange:
    kind: ChangeKind
    id: strawberry.ID = strawberry.field(description="The relation's id.")
    concept_ids: list[strawberry.ID] = strawberry.field(description="Its source and target.")
    relation: Relation | None = strawberry.field(description="The relation; null once removed.")


def _id_or_none(value: strawberry.ID | None) -> str | None:
    return str(value) if value is not None else None


@strawberry.type
class Subscription:
    @strawberry.subscription(
        description="Changes to one concept (`id`), or to every concept when `id` is omitted."
    )
    async def concept_changed(
        self, info: PhilosInfo, id: strawberry.ID | None = None
    ) -> AsyncGenerator[ConceptChange, None]:
        wanted = _id_or_none(id)
        if wanted is not None and not is_id(wanted):
            return  # an id no concept can have: nothing will ever change
        async for change in ops.concept_changes(info.context, wanted):
            yield ConceptChange.of(change)

    @strawberry.subscription(
        description="Theses of a concept created, changed (arguments included) or deleted. "
        "DRAFT theses reach EDITORs and ADMINs only."
    )
    async def thesis_changed(
        self, info: PhilosInfo, concept_id: strawberry.ID
    ) -> AsyncGenerator[ThesisChange, None]:
        if not is_id(str(concept_id)):
            return
        async for change in ops.thesis_changes(info.context, str(concept_id)):
            yield ThesisChange(
                kind=_kind(change),
                id=strawberry.ID(change.event.record_id),
                version=change.event.version,
                thesis=Thesis.from_domain(change.thesis) if change.thesis else None,
            )

    @strawberry.subscription(description="Relations touching a concept created or removed.")
    async def relation_changed(
        self, info: PhilosInfo, concept_id: strawberry.ID
    ) -> AsyncGenerator[RelationChange, None]:
        if not is_id(str(concept_id)):
            return
        async for change in ops.relation_changes(info.context, str(concept_id)):
            yield RelationChange(
                kind=_kind(change),
                id=strawberry.ID(change.event.record_id),
                concept_ids=[strawberry.ID(c) for c in change.event.concept_ids],
                relation=Relation.from_domain(change.relation) if change.relation else None,
            )

    @strawberry.subscription(
        description="A background AI job's status as it changes (the current one first), "
        "ending once it SUCCEEDED or FAILED. Only its creator and ADMINs may follow it."
    )
    async def ai_job_progress(
        self, info: PhilosInfo, job_id: strawberry.ID
    ) -> AsyncGenerator[AiJob, None]:
        if not is_id(str(job_id)):
            return
        seen = 0
        async for _ in ops.job_updates(info.context, str(job_id)):
            try:
                job = await ai_jobs.read_job(info.context, str(job_id))
            except domain.NotFoundError:
                return
            if job.version != seen:
                seen = job.version
                yield AiJob.from_record(job)
            if job.status in FINISHED:
                return
