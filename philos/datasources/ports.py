"""The ports: what the rest of Philos needs from a store, and nothing more.

Every read that nested GraphQL fields make takes many keys at once (``get_many``,
``edges_of``, ``by_concepts``…) so a per-request DataLoader can serve a whole list level with one
call. Results are keyed by id, never positional. Each port has ``ping`` (for ``/ready``) and
``aclose``.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from typing import Protocol

from philos.domain import (
    Argument,
    Concept,
    ConceptFilter,
    ConceptOrder,
    Direction,
    Page,
    PageResult,
    Path,
    Relation,
    RelationType,
    Stance,
    Thesis,
    ThesisFilter,
    User,
)


class Store(Protocol):
    name: str

    async def ping(self) -> None:
        """Raise if the backing server cannot answer."""

    async def aclose(self) -> None: ...


class ConceptStore(Store, Protocol):
    async def get_many(self, ids: Sequence[str]) -> dict[str, Concept]: ...

    async def get_many_by_slug(self, slugs: Sequence[str]) -> dict[str, Concept]: ...

    async def list(
        self, filter: ConceptFilter, order: ConceptOrder, page: Page
    ) -> PageResult[Concept]: ...

    async def create(self, concept: Concept) -> Concept:
        """Insert; raises ``ConflictError`` when the slug is taken."""

    async def update(self, concept: Concept, expected_version: int) -> Concept:
        """Replace a concept's fields if its version still equals ``expected_version``.

        Raises ``NotFoundError`` or ``ConflictError`` (stale version or taken slug).
        """

    async def delete(self, concept_id: str) -> bool:
        """Delete a concept with, where they live in the same database, its relations and
        theses, in one transaction. Returns False when there was no such concept."""


class GraphStore(Store, Protocol):
    async def get_relations(self, ids: Sequence[str]) -> dict[str, Relation]: ...

    async def edges_of(
        self,
        concept_ids: Sequence[str],
        direction: Direction,
        types: Sequence[RelationType] | None = None,
    ) -> dict[str, builtins.list[Relation]]:
        """Relations touching each concept, keyed by concept id, ordered by type then id."""

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

    async def relate(self, relation: Relation) -> Relation:
        """Insert; raises ``ConflictError`` on a duplicate (source, target, type)."""

    async def remove_relation(self, relation_id: str) -> bool: ...

    async def upsert_concepts(self, concepts: Sequence[Concept]) -> None:
        """Make the store's copy of these concepts (id, slug, name) current (idempotent).

        A store that reads concepts from the concept database itself does nothing."""

    async def remove_concept(self, concept_id: str) -> None:
        """Drop every relation touching the concept, and any copy of it (idempotent)."""


class ThesisStore(Store, Protocol):
    async def get_many(self, ids: Sequence[str]) -> dict[str, Thesis]: ...

    async def list(self, filter: ThesisFilter, page: Page) -> PageResult[Thesis]: ...

    async def by_concepts(
        self,
        concept_ids: Sequence[str],
        stance: Stance | None = None,
        limit_per_concept: int | None = None,
    ) -> dict[str, builtins.list[Thesis]]:
        """Theses of each concept, newest first."""

    async def count_by_concepts(self, concept_ids: Sequence[str]) -> dict[str, int]: ...

    async def create(self, thesis: Thesis) -> Thesis: ...

    async def update(self, thesis: Thesis, expected_version: int | None) -> Thesis:
        """Replace a thesis; ``expected_version`` None skips the concurrency check."""

    async def delete(self, thesis_id: str) -> bool: ...

    async def add_argument(self, thesis_id: str, argument: Argument) -> Thesis: ...

    async def remove_argument(self, thesis_id: str, argument_id: str) -> Thesis: ...

    async def remove_concept(self, concept_id: str) -> None:
        """Drop every thesis of the concept (idempotent)."""


class UserStore(Store, Protocol):
    async def get_many(self, ids: Sequence[str]) -> dict[str, User]: ...

    async def get_by_email(self, email: str) -> User | None: ...

    async def create(self, user: User) -> User: ...


class Cache(Store, Protocol):
    """Bytes by key with a TTL; an atomic counter. Misses are simply absent from answers."""

    async def get_many(self, keys: Sequence[str]) -> dict[str, bytes]: ...

    async def set_many(self, items: Mapping[str, bytes], ttl: float) -> None: ...

    async def delete(self, keys: Sequence[str]) -> None: ...

    async def incr(self, key: str) -> int: ...
