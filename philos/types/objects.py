"""The GraphQL object types. Scalar fields are plain attributes copied from the domain record;
only fields that reach another record have resolvers, and those go through the request's
DataLoaders.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, cast

import strawberry
from strawberry.types import Info

from philos import domain
from philos.datasources.loaders import NOT_LOADED, NotLoaded, load_all, loaded
from philos.domain.search import highlight
from philos.types.arguments import theses_of_first
from philos.types.context import Context
from philos.types.enums import (
    Direction,
    Polarity,
    ProvenanceKind,
    RelationType,
    Role,
    Stance,
    ThesisStatus,
)
from philos.types.facets import ConceptFacets
from philos.types.hints import in_hand, list_argument, per_level, reads, store_cost
from philos.types.paging import check_range
from philos.types.projection import read_attributes, selected_names
from philos.validation import MAX_ARGUMENTS, MAX_SOURCES

PhilosInfo = Info[Context, None]

# What the cost limit assumes of lists without `first` (see types/hints.py): a concept's
# relations, and how many concepts each step of a neighbourhood walk adds. Real lists may be
# longer; the response size limit bounds those.
RELATIONS_PER_CONCEPT = 25
NEIGHBOURS_PER_STEP = 8
MAX_PATH_DEPTH = 6
GRAPH_MAX_NODES = 500

# Every relation type at most once: a longer list could only repeat them.
RelationTypes = Annotated[
    list[RelationType] | None,
    list_argument(len(domain.RelationType), "Only these relation types; null for all."),
]


async def _relations_of(
    info: PhilosInfo,
    concepts: Sequence[Concept],
    direction: Direction = Direction.BOTH,
    types: Sequence[RelationType] | None = None,
) -> list[list[Relation]]:
    """``Concept.relations`` of each concept, for a whole list level in one loader batch."""
    ends = _selects_ends(info)
    kind = tuple(sorted(set(types or ())))
    keys = [(str(c.id), direction, kind, ends) for c in concepts]
    found = await load_all(info.context.loaders.edges, keys)
    return [[Relation.from_domain(r) for r in rels] for rels in found]


async def _theses_of(
    info: PhilosInfo,
    concepts: Sequence[Concept],
    stance: Stance | None = None,
    first: int = 20,
) -> list[list[Thesis]]:
    """``Concept.theses`` of each concept, for a whole list level in one loader batch."""
    theses_of_first(first)
    fields = domain.thesis_fields(read_attributes(info, domain.THESIS_FIELDS))
    keys = [(str(c.id), stance, first, fields) for c in concepts]
    found = await load_all(info.context.loaders.theses_of, keys)
    return [[Thesis.from_domain(t) for t in theses] for theses in found]


@strawberry.type(description="Who or what made a record.")
class Provenance:
    kind: ProvenanceKind
    model: str | None = strawberry.field(description="The AI model, for AI-made records.")
    prompt_version: str | None

    @classmethod
    def from_domain(cls, p: domain.Provenance) -> Provenance:
        # The domain record already has every field this type reads (the default resolver is
        # getattr, and resolver methods get the record as ``self``), so it is served as is:
        # no copy per object on hot list paths.
        return cast(Provenance, p)


@strawberry.type(description="A person who writes in Philos. Only public fields are exposed.")
class User:
    id: strawberry.ID
    display_name: str
    role: Role
    created_at: datetime

    @classmethod
    def from_domain(cls, u: domain.User) -> User:
        # The domain record already has every field this type reads (the default resolver is
        # getattr, and resolver methods get the record as ``self``), so it is served as is:
        # no copy per object on hot list paths.
        return cast(User, u)

    @classmethod
    async def resolve_reference(cls, info: PhilosInfo, id: str) -> User | None:
        """The user a federated subgraph is asked for by key (``_entities``), through the
        request's loader: the gateway's N representations cost one store call."""
        found = await info.context.loaders.user.load(id)
        return User.from_domain(found) if found else None


@strawberry.type(
    description="A philosophical concept: the anchor every relation and thesis refers to."
)
class Concept:
    id: strawberry.ID
    slug: str = strawberry.field(
        description="Unique, URL-safe name, e.g. 'categorical-imperative'."
    )
    name: str
    summary: str = strawberry.field(description="At most 500 characters of plain text.")
    body: str = strawberry.field(description="Longer markdown text; may be empty.")
    tradition: str | None
    era_from: int | None = strawberry.field(
        description="First year of the concept's period; BCE negative."
    )
    era_to: int | None = strawberry.field(
        description="Last year of the concept's period; BCE negative."
    )
    tags: list[str]
    aliases: list[str]
    wikidata_id: str | None
    sep_url: str | None = strawberry.field(description="Stanford Encyclopedia of Philosophy entry.")
    created_at: datetime
    updated_at: datetime
    version: int = strawberry.field(
        description="Pass it back to updateConcept; it changes on every update."
    )
    author_id: strawberry.Private[str | None]

    @classmethod
    def from_domain(cls, c: domain.Concept) -> Concept:
        # The domain record already has every field this type reads (the default resolver is
        # getattr, and resolver methods get the record as ``self``), so it is served as is:
        # no copy per object on hot list paths.
        return cast(Concept, c)

    @classmethod
    async def resolve_reference(cls, info: PhilosInfo, id: str) -> Concept | None:
        """The concept a federated subgraph is asked for by key (``_entities``), through the
        request's loader: the gateway's N representations cost one store call."""
        return await concept_by_id(info, id)

    @strawberry.field(
        description="Relations touching this concept, by type then weight.",
        metadata={**store_cost(items=RELATIONS_PER_CONCEPT), **per_level(_relations_of)},
    )
    async def relations(
        self,
        info: PhilosInfo,
        direction: Direction = Direction.BOTH,
        types: RelationTypes = None,
    ) -> list[Relation] | None:
        return (await _relations_of(info, [self], direction, types))[0]

    @strawberry.field(
        description="Concepts within `depth` steps (1–3), nearest first.",
        # Batched per level (loaders.walk_levels): no store call per parent, but the
        # neighbourhood widens with every step.
        metadata=store_cost(items=NEIGHBOURS_PER_STEP, per_depth=NEIGHBOURS_PER_STEP),
    )
    async def neighbours(
        self,
        info: PhilosInfo,
        depth: int = 1,
        types: RelationTypes = None,
        direction: Direction = Direction.BOTH,
    ) -> list[Neighbour] | None:
        check_range("depth", depth, 1, 3)
        key = (str(self.id), depth, tuple(types or ()), direction)
        found = await info.context.loaders.neighbours.load(key)
        concepts = [
            c for c in await info.context.loaders.concept.load_many(list(found)) if c is not None
        ]
        concepts.sort(key=lambda c: (found[c.id], c.name.lower(), c.id))
        return [Neighbour(concept=Concept.from_domain(c), distance=found[c.id]) for c in concepts]

    @strawberry.field(
        description="Theses about this concept, newest first.", metadata=per_level(_theses_of)
    )
    async def theses(
        self, info: PhilosInfo, stance: Stance | None = None, first: int = 20
    ) -> list[Thesis] | None:
        return (await _theses_of(info, [self], stance, first))[0]

    @strawberry.field(description="How many theses this concept has.")
    async def thesis_count(self, info: PhilosInfo) -> int | None:
        return await info.context.loaders.thesis_count.load(str(self.id))

    @strawberry.field(description="Who created the concept, if known.")
    async def author(self, info: PhilosInfo) -> User | None:
        if self.author_id is None:
            return None
        user = await info.context.loaders.user.load(self.author_id)
        return User.from_domain(user) if user else None

    @strawberry.field(
        description=(
            "Why this concept matched the list's `filter.search`: the best-ranked field that "
            "matched (name, an alias, summary, or a window of the body), matched words between "
            "« and » (plain text, not markup). Null outside a searched list."
        )
    )
    def search_highlight(self, info: PhilosInfo) -> str | None:
        path = info.path.as_list()  # [...list, "edges", i, "node", "searchHighlight"]
        if len(path) < 5 or path[-2] != "node" or path[-4] != "edges":
            return None
        search = info.context.searches.get(tuple(path[:-4]))
        if search is None:
            return None
        fields = [self.name, *self.aliases, self.summary, self.body]
        return highlight(search, fields) or self.name


async def concept_by_id(info: PhilosInfo, concept_id: str) -> Concept | None:
    """A related concept through the request's loader; None once it has been deleted."""
    found = await info.context.loaders.concept.load(str(concept_id))
    return Concept.from_domain(found) if found else None


_ENDS = frozenset(("source", "target"))


def held_concept(context: Context, concept_id: str) -> Concept | NotLoaded | None:
    """The concept the request's loader already holds (None: there is none), or
    ``NOT_LOADED``."""
    found = loaded(context.loaders.concept, str(concept_id))
    if found is NOT_LOADED:
        return NOT_LOADED
    return Concept.from_domain(cast("domain.Concept", found)) if found else None


def concept_in_hand(info: PhilosInfo, concept_id: str) -> Concept | None:
    """``concept_by_id`` for a sync resolver: the concept when the request's loader already
    holds it, else the awaitable ``concept_by_id``, which graphql-core awaits as it awaits any
    resolver's result (typed as the value: Strawberry types the field from the annotation)."""
    found = held_concept(info.context, concept_id)
    if isinstance(found, NotLoaded):
        return cast("Concept | None", concept_by_id(info, concept_id))
    return found


def _selects_ends(info: PhilosInfo) -> bool:
    """Whether the query selects ``source`` or ``target`` under the current field (directly
    or through fragments). Read from the document's syntax tree: Strawberry's
    ``info.selected_fields`` converts the whole sub-selection on every call, once per parent
    on a list."""
    return any(name in _ENDS for name in selected_names(info))


@strawberry.type(description="A concept reached from another, with its distance in steps.")
class Neighbour:
    concept: Concept
    distance: int


@strawberry.type(description="A typed, directed link: source TYPE target (e.g. A INFLUENCED_BY B).")
class Relation:
    id: strawberry.ID
    type: RelationType
    weight: float = strawberry.field(description="How strong or central the link is, 0 to 1.")
    note: str | None
    provenance: Provenance
    created_at: datetime
    source_id: strawberry.ID
    target_id: strawberry.ID

    @classmethod
    def from_domain(cls, r: domain.Relation) -> Relation:
        # The domain record already has every field this type reads (the default resolver is
        # getattr, and resolver methods get the record as ``self``), so it is served as is:
        # no copy per object on hot list paths.
        return cast(Relation, r)

    # Not async: a relation list loads its end concepts with it, so these are usually in hand
    # (``concept_in_hand``), and a value needs none of the machinery of awaiting one.
    @strawberry.field(metadata=in_hand(lambda r, context: held_concept(context, r.source_id)))
    def source(self, info: PhilosInfo) -> Concept | None:
        return concept_in_hand(info, self.source_id)

    @strawberry.field(metadata=in_hand(lambda r, context: held_concept(context, r.target_id)))
    def target(self, info: PhilosInfo) -> Concept | None:
        return concept_in_hand(info, self.target_id)


@strawberry.type(description="A reason for or against a thesis.")
class Argument:
    id: strawberry.ID
    polarity: Polarity
    text: str
    strength: float = strawberry.field(description="0 (weak) to 1 (decisive).")


@strawberry.type(description="A published work a thesis rests on.")
class Source:
    author: str
    work: str
    year: int | None = strawberry.field(description="Year of the work; BCE negative.")
    url: str | None


@strawberry.type(description="A claim about a concept, with arguments and sources.")
class Thesis:
    id: strawberry.ID
    concept_id: strawberry.ID
    statement: str
    stance: Stance
    arguments: list[Argument] = strawberry.field(metadata=store_cost(items=MAX_ARGUMENTS))
    sources: list[Source] = strawberry.field(metadata=store_cost(items=MAX_SOURCES))
    related_concept_ids: list[strawberry.ID]
    tags: list[str]
    provenance: Provenance
    status: ThesisStatus
    created_at: datetime
    updated_at: datetime
    version: int
    synthesis_of: strawberry.Private[tuple[str, ...]]

    @classmethod
    def from_domain(cls, t: domain.Thesis) -> Thesis:
        # The domain record already has every field this type reads (the default resolver is
        # getattr, and resolver methods get the record as ``self``), so it is served as is:
        # no copy per object on hot list paths.
        return cast(Thesis, t)

    @classmethod
    async def resolve_reference(cls, info: PhilosInfo, id: str) -> Thesis | None:
        """The thesis a federated subgraph is asked for by key (``_entities``), through the
        request's loader: the gateway's N representations cost one store call."""
        found = await info.context.loaders.thesis.load(id)
        return Thesis.from_domain(found) if found else None

    @strawberry.field(description="The concept the thesis is about.", metadata=reads("concept_id"))
    async def concept(self, info: PhilosInfo) -> Concept | None:
        return await concept_by_id(info, self.concept_id)

    @strawberry.field(
        name="synthesisOf",
        description="For a synthesis: the thesis and the antithesis it reconciles (those that "
        "still exist); empty for other theses.",
        metadata={**store_cost(items=2), **reads("synthesis_of")},
    )
    async def synthesis_of_theses(self, info: PhilosInfo) -> list[Thesis]:
        found = await info.context.loaders.thesis.load_many(list(self.synthesis_of))
        return [Thesis.from_domain(t) for t in found if t is not None]


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class ConceptEdge:
    cursor: str
    node: Concept


@strawberry.type(description="A page of concepts (Relay connection).")
class ConceptConnection:
    # A page's lists are as long as the connection's `first`, which the cost already counts.
    edges: list[ConceptEdge] = strawberry.field(metadata=store_cost(items=1))
    page_info: PageInfo
    total_count: int = strawberry.field(description="All concepts matching the filter.")
    filter: strawberry.Private[domain.ConceptFilter] = domain.ConceptFilter()

    @strawberry.field(
        description="Traditions, tags and periods of all concepts matching the filter."
    )
    def facets(self) -> ConceptFacets:
        return ConceptFacets(filter=self.filter)

    @strawberry.field(
        description="The page's concepts, without cursors.", metadata=store_cost(items=1)
    )
    def nodes(self) -> list[Concept]:
        return [e.node for e in self.edges]


@strawberry.type
class ThesisEdge:
    cursor: str
    node: Thesis


@strawberry.type(description="A page of theses (Relay connection).")
class ThesisConnection:
    edges: list[ThesisEdge] = strawberry.field(metadata=store_cost(items=1))
    page_info: PageInfo
    total_count: int

    @strawberry.field(
        description="The page's theses, without cursors.", metadata=store_cost(items=1)
    )
    def nodes(self) -> list[Thesis]:
        return [e.node for e in self.edges]


@strawberry.type
class RelationEdge:
    cursor: str
    node: Relation


@strawberry.type(description="A page of relations (Relay connection).")
class RelationConnection:
    edges: list[RelationEdge] = strawberry.field(metadata=store_cost(items=1))
    page_info: PageInfo
    total_count: int

    @strawberry.field(
        description="The page's relations, without cursors.", metadata=store_cost(items=1)
    )
    def nodes(self) -> list[Relation]:
        return [e.node for e in self.edges]


@strawberry.type(description="A shortest chain of relations between two concepts.")
class ConceptPath:
    concepts: list[Concept] = strawberry.field(
        description="From the start to the end, inclusive.",
        metadata=store_cost(items=MAX_PATH_DEPTH + 1),
    )
    relations: list[Relation] = strawberry.field(
        description="relations[i] links concepts[i] and concepts[i+1], in either direction.",
        metadata=store_cost(items=MAX_PATH_DEPTH),
    )
    length: int = strawberry.field(description="Number of relations on the path.")


@strawberry.type(description="A neighbourhood of a concept, ready to draw.")
class Graph:
    nodes: list[Concept] = strawberry.field(metadata=store_cost(items=GRAPH_MAX_NODES))
    edges: list[Relation] = strawberry.field(metadata=store_cost(items=2 * GRAPH_MAX_NODES))
    truncated: bool = strawberry.field(
        description="True when nodes past the size cap were left out."
    )
