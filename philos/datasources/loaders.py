"""Per-request DataLoaders: one batched store call per list level, whatever the list size.

Loaders are built afresh for every request (a loader that outlived its request would serve
stale data). Keys that carry arguments (direction, types, stance…) are grouped by those arguments
so each group is still one store call. Batch functions answer in key order, by key.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import Awaitable, Callable, Hashable, Iterable, Sequence
from functools import cached_property
from typing import TypeVar, cast

from strawberry.dataloader import DataLoader

from philos.datasources.stores import Stores
from philos.domain import (
    Concept,
    ConceptFacets,
    ConceptFilter,
    Direction,
    Relation,
    RelationType,
    Stance,
    Thesis,
    User,
)

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
G = TypeVar("G", bound=Hashable)


class NotLoaded:
    """What ``loaded`` answers for a key whose value is not in hand yet."""


NOT_LOADED = NotLoaded()


def loaded(loader: DataLoader[K, V], key: K) -> V | NotLoaded:
    """The value ``loader`` already holds for ``key``, without waiting; ``NOT_LOADED`` when it
    was never asked for, is still on its way, or failed (then ``load`` reports the failure)."""
    if not loader.cache:
        return NOT_LOADED
    future = loader.cache_map.get(key)
    if future is None or not future.done() or future.cancelled() or future.exception():
        return NOT_LOADED
    return future.result()


async def load_all(loader: DataLoader[K, V], keys: Iterable[K]) -> list[V]:
    """The values of ``keys``, as ``loader.load_many(keys)`` answers them, without gathering
    the keys' futures: the futures of one batch are resolved together, so waiting on each one
    not done yet wakes this task about once per batch rather than once per key. Where loads
    failed, the failure of the first such key (in the keys' order) is raised."""
    futures = [cast("asyncio.Future[V]", loader.load(key)) for key in keys]
    for future in futures:
        if not future.done():
            with contextlib.suppress(Exception):  # raised below, in the keys' order
                await future
    # Every failure is looked at, so that none is logged as never retrieved.
    failures = [future.exception() for future in futures]
    for failure in failures:
        if failure is not None:
            raise failure
    return [future.result() for future in futures]


# (concept id, direction, types, whether the relations' end concepts will be read)
EdgeKey = tuple[str, Direction, tuple[RelationType, ...], bool]
# (concept id, stance, first, the thesis attributes read: ``domain.thesis_fields``)
ThesesKey = tuple[str, Stance | None, int | None, frozenset[str] | None]
# (concept id, depth, types, direction)
NeighboursKey = tuple[str, int, tuple[RelationType, ...], Direction]


def _by_id(
    fetch: Callable[[Sequence[str]], Awaitable[dict[str, V]]],
) -> DataLoader[str, V | None]:
    async def load(keys: list[str]) -> list[V | None]:
        found = await fetch(keys)
        return [found.get(k) for k in keys]

    return DataLoader(load_fn=load)


def _grouped(
    group_of: Callable[[K], G],
    fetch: Callable[[G, list[str]], Awaitable[dict[str, V]]],
    id_of: Callable[[K], str],
    default: Callable[[], V],
) -> DataLoader[K, V]:
    async def load(keys: list[K]) -> list[V]:
        groups: dict[G, list[str]] = defaultdict(list)
        for key in keys:
            groups[group_of(key)].append(id_of(key))
        answers: dict[G, dict[str, V]] = {}
        for group, ids in groups.items():
            answers[group] = await fetch(group, ids)
        return [answers[group_of(k)].get(id_of(k), default()) for k in keys]

    return DataLoader(load_fn=load)


# Each facet list holds at most this many values, most common first.
FACET_LIMIT = 500


class Loaders:
    """A request's loaders, each built when the request first asks for it: most requests
    read a few of them, and a document that reads no store builds none."""

    def __init__(self, stores: Stores) -> None:
        self._stores = stores

    @cached_property
    def concept(self) -> DataLoader[str, Concept | None]:
        return _by_id(self._stores.concepts.get_many)

    @cached_property
    def concept_by_slug(self) -> DataLoader[str, Concept | None]:
        return _by_id(self._stores.concepts.get_many_by_slug)

    @cached_property
    def concept_by_name(self) -> DataLoader[str, Concept | None]:
        """Keyed by the lower-cased name."""
        return _by_id(self._stores.concepts.get_many_by_name)

    @cached_property
    def thesis(self) -> DataLoader[str, Thesis | None]:
        return _by_id(self._stores.theses.get_many)

    @cached_property
    def user(self) -> DataLoader[str, User | None]:
        return _by_id(self._stores.users.get_many)

    @cached_property
    def edges(self) -> DataLoader[EdgeKey, list[Relation]]:
        graph, concept = self._stores.graph, self.concept

        async def edges(
            group: tuple[Direction, tuple[RelationType, ...], bool], ids: list[str]
        ) -> dict[str, list[Relation]]:
            direction, types, with_ends = group
            if not with_ends:
                return await graph.edges_of(ids, direction, types or None)
            # The end concepts are in hand before the level answers, in one batch for the
            # whole level: then every relation's source/target resolves at once and the lists
            # nested under them start together, as one batch (ends already cached would
            # otherwise run ahead). A graph store that holds the concepts reads the other ends
            # with the relations; the rest come from the concept store in one call.
            found, others = await graph.edges_with_ends(ids, direction, types or None)
            for concept_id, end in others.items():
                concept.prime(concept_id, end)
            ends = {c for rels in found.values() for r in rels for c in (r.source_id, r.target_id)}
            wanted = [c for c in ends if loaded(concept, c) is NOT_LOADED]
            if wanted:
                await load_all(concept, wanted)
            return found

        return _grouped(lambda k: (k[1], k[2], k[3]), edges, lambda k: k[0], list)

    @cached_property
    def theses_of(self) -> DataLoader[ThesesKey, list[Thesis]]:
        store = self._stores.theses

        async def theses(
            group: tuple[Stance | None, int | None, frozenset[str] | None], ids: list[str]
        ) -> dict[str, list[Thesis]]:
            stance, limit, fields = group
            return await store.by_concepts(ids, stance, limit, fields)

        return _grouped(lambda k: (k[1], k[2], k[3]), theses, lambda k: k[0], list)

    @cached_property
    def thesis_count(self) -> DataLoader[str, int]:
        store = self._stores.theses

        async def counts(keys: list[str]) -> list[int]:
            found = await store.count_by_concepts(keys)
            return [found.get(k, 0) for k in keys]

        return DataLoader(load_fn=counts)

    @cached_property
    def neighbours(self) -> DataLoader[NeighboursKey, dict[str, int]]:
        stores = self._stores

        async def neighbours(
            group: tuple[int, tuple[RelationType, ...], Direction], roots: list[str]
        ) -> dict[str, dict[str, int]]:
            depth, types, direction = group
            return await walk_levels(stores, roots, depth, types, direction)

        return _grouped(lambda k: (k[1], k[2], k[3]), neighbours, lambda k: k[0], dict)

    @cached_property
    def facets(self) -> DataLoader[ConceptFilter, ConceptFacets]:
        store = self._stores.facets

        async def facets(filters: list[ConceptFilter]) -> list[ConceptFacets]:
            # One call per distinct filter: a connection's traditions, tags and eras share it.
            return [await store.facets(f, FACET_LIMIT) for f in filters]

        return DataLoader(load_fn=facets)


def build_loaders(stores: Stores) -> Loaders:
    return Loaders(stores)


async def walk_levels(
    stores: Stores,
    roots: Sequence[str],
    depth: int,
    types: tuple[RelationType, ...],
    direction: Direction,
) -> dict[str, dict[str, int]]:
    """For each root, the concepts within ``depth`` steps and their distance (root excluded).

    A breadth-first walk of every root at once: one ``edges_of`` call per level for the union
    of all the roots' frontiers, so a list of N concepts asking for their neighbourhoods costs
    ``depth`` store calls, not N walks."""
    distance: dict[str, dict[str, int]] = {root: {root: 0} for root in roots}
    frontier: dict[str, set[str]] = {root: {root} for root in roots}
    for step in range(1, depth + 1):
        wanted = sorted(set().union(*frontier.values()))
        if not wanted:
            break
        found = await stores.graph.edges_of(wanted, direction, types or None)
        for root in roots:
            reached: set[str] = set()
            for node in frontier[root]:
                for relation in found.get(node, ()):
                    ends: tuple[str, ...]
                    if direction is Direction.OUTGOING:
                        ends = (relation.target_id,)
                    elif direction is Direction.INCOMING:
                        ends = (relation.source_id,)
                    else:
                        ends = (relation.source_id, relation.target_id)
                    reached.update(end for end in ends if end not in distance[root])
            for end in reached:
                distance[root][end] = step
            frontier[root] = reached
    return {root: {c: d for c, d in seen.items() if c != root} for root, seen in distance.items()}
