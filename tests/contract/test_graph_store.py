"""GraphStore contract: the same cases and the same answers on every backend."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from philos.datasources.ports import GraphStore
from philos.datasources.sql.concepts import SqlConceptStore
from philos.datasources.sql.graph import SqlGraphStore
from philos.domain import Concept, ConflictError, Direction, Relation, RelationType

T = RelationType


def cid(n: int) -> str:
    return f"00000000-0000-4000-8000-{n:012d}"


def rid(n: int) -> str:
    return f"11111111-0000-4000-8000-{n:012d}"


def rel(n: int, a: int, b: int, kind: RelationType, weight: float = 0.5) -> Relation:
    return Relation(
        id=rid(n),
        source_id=cid(a),
        target_id=cid(b),
        type=kind,
        weight=weight,
        note=f"note {n}",
        created_at=datetime(2024, 1, 1, tzinfo=UTC),
    )


#  1 -INFLUENCED_BY-> 2 -DERIVES_FROM-> 3 -OPPOSES-> 4
#  1 -RELATED_TO-> 3 (a shortcut), 4 -REFINES-> 1 (a cycle), 5 -IS_A-> 6 (an island)
EDGES = [
    rel(1, 1, 2, T.INFLUENCED_BY, 0.9),
    rel(2, 2, 3, T.DERIVES_FROM, 0.8),
    rel(3, 3, 4, T.OPPOSES, 0.7),
    rel(4, 1, 3, T.RELATED_TO, 0.2),
    rel(5, 4, 1, T.REFINES, 0.6),
    rel(6, 5, 6, T.IS_A, 0.5),
]


async def build(store: GraphStore) -> None:
    await store.upsert_concepts(
        [Concept(id=cid(n), slug=f"c-{n}", name=f"C{n}", summary="s") for n in range(1, 8)]
    )
    for r in EDGES:
        await store.relate(r)


async def test_relate_and_read_back(graph_store: GraphStore) -> None:
    await build(graph_store)
    got = await graph_store.get_relations([rid(1), rid(6), rid(99)])
    assert set(got) == {rid(1), rid(6)}
    assert got[rid(1)] == EDGES[0]


async def test_edges_of_by_direction_and_type(graph_store: GraphStore) -> None:
    await build(graph_store)
    keys = [cid(1), cid(3), cid(7)]
    out = await graph_store.edges_of(keys, Direction.OUTGOING)
    assert {k: [r.id for r in v] for k, v in out.items()} == {
        cid(1): [rid(1), rid(4)],
        cid(3): [rid(3)],
        cid(7): [],
    }
    inc = await graph_store.edges_of(keys, Direction.INCOMING)
    assert [r.id for r in inc[cid(3)]] == [rid(2), rid(4)]
    assert [r.id for r in inc[cid(1)]] == [rid(5)]
    both = await graph_store.edges_of([cid(1)], Direction.BOTH)
    # ordered by type name, then weight (heavier first), then id
    assert [r.id for r in both[cid(1)]] == [rid(1), rid(5), rid(4)]
    typed = await graph_store.edges_of([cid(1)], Direction.BOTH, [T.REFINES, T.RELATED_TO])
    assert [r.id for r in typed[cid(1)]] == [rid(5), rid(4)]


async def test_duplicate_triple_conflicts(graph_store: GraphStore) -> None:
    await build(graph_store)
    with pytest.raises(ConflictError):
        await graph_store.relate(rel(7, 1, 2, T.INFLUENCED_BY))
    await graph_store.relate(rel(8, 1, 2, T.RELATED_TO))  # another type is another relation
    assert len((await graph_store.edges_of([cid(1)], Direction.OUTGOING))[cid(1)]) == 3


async def test_neighbours(graph_store: GraphStore) -> None:
    await build(graph_store)
    assert await graph_store.neighbours(cid(1), 1) == {cid(2): 1, cid(3): 1, cid(4): 1}
    assert await graph_store.neighbours(cid(2), 1, direction=Direction.OUTGOING) == {cid(3): 1}
    assert await graph_store.neighbours(cid(2), 3, direction=Direction.OUTGOING) == {
        cid(3): 1,
        cid(4): 2,
        cid(1): 3,
    }
    assert await graph_store.neighbours(cid(3), 2, direction=Direction.INCOMING) == {
        cid(2): 1,
        cid(1): 1,
        cid(4): 2,
    }
    assert await graph_store.neighbours(cid(1), 3, [T.INFLUENCED_BY, T.DERIVES_FROM]) == {
        cid(2): 1,
        cid(3): 2,
    }
    assert await graph_store.neighbours(cid(5), 3) == {cid(6): 1}
    assert await graph_store.neighbours(cid(7), 3) == {}


async def test_shortest_path(graph_store: GraphStore) -> None:
    await build(graph_store)
    path = await graph_store.shortest_path(cid(2), cid(4), 6)
    assert path is not None
    # two paths of length 2 (2-3-4 and 2-1-4); the tie goes to the lowest (type, id) at each
    # step back from the target: OPPOSES(3) < REFINES(5), so through 3.
    assert path.concept_ids == [cid(2), cid(3), cid(4)]
    assert [r.id for r in path.relations] == [rid(2), rid(3)]
    assert await graph_store.shortest_path(cid(2), cid(4), 1) is None
    assert await graph_store.shortest_path(cid(1), cid(6), 6) is None
    same = await graph_store.shortest_path(cid(1), cid(1), 3)
    assert same is not None and same.concept_ids == [cid(1)] and same.relations == []
    typed = await graph_store.shortest_path(
        cid(1), cid(4), 6, [T.INFLUENCED_BY, T.DERIVES_FROM, T.OPPOSES]
    )
    assert typed is not None and typed.concept_ids == [cid(1), cid(2), cid(3), cid(4)]


async def test_subgraph(graph_store: GraphStore) -> None:
    await build(graph_store)
    nodes, edges, truncated = await graph_store.subgraph(cid(2), 1)
    assert nodes[0] == cid(2) and set(nodes) == {cid(1), cid(2), cid(3)}
    assert {e.id for e in edges} == {rid(1), rid(2), rid(4)}
    assert truncated is False
    nodes, edges, truncated = await graph_store.subgraph(cid(2), 2, max_nodes=3)
    assert truncated is True and len(nodes) == 3 and nodes[0] == cid(2)
    assert all(e.source_id in nodes and e.target_id in nodes for e in edges)


async def test_remove_relation_and_concept(graph_store: GraphStore) -> None:
    await build(graph_store)
    assert await graph_store.remove_relation(rid(4)) is True
    assert await graph_store.remove_relation(rid(4)) is False
    await graph_store.remove_concept(cid(3))
    await graph_store.remove_concept(cid(3))
    left = await graph_store.edges_of([cid(1), cid(2), cid(4)], Direction.BOTH)
    assert {r.id for rs in left.values() for r in rs} == {rid(1), rid(5)}
    assert await graph_store.neighbours(cid(2), 3) == {cid(1): 1, cid(4): 2}


def _edge_cases(count: int) -> list[tuple[list[str], Direction, list[RelationType] | None]]:
    found: list[tuple[list[str], Direction, list[RelationType] | None]] = []

    @settings(max_examples=count, derandomize=True, database=None, deadline=None)
    @given(
        st.lists(st.integers(1, 9), min_size=1, max_size=5),  # 7–9 have no relations
        st.sampled_from(Direction),
        st.none() | st.lists(st.sampled_from([e.type for e in EDGES]), min_size=1, unique=True),
    )
    def collect(keys: list[int], direction: Direction, types: list[RelationType] | None) -> None:
        found.append(([cid(n) for n in keys], direction, types))

    collect()
    return found


async def test_edges_with_ends_are_edges_of_and_the_concepts_at_the_other_ends(
    graph_store: GraphStore,
) -> None:
    await build(graph_store)
    # A store holding the concepts (SQL) answers them as the concept store does; Neo4j keeps
    # a projection of them and answers none.
    concepts = None
    if isinstance(graph_store, SqlGraphStore):
        concepts = SqlConceptStore(graph_store.db, owns_graph=True, owns_theses=True)
    for keys, direction, types in _edge_cases(40):
        edges, ends = await graph_store.edges_with_ends(keys, direction, types)
        assert edges == await graph_store.edges_of(keys, direction, types)
        others = {e for rels in edges.values() for r in rels for e in (r.source_id, r.target_id)}
        others -= set(keys)
        if concepts is None:
            assert ends == {}
        else:
            assert ends == await concepts.get_many(sorted(others))
    assert await graph_store.edges_with_ends([], Direction.BOTH) == ({}, {})
