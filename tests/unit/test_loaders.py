"""Per-request loaders (``philos.datasources.loaders``): the level-by-level walk and the
grouping of keyed loads, against an in-memory graph port and a simple reference walk."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from hypothesis import given
from hypothesis import strategies as st
from strawberry.dataloader import DataLoader

from philos.datasources.loaders import (
    EdgeKey,
    NotLoaded,
    ThesesKey,
    build_loaders,
    load_all,
    loaded,
    walk_levels,
)
from philos.datasources.stores import Stores
from philos.domain import Concept, Direction, Relation, RelationType, Stance, Thesis

NODES = [f"c{i}" for i in range(8)]
TYPES = list(RelationType)[:3]


def _ends(relation: Relation, node: str, direction: Direction) -> list[str]:
    """The concepts one step from ``node`` over ``relation`` (none if it does not apply)."""
    ends = []
    if direction is not Direction.INCOMING and relation.source_id == node:
        ends.append(relation.target_id)
    if direction is not Direction.OUTGOING and relation.target_id == node:
        ends.append(relation.source_id)
    return ends


def _touches(relation: Relation, node: str, direction: Direction) -> bool:
    return bool(_ends(relation, node, direction)) or (
        direction is Direction.BOTH and node in (relation.source_id, relation.target_id)
    )


@dataclass
class FakeGraph:
    relations: list[Relation]
    # Whether ``edges_with_ends`` answers the other ends (a store holding the concepts).
    holds_concepts: bool = False
    calls: list[tuple[tuple[str, ...], Direction, tuple[RelationType, ...] | None]] = field(
        default_factory=list
    )

    async def edges_of(
        self,
        concept_ids: Sequence[str],
        direction: Direction,
        types: Sequence[RelationType] | None = None,
    ) -> dict[str, list[Relation]]:
        self.calls.append((tuple(concept_ids), direction, tuple(types) if types else None))
        return {
            node: [
                r
                for r in self.relations
                if _touches(r, node, direction) and (not types or r.type in types)
            ]
            for node in concept_ids
        }

    async def edges_with_ends(
        self,
        concept_ids: Sequence[str],
        direction: Direction,
        types: Sequence[RelationType] | None = None,
    ) -> tuple[dict[str, list[Relation]], dict[str, Concept]]:
        found = await self.edges_of(concept_ids, direction, types)
        if not self.holds_concepts:
            return found, {}
        others = {
            end
            for rels in found.values()
            for r in rels
            for end in (r.source_id, r.target_id)
            if end not in concept_ids
        }
        return found, {i: Concept(id=i, slug=i, name=f"held {i}", summary="") for i in others}


@dataclass
class FakeConcepts:
    calls: list[tuple[str, ...]] = field(default_factory=list)

    async def get_many(self, ids: Sequence[str]) -> dict[str, Concept]:
        self.calls.append(tuple(ids))
        return {i: Concept(id=i, slug=i, name=i, summary="") for i in ids if i in NODES}

    async def get_many_by_slug(self, slugs: Sequence[str]) -> dict[str, Concept]:
        return await self.get_many(slugs)

    async def get_many_by_name(self, names: Sequence[str]) -> dict[str, Concept]:
        return await self.get_many(names)


@dataclass
class FakeTheses:
    theses: list[Thesis]
    calls: list[tuple[tuple[str, ...], Stance | None, int | None, frozenset[str] | None]] = field(
        default_factory=list
    )

    async def by_concepts(
        self,
        concept_ids: Sequence[str],
        stance: Stance | None = None,
        limit_per_concept: int | None = None,
        fields: frozenset[str] | None = None,
    ) -> dict[str, list[Thesis]]:
        self.calls.append((tuple(concept_ids), stance, limit_per_concept, fields))
        found = {}
        for cid in concept_ids:
            mine = [t for t in self.theses if t.concept_id == cid and stance in (None, t.stance)]
            if mine:
                found[cid] = mine[:limit_per_concept]
        return found

    async def get_many(self, ids: Sequence[str]) -> dict[str, Thesis]:
        return {t.id: t for t in self.theses if t.id in ids}

    async def count_by_concepts(self, concept_ids: Sequence[str]) -> dict[str, int]:
        return {c: sum(t.concept_id == c for t in self.theses) for c in concept_ids}


@dataclass
class FakeUsers:
    async def get_many(self, ids: Sequence[str]) -> dict[str, Any]:
        return {}


@dataclass
class FakeStores:
    """The ports the loaders read, and nothing else."""

    graph: FakeGraph
    concepts: FakeConcepts = field(default_factory=FakeConcepts)
    theses: FakeTheses = field(default_factory=lambda: FakeTheses([]))
    users: FakeUsers = field(default_factory=FakeUsers)

    def as_stores(self) -> Stores:
        return cast(Stores, self)


relations = st.lists(
    st.builds(
        lambda i, s, t, k: Relation(id=f"r{i}", source_id=s, target_id=t, type=k),
        st.integers(0, 10**6),
        st.sampled_from(NODES),
        st.sampled_from(NODES),
        st.sampled_from(TYPES),
    ),
    max_size=20,
    unique_by=lambda r: r.id,
)
directions = st.sampled_from(Direction)
type_filters = st.lists(st.sampled_from(TYPES), unique=True, max_size=2).map(tuple)


def reference_walk(
    rels: list[Relation],
    root: str,
    depth: int,
    types: tuple[RelationType, ...],
    direction: Direction,
) -> dict[str, int]:
    """A plain breadth-first walk of one root."""
    distance = {root: 0}
    frontier = [root]
    for step in range(1, depth + 1):
        following = []
        for node in frontier:
            for r in rels:
                if types and r.type not in types:
                    continue
                for end in _ends(r, node, direction):
                    if end not in distance:
                        distance[end] = step
                        following.append(end)
        frontier = following
    del distance[root]
    return distance


@given(
    relations,
    st.lists(st.sampled_from(NODES), unique=True, max_size=4),
    st.integers(0, 4),
    type_filters,
    directions,
)
def test_walk_levels_answers_what_a_walk_of_each_root_answers(
    rels: list[Relation],
    roots: list[str],
    depth: int,
    types: tuple[RelationType, ...],
    direction: Direction,
) -> None:
    stores = FakeStores(FakeGraph(rels))
    found = asyncio.run(walk_levels(stores.as_stores(), roots, depth, types, direction))
    assert found == {root: reference_walk(rels, root, depth, types, direction) for root in roots}
    # One store call per level for every root at once, never one per root.
    assert len(stores.graph.calls) <= depth
    for ids, called_direction, called_types in stores.graph.calls:
        assert list(ids) == sorted(set(ids))
        assert called_direction is direction
        assert called_types == (types or None)


@given(relations, st.sampled_from(NODES), st.integers(1, 4), directions)
def test_a_deeper_walk_reaches_at_least_as_far(
    rels: list[Relation], root: str, depth: int, direction: Direction
) -> None:
    stores = FakeStores(FakeGraph(rels)).as_stores()
    near = asyncio.run(walk_levels(stores, [root], depth, (), direction))[root]
    far = asyncio.run(walk_levels(stores, [root], depth + 1, (), direction))[root]
    assert near.items() <= far.items()
    assert all(1 <= d <= depth + 1 for d in far.values())
    assert root not in far


edge_keys = st.tuples(st.sampled_from([*NODES, "missing"]), directions, type_filters, st.booleans())


@given(relations, st.lists(edge_keys, min_size=1, max_size=12), st.booleans())
def test_edge_loads_are_one_store_call_per_group(
    rels: list[Relation], keys: list[EdgeKey], holds_concepts: bool
) -> None:
    stores = FakeStores(FakeGraph(rels, holds_concepts))

    async def run() -> tuple[list[list[Relation]], dict[str, Concept | None]]:
        loaders = build_loaders(stores.as_stores())
        answers = list(await asyncio.gather(*(loaders.edges.load(k) for k in keys)))
        # Every end of a relation whose key asked for them is in hand once the key answers.
        ends = {
            end
            for key, answer in zip(keys, answers, strict=True)
            if key[3]
            for r in answer
            for end in (r.source_id, r.target_id)
        }
        in_hand: dict[str, Concept | None] = {}
        for end in ends:
            value: Concept | NotLoaded | None = loaded(loaders.concept, end)
            assert not isinstance(value, NotLoaded), end
            in_hand[end] = value
        return answers, in_hand

    answers, in_hand = asyncio.run(run())
    groups = {(d, t, e) for _, d, t, e in keys}
    assert len(stores.graph.calls) == len(groups)
    for (node, direction, types, _), answer in zip(keys, answers, strict=True):
        assert answer == [
            r for r in rels if _touches(r, node, direction) and (not types or r.type in types)
        ]
    # Keys asking for the relations' ends have them loaded before the answer, in at most one
    # batch per group; other keys load no concept.
    # A graph store holding the concepts answers the other ends itself: only the rest (the
    # concepts asked for) come from the concept store.
    from_concepts = {c for batch in stores.concepts.calls for c in batch}
    wanted: set[str] = set()
    held: set[str] = set()
    for (node, _, _, ends), answer in zip(keys, answers, strict=True):
        if not ends:
            continue
        for r in answer:
            wanted.update((r.source_id, r.target_id))
            if holds_concepts:
                held.update(e for e in (r.source_id, r.target_id) if e != node)
    assert wanted <= from_concepts | held
    assert from_concepts <= wanted
    if holds_concepts:  # only the concepts asked for, never an end the graph store answered
        assert from_concepts <= {node for node, _, _, ends in keys if ends}
    else:
        assert from_concepts == wanted
    assert len(stores.concepts.calls) <= len({g for g in groups if g[2]})
    for end in held - from_concepts:  # the graph store's concept is the one in hand
        concept = in_hand[end]
        assert concept is not None and concept.name == f"held {end}"


theses_st = st.lists(
    st.builds(
        lambda i, c, s: Thesis(id=f"t{i}", concept_id=c, statement="", stance=s),
        st.integers(0, 10**6),
        st.sampled_from(NODES),
        st.sampled_from(Stance),
    ),
    max_size=15,
    unique_by=lambda t: t.id,
)
theses_keys = st.tuples(
    st.sampled_from(NODES),
    st.none() | st.sampled_from(Stance),
    st.none() | st.integers(1, 3),
    st.none() | st.sampled_from([frozenset({"statement"}), frozenset({"tags", "version"})]),
)


@given(theses_st, st.lists(theses_keys, min_size=1, max_size=12))
def test_theses_loads_group_by_stance_limit_and_fields(
    theses: list[Thesis], keys: list[ThesesKey]
) -> None:
    stores = FakeStores(FakeGraph([]), theses=FakeTheses(theses))

    async def run() -> list[list[Thesis]]:
        loaders = build_loaders(stores.as_stores())
        return list(await asyncio.gather(*(loaders.theses_of.load(k) for k in keys)))

    answers = asyncio.run(run())
    assert len(stores.theses.calls) == len({(s, n, f) for _, s, n, f in keys})
    for (cid, stance, limit, _), answer in zip(keys, answers, strict=True):
        assert (
            answer
            == [t for t in theses if t.concept_id == cid and stance in (None, t.stance)][:limit]
        )
    # Each group asks for each of its concepts once.
    for ids, *_ in stores.theses.calls:
        assert len(ids) == len(set(ids))


@given(st.lists(st.sampled_from([*NODES, "nope", "gone"]), min_size=1, max_size=10))
def test_by_id_loads_answer_in_key_order_with_none_for_the_missing(ids: list[str]) -> None:
    stores = FakeStores(FakeGraph([]))

    async def run() -> list[Concept | None]:
        loaders = build_loaders(stores.as_stores())
        return list(await asyncio.gather(*(loaders.concept.load(i) for i in ids)))

    answers = asyncio.run(run())
    assert [a.id if a else None for a in answers] == [i if i in NODES else None for i in ids]
    (batch,) = stores.concepts.calls
    assert sorted(batch) == sorted(set(ids))


@given(
    st.lists(st.integers(0, 9), max_size=12),
    st.sets(st.integers(0, 9)),
    st.sets(st.integers(0, 9)),
    st.lists(st.integers(0, 9), max_size=4),
)
def test_load_all_answers_as_load_many(
    keys: list[int], failing: set[int], primed: set[int], earlier: list[int]
) -> None:
    """``load_all`` gives ``load_many``'s answer with the same batches, and where keys
    failed, the failure of the first of them: keys repeated, primed, loaded by an earlier
    batch (answered or failed), or failing."""

    async def reference(loader: DataLoader[int, int], ks: list[int]) -> list[int]:
        answers = await asyncio.gather(*map(loader.load, ks), return_exceptions=True)
        for answer in answers:
            if isinstance(answer, BaseException):
                raise answer
        return cast("list[int]", answers)

    def run(load: Any) -> Any:
        # What the suite has built so far is set aside, so that the collection below looks
        # only at this example's objects.
        gc.freeze()
        try:
            return asyncio.run(go(load))
        finally:
            gc.unfreeze()

    async def go(load: Any) -> Any:
        batches: list[list[int]] = []

        async def fetch(ks: list[int]) -> list[int]:
            batches.append(list(ks))
            if failing & set(ks):
                raise RuntimeError(f"the store failed on {sorted(failing & set(ks))}")
            return [k * 10 for k in ks]

        loader = DataLoader(load_fn=fetch)
        loader.prime_many({k: -k for k in primed})
        if earlier:  # a batch before: its answers, or its failure, are cached
            await asyncio.gather(*map(loader.load, earlier), return_exceptions=True)
        try:
            answer: Any = await load(loader, keys)
        except RuntimeError as error:
            answer = str(error)
        # No failure may be left unlooked-at: asyncio would log each one as "never
        # retrieved" once the request's loader is dropped.
        unretrieved: list[Any] = []
        asyncio.get_running_loop().set_exception_handler(lambda _, c: unretrieved.append(c))
        del loader
        if failing:  # nothing else can be left behind
            gc.collect()
        return answer, batches, unretrieved

    mine = run(load_all)
    assert mine == run(reference)
    assert mine[2] == []
    if not failing:
        assert run(load_all) == run(lambda loader, ks: loader.load_many(ks))
