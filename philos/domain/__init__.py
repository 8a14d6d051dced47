"""The domain: plain data shared by every layer, and the errors services raise.

Nothing here knows about GraphQL or databases. Records are frozen dataclasses so a loader's
cached value can be handed to many resolvers safely.
"""

from __future__ import annotations

import dataclasses
import enum
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from philos.errors import (
    AuthError as AuthError,
)
from philos.errors import (
    AuthRateLimitedError as AuthRateLimitedError,
)
from philos.errors import (
    BudgetExceededError as BudgetExceededError,
)
from philos.errors import (
    ConflictError as ConflictError,
)
from philos.errors import (
    FieldProblem as FieldProblem,
)
from philos.errors import (
    ForbiddenError as ForbiddenError,
)
from philos.errors import (
    InputRejectedError as InputRejectedError,
)
from philos.errors import (
    NotFoundError as NotFoundError,
)
from philos.errors import (
    PhilosError as PhilosError,
)
from philos.errors import (
    StoreUnavailableError as StoreUnavailableError,
)
from philos.errors import (
    ValidationError as ValidationError,
)

T = TypeVar("T")


def new_id() -> str:
    return str(uuid.uuid4())


def utcnow() -> datetime:
    return datetime.now(UTC)


class RelationType(enum.StrEnum):
    IS_A = "IS_A"
    PART_OF = "PART_OF"
    INFLUENCED_BY = "INFLUENCED_BY"
    DERIVES_FROM = "DERIVES_FROM"
    OPPOSES = "OPPOSES"
    CONTRADICTS = "CONTRADICTS"
    ENTAILS = "ENTAILS"
    REFINES = "REFINES"
    ANALOGOUS_TO = "ANALOGOUS_TO"
    RELATED_TO = "RELATED_TO"


class Direction(enum.StrEnum):
    OUTGOING = "OUTGOING"
    INCOMING = "INCOMING"
    BOTH = "BOTH"


class Stance(enum.StrEnum):
    AFFIRMS = "AFFIRMS"
    DENIES = "DENIES"
    QUALIFIES = "QUALIFIES"


class Polarity(enum.StrEnum):
    PRO = "PRO"
    CON = "CON"


class ProvenanceKind(enum.StrEnum):
    HUMAN = "HUMAN"
    AI = "AI"


class ThesisStatus(enum.StrEnum):
    DRAFT = "DRAFT"
    PUBLISHED = "PUBLISHED"


class Role(enum.StrEnum):
    READER = "READER"
    EDITOR = "EDITOR"
    ADMIN = "ADMIN"


class ConceptOrder(enum.StrEnum):
    NAME_ASC = "NAME_ASC"
    NAME_DESC = "NAME_DESC"
    ERA_ASC = "ERA_ASC"
    ERA_DESC = "ERA_DESC"
    CREATED_AT_ASC = "CREATED_AT_ASC"
    CREATED_AT_DESC = "CREATED_AT_DESC"
    UPDATED_AT_DESC = "UPDATED_AT_DESC"
    # Best match of the filter's `search` first (see philos/domain/search.py); without a
    # search, the same as NAME_ASC.
    RELEVANCE = "RELEVANCE"


@dataclass(frozen=True, slots=True)
class Provenance:
    kind: ProvenanceKind = ProvenanceKind.HUMAN
    model: str | None = None
    prompt_version: str | None = None


@dataclass(frozen=True, slots=True)
class Concept:
    id: str
    slug: str
    name: str
    summary: str
    body: str = ""
    tradition: str | None = None
    era_from: int | None = None
    era_to: int | None = None
    tags: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    wikidata_id: str | None = None
    sep_url: str | None = None
    author_id: str | None = None
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)
    version: int = 1


@dataclass(frozen=True, slots=True)
class Relation:
    id: str
    source_id: str
    target_id: str
    type: RelationType
    weight: float = 0.5
    note: str | None = None
    provenance: Provenance = field(default_factory=Provenance)
    author_id: str | None = None
    created_at: datetime = field(default_factory=utcnow)


@dataclass(frozen=True, slots=True)
class Argument:
    id: str
    polarity: Polarity
    text: str
    strength: float = 0.5


@dataclass(frozen=True, slots=True)
class Source:
    author: str
    work: str
    year: int | None = None
    url: str | None = None


@dataclass(frozen=True, slots=True)
class Thesis:
    id: str
    concept_id: str
    statement: str
    stance: Stance
    arguments: tuple[Argument, ...] = ()
    sources: tuple[Source, ...] = ()
    related_concept_ids: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    provenance: Provenance = field(default_factory=Provenance)
    status: ThesisStatus = ThesisStatus.PUBLISHED
    synthesis_of: tuple[str, ...] = ()  # the thesis and antithesis a synthesis reconciles
    author_id: str | None = None
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)
    version: int = 1


# Every attribute of a thesis, and the ones a thesis read with only some of them (a store's
# ``by_concepts(..., fields=...)``) carries all the same; its other attributes are left at
# their defaults, so such a thesis is for a reader that reads no more than it asked for.
THESIS_FIELDS = frozenset(f.name for f in dataclasses.fields(Thesis))
THESIS_ALWAYS = frozenset({"id", "concept_id", "statement", "stance"})
# What an attribute not read is left at, where its default would be made anew for each thesis.
THESIS_UNREAD: dict[str, Any] = {
    "provenance": Provenance(),
    "created_at": datetime(1970, 1, 1, tzinfo=UTC),
    "updated_at": datetime(1970, 1, 1, tzinfo=UTC),
}


def thesis_fields(wanted: Iterable[str] | None) -> frozenset[str] | None:
    """The attributes to read for a reader of ``wanted`` (None: all of them), as the one
    value each distinct need has: None when that is every attribute."""
    if wanted is None:
        return None
    fields = THESIS_ALWAYS | frozenset(wanted)
    unknown = fields - THESIS_FIELDS
    if unknown:
        raise ValueError(f"a thesis has no {', '.join(sorted(unknown))}")
    return None if fields == THESIS_FIELDS else fields


@dataclass(frozen=True, slots=True)
class Dependant:
    """A record that goes when its concept is deleted: one of its theses (``kind`` "thesis")
    or a relation touching it ("relation"). Who wrote it decides who may delete the concept."""

    kind: str
    id: str
    author_id: str | None


@dataclass(frozen=True, slots=True)
class User:
    id: str
    email: str
    display_name: str
    password_hash: str
    role: Role = Role.READER
    created_at: datetime = field(default_factory=utcnow)


@dataclass(frozen=True, slots=True)
class RefreshToken:
    id: str
    user_id: str
    family_id: str
    token_hash: str
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None = None
    revoked_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is asking: a signed-in user, or nobody (``user_id`` None, role READER)."""

    user_id: str | None = None
    role: Role = Role.READER

    @property
    def signed_in(self) -> bool:
        return self.user_id is not None


ANONYMOUS = Principal()


# Queries -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ConceptFilter:
    search: str | None = None
    tradition: str | None = None
    tags: tuple[str, ...] = ()
    era_from: int | None = None
    era_to: int | None = None


@dataclass(frozen=True, slots=True)
class RelationFilter:
    type: RelationType | None = None
    source_id: str | None = None
    target_id: str | None = None


@dataclass(frozen=True, slots=True)
class ThesisFilter:
    concept_id: str | None = None
    stance: Stance | None = None
    search: str | None = None


@dataclass(frozen=True, slots=True)
class Keyset:
    """Where a page starts: just after the row whose sort key is ``values`` and id ``id``.

    ``values`` are the row's own column values the order sorts on (the name as written, not
    lower-cased; ``None`` for a missing era), in the order's key order, the id excluded. In a
    searched list they are the values of the store's ranking key instead, as the store gave
    them with the page (``PageResult.keys``).
    """

    values: tuple[Any, ...]
    id: str


@dataclass(frozen=True, slots=True)
class Page:
    """A window into an ordered list: ``limit`` rows after the row ``after`` (from the start
    when None). A store reads them with ``WHERE (key, id) > after``, so rows added or removed
    elsewhere in the list neither shift nor repeat the rows of later pages.
    """

    limit: int = 20
    after: Keyset | None = None


@dataclass(frozen=True, slots=True)
class Facet:
    """One value of a concept attribute (a tradition, a tag) and how many concepts have it."""

    name: str
    count: int


@dataclass(frozen=True, slots=True)
class EraSpan:
    """A concept's period, for era histograms: ``era_to`` None means a single year."""

    era_from: int
    era_to: int | None


@dataclass(frozen=True, slots=True)
class ConceptFacets:
    """What the concepts matching a filter have: traditions and tags, most common first, and
    the periods of those that have one."""

    traditions: list[Facet]
    tags: list[Facet]
    eras: list[EraSpan]


@dataclass(frozen=True, slots=True)
class PageResult(Generic[T]):
    """A page's rows; ``total`` counts every row matching the filter, ``has_next`` whether rows
    follow the page and ``has_previous`` whether rows precede its ``after`` key.

    ``keys``, in a searched list, holds each row's values of the store's ranking key (the
    id apart): a cursor carries them back as ``Keyset.values``. Other lists sort on the
    rows' own columns, and leave it None."""

    items: list[T]
    total: int
    has_next: bool = False
    has_previous: bool = False
    keys: list[tuple[Any, ...]] | None = None


@dataclass(frozen=True, slots=True)
class Subgraph:
    nodes: list[Concept]
    edges: list[Relation]
    truncated: bool = False


@dataclass(frozen=True, slots=True)
class Path:
    concept_ids: list[str]
    relations: list[Relation]


# Errors --------------------------------------------------------------------------------------
