"""Theses kept in MongoDB (FerretDB here) still leave their domain events in the SQL outbox:
created in the transaction that holds the thesis's concept, changed and deleted right after
the write; a write that fails leaves none."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from philos.bootstrap import build_stores
from philos.domain import (
    Argument,
    Concept,
    NotFoundError,
    Polarity,
    Stance,
    Thesis,
    new_id,
)
from philos.domain.events import DomainEvent
from tests.settings import settings_for

pytestmark = pytest.mark.timeout(120)


async def test_thesis_events_from_a_separate_thesis_store(mongodb_uri: str, tmp_path: Path) -> None:
    settings = settings_for(
        f"sqlite+aiosqlite:///{tmp_path / 'philos.db'}",
        tmp_path,
        MONGODB_URI=mongodb_uri,
        PHILOS_MONGODB_DATABASE=f"events_{new_id()[:8]}",
        PHILOS_SEED_ON_START=False,
        PHILOS_CACHE_TTL=0,
    )
    stores = await build_stores(settings)
    try:
        assert stores.events is not None and stores.event_relay is not None
        seen: list[DomainEvent] = []

        async def keep(event: DomainEvent) -> None:
            seen.append(event)

        await stores.events.bus.listen(keep)
        concept = await stores.concepts.create(
            Concept(id=new_id(), slug=f"c-{new_id()[:6]}", name="Separate", summary="s")
        )
        thesis = Thesis(
            id=new_id(),
            concept_id=concept.id,
            statement="Events outlive the store they come from.",
            stance=Stance.AFFIRMS,
        )
        await stores.theses.create(thesis)
        with pytest.raises(NotFoundError):  # its concept does not exist: no write, no event
            await stores.theses.create(
                Thesis(id=new_id(), concept_id=new_id(), statement="Nowhere.", stance=Stance.DENIES)
            )
        argument = Argument(id=new_id(), polarity=Polarity.PRO, text="Because.", strength=0.5)
        added = await stores.theses.add_argument(thesis.id, argument)
        assert await stores.theses.delete(thesis.id)
        await stores.event_relay.drain()
        await asyncio.sleep(0)
        kinds = [(e.kind, e.record_id, e.version) for e in seen if e.entity == "thesis"]
        assert kinds == [
            ("thesis.created", thesis.id, thesis.version),
            ("thesis.updated", thesis.id, added.version),
            ("thesis.deleted", thesis.id, added.version + 1),
        ]
        assert all(e.concept_ids == (concept.id,) for e in seen if e.entity == "thesis")
        assert await stores.event_relay.pending() == 0
    finally:
        await stores.aclose()
