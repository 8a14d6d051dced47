"""The domain: plain data shared by every layer, and the errors services raise.

Nothing here knows about GraphQL or databases. Records are frozen dataclasses so a loader's
cached value can be handed to many resolvers safely.
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Generic, TypeVar

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
class ThesisFilter:
    concept_id: str | None = None
    stance: Stance | None = None
    search: str | None = None


@dataclass(frozen=True, slots=True)
class Page:
    """A window into an ordered list: ``limit`` rows after skipping ``offset``."""

    offset: int = 0
    limit: int = 20


@dataclass(frozen=True, slots=True)
class PageResult(Generic[T]):
    items: list[T]
    total: int


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


class PhilosError(Exception):
    """Base of the expected failures; each becomes a typed payload for the client."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFoundError(PhilosError):
    def __init__(self, kind: str, ident: str) -> None:
        super().__init__(f"No {kind} with id '{ident}' exists.")
        self.kind = kind
        self.ident = ident


@dataclass(frozen=True, slots=True)
class FieldProblem:
    field: str
    message: str


class ValidationError(PhilosError):
    def __init__(self, problems: list[FieldProblem]) -> None:
        summary = " ".join(f"{p.field}: {p.message}" for p in problems)
        super().__init__(f"The input is not valid. {summary}")
        self.problems = problems


class ForbiddenError(PhilosError):
    """The caller may not do this; the message says what role or sign-in it needs."""


class AuthError(PhilosError):
    """Credentials or a token were wrong, expired or revoked."""


class AuthRateLimitedError(PhilosError):
    """Too many failed sign-ins for the account or from the client: wait ``retry_after``
    seconds (during a lock-out even the right password is refused)."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            f"Too many failed attempts; try again in {retry_after} seconds."
            if retry_after > 1
            else "Too many failed attempts; try again in a second."
        )
        self.retry_after = retry_after


class StoreUnavailableError(PhilosError):
    """A backing store timed out, failed or is behind an open circuit breaker."""

    def __init__(self, store: str, reason: str) -> None:
        super().__init__(
            f"The {store} store is unavailable right now ({reason}); try again shortly."
        )
        self.store = store
        self.reason = reason


class ConflictError(PhilosError):
    def __init__(self, message: str, current_version: int | None = None) -> None:
        super().__init__(message)
        self.current_version = current_version


class InputRejectedError(PhilosError):
    """A store refused a value the caller sent (not encodable, out of range, too large).

    The store is healthy; this is the caller's mistake and counts against no breaker."""

    def __init__(self, store: str) -> None:
        super().__init__(
            f"The {store} store cannot accept a value in this request (text it cannot store, "
            "a number out of range, or a value too large); change the input and try again."
        )
        self.store = store


class BudgetExceededError(PhilosError):
    """The request used up its budget of store calls; the rest of it is not run."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"The query needs more than {limit} store calls, this server's limit for one "
            "request; ask for fewer or smaller nested lists, or split it into several queries."
        )
        self.limit = limit
