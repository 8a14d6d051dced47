"""ThesisStore contract: the same cases and the same answers on every backend."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import strategies as st

from philos.datasources.ports import ThesisStore
from philos.domain import (
    THESIS_FIELDS,
    Argument,
    ConflictError,
    Keyset,
    NotFoundError,
    Page,
    Polarity,
    Provenance,
    ProvenanceKind,
    Source,
    Stance,
    Thesis,
    ThesisFilter,
    ThesisStatus,
    thesis_fields,
)
from tests.security.documents import drawn

A, B, C = (f"00000000-0000-4000-8000-{n:012d}" for n in (1, 2, 3))
T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def tid(n: int) -> str:
    return f"22222222-0000-4000-8000-{n:012d}"


def aid(n: int) -> str:
    return f"33333333-0000-4000-8000-{n:012d}"


def thesis(n: int, concept: str, stance: Stance, statement: str) -> Thesis:
    at = T0 + timedelta(minutes=n)
    return Thesis(
        id=tid(n),
        concept_id=concept,
        statement=statement,
        stance=stance,
        arguments=(Argument(aid(n), Polarity.PRO, f"Reason number {n}.", 0.25),),
        sources=(
            Source("Plato", "Republic", -375, None),
            Source("Hume", "Treatise", 1739, "https://example.org/t"),
        ),
        related_concept_ids=(C,) if n == 1 else (),
        synthesis_of=(tid(1), tid(2)) if n == 3 else (),
        tags=("ethics", "mind") if n % 2 else (),
        provenance=Provenance(ProvenanceKind.AI, "model-x", "v1") if n == 2 else Provenance(),
        status=ThesisStatus.DRAFT if n == 3 else ThesisStatus.PUBLISHED,
        created_at=at,
        updated_at=at,
    )


ALL = [
    thesis(1, A, Stance.AFFIRMS, "The soul is immortal."),
    thesis(2, A, Stance.DENIES, "Virtue cannot be taught."),
    thesis(3, A, Stance.AFFIRMS, "Knowledge is recollection of the Forms."),
    thesis(4, B, Stance.QUALIFIES, "Pleasure is the good, if rightly measured."),
]


async def build(store: ThesisStore) -> None:
    for t in ALL:
        await store.create(t)


async def test_round_trip_keeps_every_field(thesis_store: ThesisStore) -> None:
    await build(thesis_store)
    got = await thesis_store.get_many([tid(1), tid(2), tid(99)])
    assert set(got) == {tid(1), tid(2)}
    assert got[tid(1)] == ALL[0]
    assert got[tid(2)] == ALL[1]


async def test_list_filters_pages_and_counts(thesis_store: ThesisStore) -> None:
    await build(thesis_store)
    page = await thesis_store.list(ThesisFilter(), Page(limit=2))
    assert [t.id for t in page.items] == [tid(4), tid(3)]  # newest first
    assert page.total == 4 and page.keys is None  # keyed by the theses' own columns
    assert (page.has_next, page.has_previous) == (True, False)
    last = page.items[-1]
    keyed = await thesis_store.list(
        ThesisFilter(), Page(limit=1, after=Keyset((last.created_at,), last.id))
    )
    assert [t.id for t in keyed.items] == [tid(2)]
    assert (keyed.total, keyed.has_next, keyed.has_previous) == (4, True, True)
    end = await thesis_store.list(
        ThesisFilter(), Page(limit=5, after=Keyset((ALL[0].created_at,), ALL[0].id))
    )
    assert end.items == [] and (end.total, end.has_next, end.has_previous) == (4, False, True)
    by_concept = await thesis_store.list(ThesisFilter(concept_id=A, stance=Stance.AFFIRMS), Page())
    assert [t.id for t in by_concept.items] == [tid(3), tid(1)]
    found = await thesis_store.list(ThesisFilter(search="VIRTUE"), Page())
    assert [t.id for t in found.items] == [tid(2)]
    odd = await thesis_store.list(ThesisFilter(search="50% off"), Page())
    assert odd.items == [] and odd.total == 0


async def test_a_statement_equal_to_the_search_comes_first(thesis_store: ThesisStore) -> None:
    await thesis_store.create(thesis(1, A, Stance.AFFIRMS, "Virtue is knowledge."))
    await thesis_store.create(thesis(2, A, Stance.DENIES, "Not only: virtue is knowledge. More."))
    await thesis_store.create(thesis(3, A, Stance.DENIES, "Knowledge is virtue, said some."))
    found = await thesis_store.list(ThesisFilter(search="VIRTUE is knowledge."), Page())
    assert found.items[0].id == tid(1)
    assert found.total == len(found.items) >= 2
    assert found.keys is not None and len(found.keys) == len(found.items)
    first = await thesis_store.list(ThesisFilter(search="virtue is knowledge."), Page(limit=1))
    assert first.keys is not None and first.has_next and not first.has_previous
    paged = await thesis_store.list(
        ThesisFilter(search="virtue is knowledge."),
        Page(limit=1, after=Keyset(first.keys[0], first.items[0].id)),
    )
    assert [t.id for t in paged.items] == [found.items[1].id] and paged.has_previous


async def test_by_concepts_and_counts(thesis_store: ThesisStore) -> None:
    await build(thesis_store)
    grouped = await thesis_store.by_concepts([A, B, C])
    assert {k: [t.id for t in v] for k, v in grouped.items()} == {
        A: [tid(3), tid(2), tid(1)],
        B: [tid(4)],
        C: [],
    }
    affirms = await thesis_store.by_concepts([A, B], Stance.AFFIRMS)
    assert [t.id for t in affirms[A]] == [tid(3), tid(1)] and affirms[B] == []
    limited = await thesis_store.by_concepts([A, B], limit_per_concept=2)
    assert [t.id for t in limited[A]] == [tid(3), tid(2)] and len(limited[B]) == 1
    assert await thesis_store.count_by_concepts([A, B, C]) == {A: 3, B: 1, C: 0}


async def test_by_concepts_reads_the_fields_asked_for_as_a_full_read_has_them(
    thesis_store: ThesisStore,
) -> None:
    """Whatever attributes are asked for, with or without a stance and a limit, each thesis
    read with ``fields`` has those attributes (and the ones every thesis carries) as a full
    read has them, in the same order; the cases are drawn."""
    await build(thesis_store)
    cases = drawn(
        st.tuples(
            st.frozensets(st.sampled_from(sorted(THESIS_FIELDS))),
            st.none() | st.sampled_from(Stance),
            st.none() | st.integers(1, 3),
        ),
        25,
    )
    for wanted, stance, limit in cases:
        fields = thesis_fields(wanted)
        full = await thesis_store.by_concepts([A, B, C], stance, limit)
        lean = await thesis_store.by_concepts([A, B, C], stance, limit, fields)
        kept = sorted(fields or THESIS_FIELDS)
        assert {k: [[getattr(t, f) for f in kept] for t in v] for k, v in lean.items()} == {
            k: [[getattr(t, f) for f in kept] for t in v] for k, v in full.items()
        }, (wanted, stance, limit)


async def test_update_checks_version(thesis_store: ThesisStore) -> None:
    await build(thesis_store)
    changed = dataclasses.replace(ALL[3], statement="Pleasure is one good among many.")
    stored = await thesis_store.update(changed, 1)
    assert stored.statement == "Pleasure is one good among many." and stored.version == 2
    with pytest.raises(ConflictError) as info:
        await thesis_store.update(changed, 1)
    assert info.value.current_version == 2
    unchecked = await thesis_store.update(changed, None)
    assert unchecked.version == 3
    ghost = dataclasses.replace(ALL[0], id=tid(77))
    with pytest.raises(NotFoundError):
        await thesis_store.update(ghost, None)


async def test_arguments_and_deletes(thesis_store: ThesisStore) -> None:
    await build(thesis_store)
    added = await thesis_store.add_argument(
        tid(1), Argument(aid(50), Polarity.CON, "Bodies decay.", 0.5)
    )
    assert [a.id for a in added.arguments] == [aid(1), aid(50)]
    assert added.version == 2
    removed = await thesis_store.remove_argument(tid(1), aid(1))
    assert [a.id for a in removed.arguments] == [aid(50)]
    with pytest.raises(NotFoundError):
        await thesis_store.remove_argument(tid(1), aid(1))
    with pytest.raises(NotFoundError):
        await thesis_store.add_argument(
            tid(99), Argument(aid(51), Polarity.PRO, "Nothing here.", 0.5)
        )
    assert await thesis_store.delete(tid(4)) is True
    assert await thesis_store.delete(tid(4)) is False
    await thesis_store.remove_concept(A)
    await thesis_store.remove_concept(A)
    assert await thesis_store.count_by_concepts([A, B]) == {A: 0, B: 0}
