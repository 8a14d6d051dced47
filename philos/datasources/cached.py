"""Read-through caching for concept and thesis look-ups by id (and concepts by slug).

Every write through these wrappers invalidates the entries it affects before returning, so the
next read sees the change; with Redis that holds for every replica. Lists and searches are not
cached here: they go to the store.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

from prometheus_client import Counter

from philos.datasources import codec
from philos.datasources.ports import Cache, ConceptStore, DeleteCheck, ThesisStore
from philos.domain import (
    Argument,
    Concept,
    ConceptFilter,
    ConceptOrder,
    Page,
    PageResult,
    Stance,
    Thesis,
    ThesisFilter,
)
from philos.metrics import REGISTRY

R = TypeVar("R", Concept, Thesis)
S = TypeVar("S", ConceptStore, ThesisStore)

CACHE_REQUESTS = Counter(
    "philos_cache_requests",
    "Cache look-ups by cache and result (hit, miss).",
    ["cache", "result"],
    registry=REGISTRY,
)


async def _read_through(
    cache: Cache,
    ttl: float,
    keys: Sequence[str],
    key_of: Callable[[str], str],
    load: Callable[[bytes], R],
    fetch: Callable[[Sequence[str]], object],
) -> dict[str, R]:
    wanted = list(dict.fromkeys(keys))
    if not wanted:
        return {}
    cached = await cache.get_many([key_of(k) for k in wanted])
    found = {k: load(cached[key_of(k)]) for k in wanted if key_of(k) in cached}
    missing = [k for k in wanted if k not in found]
    CACHE_REQUESTS.labels(cache.name, "hit").inc(len(found))
    if missing:
        CACHE_REQUESTS.labels(cache.name, "miss").inc(len(missing))
        fresh: dict[str, R] = await fetch(missing)  # type: ignore[misc]
        await cache.set_many({key_of(k): codec.dump(v) for k, v in fresh.items()}, ttl)
        found.update(fresh)
    return found


def concept_key(concept_id: str) -> str:
    return f"concept:{concept_id}"


def slug_key(slug: str) -> str:
    return f"concept-slug:{slug}"


def thesis_key(thesis_id: str) -> str:
    return f"thesis:{thesis_id}"


class _Cached(Generic[S]):
    """What both wrappers share: the wrapped store, the cache, and read-through attributes."""

    def __init__(self, inner: S, cache: Cache, ttl: float) -> None:
        self.inner: S = inner
        self.cache = cache
        self.ttl = ttl
        self.name: str = inner.name

    def __getattr__(self, attr: str) -> object:
        # Adapter-specific attributes (e.g. owns_graph) read through to the wrapped store.
        return getattr(self.inner, attr)

    async def ping(self) -> None:
        await self.inner.ping()

    async def aclose(self) -> None:
        await self.inner.aclose()


class CachedConceptStore(_Cached[ConceptStore]):
    inner: ConceptStore

    async def get_many(self, ids: Sequence[str]) -> dict[str, Concept]:
        return await _read_through(
            self.cache, self.ttl, ids, concept_key, codec.load_concept, self.inner.get_many
        )

    async def get_many_by_slug(self, slugs: Sequence[str]) -> dict[str, Concept]:
        return await _read_through(
            self.cache, self.ttl, slugs, slug_key, codec.load_concept, self.inner.get_many_by_slug
        )

    async def get_many_by_name(self, names: Sequence[str]) -> dict[str, Concept]:
        return await self.inner.get_many_by_name(names)

    async def list(
        self, filter: ConceptFilter, order: ConceptOrder, page: Page
    ) -> PageResult[Concept]:
        return await self.inner.list(filter, order, page)

    async def _forget(self, *concepts: Concept | None) -> None:
        keys = []
        for c in concepts:
            if c is not None:
                keys += [concept_key(c.id), slug_key(c.slug)]
        await self.cache.delete(keys)

    async def create(self, concept: Concept) -> Concept:
        stored = await self.inner.create(concept)
        await self._forget(stored)  # a cached miss for the slug must not linger
        return stored

    async def update(self, concept: Concept, expected_version: int) -> Concept:
        before = (await self.inner.get_many([concept.id])).get(concept.id)
        try:
            return await self.inner.update(concept, expected_version)
        finally:
            await self._forget(before, concept)

    async def delete(self, concept_id: str, check: DeleteCheck | None = None) -> bool:
        before = (await self.inner.get_many([concept_id])).get(concept_id)
        try:
            return await self.inner.delete(concept_id, check)
        finally:
            await self._forget(before)


class CachedThesisStore(_Cached[ThesisStore]):
    inner: ThesisStore

    async def get_many(self, ids: Sequence[str]) -> dict[str, Thesis]:
        return await _read_through(
            self.cache, self.ttl, ids, thesis_key, codec.load_thesis, self.inner.get_many
        )

    async def list(self, filter: ThesisFilter, page: Page) -> PageResult[Thesis]:
        return await self.inner.list(filter, page)

    async def by_concepts(
        self,
        concept_ids: Sequence[str],
        stance: Stance | None = None,
        limit_per_concept: int | None = None,
        fields: frozenset[str] | None = None,
    ) -> dict[str, builtins.list[Thesis]]:
        return await self.inner.by_concepts(concept_ids, stance, limit_per_concept, fields)

    async def count_by_concepts(self, concept_ids: Sequence[str]) -> dict[str, int]:
        return await self.inner.count_by_concepts(concept_ids)

    async def create(self, thesis: Thesis) -> Thesis:
        return await self.inner.create(thesis)

    async def update(self, thesis: Thesis, expected_version: int | None) -> Thesis:
        try:
            return await self.inner.update(thesis, expected_version)
        finally:
            await self.cache.delete([thesis_key(thesis.id)])

    async def delete(self, thesis_id: str) -> bool:
        try:
            return await self.inner.delete(thesis_id)
        finally:
            await self.cache.delete([thesis_key(thesis_id)])

    async def add_argument(self, thesis_id: str, argument: Argument) -> Thesis:
        try:
            return await self.inner.add_argument(thesis_id, argument)
        finally:
            await self.cache.delete([thesis_key(thesis_id)])

    async def remove_argument(self, thesis_id: str, argument_id: str) -> Thesis:
        try:
            return await self.inner.remove_argument(thesis_id, argument_id)
        finally:
            await self.cache.delete([thesis_key(thesis_id)])

    async def remove_concept(self, concept_id: str) -> None:
        # Which theses go is known only to the store; drop their entries by reading ids first.
        doomed = await self.inner.by_concepts([concept_id])
        try:
            await self.inner.remove_concept(concept_id)
        finally:
            await self.cache.delete([thesis_key(t.id) for t in doomed.get(concept_id, [])])
