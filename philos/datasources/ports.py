"""The ports: what the rest of Philos needs from a store, and nothing more.

Every read that nested GraphQL fields make takes many keys at once (``get_many``,
``edges_of``, ``by_concepts``…) so a per-request DataLoader can serve a whole list level with one
call. Results are keyed by id, never positional. Each port has ``ping`` (for ``/ready``) and
``aclose``, and declares right after itself which of its methods read and which write
(``declare``): the guard retries reads and bumps data versions after writes, and a test checks
that every method is one or the other.
"""

from __future__ import annotations

import builtins
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TypeVar

from philos.domain import (
    Argument,
    Concept,
    ConceptFacets,
    ConceptFilter,
    ConceptOrder,
    Dependant,
    Direction,
    Page,
    PageResult,
    Path,
    RefreshToken,
    Relation,
    RelationFilter,
    RelationType,
    Role,
    Stance,
    Thesis,
    ThesisFilter,
    User,
)
from philos.domain.ai import AiCallRecord, AiJob, AiJobStatus, RelationSuggestion, SuggestionStatus
from philos.domain.events import DomainEvent
from philos.errors import (
    LlmError as LlmError,
)
from philos.errors import (
    LlmFailed as LlmFailed,
)
from philos.errors import (
    LlmRateLimited as LlmRateLimited,
)
from philos.errors import (
    TokenUsage as TokenUsage,
)

# Called inside a concept's delete, with the concept locked and the records of it kept in the
# same database; raises (``ForbiddenError``) to refuse, and then nothing is deleted.
DeleteCheck = Callable[[Concept, Sequence[Dependant]], Awaitable[None]]


class Store(Protocol):
    name: str

    async def ping(self) -> None:
        """Raise if the backing server cannot answer."""

    async def aclose(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Access:
    reads: frozenset[str]
    writes: frozenset[str]


# Each port's reads and writes, declared next to it. Methods every port has (``ping``,
# ``aclose``, ``setup``) are neither: the guard passes them through.
ACCESS: dict[type, Access] = {}
LIFECYCLE = frozenset({"ping", "aclose", "setup"})


def declare(port: type, *, reads: set[str], writes: set[str]) -> None:
    ACCESS[port] = Access(frozenset(reads), frozenset(writes))


class ConceptStore(Store, Protocol):
    async def get_many(self, ids: Sequence[str]) -> dict[str, Concept]: ...

    async def get_many_by_slug(self, slugs: Sequence[str]) -> dict[str, Concept]: ...

    async def get_many_by_name(self, names: Sequence[str]) -> dict[str, Concept]:
        """Concepts by name, case-insensitively: keyed by the lower-cased name asked for
        (names are not unique: of several, the first created)."""

    async def list(
        self, filter: ConceptFilter, order: ConceptOrder, page: Page
    ) -> PageResult[Concept]: ...

    async def create(self, concept: Concept) -> Concept:
        """Insert; raises ``ConflictError`` when the slug is taken."""

    async def update(self, concept: Concept, expected_version: int) -> Concept:
        """Replace a concept's fields if its version still equals ``expected_version``.

        Raises ``NotFoundError`` or ``ConflictError`` (stale version or taken slug).
        """

    async def delete(self, concept_id: str, check: DeleteCheck | None = None) -> bool:
        """Delete a concept with, where they live in the same database, its relations and
        theses, in one transaction. Returns False when there was no such concept, so of two
        concurrent deletes exactly one returns True.

        ``check`` runs in that transaction, after the concept is locked (no record of it can be
        added until the transaction ends) and before anything is deleted."""


declare(
    ConceptStore,
    reads={"get_many", "get_many_by_slug", "list", "get_many_by_name"},
    writes={"create", "update", "delete"},
)


class GraphStore(Store, Protocol):
    async def get_relations(self, ids: Sequence[str]) -> dict[str, Relation]: ...

    async def edges_of(
        self,
        concept_ids: Sequence[str],
        direction: Direction,
        types: Sequence[RelationType] | None = None,
    ) -> dict[str, builtins.list[Relation]]:
        """Relations touching each concept, keyed by concept id, ordered by type, then weight
        (highest first), then id."""

    async def edges_with_ends(
        self,
        concept_ids: Sequence[str],
        direction: Direction,
        types: Sequence[RelationType] | None = None,
    ) -> tuple[dict[str, builtins.list[Relation]], dict[str, Concept]]:
        """``edges_of``, and by id the concepts at the relations' other ends (those not in
        ``concept_ids``) read in the same round trip when this store holds the concepts
        themselves; a store that keeps only a projection of them answers none, and the
        caller reads them from the concept store."""

    async def neighbours(
        self,
        concept_id: str,
        depth: int,
        types: Sequence[RelationType] | None = None,
        direction: Direction = Direction.BOTH,
    ) -> dict[str, int]:
        """Concepts reachable within ``depth`` steps, mapped to their distance (root excluded)."""

    async def shortest_path(
        self,
        from_id: str,
        to_id: str,
        max_depth: int,
        types: Sequence[RelationType] | None = None,
    ) -> Path | None:
        """One shortest undirected path; deterministic among equals."""

    async def subgraph(
        self,
        root_id: str,
        depth: int,
        types: Sequence[RelationType] | None = None,
        max_nodes: int = 500,
    ) -> tuple[builtins.list[str], builtins.list[Relation], bool]:
        """Node ids (root first), the relations among them, and whether nodes were cut."""

    async def list_relations(self, filter: RelationFilter, page: Page) -> PageResult[Relation]:
        """Relations matching the filter, by id, ``limit`` of them after ``page.after``."""

    async def relate(self, relation: Relation) -> Relation:
        """Insert; raises ``ConflictError`` on a duplicate (source, target, type)."""

    async def remove_relation(self, relation_id: str) -> bool: ...

    async def upsert_concepts(self, concepts: Sequence[Concept]) -> None:
        """Make the store's copy of these concepts (id, slug, name) current (idempotent).

        A store that reads concepts from the concept database itself does nothing."""

    async def remove_concept(self, concept_id: str) -> None:
        """Drop every relation touching the concept, and any copy of it (idempotent)."""


declare(
    GraphStore,
    reads={
        "get_relations",
        "edges_of",
        "edges_with_ends",
        "neighbours",
        "shortest_path",
        "subgraph",
        "list_relations",
    },
    writes={"relate", "remove_relation", "upsert_concepts", "remove_concept"},
)


class ThesisStore(Store, Protocol):
    async def get_many(self, ids: Sequence[str]) -> dict[str, Thesis]: ...

    async def list(self, filter: ThesisFilter, page: Page) -> PageResult[Thesis]: ...

    async def by_concepts(
        self,
        concept_ids: Sequence[str],
        stance: Stance | None = None,
        limit_per_concept: int | None = None,
        fields: frozenset[str] | None = None,
    ) -> dict[str, builtins.list[Thesis]]:
        """Theses of each concept, newest first. ``fields`` (``domain.thesis_fields``): only
        these attributes are read, the others left at their defaults; None reads them all."""

    async def count_by_concepts(self, concept_ids: Sequence[str]) -> dict[str, int]: ...

    async def create(self, thesis: Thesis) -> Thesis: ...

    async def update(self, thesis: Thesis, expected_version: int | None) -> Thesis:
        """Replace a thesis; ``expected_version`` None skips the concurrency check."""

    async def delete(self, thesis_id: str) -> bool: ...

    async def add_argument(self, thesis_id: str, argument: Argument) -> Thesis: ...

    async def remove_argument(self, thesis_id: str, argument_id: str) -> Thesis: ...

    async def remove_concept(self, concept_id: str) -> None:
        """Drop every thesis of the concept (idempotent)."""


declare(
    ThesisStore,
    reads={"get_many", "list", "by_concepts", "count_by_concepts"},
    writes={"create", "update", "delete", "add_argument", "remove_argument", "remove_concept"},
)


class UserStore(Store, Protocol):
    async def get_many(self, ids: Sequence[str]) -> dict[str, User]: ...

    async def get_by_email(self, email: str) -> User | None: ...

    async def create(self, user: User, *, admin_if_first: bool = False) -> User:
        """Add an account (``ConflictError`` if the email is taken) and return it as stored.
        ``admin_if_first``: the account is ADMIN if there is no account yet, else it keeps
        ``user.role``; decided atomically, so concurrent first sign-ups make one ADMIN."""

    async def count(self) -> int: ...

    async def set_role(self, user_id: str, role: Role) -> User | None: ...

    async def search(self, text: str | None, limit: int) -> list[User]:
        """Up to ``limit`` accounts whose email or display name contains ``text`` (any case),
        by email; every account (up to ``limit``) when ``text`` is None."""


declare(
    UserStore,
    reads={"get_many", "get_by_email", "count", "search"},
    writes={"create", "set_role"},
)


class RefreshTokenStore(Store, Protocol):
    async def create(self, token: RefreshToken) -> None: ...

    async def get_by_hash(self, token_hash: str) -> RefreshToken | None: ...

    async def mark_used(self, token_id: str) -> bool:
        """Mark a token used; False if it already was (a replay), so rotation is race-safe."""

    async def revoke_family(self, family_id: str) -> None: ...


declare(RefreshTokenStore, reads={"get_by_hash"}, writes={"create", "mark_used", "revoke_family"})


class Cache(Store, Protocol):
    """Bytes by key with a TTL; an atomic counter. Misses are simply absent from answers."""

    async def get_many(self, keys: Sequence[str]) -> dict[str, bytes]: ...

    async def set_many(self, items: Mapping[str, bytes], ttl: float) -> None: ...

    async def delete(self, keys: Sequence[str]) -> None: ...

    async def incr(self, key: str, ttl: float | None = None) -> int:
        """Add one and return the new value; ``ttl`` (set when the counter is created) makes
        it expire, for fixed-window counters."""


declare(Cache, reads={"get_many"}, writes={"set_many", "delete", "incr"})


class FacetStore(Store, Protocol):
    """Counts over the concepts a filter matches, and a concept drawn at random."""

    async def facets(self, filter: ConceptFilter, limit: int) -> ConceptFacets:
        """Traditions and tags (at most ``limit`` of each, most common first, then by name)
        and the periods of the matching concepts."""

    async def random(self, filter: ConceptFilter) -> Concept | None: ...


declare(FacetStore, reads={"facets", "random"}, writes=set())


class SuggestionStore(Store, Protocol):
    """Relations a model suggested, waiting for a person to accept them."""

    async def get_many(self, ids: Sequence[str]) -> dict[str, RelationSuggestion]: ...

    async def by_concept(
        self, concept_id: str, status: SuggestionStatus | None = None
    ) -> builtins.list[RelationSuggestion]:
        """The concept's suggestions, newest first."""

    async def add(
        self, suggestions: Sequence[RelationSuggestion], call: AiCallRecord | None
    ) -> builtins.list[RelationSuggestion]:
        """Store new suggestions and the model call that made them in one transaction; a
        repeat of a pending suggestion is not stored twice (the pending one stands in), and
        one already stored under its id is kept as it is."""

    async def claim(self, suggestion_id: str) -> bool:
        """Mark a pending suggestion accepted; False when it is not (or no longer) pending."""

    async def attach(self, suggestion_id: str, relation_id: str) -> None: ...

    async def release(self, suggestion_id: str) -> None:
        """Undo ``claim`` after the relation could not be made."""


declare(
    SuggestionStore,
    reads={"get_many", "by_concept"},
    writes={"add", "claim", "attach", "release"},
)


class AiLedger(Store, Protocol):
    """One record per successful model call."""

    async def record(self, call: AiCallRecord) -> None:
        """Append the call; a call already recorded under its id stays as it was."""

    async def calls_for(self, subject_id: str) -> builtins.list[AiCallRecord]: ...


declare(AiLedger, reads={"calls_for"}, writes={"record"})


class JsonReader(Store, Protocol):
    """Runs one compiled read statement that builds its answer as JSON (``philos/compile``)."""

    async def read_json(self, sql: str, params: tuple[Any, ...]) -> str: ...


declare(JsonReader, reads={"read_json"}, writes=set())

T = TypeVar("T")


class ConceptHold(Protocol):
    """Writes to a store outside SQL that name concepts kept in SQL (``datasources/anchored``).

    ``write`` runs ``action`` while the concepts are held in an SQL transaction, as a foreign
    key would hold them, and records ``change(result)`` as a domain event in it; ``record``
    records the event of a write that held nothing, in a transaction of its own. Both are SQL
    calls: behind the SQL store's guard, a failure of that database is its outage."""

    async def write(
        self,
        concept_ids: Sequence[str],
        action: Callable[[], Awaitable[T]],
        change: Callable[[T], Any] | None = None,
    ) -> T: ...

    async def record(self, change: Any) -> None: ...


declare(ConceptHold, reads=set(), writes={"write", "record"})


class Database(Protocol):
    """The core SQL database as a whole: its schema, for set-up and for a reset."""

    url: str

    async def create_schema(self) -> None: ...

    async def drop_schema(self) -> None: ...

    async def ping(self) -> None: ...

    async def aclose(self) -> None: ...


class Relay(Protocol):
    """Carries concept changes from the SQL outbox to the separate stores (``outbox.py``)."""

    graph: GraphStore | None
    theses: ThesisStore | None

    async def drain(self, limit: int = 500) -> int: ...

    async def pending(self) -> int: ...

    def kick(self) -> None: ...

    async def run(self, interval: float = 1.0) -> None: ...


# Called with each event a bus delivers; raising asks for the event again (bounded retries).
EventHandler = Callable[[DomainEvent], Awaitable[None]]


class EventBus(Protocol):
    """Carries domain events between processes: RabbitMQ (``rabbitmq.py``) when
    ``RABBITMQ_URL`` is set, else in-process (``bus.py``). Delivery is at least once."""

    name: str

    async def publish(self, event: DomainEvent) -> None:
        """Return once the bus holds the event (RabbitMQ: the broker confirmed it); raise
        when it cannot take it now (the outbox keeps the event and tries again)."""

    async def listen(self, handler: EventHandler) -> None:
        """Deliver every event published from now on, by any process, to ``handler``."""

    async def ping(self) -> None: ...

    async def aclose(self) -> None: ...


class EventPublisher(Protocol):
    """Moves events from the SQL outbox onto the bus (``outbox.EventRelay``)."""

    async def drain(self, limit: int = 500) -> int: ...

    async def pending(self) -> int: ...

    def kick(self) -> None: ...

    async def run(self, interval: float = 1.0) -> None: ...


class AiJobStore(Store, Protocol):
    """AI mutations run in the background."""

    async def add(self, job: AiJob) -> AiJob: ...

    async def get(self, job_id: str) -> AiJob | None: ...

    async def start(self, job_id: str, stale_before: datetime | None = None) -> AiJob | None: ...

    async def heartbeat(self, job_id: str) -> None: ...

    async def keep_answer(self, job_id: str, answer: dict[str, Any]) -> None:
        """Keep the model's answer on the running job before anything is written: a job run
        again after its worker died reuses it (no second model call, the same records)."""

    async def stale(self, before: datetime, limit: int = 100) -> list[str]: ...

    async def finish(
        self,
        job_id: str,
        status: AiJobStatus,
        result: dict[str, Any] | None,
        failure: dict[str, Any] | None,
    ) -> None: ...


declare(
    AiJobStore,
    reads={"get", "stale"},
    writes={"add", "start", "heartbeat", "keep_answer", "finish"},
)


class JobQueue(Protocol):
    """Where AI jobs wait for a worker (RabbitMQ); without it jobs run in the API process."""

    async def submit(self, job_id: str) -> None: ...

    async def consume(self, handler: Callable[[str], Awaitable[None]], prefetch: int) -> None: ...

    async def aclose(self) -> None: ...
