"""Store logic every adapter shares (``philos.datasources.shared``)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from philos.datasources.shared import group_edges, without_argument
from philos.domain import Argument, Direction, NotFoundError, Polarity, Relation, RelationType

NODES = ["a", "b", "c", "d"]
relations = st.lists(
    st.builds(
        lambda i, s, t: Relation(id=f"r{i}", source_id=s, target_id=t, type=RelationType.IS_A),
        st.integers(0, 999),
        st.sampled_from(NODES),
        st.sampled_from(NODES),
    ),
    max_size=12,
    unique_by=lambda r: r.id,
)
# relateConcepts refuses a concept related to itself, so stores hold no self-loops.
no_loops = relations.map(lambda rels: [r for r in rels if r.source_id != r.target_id])


@given(no_loops, st.lists(st.sampled_from(NODES), unique=True), st.sampled_from(Direction))
def test_group_edges_matches_a_filter_per_concept(
    rels: list[Relation], ids: list[str], direction: Direction
) -> None:
    grouped = group_edges(rels, ids, direction)
    assert list(grouped) == ids  # every concept asked for, in order
    for cid in ids:
        expected = [
            r
            for r in rels
            if (direction is not Direction.INCOMING and r.source_id == cid)
            or (direction is not Direction.OUTGOING and r.target_id == cid)
        ]
        assert grouped[cid] == expected  # in the order given


@pytest.mark.parametrize(
    "direction",
    [
        Direction.OUTGOING,
        Direction.BOTH,
        Direction.INCOMING,
    ],
)
def test_a_self_loop_is_counted_once_in_every_direction(direction: Direction) -> None:
    loop = Relation(id="r", source_id="a", target_id="a", type=RelationType.IS_A)
    assert group_edges([loop], ["a"], direction) == {"a": [loop]}


@given(st.lists(st.integers(0, 20), unique=True, max_size=6), st.integers(0, 20))
def test_without_argument_removes_one_or_says_it_is_missing(ids: list[int], target: int) -> None:
    arguments = [Argument(f"x{i}", Polarity.PRO, "t") for i in ids]
    if target in ids:
        kept = without_argument(arguments, f"x{target}")
        assert [a.id for a in kept] == [f"x{i}" for i in ids if i != target]
    else:
        with pytest.raises(NotFoundError) as info:
            without_argument(arguments, f"x{target}")
        assert info.value.message == f"No argument with id 'x{target}' exists."
