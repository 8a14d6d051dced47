"""The outbox relay on a real SQLite database, with stand-in stores that record what reaches
them and fail on demand."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from philos.datasources.outbox import DEFAULT_MAX_DELAY_SECONDS, OutboxRelay, retry_delay
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


class Pingable(Recorder):
    """A stand-in that also answers pings, so the relay can watch it come back; ``broken``
    makes applying fail while pings still answer (an entry that cannot apply)."""

    def __init__(self) -> None:
        super().__init__()
        self.pings = 0
        self.broken = False

    async def ping(self) -> None:
        self.pings += 1
        if self.down:
            raise ConnectionError("ping refused")

    async def _record(self, name: str, arg: Any) -> None:
        if self.broken:
            raise RuntimeError("cannot apply this one")
        await super()._record(name, arg)


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


def test_the_back_off_is_capped() -> None:
    assert all(retry_delay(n, 5.0) <= 5.0 for n in range(1, 200))
    assert all(retry_delay(n, 5.0) >= 2.5 for n in range(4, 50))  # jittered, not collapsed
    assert retry_delay(1, 5.0) <= 1.0  # the first retry is still quick
    # The old uncapped growth reached ~14 s after five failures; the default stops at 5 s.
    assert max(retry_delay(5) for _ in range(50)) <= DEFAULT_MAX_DELAY_SECONDS == 5.0


@pytest.fixture
async def watched(tmp_path: Path) -> Any:
    """A relay whose back-off is long (60 s), so only a nudge can explain a quick retry."""
    db = SqlDatabase(f"sqlite+aiosqlite:///{tmp_path / 'w.db'}")
    await db.create_schema()
    graph = Pingable()
    store = SqlConceptStore(db, owns_graph=False, owns_theses=False, outbox=True)
    relay = OutboxRelay(db, graph, None, max_delay=60.0)  # type: ignore[arg-type]
    yield store, relay, graph
    await db.aclose()


async def test_a_store_that_comes_back_is_caught_up_at_once(watched: Any) -> None:
    store, relay, graph = watched
    graph.down = True
    await store.create(concept(1, "A"))
    for _ in range(4):  # the store stays down: pings fail, the entry waits its back-off
        assert await relay.drain() == 0
        await relay.probe()
    assert await relay.pending() == 1 and graph.pings >= 4
    graph.down = False
    assert await relay.drain() == 0  # still inside its back-off, and nobody has looked yet
    await relay.probe()  # the store answers: its waiting entries go now
    assert await relay.drain() == 1
    assert graph.calls == [("upsert", [(concept(1, "A").id, "c-1", "A")])]
    await relay.probe()
    assert graph.pings == 5  # nothing waits any more: the store is no longer pinged


async def test_an_entry_that_fails_while_its_store_answers_keeps_its_back_off(
    watched: Any,
) -> None:
    store, relay, graph = watched
    graph.broken = True
    await store.create(concept(1, "A"))
    assert await relay.drain() == 0
    graph.broken = False
    for _ in range(3):  # the ping answers: no reason to think the store was down
        await relay.probe()
        assert await relay.drain() == 0
    assert await relay.pending() == 1


async def test_a_nudge_retries_at_once(watched: Any) -> None:
    """What the circuit breaker's listener does when the store's breaker closes."""
    store, relay, graph = watched
    graph.down = True
    await store.create(concept(1, "A"))
    assert await relay.drain() == 0
    graph.down = False
    assert await relay.drain() == 0
    relay.nudge("graph")
    assert await relay.drain() == 1


class Slow(Recorder):
    """A target store that takes its time to apply an entry, until released."""

    def __init__(self) -> None:
        super().__init__()
        self.started = asyncio.Event()
        self.release = asyncio.Event()

    async def _record(self, name: str, arg: Any) -> None:
        self.started.set()
        await self.release.wait()
        await super()._record(name, arg)


async def test_writes_go_on_while_the_relay_waits_on_a_slow_store(tmp_path: Path) -> None:
    """The relay applies an entry inside its SQL transaction; on SQLite it does so without
    holding the process's writer turn, so a slow target store stops no other write."""
    db = SqlDatabase(f"sqlite+aiosqlite:///{tmp_path / 'slow.db'}")
    await db.create_schema()
    graph = Slow()
    store = SqlConceptStore(db, owns_graph=False, owns_theses=False, outbox=True)
    relay = OutboxRelay(db, graph, Recorder())  # type: ignore[arg-type]
    try:
        await store.create(concept(1, "A"))
        draining = asyncio.ensure_future(relay.drain())
        await asyncio.wait_for(graph.started.wait(), 5)
        made = await asyncio.wait_for(store.create(concept(2, "B")), 5)
        assert made.name == "B"
        graph.release.set()
        assert await asyncio.wait_for(draining, 5) >= 1
    finally:
        graph.release.set()
        await db.aclose()
