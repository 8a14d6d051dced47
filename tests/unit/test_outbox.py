"""The outbox relay on a real SQLite database, with stand-in stores that record what reaches
them and fail on demand."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from philos.datasources.outbox import OutboxRelay
from philos.datasources.sql import SqlDatabase
from philos.datasources.sql.concepts import SqlConceptStore
from philos.domain import Concept


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.down = False

    async def _record(self, name: str, arg: Any) -> None:
        if self.down:
            raise ConnectionError(f"{name} refused")
        self.calls.append((name, arg))

    async def upsert_concepts(self, concepts: list[Concept]) -> None:
        await self._record("upsert", [(c.id, c.slug, c.name) for c in concepts])

    async def remove_concept(self, concept_id: str) -> None:
        await self._record("remove", concept_id)


@pytest.fixture
async def setup(tmp_path: Path) -> Any:
    db = SqlDatabase(f"sqlite+aiosqlite:///{tmp_path / 'o.db'}")
    await db.create_schema()
    graph, theses = Recorder(), Recorder()
    store = SqlConceptStore(db, owns_graph=False, owns_theses=False, outbox=True)
    relay = OutboxRelay(db, graph, theses)  # type: ignore[arg-type]
    yield store, relay, graph, theses
    await db.aclose()


def concept(n: int, name: str) -> Concept:
    return Concept(id=f"00000000-0000-4000-8000-{n:012d}", slug=f"c-{n}", name=name, summary="s")


async def test_changes_reach_each_store_in_order(setup: Any) -> None:
    store, relay, graph, theses = setup
    a = await store.create(concept(1, "A"))
    await store.update(concept(1, "A2"), 1)
    await store.delete(a.id)
    assert await relay.pending() == 4  # graph: upsert, upsert, remove; theses: remove
    assert await relay.drain() == 4
    assert graph.calls == [
        ("upsert", [(a.id, "c-1", "A")]),
        ("upsert", [(a.id, "c-1", "A2")]),
        ("remove", a.id),
    ]
    assert theses.calls == [("remove", a.id)]
    assert await relay.pending() == 0


async def test_a_failing_store_holds_back_only_its_own_entries(setup: Any) -> None:
    store, relay, graph, theses = setup
    graph.down = True
    await store.create(concept(1, "A"))
    await store.create(concept(2, "B"))
    await store.delete(concept(2, "B").id)
    assert await relay.drain() == 1  # the theses entry; the graph's first entry failed
    assert theses.calls == [("remove", concept(2, "B").id)]
    assert await relay.pending() == 3
    graph.down = False
    assert await relay.drain() == 0  # the failed entry waits out its back-off; none skip it
    await _make_due(relay)
    assert await relay.drain() == 3
    assert [c[0] for c in graph.calls] == ["upsert", "upsert", "remove"]


async def test_applying_twice_is_harmless(setup: Any) -> None:
    store, relay, graph, _ = setup
    await store.create(concept(1, "A"))
    await relay.apply("graph", "concept.upsert", {"id": "x", "slug": "x", "name": "X"})
    await relay.apply("graph", "concept.upsert", {"id": "x", "slug": "x", "name": "X"})
    assert graph.calls[-1] == graph.calls[-2]
    with pytest.raises(ValueError, match="no way to apply"):
        await relay.apply("theses", "concept.upsert", {"id": "x"})


async def _make_due(relay: OutboxRelay) -> None:
    from sqlalchemy import update

    from philos.datasources.sql.tables import outbox_t
    from philos.domain import utcnow

    async with relay.db.begin() as conn:
        await conn.execute(update(outbox_t).values(next_attempt_at=utcnow()))
