"""Nested lists never go N+1: the statement count is the same for 10 and for 50 concepts."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from philos import domain
from philos.datasources.wiring import Stores
from tests.api.conftest import Api
from tests.conftest import memory_cache

NESTED = """query($n: Int!) { concepts(first: $n) { totalCount nodes {
    name thesisCount
    relations { type target { name relations(direction: OUTGOING) { type } } }
    theses { statement arguments { text } concept { slug } }
} } }"""


@contextmanager
def counting(stores: Stores) -> Iterator[list[str]]:
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    engine = stores.sql.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


async def add_bulk(stores: Stores, n: int) -> None:
    ids = []
    for i in range(n):
        concept = domain.Concept(
            id=domain.new_id(), slug=f"bulk-{i:03d}", name=f"Bulk {i:03d}", summary="Generated."
        )
        await stores.concepts.create(concept)
        ids.append(concept.id)
        await stores.theses.create(
            domain.Thesis(
                id=domain.new_id(),
                concept_id=concept.id,
                statement=f"Claim number {i} about bulk.",
                stance=domain.Stance.AFFIRMS,
                arguments=(domain.Argument(domain.new_id(), domain.Polarity.PRO, "Because."),),
            )
        )
    for a, b in itertools.pairwise(ids):
        await stores.graph.relate(
            domain.Relation(
                id=domain.new_id(), source_id=a, target_id=b, type=domain.RelationType.RELATED_TO
            )
        )


async def test_statement_count_is_constant_in_page_size(api: Api) -> None:
    await add_bulk(api.stores, 60)
    counts = {}
    for n in (10, 50):
        # A cold cache for each size, so every level reaches the database.
        memory_cache(api.stores).clear()
        with counting(api.stores) as statements:
            data = await api.data(NESTED, {"n": n})
        assert len(data["concepts"]["nodes"]) == n
        counts[n] = len(statements)
    # Six batched loads: the page (with its total), relations, their targets, the targets'
    # relations, theses (arguments ride along; their concept is primed from the page) and
    # thesis counts. The targets' relations take two statements here, not one: targets that
    # are on the page resolve from the primed loader before the others come back from the
    # database, so that level's loads arrive in two ticks. The split depends on the data's
    # shape, never on the page size.
    assert counts[10] == counts[50] == 7, counts


async def test_loader_answers_by_key_not_position(api: Api) -> None:
    data = await api.data(NESTED, {"n": 6})
    for node in data["concepts"]["nodes"]:
        for thesis in node["theses"]:
            assert thesis["concept"]["slug"]
        assert node["thesisCount"] == len(node["theses"])
