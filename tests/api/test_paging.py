"""Paging through `concepts` (every order) and `theses` with rows added and removed between
pages: a row present throughout is listed exactly once, in the order the list is in, whatever
happens before or after the cursor; rows added meanwhile may or may not appear, never twice.
Cursors of another order and the old offset cursors are refused with a message saying so.

The scenarios are generated (hypothesis, derandomized) and then run against the app over HTTP
on each backend, the production wiring included (theses in MongoDB, the read-through cache).
"""

from __future__ import annotations

import base64
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from philos.bootstrap import create_app
from philos.datasources.stores import Stores
from philos.domain import Concept, ConceptOrder, Role, Stance, Thesis, new_id
from philos.seed.loader import seed as seed_corpus
from tests.api.accounts import make_user
from tests.api.client import Api
from tests.corpus import SMALL_CORPUS
from tests.settings import settings_for


@pytest.fixture
async def api(stores: Stores, sql_url: str, tmp_path: Any) -> AsyncIterator[Api]:
    """As ``tests/api/conftest.py``'s, without the per-caller rate limits: a walk sends
    hundreds of requests."""
    await seed_corpus(stores, SMALL_CORPUS)
    editor = await make_user(stores, "editor", Role.EDITOR)
    settings = settings_for(sql_url, tmp_path, PHILOS_RATE_LIMIT_IP=0, PHILOS_RATE_LIMIT_USER=0)
    transport = httpx.ASGITransport(app=create_app(settings, stores))
    async with httpx.AsyncClient(transport=transport, base_url="http://philos.test") as client:
        yield Api(client, stores, editor)


BASE = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
# Few distinct values, so that equal keys (and the id that breaks their ties) are common.
NAMES = ["Alpha", "alpha", "Beta", "Gamma", "Delta", "Zeta", "Aaa", "Mu"]
ERAS: list[int | None] = [None, None, -500, 0, 1700, 1700, 1950]
MOMENTS = [BASE + timedelta(minutes=m, microseconds=u) for m in (-90, 0, 0, 45) for u in (0, 7)]


@dataclass(frozen=True)
class Step:
    """What happens after a page: rows added (seeds for their keys) and rows removed (seeds
    for which of those currently listed)."""

    added: tuple[int, ...] = ()
    removed: tuple[int, ...] = ()


@dataclass(frozen=True)
class Scenario:
    first: int
    steps: tuple[Step, ...] = field(default_factory=tuple)


steps = st.builds(
    Step,
    added=st.lists(st.integers(0, 10**6), max_size=3).map(tuple),
    removed=st.lists(st.integers(0, 10**6), max_size=2).map(tuple),
)
scenarios = st.builds(
    Scenario, first=st.integers(1, 7), steps=st.lists(steps, max_size=12).map(tuple)
)


def _generated(count: int) -> list[Scenario]:
    found: list[Scenario] = []

    @settings(
        max_examples=count,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(scenarios)
    def collect(scenario: Scenario) -> None:
        found.append(scenario)

    collect()
    return found


def _concept(seed: int) -> Concept:
    rng = random.Random(seed)
    created = rng.choice(MOMENTS)
    era = rng.choice(ERAS)
    return Concept(
        id=new_id(),
        slug=f"paged-{new_id()[:12]}",
        name=rng.choice(NAMES),
        summary="A concept added while a list is being paged.",
        era_from=era,
        era_to=None if era is None else era + rng.randint(0, 50),
        created_at=created,
        updated_at=rng.choice([created, *MOMENTS]),
    )


CONCEPTS = """query($order: ConceptOrder!, $first: Int!, $after: String) {
  concepts(orderBy: $order, first: $first, after: $after) {
    totalCount
    edges { cursor node { id } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}"""
THESES = """query($first: Int!, $after: String) {
  theses(first: $first, after: $after) {
    totalCount
    edges { cursor node { id } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}"""


async def _all_ids(api: Api, query: str, variables: dict[str, Any], field_name: str) -> list[str]:
    data = await api.data(query, {**variables, "first": 100, "after": None})
    assert not data[field_name]["pageInfo"]["hasNextPage"], "the test keeps lists under 100"
    return [e["node"]["id"] for e in data[field_name]["edges"]]


async def _walk(
    api: Api,
    scenario: Scenario,
    query: str,
    variables: dict[str, Any],
    field_name: str,
    add: Any,
    remove: Any,
) -> None:
    """Page through the list, changing it after each page as the scenario says, and check
    the rows present throughout against a final read of the whole list."""
    present = await _all_ids(api, query, variables, field_name)
    throughout = set(present)
    present_now = set(present)
    seen: list[str] = []
    after: str | None = None
    for page in range(200):
        data = (await api.data(query, {**variables, "first": scenario.first, "after": after}))[
            field_name
        ]
        ids = [e["node"]["id"] for e in data["edges"]]
        info = data["pageInfo"]
        assert data["totalCount"] == len(present_now)
        assert len(ids) <= scenario.first
        cursors = [e["cursor"] for e in data["edges"]]
        assert info["startCursor"] == (cursors[0] if cursors else None)
        assert info["endCursor"] == (cursors[-1] if cursors else None)
        if page == 0:
            assert info["hasPreviousPage"] is False
        elif any(i in throughout for i in seen):
            assert info["hasPreviousPage"] is True
        seen.extend(ids)
        if not info["hasNextPage"]:
            break
        assert ids, "a page with a next page has rows"
        after = info["endCursor"]
        step = scenario.steps[page] if page < len(scenario.steps) else Step()
        for seed in step.added:
            present_now.add(await add(seed))
        for seed in step.removed:
            if present_now:
                victim = sorted(present_now)[seed % len(present_now)]
                await remove(victim)
                present_now.discard(victim)
                throughout.discard(victim)
    else:
        raise AssertionError("paging did not end")
    assert len(seen) == len(set(seen)), "a row was listed twice"
    final = await _all_ids(api, query, variables, field_name)
    assert set(final) == present_now
    assert [i for i in seen if i in throughout] == [i for i in final if i in throughout]


async def _more_concepts(api: Api, count: int) -> None:
    for seed in range(count):
        await api.stores.concepts.create(_concept(seed))


async def test_paging_concepts_in_every_order_while_they_change(api: Api) -> None:
    await _more_concepts(api, 14)
    generated = _generated(5 * len(ConceptOrder))

    async def add(seed: int) -> str:
        return (await api.stores.concepts.create(_concept(seed))).id

    async def remove(concept_id: str) -> None:
        assert await api.stores.concepts.delete(concept_id)

    for i, scenario in enumerate(generated):
        order = list(ConceptOrder)[i % len(ConceptOrder)]
        await _walk(api, scenario, CONCEPTS, {"order": order.value}, "concepts", add, remove)
        # Keep the list between about 15 and 40 rows.
        total = (await api.data(CONCEPTS, {"order": "NAME_ASC", "first": 1}))["concepts"]
        if total["totalCount"] < 15:
            await _more_concepts(api, 10)


def _thesis(concept_id: str, seed: int, statement: str) -> Thesis:
    """A thesis added while a list is paged, created at a moment drawn from ``seed``."""
    created = random.Random(seed).choice(MOMENTS)
    return Thesis(
        id=new_id(),
        concept_id=concept_id,
        statement=statement,
        stance=Stance.AFFIRMS,
        created_at=created,
        updated_at=created,
    )


async def test_paging_theses_while_they_change(api: Api) -> None:
    concept_id = await api.concept_id("forms")

    async def add(seed: int) -> str:
        statement = f"A thesis added while theses are paged ({seed})."
        return (await api.stores.theses.create(_thesis(concept_id, seed, statement))).id

    async def remove(thesis_id: str) -> None:
        assert await api.stores.theses.delete(thesis_id)

    for seed in range(14):
        await add(seed)
    for scenario in _generated(12):
        await _walk(api, scenario, THESES, {}, "theses", add, remove)
        total = (await api.data(THESES, {"first": 1}))["theses"]["totalCount"]
        for seed in range(max(0, 15 - total)):
            await add(10_000 + seed)


SEARCHED_CONCEPTS = """query($order: ConceptOrder, $search: String!, $first: Int!, $after: String) {
  concepts(filter: {search: $search}, orderBy: $order, first: $first, after: $after) {
    totalCount
    edges { cursor node { id } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}"""
SEARCHED_THESES = """query($search: String!, $first: Int!, $after: String) {
  theses(filter: {search: $search}, first: $first, after: $after) {
    totalCount
    edges { cursor node { id } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}"""
# Searches every row the tests add matches (their summaries and statements), ranked alike or
# apart (by how close the name is, on PostgreSQL); None is the default order (RELEVANCE with a
# search).
SEARCHES = ["paged", "concept added", "a concept while paged", "list being paged"]
SEARCHED_ORDERS: list[ConceptOrder | None] = [None, *ConceptOrder]


async def test_paging_searched_concepts_while_they_change(api: Api) -> None:
    """A searched list pages by its ranking key: rows added or removed between pages shift
    nothing, in the ranked order and in every other."""
    await _more_concepts(api, 14)

    async def add(seed: int) -> str:
        return (await api.stores.concepts.create(_concept(seed))).id

    async def remove(concept_id: str) -> None:
        assert await api.stores.concepts.delete(concept_id)

    for i, scenario in enumerate(_generated(2 * len(SEARCHED_ORDERS))):
        order = SEARCHED_ORDERS[i % len(SEARCHED_ORDERS)]
        variables = {
            "order": None if order is None else order.value,
            "search": SEARCHES[i % len(SEARCHES)],
        }
        await _walk(api, scenario, SEARCHED_CONCEPTS, variables, "concepts", add, remove)
        total = await api.data(SEARCHED_CONCEPTS, {**variables, "search": "paged", "first": 1})
        if total["concepts"]["totalCount"] < 15:
            await _more_concepts(api, 10)


async def test_paging_searched_theses_while_they_change(api: Api) -> None:
    concept_id = await api.concept_id("forms")

    async def add(seed: int) -> str:
        statement = "A thesis added while theses are paged."
        if seed % 3:
            statement += f" ({seed})"
        return (await api.stores.theses.create(_thesis(concept_id, seed, statement))).id

    async def remove(thesis_id: str) -> None:
        assert await api.stores.theses.delete(thesis_id)

    for seed in range(14):
        await add(seed)
    # The statement equal to the search comes first: cursors go from that part to the rest.
    searches = ["paged", "A thesis added while theses are paged.", "theses are paged"]
    for i, scenario in enumerate(_generated(9)):
        variables = {"search": searches[i % len(searches)]}
        await _walk(api, scenario, SEARCHED_THESES, variables, "theses", add, remove)
        total = (await api.data(SEARCHED_THESES, {"search": "paged", "first": 1}))["theses"]
        for seed in range(max(0, 15 - total["totalCount"])):
            await add(10_000 + seed)


async def test_cursors_of_another_order_are_refused(api: Api) -> None:
    cursors: dict[ConceptOrder, str] = {}
    for order in ConceptOrder:
        data = await api.data(CONCEPTS, {"order": order.value, "first": 2})
        cursors[order] = data["concepts"]["pageInfo"]["endCursor"]
    for issued, cursor in cursors.items():
        for asked in ConceptOrder:
            variables = {"order": asked.value, "first": 2, "after": cursor}
            if asked == issued:
                await api.data(CONCEPTS, variables)
                continue
            body = await api.post(CONCEPTS, variables)
            assert body["data"] is None
            (error,) = body["errors"]
            assert error["extensions"]["code"] == "BAD_USER_INPUT"
            assert f"this cursor was issued for orderBy {issued.value}" in error["message"]
        body = await api.post(THESES, {"first": 2, "after": cursor})
        (error,) = body["errors"]
        assert (
            f"this cursor was issued for orderBy {issued.value}, not `theses`" in error["message"]
        )
    thesis_cursor = (await api.data(THESES, {"first": 1}))["theses"]["pageInfo"]["endCursor"]
    (message,) = await api.errors(
        CONCEPTS, {"order": "NAME_ASC", "first": 2, "after": thesis_cursor}
    )
    assert "this cursor was issued for `theses`" in message


async def test_offset_cursors_are_refused(api: Api) -> None:
    for offset in (0, 3, 500):
        old = base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode()
        for query, variables in (
            (CONCEPTS, {"order": "NAME_ASC", "first": 5, "after": old}),
            (THESES, {"first": 5, "after": old}),
        ):
            body = await api.post(query, variables)
            (error,) = body["errors"]
            assert error["extensions"]["code"] == "BAD_USER_INPUT"
            assert (
                "offset cursors are no longer accepted; start again without `after`"
                in (error["message"])
            )
