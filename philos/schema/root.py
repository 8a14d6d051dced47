"""The root Query and Mutation types and the Schema."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Annotated

import strawberry
from strawberry.extensions import SchemaExtension
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types
from strawberry.types import Info

from philos import domain
from philos.ai import jobs as ai_jobs
from philos.domain.ai import SuggestionStatus
from philos.resolvers import concepts as concept_ops
from philos.resolvers import queries
from philos.resolvers import theses as thesis_ops
from philos.schema.ai import AiJob, AiMutation, RelationSuggestion
from philos.schema.auth import AuthMutation, Me, UsersResult, resolve_me, resolve_users
from philos.schema.execution import PlainFieldsExecution
from philos.schema.subscriptions import Subscription
from philos.types.context import Context
from philos.types.enums import ConceptOrder, RelationType, Stance
from philos.types.facets import EraBucket, Facet, eras_of, tags_of, traditions_of
from philos.types.hints import list_field, per_caller, store_cost
from philos.types.inputs import (
    AddArgumentInput,
    CreateConceptInput,
    CreateThesisInput,
    RelateConceptsInput,
    UpdateConceptInput,
    UpdateThesisInput,
)
from philos.types.objects import (
    Concept,
    ConceptConnection,
    ConceptPath,
    Graph,
    RelationConnection,
    RelationTypes,
    Thesis,
    ThesisConnection,
)
from philos.types.payloads import (
    CreateConceptResult,
    DeleteResult,
    RelateConceptsResult,
    ThesisResult,
    UpdateConceptResult,
)
from philos.validation import MAX_TAGS, is_id

PhilosInfo = Info[Context, None]


@strawberry.input(description="Narrow a concept list; all given conditions must hold.")
class ConceptFilter:
    search: str | None = strawberry.field(
        default=None,
        description=(
            "Words to look for, ranked best match first (see `orderBy`): each word in any "
            "field (name, aliases, summary, body), ignoring case and accents; a name or alias "
            "close to the search (a typo) or containing it as text also matches."
        ),
    )
    tradition: str | None = strawberry.field(default=None, description="Exact, case-insensitive.")
    tags: list[str] | None = list_field(MAX_TAGS, "Concepts with every tag.", default=None)
    era_from: int | None = strawberry.field(
        default=None, description="Concepts whose period ends in or after this year."
    )
    era_to: int | None = strawberry.field(
        default=None, description="Concepts whose period starts in or before this year."
    )

    def to_domain(self) -> domain.ConceptFilter:
        search = (self.search or "").strip()[:200] or None
        return domain.ConceptFilter(
            search=search,
            tradition=(self.tradition or "").strip() or None,
            tags=tuple(t.strip().lower() for t in self.tags or () if t.strip()),
            era_from=self.era_from,
            era_to=self.era_to,
        )


@strawberry.input(description="Narrow a relation list; all given conditions must hold.")
class RelationFilter:
    type: RelationType | None = None
    source_id: strawberry.ID | None = None
    target_id: strawberry.ID | None = None

    def to_domain(self) -> domain.RelationFilter:
        return domain.RelationFilter(
            type=domain.RelationType(self.type.value) if self.type else None,
            source_id=str(self.source_id) if self.source_id is not None else None,
            target_id=str(self.target_id) if self.target_id is not None else None,
        )


@strawberry.input(description="Narrow a thesis list; all given conditions must hold.")
class ThesisFilter:
    concept_id: strawberry.ID | None = None
    stance: Stance | None = None
    search: str | None = strawberry.field(
        default=None,
        description=(
            "Words in the statement or its arguments (ignoring case and accents), best match "
            "first, or text in the statement."
        ),
    )

    def to_domain(self) -> domain.ThesisFilter:
        return domain.ThesisFilter(
            concept_id=str(self.concept_id) if self.concept_id else None,
            stance=domain.Stance(self.stance) if self.stance else None,
            search=(self.search or "").strip()[:200] or None,
        )


@strawberry.type
class Query:
    @strawberry.field(
        description="The signed-in user; null without a valid access token.",
        metadata=per_caller(),
    )
    async def me(self, info: PhilosInfo) -> Me | None:
        return await resolve_me(info)

    @strawberry.field(
        description="Accounts by email, for an ADMIN to manage (Forbidden for anyone else); "
        "`search` narrows them to those whose email or display name contains it.",
        metadata=per_caller(),
    )
    async def users(
        self, info: PhilosInfo, search: str | None = None, first: int = 50
    ) -> UsersResult:
        return await resolve_users(info, search, first)

    @strawberry.field(
        description="One concept, by `id`, by `slug` or by `name` (exactly one of them); slug "
        "and name match whatever their case."
    )
    async def concept(
        self,
        info: PhilosInfo,
        id: strawberry.ID | None = None,
        slug: str | None = None,
        name: str | None = None,
    ) -> Concept | None:
        return await queries.concept(info.context, id, slug, name)

    @strawberry.field(description="Concepts, filtered and ordered, a page (1–100) at a time.")
    async def concepts(
        self,
        info: PhilosInfo,
        filter: ConceptFilter | None = None,
        order_by: Annotated[
            ConceptOrder | None,
            strawberry.argument(
                description="Default: RELEVANCE with `filter.search`, NAME_ASC without."
            ),
        ] = None,
        first: int = 20,
        after: str | None = None,
    ) -> ConceptConnection:
        flt = filter.to_domain() if filter else domain.ConceptFilter()
        at = tuple(info.path.as_list())
        return await queries.concepts(info.context, flt, order_by, first, after, at)

    @strawberry.field(
        description="Every tradition with how many concepts belong to it, most common first "
        "(at most 500).",
        metadata=store_cost(calls=1, items=50),
    )
    async def traditions(self, info: PhilosInfo) -> list[Facet]:
        return await traditions_of(info.context, domain.ConceptFilter())

    @strawberry.field(
        description="Every tag with how many concepts carry it, most common first (at most 500).",
        metadata=store_cost(calls=1, items=50),
    )
    async def tags(self, info: PhilosInfo) -> list[Facet]:
        return await tags_of(info.context, domain.ConceptFilter())

    @strawberry.field(
        description="How many concepts' periods overlap each span of `bucketYears` (10–1000) "
        "years, from the earliest period to the latest; `filter` narrows the concepts.",
        metadata=store_cost(calls=1, items=50),
    )
    async def eras(
        self, info: PhilosInfo, bucket_years: int = 100, filter: ConceptFilter | None = None
    ) -> list[EraBucket]:
        flt = filter.to_domain() if filter else domain.ConceptFilter()
        return await eras_of(info.context, flt, bucket_years)

    @strawberry.field(
        description="A concept drawn at random from those matching `filter`; null when none does.",
        metadata=store_cost(calls=1),
    )
    async def random_concept(
        self, info: PhilosInfo, filter: ConceptFilter | None = None
    ) -> Concept | None:
        flt = filter.to_domain() if filter else domain.ConceptFilter()
        return await queries.random_concept(info.context, flt)

    @strawberry.field(
        description="Relations, by id, a page (1–100) at a time; `filter` narrows them to a "
        "type, a source or a target concept."
    )
    async def relations(
        self,
        info: PhilosInfo,
        filter: RelationFilter | None = None,
        first: int = 20,
        after: str | None = None,
    ) -> RelationConnection:
        flt = filter.to_domain() if filter else domain.RelationFilter()
        return await queries.relations(info.context, flt, first, after)

    @strawberry.field(description="One thesis by id.")
    async def thesis(self, info: PhilosInfo, id: strawberry.ID) -> Thesis | None:
        return await queries.thesis(info.context, id)

    @strawberry.field(description="Theses, newest first, a page (1–100) at a time.")
    async def theses(
        self,
        info: PhilosInfo,
        filter: ThesisFilter | None = None,
        first: int = 20,
        after: str | None = None,
    ) -> ThesisConnection | None:
        flt = filter.to_domain() if filter else domain.ThesisFilter()
        return await queries.theses(info.context, flt, first, after)

    @strawberry.field(
        description="Relations a model suggested for a concept (see suggestRelations), newest "
        "first; `status` narrows them (PENDING: still to review).",
        metadata=store_cost(calls=1, items=50),
    )
    async def relation_suggestions(
        self,
        info: PhilosInfo,
        concept_id: strawberry.ID,
        status: SuggestionStatus | None = None,
    ) -> list[RelationSuggestion]:
        store = info.context.stores.suggestions
        found = await store.by_concept(str(concept_id), status) if is_id(concept_id) else []
        return [RelationSuggestion.from_record(s) for s in found]

    @strawberry.field(
        description="A background AI job (see `background` on the AI mutations): its status, "
        "and its result or failure once finished. Only its creator and ADMINs see it; for "
        "anyone else it is null.",
        # Per caller: never answered from the response cache (it is the creator's, and it
        # changes in a worker whose writes this process's data versions do not see).
        metadata={**per_caller(), **store_cost(calls=2)},
    )
    async def ai_job(self, info: PhilosInfo, id: strawberry.ID) -> AiJob | None:
        if not is_id(str(id)):
            return None
        try:
            return AiJob.from_record(await ai_jobs.read_job(info.context, str(id)))
        except domain.NotFoundError:
            return None

    @strawberry.field(
        description="A shortest chain of relations (either direction) between two concepts, "
        "at most `maxDepth` (1–6) steps; null when there is none. An id that names no concept "
        "is an error saying which.",
        # A walk out to maxDepth, then one statement per step back.
        metadata=store_cost(calls=2, per_depth=2),
    )
    async def path(
        self,
        info: PhilosInfo,
        from_id: strawberry.ID,
        to_id: strawberry.ID,
        max_depth: int = 4,
        types: RelationTypes = None,
    ) -> ConceptPath | None:
        return await queries.path(info.context, from_id, to_id, max_depth, types)

    @strawberry.field(
        description="The concepts within `depth` (1–3) steps of a root and the relations "
        "among them, for drawing; null when the root does not exist.",
        metadata=store_cost(calls=3, per_depth=2),
    )
    async def graph(
        self,
        info: PhilosInfo,
        root_id: strawberry.ID,
        depth: int = 1,
        types: RelationTypes = None,
    ) -> Graph | None:
        return await queries.graph(info.context, root_id, depth, types)


@strawberry.type
class ContentMutation:
    """Concepts, relations, theses and arguments."""

    @strawberry.mutation(description="Create a concept.")
    async def create_concept(
        self, info: PhilosInfo, input: CreateConceptInput
    ) -> CreateConceptResult:
        return await concept_ops.create_concept(info.context, input)

    @strawberry.mutation(description="Change a concept; pass the version you read.")
    async def update_concept(
        self, info: PhilosInfo, input: UpdateConceptInput
    ) -> UpdateConceptResult:
        return await concept_ops.update_concept(info.context, input)

    @strawberry.mutation(
        description="Delete a concept with its relations and theses. Unless you are an ADMIN, "
        "this is Forbidden when any of them was written by another user."
    )
    async def delete_concept(self, info: PhilosInfo, id: strawberry.ID) -> DeleteResult:
        return await concept_ops.delete_concept(info.context, id)

    @strawberry.mutation(description="Relate two concepts: source TYPE target.")
    async def relate_concepts(
        self, info: PhilosInfo, input: RelateConceptsInput
    ) -> RelateConceptsResult:
        return await concept_ops.relate_concepts(info.context, input)

    @strawberry.mutation(description="Remove a relation.")
    async def remove_relation(self, info: PhilosInfo, id: strawberry.ID) -> DeleteResult:
        return await concept_ops.remove_relation(info.context, id)

    @strawberry.mutation(description="Add a thesis about a concept.")
    async def create_thesis(self, info: PhilosInfo, input: CreateThesisInput) -> ThesisResult:
        return await thesis_ops.create_thesis(info.context, input)

    @strawberry.mutation(
        description="Change a thesis; arguments change through add/removeArgument."
    )
    async def update_thesis(self, info: PhilosInfo, input: UpdateThesisInput) -> ThesisResult:
        return await thesis_ops.update_thesis(info.context, input)

    @strawberry.mutation(description="Delete a thesis.")
    async def delete_thesis(self, info: PhilosInfo, id: strawberry.ID) -> DeleteResult:
        return await thesis_ops.delete_thesis(info.context, id)

    @strawberry.mutation(description="Add an argument for or against a thesis.")
    async def add_argument(self, info: PhilosInfo, input: AddArgumentInput) -> ThesisResult:
        return await thesis_ops.add_argument(info.context, input)

    @strawberry.mutation(description="Remove an argument from a thesis.")
    async def remove_argument(
        self, info: PhilosInfo, thesis_id: strawberry.ID, argument_id: strawberry.ID
    ) -> ThesisResult:
        return await thesis_ops.remove_argument(info.context, thesis_id, argument_id)


def build_schema(
    extensions: Iterable[Callable[[], SchemaExtension] | type[SchemaExtension]] = (),
    config: StrawberryConfig | None = None,
) -> strawberry.Schema:
    return strawberry.Schema(
        query=Query,
        mutation=merge_types("Mutation", MUTATIONS),
        subscription=Subscription,
        extensions=list(extensions),
        config=config,
        execution_context_class=PlainFieldsExecution,
    )


# Each feature contributes its mutations as one class; they meet here in one Mutation type.
MUTATIONS: tuple[type, ...] = (
    ContentMutation,
    AuthMutation,
    AiMutation,
)
